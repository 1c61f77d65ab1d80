#!/usr/bin/env bash
# Installs what the integration tests need beyond Python packages. Idempotent and quiet when
# everything is already there. Each issue that needs an external tool adds it here.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
for pkg in "$@"; do apt_packages+=("$pkg"); done
apt_packages+=(ipfs-cid)  # IPFS: the `ipfs_cid` CIDv0 oracle
command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)  # IPFS: js-ipfs test node
apt_packages+=(chromium)  # scraper: the browser source (Playwright cannot download one here)
# storage: the tests start their own PostgreSQL server (initdb + pg_ctl from
# /usr/lib/postgresql/<version>/bin, tests/postgres_server.py); the package's own cluster is
# not used.
apt_packages+=(postgresql)
if ((${#apt_packages[@]})); then
  missing=()
  for pkg in "${apt_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# IPFS: js-ipfs 0.66.1 as an offline kubo-compatible test node (shared/docs/ipfs.md §6). The
# package.json (with its npm overrides), the lockfile and the polyfill live in the tests; the
# install and npm's cache stay inside the git-ignored .test-tools/.
jsipfs_src=tests/storage/ipfs/jsipfs
jsipfs_dir=.test-tools/ipfs
if ! cmp -s "$jsipfs_src/package-lock.json" "$jsipfs_dir/package-lock.json" \
  || [ ! -x "$jsipfs_dir/node_modules/.bin/jsipfs" ]; then
  rm -rf "$jsipfs_dir"
  mkdir -p "$jsipfs_dir"
  cp "$jsipfs_src/package.json" "$jsipfs_src/package-lock.json" "$jsipfs_dir/"
  npm_cache="$(pwd)/.test-tools/npm-cache"
  # `npm install` with the lockfile, not `npm ci`: the optional electron-webrtc dependency
  # points at a GitHub tarball that cannot be fetched, so the lockfile lacks it and `ci` refuses.
  # --fetch-retries=0 makes that optional fetch fail fast.
  (cd "$jsipfs_dir" && npm install --no-audit --no-fund --loglevel=error --fetch-retries=0 \
    --fetch-timeout=20000 --cache "$npm_cache" >/dev/null)
fi
cp "$jsipfs_src/polyfill.cjs" "$jsipfs_dir/polyfill.cjs"
