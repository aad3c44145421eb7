#!/usr/bin/env bash
# The demo: installs what it needs on a fresh machine, then runs examples/demo.ts on a private
# dockerd + registry (cold prepull, warm prepull, a slow pull as a CI log shows it, a bad tag).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node scripts/run-ts.mjs examples/demo.ts "$@"
