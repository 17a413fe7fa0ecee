#!/usr/bin/env bash
# The fault tests of crates/tcpscope/tests/faults.rs (issue 17), long: the repeated ones run
# ROUNDS rounds instead of the suite's few —
#   churn_while_listing_with_owners_and_diagnosing   lab churn at 20,000 connections/s; per round
#       `ls -p`, `doctor`, `summary`, `ls -p -e state established`, a 5-poll `doctor --watch`
#       and 4 scrapes of `serve --cache 0` (/metrics and /api/doctor)
#       (250 rounds = 1,000 one-shot runs, 1,000 scrapes and 1,250 polls of the live collector)
#   processes_that_exit_mid_scan_are_never_misnamed  40 short-lived socket holders; one `ls -p`
#       per round, every owner named must be one of them
#   lab_killed_with_sigkill_leaves_nothing_the_next_run_does_not_sweep   one SIGKILL per round
#   serve_killed_with_sigkill_leaves_nothing_the_next_run_trips_over    one SIGKILL per round,
#       under scrapes; the next serve binds the same address and answers
# — and the one-shot ones once (pid reuse, namespace deleted, EINTR/ENOBUFS, hidepid, ulimit -n
# 64). Every run must succeed with nothing on stderr but honest notes; no panic, no leftovers.
# Release build, one test at a time; prints each test's summary and the wall time.
#
# Usage: scripts/faults.sh [ROUNDS] [TEST_NAME_FILTER]    default 250, every test
# Needs root, python3, strace, util-linux (unshare, setpriv), nftables, iproute2.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-250}
FILTER=${2:-}
[ "$(id -u)" = 0 ] || { echo "faults.sh: needs root (namespaces, hidepid, lab)" >&2; exit 2; }
started=$(date +%s)
echo "fault tests, $ROUNDS rounds each, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%FT%TZ)"
LOG=${TMPDIR:-/tmp}/tcpscope-faults.$$.log
set +e
TCPSCOPE_FAULT_ROUNDS=$ROUNDS TCPSCOPE_REQUIRE_ROOT_TESTS=1 RUST_BACKTRACE=0 \
    cargo test --release --locked -p tcpscope --test faults -- --test-threads 1 --nocapture $FILTER \
    >"$LOG" 2>&1
status=$?
set -e
grep -aE '^(test |churn:|exits:|sweep:|serve-kill:|test result)' "$LOG" || true
if [ "$status" != 0 ]; then
    echo
    sed -n '/^failures:/,$p' "$LOG" | head -80
    echo "full log: $LOG"
else
    rm -f "$LOG"
fi
echo "wall time: $(( $(date +%s) - started )) s"
exit "$status"
