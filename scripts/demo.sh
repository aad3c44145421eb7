#!/usr/bin/env bash
# The demo: a private dockerd and registry (no real registry is reachable), the example recipe,
# then a cold prepull, a warm one, and a deliberately bad tag.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

exec node examples/demo.mjs "$@"
