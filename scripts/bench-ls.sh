#!/usr/bin/env bash
# Benchmark of the listing itself (issue 2), at ~100k loopback sockets built by `tcpscope lab`,
# all commands timed in one run (interleaved, scripts/timeit.py):
#   tcpscope ls > /dev/null   against   ss -tan > /dev/null   and the floor `tcpscope dump-floor`
#   (a bare sock_diag dump that decodes nothing); for comparison `ls --json`, `ls --jsonl`,
#   `ls -e`, `summary` and `netstat -tan`.
# Targets: ls wall <= 0.9x ss -tan and <= 1.3x the floor; peak RSS of ls <= 40 MiB; `ls --jsonl`
# streams: its peak RSS at ~200k sockets (a second lab adds 100k) is within 2 MiB of that at ~100k.
# Exits 1 when a target is missed. Needs root (lab --own-netns), python3, GNU time (/usr/bin/time,
# Debian package `time`) for the memory figures, net-tools for netstat (skipped if absent).
#
# Usage: scripts/bench-ls.sh [RUNS] [SOCKETS]    defaults: 15 runs, 100000 sockets
set -euo pipefail
RUNS=${1:-15}
SOCKETS=${2:-100000}
source "$(dirname "$0")/bench-lib.sh"
bench_init
[ -x /usr/bin/time ] || { echo "needs GNU time for peak memory: apt-get install -y time" >&2; exit 1; }

lab_start est "established" --count "$SOCKETS"
echo "sockets in $NS: $(in_ns ss -Htan | wc -l)"

cmds=(
    "ss -tan=ss -tan >/dev/null"
    "ls=$BIN ls >/dev/null"
    "dump-floor=$BIN dump-floor >/dev/null"
    "ls --jsonl=$BIN ls --jsonl >/dev/null"
    "ls --json=$BIN ls --json >/dev/null"
    "ls -e=$BIN ls -e >/dev/null"
    "summary=$BIN summary >/dev/null"
)
command -v netstat >/dev/null && cmds+=("netstat -tan=netstat -tan >/dev/null")
timeit "$RUNS" "${cmds[@]}" | tee "$WORK/t100k"

# Constant memory: add ~100k more sockets and measure `ls --jsonl` (and `ls`) again.
lab_start est2 --in-ns "established" --count "$SOCKETS"
echo "sockets in $NS: $(in_ns ss -Htan | wc -l)"
timeit 3 "ls --jsonl=$BIN ls --jsonl >/dev/null" "ls=$BIN ls >/dev/null" | tee "$WORK/t200k"

python3 - "$WORK/t100k" "$WORK/t200k" <<'PY'
import json, sys
a = json.loads(open(sys.argv[1]).read().splitlines()[-1])
b = json.loads(open(sys.argv[2]).read().splitlines()[-1])
ms = lambda k: a[k]["median_s"] * 1000
mib = lambda r: (r or 0) / 1024
print(f"\n| command | median (ms) | min (ms) | peak RSS (MiB) | vs ss -tan | vs floor |")
print("|---|---:|---:|---:|---:|---:|")
for k, v in a.items():
    print(f"| `{k}` | {ms(k):.1f} | {v['min_s']*1000:.1f} | {mib(v['max_rss_kib']):.1f} "
          f"| {ms(k)/ms('ss -tan'):.2f}x | {ms(k)/ms('dump-floor'):.2f}x |")
r_ss, r_floor = ms("ls") / ms("ss -tan"), ms("ls") / ms("dump-floor")
rss_ls = mib(a["ls"]["max_rss_kib"])
j1, j2 = mib(a["ls --jsonl"]["max_rss_kib"]), mib(b["ls --jsonl"]["max_rss_kib"])
l2 = mib(b["ls"]["max_rss_kib"])
print(f"\npeak RSS at ~2x sockets: ls --jsonl {j1:.1f} -> {j2:.1f} MiB, ls {rss_ls:.1f} -> {l2:.1f} MiB")
checks = [
    (f"ls / ss -tan = {r_ss:.2f}x (target <= 0.9)", r_ss <= 0.9),
    (f"ls / dump-floor = {r_floor:.2f}x (target <= 1.3)", r_floor <= 1.3),
    (f"ls peak RSS = {rss_ls:.1f} MiB (target <= 40)", rss_ls <= 40),
    (f"ls --jsonl peak RSS {j1:.1f} MiB at 1x, {j2:.1f} MiB at 2x sockets (target: within 2 MiB)",
     j2 - j1 <= 2),
]
for text, ok in checks:
    print(("met:    " if ok else "MISSED: ") + text)
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
