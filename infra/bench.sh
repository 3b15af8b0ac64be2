#!/usr/bin/env bash
# Benchmarks that print numbers (`make bench` runs this; nothing here asserts on time):
#   1. the release `apnwatch` CLI against moto on a seeded ~1,000-account organization
#      (infra/bench_scale.py): wall time, peak RSS, Organizations calls and account writes of
#      a first run, an unchanged rerun, a run after adding accounts, and tags vs. no tags;
#   2. the pure pipeline (link resolution, diff, alert text) on 1,000 / 10,000 / 50,000
#      synthetic accounts: `cargo bench -p apn-link-watch --features test-util --bench domain`.
# moto binds a free 127.0.0.1 port and is stopped by its PID when this script ends.
# BENCH_ACCOUNTS and BENCH_OUS resize the seeded organization (defaults 1000 and 50).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="$ROOT/.moto/bench"
PY="$ROOT/.venv/bin/python"
export MOTO_DIR="$STATE"

if [[ ! -x "$PY" || ! -x "$ROOT/.venv/bin/moto_server" ]]; then
    echo "bench: moto is not installed in .venv: run 'make venv' first" >&2
    exit 1
fi

cleanup() {
    local rc=$?
    bash "$ROOT/infra/moto.sh" stop 2>/dev/null || true
    if [[ $rc -ne 0 ]]; then
        echo "bench: failed (exit $rc); outputs and logs are in $STATE" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
SECONDS=0

step "Building the release CLI (cargo build --release --features cli --bin apnwatch)"
start=$SECONDS
cargo build --release -p apn-link-watch --features cli --bin apnwatch
APNWATCH="${CARGO_TARGET_DIR:-$ROOT/target}/release/apnwatch"
echo "built $APNWATCH in $((SECONDS - start)) s ($(du -k "$APNWATCH" | cut -f1) KiB)"

# A server an interrupted earlier bench left behind is stopped by its recorded PID first.
bash "$ROOT/infra/moto.sh" stop 2>/dev/null || true
rm -rf "$STATE"
mkdir -p "$STATE"

step "Starting moto"
MOTO_URL="$(bash "$ROOT/infra/moto.sh" start)"
echo "moto at $MOTO_URL (PID $(cat "$STATE/pid"))"

step "The release CLI against moto (${BENCH_ACCOUNTS:-1000} accounts, ${BENCH_OUS:-50} OUs)"
"$PY" infra/bench_scale.py --endpoint "$MOTO_URL" --apnwatch "$APNWATCH" --state "$STATE" \
    --accounts "${BENCH_ACCOUNTS:-1000}" --ous "${BENCH_OUS:-50}"

# moto is done: stop it now so it does not compete with the pure benchmark for the CPU.
bash "$ROOT/infra/moto.sh" stop

step "The pure pipeline (cargo bench -p apn-link-watch --features test-util --bench domain)"
cargo bench -p apn-link-watch --features test-util --bench domain

step "Done in ${SECONDS} s"
echo "CLI run outputs, stderr and /usr/bin/time reports: $STATE"
