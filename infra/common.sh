# Sourced by infra/bench.sh and infra/demo.sh (`source infra/common.sh <name>`), so the two
# scripts start alike: strict mode, the repository root as working directory, their state
# under .moto/<name>, the venv's Python, and `step` for the section headings they print.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="$ROOT/.moto/$1"
PY="$ROOT/.venv/bin/python"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
