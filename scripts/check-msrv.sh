#!/usr/bin/env bash
# Is `rust-version` in Cargo.toml the real minimum (issue 17)? Two checks:
#
#  1. Nothing less can work: every package in the locked resolve that the workspace builds
#     (normal, build and dev edges, this platform) declares its own rust-version. None may
#     exceed ours, and the highest is a floor the workspace cannot go below. When that floor is
#     below ours, our own code must be what needs the rest: clippy's `incompatible_msrv` with
#     the floor as msrv must object (it knows standard-library items, not syntax).
#  2. It does work: the toolchain named by rust-version (installed with rustup, profile
#     minimal) checks every target of the workspace, `--locked`, in target/msrv.
#
# rustup downloads from static.rust-lang.org. When that cannot be reached the script says so
# loudly and exits 0 after check 1, unless MSRV_REQUIRE_TOOLCHAIN=1 or TCPSCOPE_FORBID_SKIPS=1
# (CI sets the latter: then it fails).
#
# Usage: scripts/check-msrv.sh         exit 0 when consistent, 1 otherwise
set -euo pipefail
cd "$(dirname "$0")/.."
OURS=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$OURS" ] || { echo "check-msrv: no rust-version in Cargo.toml" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cargo tree --workspace -e normal,build,dev --prefix none --locked 2>/dev/null |
    awk '{print $1" "$2}' | sort -u >"$TMP/tree"
FLOOR=$(cargo metadata --format-version 1 --locked 2>/dev/null | python3 -c '
import json, sys
tree = {tuple(l.split()) for l in open(sys.argv[1]) if l.strip()}
m = json.load(sys.stdin)
ours = tuple(int(x) for x in sys.argv[2].split("."))
key = lambda v: tuple(int(x) for x in v.split("."))
used = [(key(p["rust_version"]), p["rust_version"], p["name"], p["version"]) for p in m["packages"]
        if p.get("rust_version") and (p["name"], "v" + p["version"]) in tree
        and p["source"] is not None]
used.sort()
top = used[-1] if used else ((0,), "0", "-", "-")
above = [u for u in used if u[0][:2] > ours[:2]]
for u in used[-3:]:
    print(f"  {u[2]} {u[3]} needs rust {u[1]}", file=sys.stderr)
if above:
    for u in above:
        print(f"check-msrv: {u[2]} {u[3]} needs rust {u[1]}, above rust-version {sys.argv[2]}", file=sys.stderr)
    sys.exit(1)
print(".".join(str(x) for x in top[0][:2]))
' "$TMP/tree" "$OURS")
echo "rust-version $OURS; the dependencies need at least $FLOOR"

ours_mm=$(cut -d. -f1,2 <<<"$OURS")
if [ "$FLOOR" = "$ours_mm" ]; then
    echo "check-msrv: a dependency needs exactly $ours_mm: nothing older can build the workspace"
else
    # The floor is lower: our code must be what needs $OURS. Ask clippy with the floor as msrv.
    echo "msrv = \"$FLOOR\"" >"$TMP/clippy.toml"
    if CLIPPY_CONF_DIR=$TMP cargo clippy --workspace --all-targets --locked -- -A clippy::all \
        -D clippy::incompatible_msrv 2>"$TMP/out"; then
        echo "check-msrv: rust-version $OURS is higher than needed: dependencies need $FLOOR and clippy finds nothing newer than $FLOOR in our code" >&2
        exit 1
    fi
    grep -m5 "incompatible_msrv\|is stable since\|was stabilized" "$TMP/out" >&2 || true
    echo "check-msrv: our code uses items newer than $FLOOR (above), so $OURS is needed"
fi

if ! rustup toolchain install "$OURS" --profile minimal --no-self-update >"$TMP/rustup" 2>&1; then
    cat "$TMP/rustup" >&2
    echo "check-msrv: NOT COMPILED with $OURS: rustup could not install that toolchain (no network to static.rust-lang.org?); only the dependency check above ran" >&2
    [ "${MSRV_REQUIRE_TOOLCHAIN:-${TCPSCOPE_FORBID_SKIPS:-0}}" = 1 ] && exit 1
    exit 0
fi
start=$(date +%s)
cargo "+$OURS" check --workspace --all-targets --locked --quiet --target-dir target/msrv
echo "check-msrv: ok — $(rustc "+$OURS" --version) checks every target of the workspace ($(( $(date +%s) - start )) s)"
