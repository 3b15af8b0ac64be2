#!/usr/bin/env python3
"""Measures the release `apnwatch snapshot` at scale: Organizations calls, wall time, CPU and
peak RSS of each run, printed as a table (infra/bench.sh builds the CLI and calls this).

Servers, each on a free 127.0.0.1 port and stopped by its PID when this script ends:
  - infra/fake_organizations.py serves a generated organization (a third of the accounts
    tagged) with an injected latency per call; its /_stats counts the calls a run made;
  - infra/moto_bench_server.py (moto with TransactWriteItems backing a table up once per
    transaction, benchmark only) serves DynamoDB and SNS.

For each size (accounts:OUs) and each walk (`per-parent`: ListAccounts without Paths, so the
CLI walks ListAccountsForParent per parent; `paths`: ListAccounts returns Paths) on a fresh
table, the runs are:
  1. first run (every account written, unlinked ones alerted);
  2. unchanged run (nothing written, nothing published);
  3. unchanged hourly run: the stored tag sweep's `swept_at` and OU names' `planned_at` are set
     back one hour first, so the tag slice and the OU-name slice are an hourly schedule's;
  4. run after one new account;
  5. run after one OU rename: a top-level OU is renamed and the run is the one its
     `UpdateOrganizationalUnit` event triggers (`snapshot --event`), also an hour after the last;
     every account below it is written (its path changed);
  6. unchanged run throttled at --rate requests/s (TooManyRequestsException above it): it must
     complete with no change. Skipped when it would take too long (see --throttle-max-accounts).

Each run is one CLI process measured from outside (/usr/bin/time -v, else wait4's rusage), so
the numbers include start-up and the allocator's real peak. Every APNWATCH_* variable in this
script's environment is passed to the CLI (e.g. APNWATCH_TAG_SWEEP_ABOVE=0); one the CLI does
not know is ignored by it.

Usage: .venv/bin/python infra/bench_run.py --apnwatch target/release/apnwatch --state DIR \
           [--sizes 1000:100,10000:1000] [--latency-ms 20] [--rate 5] [--walks per-parent,paths]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from seed_demo import TAG_KEY, client  # noqa: E402

REGION = "us-east-1"
TOPIC = "apn-link-watch-bench"
TIME = "/usr/bin/time"


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


class Servers:
    """The fake Organizations and the benchmark moto; stopped by PID on close."""

    def __init__(self, state: str, accounts: int, ous: int, latency_ms: float):
        self.procs: list[subprocess.Popen] = []
        py = sys.executable
        fake_log = open(os.path.join(state, f"fake-organizations-{accounts}.log"), "w")
        fake = subprocess.Popen(
            [py, os.path.join(HERE, "fake_organizations.py"), "--port", "0", "--accounts", str(accounts),
             "--ous", str(ous), "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE, stderr=fake_log, text=True)
        self.procs.append(fake)
        line = fake.stdout.readline()
        if not line.startswith("ready "):
            raise SystemExit(f"bench: fake Organizations did not start: {line!r}")
        self.org_url = f"http://127.0.0.1:{int(line.split()[1])}"

        port = free_port()
        moto_log = open(os.path.join(state, f"moto-{accounts}.log"), "w")
        moto = subprocess.Popen([py, os.path.join(HERE, "moto_bench_server.py"), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=moto_log, stderr=subprocess.STDOUT)
        self.procs.append(moto)
        self.moto_url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(self.moto_url + "/moto-api/", timeout=1).read()
                break
            except OSError:
                if moto.poll() is not None:
                    raise SystemExit("bench: moto_bench_server exited; see its log in the state folder")
                time.sleep(0.1)
        else:
            raise SystemExit("bench: moto_bench_server did not answer")

    def stats(self) -> dict:
        return http(self.org_url + "/_stats")

    def configure(self, **body) -> None:
        http(self.org_url + "/_config", body)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()


def cli_env(servers: Servers, state: str, table: str, topic_arn: str) -> dict:
    """Organizations from the fake, DynamoDB and SNS from moto, dummy credentials, no shared
    config that could point at a real account; APNWATCH_* from this environment passed on."""
    empty = os.path.join(state, "empty-aws-config")
    open(empty, "w").close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=servers.moto_url,
        AWS_ENDPOINT_URL_ORGANIZATIONS=servers.org_url,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=empty,
        AWS_SHARED_CREDENTIALS_FILE=empty,
        AWS_EC2_METADATA_DISABLED="true",
        APNWATCH_TABLE=table,
        APNWATCH_TOPIC_ARN=topic_arn,
        APNWATCH_LINK_TAG_KEY=TAG_KEY,
    )
    return env


def back_one_hour(moto_url: str, table: str) -> None:
    """Sets the stored tag sweep's and OU names' last-run times back one hour, as if the
    previous run had been an hour ago (what sizes both slices)."""
    ddb = client("dynamodb", moto_url, REGION)
    for sk, attr in (("TAGS", "swept_at"), ("OUS", "planned_at")):
        item = ddb.get_item(TableName=table, Key={"pk": {"S": "SWEEP"}, "sk": {"S": sk}}).get("Item")
        if not item or "S" not in item.get(attr, {}):
            continue
        t = datetime.datetime.fromisoformat(item[attr]["S"].replace("Z", "+00:00")) - datetime.timedelta(hours=1)
        ddb.update_item(TableName=table, Key={"pk": {"S": "SWEEP"}, "sk": {"S": sk}},
                        UpdateExpression="SET #a = :t", ExpressionAttributeNames={"#a": attr},
                        ExpressionAttributeValues={":t": {"S": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"}})


def rename_event(state: str, ou_id: str, name: str) -> str:
    """An UpdateOrganizationalUnit CloudTrail event for `ou_id`, happening now, in a file."""
    event = json.load(open(os.path.join(HERE, "events", "organizations-move-account.json")))
    event["time"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    event["detail"]["eventName"] = "UpdateOrganizationalUnit"
    event["detail"]["requestParameters"] = {"organizationalUnitId": ou_id, "name": name}
    path = os.path.join(state, f"rename-{ou_id}.json")
    json.dump(event, open(path, "w"))
    return path


def measured(cmd: list[str], env: dict, state: str, label: str) -> dict:
    """Runs `cmd`: its JSON stdout (None when it failed), wall and CPU seconds, peak RSS KiB."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    out_path, err_path, time_path = (os.path.join(state, f"{slug}.{ext}") for ext in ("json", "stderr", "time"))
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.monotonic()
        if os.access(TIME, os.X_OK):
            rc = subprocess.call([TIME, "-v", "-o", time_path, *cmd], env=env, stdout=out, stderr=err)
            wall = time.monotonic() - start
            text = open(time_path).read()
            rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
            cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", text).group(1)) for k in ("User", "System"))
        else:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            rc = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - start
            rss = usage.ru_maxrss  # KiB on Linux
            cpu = usage.ru_utime + usage.ru_stime
    result = None
    if rc == 0:
        result = json.load(open(out_path))
    else:
        tail = open(err_path).read().strip().splitlines()[-3:]
        log(f"  {label}: exit {rc}; stderr ends: {' | '.join(tail)}")
    return {"out": result, "wall_s": wall, "cpu_s": cpu, "rss_mib": rss / 1024, "rc": rc}


