#!/usr/bin/env python3
"""Runs `cargo lambda watch` for tests/tests/lambda_e2e.rs and guarantees that it, and the
function it runs, stop.

`cargo lambda watch` starts the function in a session (and process group) of its own, so
killing the watcher's process group does not reach the function, and a function whose
watcher died lives on as an orphan. This supervisor:

- makes itself a child subreaper (Linux), so orphans of the watcher's tree become its
  children instead of init's and stay findable;
- starts `cargo-lambda lambda watch ARGS...` in a new session, output appended to --log,
  and prints `started <pid>` on stdout;
- stays until its standard input closes (the test dropped its handle, or the test process
  died, even by SIGKILL), it gets SIGTERM/SIGINT, or the watcher exits by itself;
- then sends SIGTERM to the watcher's process group (the watcher stops the function it
  runs), waits up to GRACE_SECONDS, and sends SIGKILL to each process still below itself,
  by its own PID, and reaps them.

Exit status: the watcher's own when it exited by itself, 0 after a requested stop.

Usage: watch_supervisor.py --log FILE -- CARGO_LAMBDA lambda watch ARGS...
"""

import argparse
import ctypes
import os
import select
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 10.0
PR_SET_CHILD_SUBREAPER = 36


def parent_of(pid):
    """Parent PID of a live (non-zombie) process, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = data[data.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else int(fields[1])


def descendants(root):
    """PIDs of every live process below `root`, parents before children."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = parent_of(int(entry))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(0), []):
            found.append(pid)
            todo.append(pid)
    return found


def reap_all(deadline):
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("missing the cargo-lambda command")

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): errno {ctypes.get_errno()}")

    stop_requested = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stop_requested.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _frame: stop_requested.append(signum))

    with open(args.log, "ab") as log:
        watcher = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    print(f"started {watcher.pid}", flush=True)

    status = 0
    while not stop_requested:
        if watcher.poll() is not None:
            status = watcher.returncode
            break
        try:
            ready, _, _ = select.select([sys.stdin], [], [], 0.2)
        except InterruptedError:
            continue
        if ready and not os.read(sys.stdin.fileno(), 4096):
            break

    if watcher.poll() is None:
        try:
            os.killpg(watcher.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            watcher.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    # Everything still below us: the watcher if it ignored SIGTERM, the function, a build.
    for pid in descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    reap_all(time.monotonic() + GRACE_SECONDS)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
