#!/usr/bin/env bash
# Benchmarks that print numbers (`make bench` runs this; nothing here asserts on time):
#   1. the release `apnwatch` CLI at scale (infra/bench_run.py): Organizations calls, wall
#      time, peak RSS and CPU of a first run, an unchanged run, a run after one new account
#      and an unchanged run throttled at BENCH_RATE requests/s, for the per-parent walk and
#      for ListAccounts with Paths. Organizations is infra/fake_organizations.py (a generated
#      organization, a third tagged, BENCH_LATENCY_MS per call); DynamoDB and SNS are
#      infra/moto_bench_server.py (moto whose TransactWriteItems backs a table up once per
#      transaction instead of once per item: benchmark only, the tests use stock moto);
#   2. the pure pipeline (link resolution, diff, alert text) on 1,000 / 10,000 / 50,000
#      synthetic accounts: `cargo bench -p apn-link-watch --features test-util --bench domain`.
#
# Knobs (environment):
#   BENCH_SIZES        accounts:OUs,...             default 1000:100 (add 10000:1000 for the
#                      README's 10,000-account numbers: ~25 min more, mostly moto's writes)
#   BENCH_WALKS        per-parent,paths             default both
#   BENCH_LATENCY_MS   per Organizations call       default 20
#   BENCH_RATE         requests/s of the throttled run        default 5
#   BENCH_THROTTLE_MAX_ACCOUNTS  skip the throttled run above  default 1000 (0: never run it)
#   BENCH_DOMAIN=0     skip the pure pipeline benchmark
#   APNWATCH_*         passed to the CLI (e.g. APNWATCH_TAG_SWEEP_ABOVE=0)
# Servers bind free 127.0.0.1 ports and are stopped by their PIDs when the driver ends.
# shellcheck source=infra/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" bench || exit 1

if [[ ! -x "$PY" ]] || ! "$PY" -c 'import moto.server, boto3' 2>/dev/null; then
    echo "bench: moto is not installed in .venv: run 'make venv' first" >&2
    exit 1
fi

SECONDS=0

step "Building the release CLI (cargo build --release -p apn-link-watch --features cli --bin apnwatch)"
start=$SECONDS
cargo build --release -p apn-link-watch --features cli --bin apnwatch
APNWATCH="${CARGO_TARGET_DIR:-$ROOT/target}/release/apnwatch"
echo "built $APNWATCH in $((SECONDS - start)) s ($(du -k "$APNWATCH" | cut -f1) KiB)"

rm -rf "$STATE"
mkdir -p "$STATE"

step "The release CLI at scale (infra/bench_run.py)"
"$PY" infra/bench_run.py --apnwatch "$APNWATCH" --state "$STATE" \
    --sizes "${BENCH_SIZES:-1000:100}" --walks "${BENCH_WALKS:-per-parent,paths}" \
    --latency-ms "${BENCH_LATENCY_MS:-20}" --rate "${BENCH_RATE:-5}" \
    --throttle-max-accounts "${BENCH_THROTTLE_MAX_ACCOUNTS:-1000}" || {
    echo "bench: a run failed; outputs, stderr and /usr/bin/time reports are in $STATE" >&2
    exit 1
}

if [[ "${BENCH_DOMAIN:-1}" != 0 ]]; then
    step "The pure pipeline (cargo bench -p apn-link-watch --features test-util --bench domain)"
    cargo bench -p apn-link-watch --features test-util --bench domain
fi

step "Done in ${SECONDS} s"
echo "CLI run outputs, stderr and /usr/bin/time reports: $STATE"
