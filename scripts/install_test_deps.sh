#!/usr/bin/env bash
# Installs what the integration tests need beyond Python packages. Idempotent and quiet when
# everything is already there. Each issue that needs an external tool adds it here.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
for pkg in "$@"; do apt_packages+=("$pkg"); done
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
