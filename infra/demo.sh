#!/usr/bin/env bash
# The APN Link Watch demo, end to end on this machine (`make demo` runs it):
#   moto (Organizations, DynamoDB, SNS, SQS) and the fake Partner Central on free loopback ports,
#   a seeded organization, then the real `apnwatch` CLI: init, snapshot, accounts, the alert as a
#   queue subscriber receives it; then a new account appears and a second snapshot alerts on it;
#   time passes and a reminder goes out for every account still not linked; the new account is
#   linked and a resolved notice says so; finally auto-link: a new account is invited, the
#   invitation accepted in the member account, and the next run records it LINKED.
# Both servers are stopped by their PIDs when the script ends, whether it succeeds or fails.
# shellcheck source=infra/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" demo || exit 1
export MOTO_DIR="$STATE"

if [[ ! -x "$PY" || ! -x "$ROOT/.venv/bin/moto_server" ]]; then
    echo "demo: moto is not installed in .venv: run 'make venv' first" >&2
    exit 1
fi

PC_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$PC_PID" ]] && kill -0 "$PC_PID" 2>/dev/null; then
        kill "$PC_PID" 2>/dev/null || true
        wait "$PC_PID" 2>/dev/null || true
    fi
    bash "$ROOT/infra/moto.sh" stop || true
    if [[ $rc -ne 0 ]]; then
        echo "demo: failed (exit $rc); logs are in $STATE" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

