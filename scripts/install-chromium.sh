#!/usr/bin/env bash
# Installs Debian's chromium package for the browser test of the web chat page (driven by
# playwright-core, which downloads no browser of its own). Does nothing when it is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

sudo=''
if [ "$(id -u)" -ne 0 ]; then
  sudo='sudo'
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y chromium
