#!/usr/bin/env bash
# Everything a fresh Debian machine needs for the demo and the tests: the Docker engine, the
# distribution registry, a static busybox for test images, htpasswd for auth tests, Nix for
# parsing and evaluating the module, then the npm dependencies. Idempotent: installs only what is
# missing, so a second run takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
# busybox-static, not busybox: test images are FROM scratch and need a static binary.
# zsh, fish, tmux and groff-base: the completion and man page tests run the real shells and groff.
# xz-utils: the Nix test data in ../shared/nix is .tar.xz.
for pkg in docker.io docker-registry busybox-static apache2-utils nix-bin e2fsprogs iproute2 util-linux git tar \
  zsh fish tmux groff-base xz-utils; do
  installed "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The docker client must have `docker stack config` (CLI >= 23): it is how images are resolved
# exactly as a stack deploy resolves them. Debian 12's client (20.10) lacks it.
docker_cli=${IMAGEKEEPER_DOCKER:-docker}
if ! "$docker_cli" stack config --help >/dev/null 2>&1; then
  echo "setup: the docker client on PATH ($(command -v "$docker_cli" || echo none)) has no 'docker stack config'." >&2
  echo "setup: install a docker CLI >= 23 (e.g. /usr/local/bin/docker) or set IMAGEKEEPER_DOCKER to one." >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