json() { "$PY" -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$@"; }

step "Building the apnwatch CLI"
cargo build --quiet -p apn-link-watch --features cli --bin apnwatch
APNWATCH="${CARGO_TARGET_DIR:-$ROOT/target}/debug/apnwatch"

rm -rf "$STATE"
mkdir -p "$STATE"

step "Starting moto"
MOTO_URL="$(bash "$ROOT/infra/moto.sh" start)"
echo "moto at $MOTO_URL (PID $(cat "$STATE/pid"))"

step "Seeding a demo organization"
"$PY" infra/seed_demo.py --endpoint "$MOTO_URL" --fixture "$STATE/partner-central.json" >"$STATE/seed.json"
"$PY" - "$STATE/seed.json" <<'EOF'
import json, sys
seed = json.load(open(sys.argv[1]))
print(f"organization {seed['organization_id']}, management account {seed['management_account_id']}")
for path, ou in seed["ous"].items():
    names = [n for n, a in seed["accounts"].items() if a["ou_path"] == path]
    print(f"  {path:<30} {ou:<18} {', '.join(names)}")
pc = seed["partner_central"]
print(f"Partner Central: ACTIVE connection {pc['active']}, CANCELED connection {pc['canceled']}, PENDING invitation {pc['pending']}")
EOF

step "Starting the fake Partner Central"
python3 infra/fake_partner_central.py --port 0 --port-file "$STATE/pc.port" \
    --fixture "$STATE/partner-central.json" --log "$STATE/partner-central.jsonl" \
    >"$STATE/pc.out" 2>&1 </dev/null &
PC_PID=$!
for _ in $(seq 1 50); do
    grep -q '^ready$' "$STATE/pc.out" 2>/dev/null && break
    kill -0 "$PC_PID" 2>/dev/null || { cat "$STATE/pc.out" >&2; exit 1; }
    sleep 0.1
done
grep -q '^ready$' "$STATE/pc.out" || { echo "fake Partner Central did not start" >&2; exit 1; }
PC_URL="http://127.0.0.1:$(cat "$STATE/pc.port")"
echo "fake Partner Central at $PC_URL (PID $PC_PID)"

step "Creating the alert topic and a queue subscribed to it"
"$PY" infra/demo.py --endpoint "$MOTO_URL" setup >"$STATE/topic.json"
TOPIC_ARN="$(json "$STATE/topic.json" topic_arn)"
QUEUE_URL="$(json "$STATE/topic.json" queue_url)"
echo "topic $TOPIC_ARN"

# Everything the CLI reads: moto for every AWS service, the fake for Partner Central, dummy
# credentials, and no shared config that could point at a real account.
export AWS_ENDPOINT_URL="$MOTO_URL"
export AWS_ENDPOINT_URL_PARTNERCENTRAL_ACCOUNT="$PC_URL"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
: >"$STATE/empty-aws-config"
export AWS_CONFIG_FILE="$STATE/empty-aws-config" AWS_SHARED_CREDENTIALS_FILE="$STATE/empty-aws-config"
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
export APNWATCH_TABLE=apn-link-watch-demo
export APNWATCH_TOPIC_ARN="$TOPIC_ARN"
export APNWATCH_LINK_SOURCES=partner-central,tag,list
export APNWATCH_LINK_TAG_KEY=apn-link
export APNWATCH_PARTNER_CENTRAL_CATALOG=AWS
APNWATCH_EXEMPT_OUS="$(json "$STATE/seed.json" sandbox_ou_id)"
APNWATCH_LINKED_ACCOUNTS="$(json "$STATE/seed.json" accounts.network.id)"
export APNWATCH_EXEMPT_OUS APNWATCH_LINKED_ACCOUNTS
export APNWATCH_EXEMPT_ACCOUNTS=""
echo "APNWATCH_EXEMPT_OUS=$APNWATCH_EXEMPT_OUS (Root/Sandbox), APNWATCH_LINKED_ACCOUNTS=$APNWATCH_LINKED_ACCOUNTS (network)"

step "apnwatch init"
"$APNWATCH" init

step "apnwatch snapshot (first run: the baseline)"
"$APNWATCH" snapshot

step "apnwatch accounts"
"$APNWATCH" accounts

step "The alert a subscriber received"
"$PY" infra/demo.py --endpoint "$MOTO_URL" receive --queue-url "$QUEUE_URL" --require

step "apnwatch snapshot again (nothing changed: no account write, no message)"
"$APNWATCH" snapshot
"$PY" infra/demo.py --endpoint "$MOTO_URL" receive --queue-url "$QUEUE_URL"

step "A team creates a new account"
"$PY" infra/add_account.py --endpoint "$MOTO_URL" --name dev-new-service --ou-path Root/Workloads/Dev >"$STATE/new-account.json"
NEW_ID="$(json "$STATE/new-account.json" id)"
echo "created dev-new-service ($NEW_ID) in Root/Workloads/Dev, untagged"

step "apnwatch snapshot (second run)"
"$APNWATCH" snapshot

step "The alert a subscriber received"
"$PY" infra/demo.py --endpoint "$MOTO_URL" receive --queue-url "$QUEUE_URL" --require

step "Time passes (APNWATCH_REMIND_AFTER=2s here, a week by default): reminders"
export APNWATCH_REMIND_AFTER=2s
sleep 2.5
"$APNWATCH" snapshot
"$PY" infra/demo.py --endpoint "$MOTO_URL" receive --queue-url "$QUEUE_URL" --require

step "The team links dev-new-service (tag apn-link=linked): a resolved notice"
export APNWATCH_REMIND_AFTER=7d
"$PY" infra/demo.py --endpoint "$MOTO_URL" tag --account-id "$NEW_ID" --key apn-link --value linked
"$APNWATCH" snapshot
"$PY" infra/demo.py --endpoint "$MOTO_URL" receive --queue-url "$QUEUE_URL" --require

step "apnwatch history $NEW_ID"
"$APNWATCH" history "$NEW_ID"

step "apnwatch runs"
"$APNWATCH" runs

step "Auto-link: invite new accounts and accept in the member account (APNWATCH_AUTO_INVITE=new)"
# The fake asks moto's STS whose access key signed each request: the accept role's credentials
# (moto's AssumeRole) make a request the member's, so it sees the invitation as RECEIVER.
"$PY" -c 'import json, os, sys
path, sts = sys.argv[1], sys.argv[2]
fx = json.load(open(path))
fx["sts_url"] = sts
json.dump(fx, open(path + ".tmp", "w"), indent=2)
os.replace(path + ".tmp", path)' "$STATE/partner-central.json" "$MOTO_URL"
export APNWATCH_AUTO_INVITE=new APNWATCH_INVITE_NAME="Partner Ops" APNWATCH_INVITE_EMAIL=partner-ops@example.com
export APNWATCH_ACCEPT_ROLE_NAME=apn-link-watch-accept
"$PY" infra/add_account.py --endpoint "$MOTO_URL" --name dev-auto-linked --ou-path Root/Workloads/Dev >"$STATE/auto-account.json"
AUTO_ID="$(json "$STATE/auto-account.json" id)"
echo "created dev-auto-linked ($AUTO_ID) in Root/Workloads/Dev, untagged"
"$APNWATCH" snapshot
"$PY" infra/demo.py --endpoint "$MOTO_URL" receive --queue-url "$QUEUE_URL" --require

step "The next run reads the ACTIVE connection: LINKED, and a resolved notice"
"$APNWATCH" snapshot
"$PY" infra/demo.py --endpoint "$MOTO_URL" receive --queue-url "$QUEUE_URL" --require

step "apnwatch history $AUTO_ID"
"$APNWATCH" history "$AUTO_ID"

step "Done"
echo "Partner Central requests: $(wc -l <"$STATE/partner-central.jsonl") (log: $STATE/partner-central.jsonl)"
