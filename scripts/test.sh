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
# A dummy store: parsing needs none, and nothing is created under /nix.
find . -name '*.nix' -not -path './node_modules/*' -print0 | while IFS= read -r -d '' f; do
  nix-instantiate --store dummy:// --parse "$f" >/dev/null || { echo "does not parse: $f" >&2; exit 1; }
done

echo "== nix: test data"
# The Nix tests evaluate the module with nixpkgs' lib and inside a whole NixOS system. nixpkgs is
# never committed nor fetched: ../shared/nix, beside every checkout (CI's too), holds it as
# archives, unpacked once into a cache outside the repository, keyed by their hash
# (test/nix/extract.sh). Here the data is required: a missing archive fails the run, and with
# IMAGEKEEPER_NIX_REQUIRED=1 no Nix test skips. IMAGEKEEPER_NIX_REQUIRED=0 lets a developer without
# the data run the rest (the Nix tests then skip, loudly).
if [ "${IMAGEKEEPER_NIX_REQUIRED:-1}" != 0 ]; then
  export IMAGEKEEPER_NIX_REQUIRED=1
  nix_data=${IMAGEKEEPER_NIX_DATA:-../shared/nix}
  if ! nix_vars=$(bash test/nix/extract.sh "$nix_data"); then
    echo "the Nix test data is missing from $nix_data (docs/nixos.md, \"Tests\"); set IMAGEKEEPER_NIX_DATA to its directory, or IMAGEKEEPER_NIX_REQUIRED=0 to skip the Nix tests" >&2
    exit 1
  fi
  eval "$nix_vars"
  export IMAGEKEEPER_NIXPKGS_LIB IMAGEKEEPER_NIXOS
  echo "nixpkgs lib: $IMAGEKEEPER_NIXPKGS_LIB; NixOS 20.09: $IMAGEKEEPER_NIXOS"
fi

echo "== tests"
npm test
