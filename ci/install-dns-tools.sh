#!/usr/bin/env sh
# Installs Debian's `bind9-dnsutils` (dig, nslookup) when `dig` is missing, for the cluster
# DNS test that queries it with real DNS tools (tests/cluster_dns_tools.rs). Does nothing
# when dig is present; installs only as root on a system with apt-get, and otherwise exits
# non-zero saying why.
set -eu

if command -v dig >/dev/null 2>&1 && command -v nslookup >/dev/null 2>&1; then
    echo "install-dns-tools: dig and nslookup are already installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-dns-tools: dig/nslookup are missing and this is not root (uid $(id -u)): cannot install them; run 'apt-get install bind9-dnsutils' as root" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-dns-tools: dig/nslookup are missing and there is no apt-get: install BIND's dig and nslookup by other means" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be empty in a fresh container image: fetch them first.
echo "install-dns-tools: running apt-get update"
apt-get update -q
echo "install-dns-tools: running apt-get install -y --no-install-recommends bind9-dnsutils"
apt-get install -y -q --no-install-recommends bind9-dnsutils
if ! command -v dig >/dev/null 2>&1; then
    echo "install-dns-tools: apt-get finished but dig is still missing" >&2
    exit 1
fi
echo "install-dns-tools: installed $(dig -v 2>&1 | head -n 1)"
