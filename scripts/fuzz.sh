#!/usr/bin/env bash
# Fuzz every parser that sees untrusted bytes (issue 17) for SECONDS each: the targets in
# crates/tcpscope-core/src/fuzz/ (sock_diag decoder, /proc text, cgroup paths, filter parser and
# kernel bytecode, recordings), built in the `fuzz` profile (optimised, overflow checks and debug
# assertions on). Prints per target the inputs tried and the rate, and a total.
#
# A failure (wrong answer, panic, overflow) is shrunk and saved to OUT/TARGET-failure.txt and
# OUT/TARGET-failure.bin; a crash that kills the process (stack overflow, abort) is replayed from
# its batch seed with every input written first, and the input it died on is saved as
# OUT/TARGET-crash.bin. Exits 1 when any target failed or crashed.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     default 60 s, every target
# Environment: FUZZ_JOBS (targets run at once, default 1), FUZZ_OUT (default target/fuzz),
#              FUZZ_CASES (stop a target after this many inputs)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
OUT=${FUZZ_OUT:-$PWD/target/fuzz}
JOBS=${FUZZ_JOBS:-1}
mkdir -p "$OUT"

BIN=$(cargo test -p tcpscope-core --profile fuzz --lib --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "tcpscope_core":
        print(m["executable"])')
[ -x "$BIN" ] || { echo "fuzz.sh: building the fuzz test binary failed; run: cargo test -p tcpscope-core --profile fuzz --lib --no-run" >&2; exit 2; }

run_target() { # TARGET [extra env...]
    local t=$1
    shift
    env TCPSCOPE_FUZZ_TARGET="$t" TCPSCOPE_FUZZ_OUT="$OUT" RUST_BACKTRACE=0 "$@" \
        "$BIN" --exact fuzz::fuzz_one_target --ignored --nocapture --test-threads 1
}

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    read -r -a TARGETS <<<"$(run_target list | sed -n 's/.*FUZZ-TARGETS //p')"
fi

fuzz_one() { # TARGET -> writes OUT/TARGET.log and OUT/TARGET.status
    local t=$1 status=0
    rm -f "$OUT/$t-failure.txt" "$OUT/$t-failure.bin" "$OUT/$t-crash.bin" "$OUT/$t.current"
    run_target "$t" TCPSCOPE_FUZZ_SECONDS="$SECONDS_EACH" TCPSCOPE_FUZZ_CASES="${FUZZ_CASES:-}" \
        >"$OUT/$t.log" 2>&1 || status=$?
    if [ "$status" != 0 ] && [ ! -s "$OUT/$t-failure.txt" ]; then
        # Killed by a signal or aborted before proptest could report: replay the batch it was in.
        echo "crashed (status $status); replaying batch $(cat "$OUT/$t.batch" 2>/dev/null)" >>"$OUT/$t.log"
        run_target "$t" TCPSCOPE_FUZZ_REPLAY="$(cat "$OUT/$t.batch")" TCPSCOPE_FUZZ_TRACE=1 \
            >>"$OUT/$t.log" 2>&1 || true
        [ -f "$OUT/$t.current" ] && cp "$OUT/$t.current" "$OUT/$t-crash.bin"
    fi
    echo "$status" >"$OUT/$t.status"
}

echo "fuzzing ${#TARGETS[@]} targets for ${SECONDS_EACH}s each, $JOBS at a time ($(nproc) cores); output in $OUT"
started=$(date +%s)
running=0
for t in "${TARGETS[@]}"; do
    fuzz_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

total=0
failed=0
printf '\n| target | inputs | seconds | inputs/s | result |\n|---|---:|---:|---:|---|\n'
for t in "${TARGETS[@]}"; do
    line=$(grep -ao 'FUZZ-RESULT.*' "$OUT/$t.log" | tail -1 || true)
    cases=$(sed -n 's/.* cases=\([0-9]*\).*/\1/p' <<<"$line")
    secs=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
    rate=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$line")
    status=$(cat "$OUT/$t.status")
    if [ "$status" = 0 ]; then
        result=ok
    elif [ -s "$OUT/$t-failure.txt" ]; then
        result="FAILED: $OUT/$t-failure.txt"
        failed=1
    else
        result="CRASHED (status $status): $OUT/$t-crash.bin, log $OUT/$t.log"
        failed=1
    fi
    total=$((total + ${cases:-0}))
    printf '| %s | %s | %s | %s | %s |\n' "$t" "${cases:-?}" "${secs:-?}" "${rate:-?}" "$result"
done
echo
echo "total: $total inputs in $(( $(date +%s) - started )) s wall"
for t in "${TARGETS[@]}"; do
    [ -s "$OUT/$t-failure.txt" ] && { echo; echo "== $t"; head -c 4000 "$OUT/$t-failure.txt"; }
done
exit "$failed"