def bench_size(args, accounts: int, ous: int) -> list[dict]:
    state = os.path.join(args.state, f"{accounts}")
    os.makedirs(state, exist_ok=True)
    servers = Servers(state, accounts, ous, args.latency_ms)
    rows = []
    try:
        topic_arn = client("sns", servers.moto_url, REGION).create_topic(Name=TOPIC)["TopicArn"]
        org = servers.stats()
        log(f"{accounts} accounts / {ous} OUs: fake Organizations {servers.org_url} "
            f"({org['accounts']} accounts, {org['ous']} OUs), moto {servers.moto_url}")
        for walk in args.walks:
            table = f"apn-link-watch-bench-{walk}"
            env = cli_env(servers, state, table, topic_arn)
            subprocess.run([args.apnwatch, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
            servers.configure(paths=walk == "paths", rate=0)
            runs = ["first run", "unchanged run", "unchanged hourly run", "after one new account",
                    "after one OU rename (event)", f"throttled {args.rate:g} req/s"]
            for run in runs:
                if run.startswith("throttled"):
                    if accounts > args.throttle_max_accounts:
                        calls = rows[-2]["org_calls"] if len(rows) >= 2 else 0
                        why = (f"skipped: ~{calls} calls at {args.rate:g}/s is "
                               f"{calls / args.rate / 60:.0f}+ min (--throttle-max-accounts {args.throttle_max_accounts})")
                        log(f"  {walk} / {run}: {why}")
                        rows.append({"size": f"{accounts}/{ous}", "walk": walk, "run": run, "skipped": why})
                        continue
                    servers.configure(rate=args.rate)
                cmd = [args.apnwatch, "--json", "snapshot"]
                if run == "after one new account":
                    http(servers.org_url + "/_accounts", {"parent_id": org["root_id"], "name": f"bench-new-{walk}"})
                if run in ("unchanged hourly run", "after one OU rename (event)"):
                    back_one_hour(servers.moto_url, table)
                if run.startswith("after one OU rename"):
                    # The first top-level OU of the generated tree (ids are ou-<root>-<index>).
                    ou_id = f"ou-{org['root_id'][2:]}-{0:08x}"
                    name = f"renamed-{walk}"
                    http(servers.org_url + "/_ous/rename", {"ou_id": ou_id, "name": name})
                    cmd += ["--event", rename_event(state, ou_id, name)]
                http(servers.org_url + "/_stats/reset", {})
                m = measured(cmd, env, state, f"{walk} {run}")
                stats = servers.stats()
                out = m["out"] or {}
                row = {
                    "size": f"{accounts}/{ous}", "walk": walk, "run": run,
                    "org_calls": sum(stats["requests"].values()), "throttled": stats["throttled"],
                    "wall_s": m["wall_s"], "cpu_s": m["cpu_s"], "rss_mib": m["rss_mib"],
                    "accounts": out.get("accounts", "-"), "account_writes": out.get("account_writes", "-"),
                    "changes": out.get("changes", "-"), "messages": out.get("messages", "-"),
                    "result": "ok" if m["rc"] == 0 else f"exit {m['rc']}",
                    "calls_by_operation": stats["requests"],
                    "listing_calls": sum(v for k, v in stats["requests"].items() if k.startswith("List")
                                         and k != "ListTagsForResource"),
                }
                rows.append(row)
                log(f"  {walk} / {run}: {row['org_calls']} Organizations calls ({row['listing_calls']} listing, "
                    f"{stats['requests'].get('DescribeOrganizationalUnit', 0)} OU names, "
                    f"{stats['requests'].get('ListTagsForResource', 0)} tag reads; {row['throttled']} throttled), "
                    f"{m['wall_s']:.1f} s wall, {m['cpu_s']:.2f} s CPU, {m['rss_mib']:.1f} MiB peak RSS, "
                    f"{row['account_writes']} account writes, {row['changes']} changes, {row['result']}")
            servers.configure(rate=0)
    finally:
        servers.close()
    return rows


COLUMNS = [
    ("accounts/OUs", "size", "{}"), ("walk", "walk", "{}"), ("run", "run", "{}"),
    ("org calls", "org_calls", "{}"), ("listing", "listing_calls", "{}"), ("throttled", "throttled", "{}"), ("wall s", "wall_s", "{:.1f}"),
    ("CPU s", "cpu_s", "{:.2f}"), ("peak RSS MiB", "rss_mib", "{:.1f}"), ("account writes", "account_writes", "{}"),
    ("changes", "changes", "{}"), ("messages", "messages", "{}"), ("result", "result", "{}"),
]


def print_table(rows: list[dict]) -> None:
    header = [c[0] for c in COLUMNS]
    measured_rows = [[fmt.format(r[key]) for _, key, fmt in COLUMNS] for r in rows if "skipped" not in r]
    widths = [max(len(row[i]) for row in [header, *measured_rows]) for i in range(len(COLUMNS))]
    widths[:3] = [max(widths[i], *(len(r[k]) for r in rows)) for i, k in enumerate(("size", "walk", "run"))]

    def line(cells):
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    log("")
    log(line(header))
    log("  ".join("-" * w for w in widths))
    for r in rows:
        if "skipped" in r:
            log(line([r["size"], r["walk"], r["run"]]) + "  " + r["skipped"])
        else:
            log(line([fmt.format(r[key]) for _, key, fmt in COLUMNS]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--apnwatch", required=True, help="the release apnwatch binary")
    p.add_argument("--state", required=True, help="folder for outputs and logs")
    p.add_argument("--sizes", default="1000:100,10000:1000", help="accounts:OUs,...")
    p.add_argument("--walks", default="per-parent,paths", help="per-parent, paths or both")
    p.add_argument("--latency-ms", type=float, default=20.0, help="injected per Organizations call")
    p.add_argument("--rate", type=float, default=5.0, help="requests/s of the throttled run")
    p.add_argument("--throttle-max-accounts", type=int, default=1000,
                   help="skip the throttled run above this many accounts (it takes calls/rate seconds)")
    args = p.parse_args(argv)
    args.walks = [w for w in args.walks.split(",") if w]
    os.makedirs(args.state, exist_ok=True)
    if not os.access(TIME, os.X_OK):
        log(f"{TIME} not found: peak RSS comes from wait4's rusage of each run instead")
    passed = {k: v for k, v in os.environ.items() if k.startswith("APNWATCH_")}
    log(f"latency {args.latency_ms:g} ms per Organizations call; APNWATCH_* passed to the CLI: {passed or 'none'}")

    rows = []
    started = time.monotonic()
    for size in args.sizes.split(","):
        accounts, ous = (int(x) for x in size.split(":"))
        rows += bench_size(args, accounts, ous)
    json.dump(rows, open(os.path.join(args.state, "results.json"), "w"), indent=2)
    print_table(rows)
    log(f"\n{time.monotonic() - started:.0f} s in all. 'org calls' is what the fake Organizations served "
        "(pages included, throttled answers not); 'throttled' the TooManyRequestsException answers. "
        "Wall time includes the injected latency and moto's DynamoDB; CPU is the CLI's own.")
    # A throttled run that gives up is a finding for the table (the walk does not back off
    # enough yet), not a broken benchmark; any other failed run is.
    failed = [r for r in rows if r.get("result", "ok") != "ok" and not r["run"].startswith("throttled")]
    if any(r.get("result", "ok") != "ok" for r in rows if r["run"].startswith("throttled")):
        log("A throttled run failed: its stderr is in the state folder (e.g. 'kept throttling after retries').")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
