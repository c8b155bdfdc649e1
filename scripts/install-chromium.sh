#!/usr/bin/env bash
# Installs Debian's chromium package for the browser test of the web chat page (driven by
# playwright-core, which downloads no browser of its own). Does nothing when it is already there.
# Needed only where @sparticuz/chromium (installed by npm ci) has no binary: anything but x64 Linux,
# e.g. arm64, whose binary the npm package leaves out. See test/e2e/browser-helpers.ts.
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
