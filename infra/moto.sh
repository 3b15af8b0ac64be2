#!/usr/bin/env bash
# Starts and stops one moto server (the AWS API emulator) for the demo and local poking.
#   infra/moto.sh start   picks a free 127.0.0.1 port, starts .venv/bin/moto_server in the
#                         background, waits until it answers, writes .moto/pid and .moto/url,
#                         prints the URL.
#   infra/moto.sh stop    stops exactly the process recorded in .moto/pid.
#   infra/moto.sh url     prints the URL of the running server.
# MOTO_DIR overrides .moto/ (the state folder), so two servers can run side by side.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${MOTO_DIR:-$ROOT/.moto}"
MOTO_SERVER="${MOTO_SERVER:-$ROOT/.venv/bin/moto_server}"
PY="${PYTHON:-python3}"

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() {
    "$PY" - "$1" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1).read()
except Exception:
    sys.exit(1)
EOF
}

running() {
    [[ -f "$STATE/pid" ]] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null
}

start() {
    if running; then
        echo "moto already runs as PID $(cat "$STATE/pid") at $(cat "$STATE/url")" >&2
        cat "$STATE/url"
        return 0
    fi
    if [[ ! -x "$MOTO_SERVER" ]]; then
        echo "moto_server not found at $MOTO_SERVER: run 'make venv' first" >&2
        return 1
    fi
    mkdir -p "$STATE"
    # The port may be taken between probing and binding: try a few.
    for _ in 1 2 3; do
        local port pid url
        port="$(free_port)"
        url="http://127.0.0.1:$port"
        nohup "$MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$STATE/moto.log" 2>&1 </dev/null &
        pid=$!
        for _ in $(seq 1 100); do
            if answers "$url"; then
                echo "$pid" >"$STATE/pid"
                echo "$url" >"$STATE/url"
                echo "$url"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "moto_server did not come up; its log:" >&2
    cat "$STATE/moto.log" >&2 || true
    return 1
}

stop() {
    if [[ ! -f "$STATE/pid" ]]; then
        echo "moto is not running (no $STATE/pid)" >&2
        return 0
    fi
    local pid
    pid="$(cat "$STATE/pid")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$STATE/pid" "$STATE/url"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) cat "$STATE/url" ;;
    *)
        echo "usage: $0 start|stop|url" >&2
        exit 2
        ;;
esac
