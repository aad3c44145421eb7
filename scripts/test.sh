#!/usr/bin/env bash
# The whole test run, from a fresh machine: set-up, then the checks CI relies on, then every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== bundle: dist/imagekeeper.mjs must equal a fresh build"
fresh=$(mktemp -d)/imagekeeper.mjs
node scripts/build.mjs --outfile "$fresh"
if ! cmp -s "$fresh" dist/imagekeeper.mjs; then
  echo "dist/imagekeeper.mjs is stale: run 'npm run build' and commit it" >&2
  exit 1
fi
# The build writes the man page and the completions beside the bundle (generated from the command
# definitions); the Nix package installs the committed ones.
for f in man/imagekeeper.1 completions/imagekeeper.bash completions/_imagekeeper completions/imagekeeper.fish; do
  if ! cmp -s "$(dirname "$fresh")/$f" "dist/$f"; then
    echo "dist/$f is stale: run 'npm run build' and commit it" >&2
    exit 1
  fi
done

echo "== nix: every .nix file parses"
find . -name '*.nix' -not -path './node_modules/*' -print0 | while IFS= read -r -d '' f; do
  nix-instantiate --parse "$f" >/dev/null || { echo "does not parse: $f" >&2; exit 1; }
done

echo "== tests"
# The module evaluation tests need nixpkgs' lib, which is never committed (docs/nixos.md says how
# to fetch it); use it when this machine has it, else those tests say loudly that they skipped.
if [ -z "${IMAGEKEEPER_NIXPKGS_LIB:-}" ] && [ -f /opt/nixpkgs-lib/lib/default.nix ]; then
  export IMAGEKEEPER_NIXPKGS_LIB=/opt/nixpkgs-lib
fi
npm test
