#!/usr/bin/env bash
# Unpack the Nix test data (docs/nixos.md, "Tests"): the archives in DATA_DIR (CI and every
# developer have them at ../shared/nix) are extracted once into a cache keyed by each archive's
# hash, outside the repository, and reused by every later run; an archive that changes gets a new
# directory. Prints what the Nix tests read, as shell assignments:
#   IMAGEKEEPER_NIXPKGS_LIB  a directory holding nixpkgs' current lib/ (the lib-only tests)
#   IMAGEKEEPER_NIXOS        the nixpkgs 20.09 tree that evaluates a whole NixOS host
# Cache: $IMAGEKEEPER_NIX_CACHE, else /var/tmp/imagekeeper-nix (else $TMPDIR when that is not
# writable). Safe to run concurrently: each archive is unpacked into a temporary directory and
# renamed into place, and a loser of the race drops its copy.
# Usage: test/nix/extract.sh DATA_DIR
set -euo pipefail

data=${1:?usage: test/nix/extract.sh DATA_DIR}
cache=${IMAGEKEEPER_NIX_CACHE:-/var/tmp/imagekeeper-nix}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
  cache=${TMPDIR:-/tmp}/imagekeeper-nix-$(id -u)
  mkdir -p "$cache"
fi

# extract ARCHIVE: the directory it is unpacked in.
extract() {
  local archive=$data/$1 sum dir tmp
  if [ ! -f "$archive" ]; then
    echo "test/nix/extract.sh: $archive is missing" >&2
    return 1
  fi
  sum=$(sha256sum "$archive" | cut -c1-16)
  dir=$cache/${1%.tar.xz}-$sum
  if [ ! -e "$dir/.complete" ]; then
    tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
    chmod 755 "$tmp"
    tar -xJf "$archive" -C "$tmp"
    touch "$tmp/.complete"
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
  fi
  echo "$dir"
}

lib=$(extract nixpkgs-lib.tar.xz)
nixos=$(extract nixos-20.09-subset.tar.xz)/nixpkgs-20.09-ik
for f in "$lib/lib/default.nix" "$nixos/nixos/lib/eval-config.nix"; do
  if [ ! -f "$f" ]; then
    echo "test/nix/extract.sh: $f is missing: the archives in $data are not what the tests expect" >&2
    exit 1
  fi
done
printf 'IMAGEKEEPER_NIXPKGS_LIB=%q\nIMAGEKEEPER_NIXOS=%q\n' "$lib" "$nixos"
