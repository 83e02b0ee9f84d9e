#!/bin/sh
# Runs every benchmark (release build) and writes BENCHMARKS.md: the machine, the date, and
# each figure with its floor (measured in the same run), the ratio and issue 15's budget,
# followed by each benchmark's full output.
#
#   ci/bench.sh                     # all of them, default pod counts
#   PODCHECK_BENCH_PODS=10,100 ci/bench.sh
#   BENCHMARKS_OUT=/tmp/b.md ci/bench.sh
#   PODCHECK_BENCH_SMOKE=1 ci/bench.sh   # a quick pass (tiny pod counts, nothing judged)
#
# A benchmark that is over its budget exits 1; the others still run, and the script exits 1
# at the end. The many-pod benchmarks need pod isolation (root or user namespaces) and say
# so when it is missing.
set -u
cd "$(dirname "$0")/.." || exit 2
out=${BENCHMARKS_OUT:-BENCHMARKS.md}
benches="container_start probe_load pod_density teardown event_timing services_scale suite_speed"
cargo bench --no-run --quiet || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for b in $benches; do
    echo "== $b" >&2
    cargo bench --quiet --bench "$b" >"$tmp/$b.txt" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || status=1
    echo "$rc" >"$tmp/$b.rc"
    grep '^| ' "$tmp/$b.txt" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
    echo "# Benchmarks"
    echo
    echo "Written by \`ci/bench.sh\` (release build). Every floor is measured in the same run."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- machine: $(nproc) cores ($cpu), $mem memory, kernel $(uname -r), running as $(id -un)"
    echo "- load average (1/5/15 min): $load_before before, $load_after after"
    [ -n "${PODCHECK_BENCH_PODS:-}" ] && echo "- PODCHECK_BENCH_PODS=$PODCHECK_BENCH_PODS"
    [ -n "${PODCHECK_BENCH_SMOKE:-}" ] && echo "- smoke mode: tiny pod counts and windows, nothing judged"
    echo
    echo "| benchmark | figure | value | floor | ratio | budget | verdict |"
    echo "|---|---|---|---|---|---|---|"
    for b in $benches; do grep -h '^| ' "$tmp/$b.txt"; done
    echo
    echo "## Output"
    for b in $benches; do
        echo
        echo "### $b (exit $(cat "$tmp/$b.rc"))"
        echo
        echo '```'
        grep -v '^| ' "$tmp/$b.txt"
        echo '```'
    done
} >"$out"
echo "wrote $out" >&2
exit "$status"
