#!/usr/bin/env bash
# Which release profile to ship (issue 17): the same code built with different optimisation
# settings, timed against each other in one run (interleaved, scripts/timeit.py) at ~100k
# sockets, and their binary sizes before and after `strip`.
#
# Variants (cargo profiles defined on the command line, each in its own target/PROFILE dir):
#   base    the profile before issue 17: codegen-units 4, no LTO, line-tables debug info
#   thin    codegen-units 1, thin LTO
#   fat     codegen-units 1, fat LTO — what [profile.release] in Cargo.toml says now (what
#           `cargo install` and the package build), so it is not built a second time
# Timed: `ls`, `ls -p` and `doctor` of each variant inside lab's namespace (100,006 sockets:
# `tcpscope lab established --count SOCKETS --own-netns`). Prints a table; exits 0 (it measures,
# it has no target). Needs root and python3; GNU time (package `time`) for peak RSS.
#
# Usage: scripts/bench-profile.sh [RUNS] [SOCKETS]    defaults: 11 100000
set -euo pipefail
RUNS=${1:-11}
SOCKETS=${2:-100000}
source "$(dirname "$0")/bench-lib.sh"
bench_init

# The cargo --config flags that define profile bp-VARIANT.
profile_flags() { # VARIANT LTO CODEGEN_UNITS
    local p=bp-$1
    printf '%s\n' --config "profile.$p.inherits=\"release\"" --config "profile.$p.lto=$2" \
        --config "profile.$p.codegen-units=$3" --config "profile.$p.debug=\"line-tables-only\"" \
        --config "profile.$p.strip=\"none\""
}
declare -A LTO=([base]=false [thin]='"thin"' [fat]='"fat"')
declare -A CGU=([base]=4 [thin]=1 [fat]=1)
VARIANTS=(base thin fat)
declare -A BINS BUILD_S
for v in "${VARIANTS[@]}"; do
    start=$(date +%s)
    if [ "$v" = release ]; then
        cargo build --release -p tcpscope --quiet
        BINS[$v]=$PWD/target/release/tcpscope
    else
        mapfile -t flags < <(profile_flags "$v" "${LTO[$v]}" "${CGU[$v]}")
        cargo build -p tcpscope --quiet --profile "bp-$v" "${flags[@]}"
        BINS[$v]=$PWD/target/bp-$v/tcpscope
    fi
    cp "${BINS[$v]}" "$WORK/tcpscope-$v"
    cp "${BINS[$v]}" "$WORK/tcpscope-$v.stripped"
    strip --strip-all "$WORK/tcpscope-$v.stripped"
    BUILD_S[$v]=$(( $(date +%s) - start ))
    echo "built $v in ${BUILD_S[$v]} s (only tcpscope's two crates when its target dir existed)" >&2
done

echo
echo "| variant | build (s, this run) | binary (bytes) | stripped (bytes) |"
echo "|---|---:|---:|---:|"
for v in "${VARIANTS[@]}"; do
    echo "| $v | ${BUILD_S[$v]} | $(stat -c %s "$WORK/tcpscope-$v") | $(stat -c %s "$WORK/tcpscope-$v.stripped") |"
done
echo

lab_start est established --count "$SOCKETS"
echo "sockets in $NS: $(in_ns ss -Htan | wc -l)"

cmds=()
oks=()
for v in "${VARIANTS[@]}"; do
    b=$WORK/tcpscope-$v.stripped
    cmds+=("ls $v=$b ls >/dev/null" "ls -p $v=$b ls -p >/dev/null" "doctor $v=$b doctor >/dev/null")
    oks+=(--ok "doctor $v=0,1,2")
done
timeit "${oks[@]}" "$RUNS" "${cmds[@]}" | tee "$WORK/times"

python3 - "$WORK/times" "${VARIANTS[@]}" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).read().splitlines()[-1])
variants = sys.argv[2:]
print("\n| command | " + " | ".join(f"{v} (ms)" for v in variants) + " | " +
      " | ".join(f"{v}/base" for v in variants[1:]) + " |")
print("|---|" + "---:|" * (2 * len(variants) - 1))
for cmd in ["ls", "ls -p", "doctor"]:
    ms = [t[f"{cmd} {v}"]["median_s"] * 1000 for v in variants]
    print(f"| `{cmd}` | " + " | ".join(f"{m:.1f}" for m in ms) + " | " +
          " | ".join(f"{m / ms[0]:.2f}x" for m in ms[1:]) + " |")
PY
