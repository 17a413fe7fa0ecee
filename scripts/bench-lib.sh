# Sourced by the benchmark scripts (bash): build the release binary, start `tcpscope lab`
# instances in the background, wait until each has printed its JSON line (everything in place),
# and stop them all with SIGTERM on any exit of the script (lab then removes its workers and its
# network namespace).
#
#   bench_init                         build, set $BIN, $WORK, the exit trap; needs root
#   lab_start NAME [--in-ns] ARGS...   run `tcpscope lab ARGS... --json`; with --in-ns inside the
#                                      namespace of the first lab ($NS) instead of the host's
#   in_ns CMD...                       run CMD inside $NS
#
# The first lab of a script is started with --own-netns: the benchmark's 100k sockets live in a
# private namespace $NS, so other work on the host neither sees them (a concurrent test of
# `doctor` on a "quiet host") nor adds sockets of its own to the measurement. Every command is
# timed inside $NS (scripts/timeit.py runs under `ip netns exec`).

LAB_PIDS=()
NS=
BIN=
WORK=

bench_init() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    [ "$(id -u)" = 0 ] || { echo "$0 needs root (lab --own-netns creates a network namespace)" >&2; exit 1; }
    cargo build --release -p tcpscope --quiet
    BIN=$PWD/target/release/tcpscope
    WORK=$(mktemp -d /tmp/tcpscope-bench.XXXXXX)
    trap lab_stop_all EXIT
    trap 'exit 130' INT TERM HUP
}

# Stop the labs, the last started first (the first one owns the namespace the others live in).
lab_stop_all() {
    local i
    for ((i = ${#LAB_PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${LAB_PIDS[$i]}" 2>/dev/null || true
        wait "${LAB_PIDS[$i]}" 2>/dev/null || true
    done
    LAB_PIDS=()
    [ -n "$WORK" ] && rm -rf "$WORK"
}

lab_start() {
    local name=$1 pid out
    shift
    out=$WORK/lab-$name.json
    if [ "${1:-}" = --in-ns ]; then
        shift
        ip netns exec "$NS" "$BIN" lab "$@" --json >"$out" 2>"$WORK/lab-$name.err" &
    else
        "$BIN" lab "$@" --own-netns --json >"$out" 2>"$WORK/lab-$name.err" &
    fi
    pid=$!
    LAB_PIDS+=("$pid")
    # The JSON line lists every socket (megabytes at 100k): wait for its final newline.
    until [ -s "$out" ] && [ "$(tail -c 1 "$out" | wc -l)" = 1 ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "tcpscope lab $* failed:" >&2
            cat "$WORK/lab-$name.err" >&2
            exit 1
        fi
        sleep 0.2
    done
    if [ -z "$NS" ]; then
        NS=$(head -c 1000 "$out" | grep -o '"netns":"[^"]*"' | cut -d'"' -f4)
        [ -n "$NS" ] || { echo "lab $name did not report its namespace" >&2; exit 1; }
    fi
    echo "lab $name ($*): $(head -c 1000 "$out" | grep -o '"pids":\[[^]]*\]')" >&2
}

in_ns() { ip netns exec "$NS" "$@"; }

# `ip netns exec` has no `--`: run the timer inside the namespace so every timed command starts there.
timeit() { in_ns python3 scripts/timeit.py "$@"; }
