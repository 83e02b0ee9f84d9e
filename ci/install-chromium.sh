#!/usr/bin/env sh
# Installs Debian's `chromium` package when /usr/bin/chromium is missing, for the timeline
# picture's rendering test (tests/timeline_render.rs). Does nothing when chromium is present;
# installs only as root on a system with apt-get, and otherwise exits non-zero saying why.
set -eu

if [ -x /usr/bin/chromium ]; then
    echo "install-chromium: /usr/bin/chromium is already installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium: /usr/bin/chromium is missing and this is not root (uid $(id -u)): cannot install it; run 'apt-get install chromium' as root" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: /usr/bin/chromium is missing and there is no apt-get: install a Chromium at /usr/bin/chromium by other means" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be empty in a fresh container image: fetch them first.
echo "install-chromium: running apt-get update"
apt-get update -q
echo "install-chromium: running apt-get install -y --no-install-recommends chromium"
apt-get install -y -q --no-install-recommends chromium
if [ ! -x /usr/bin/chromium ]; then
    echo "install-chromium: apt-get finished but /usr/bin/chromium is still missing" >&2
    exit 1
fi
echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
