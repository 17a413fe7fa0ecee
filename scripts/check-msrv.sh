#!/usr/bin/env bash
# Is `rust-version` in Cargo.toml the real minimum? Only one toolchain is installed here, so the
# minimum cannot be proven by building with it; this checks what can be checked with one:
#
#  1. Dependencies: every package in the locked resolve that the workspace builds (normal, build
#     and dev edges, this platform) declares its own rust-version. None may exceed ours, and
#     the highest is a floor: the workspace cannot build with less.
#  2. Our code: clippy's `incompatible_msrv` lint (run by the normal `cargo clippy -D warnings`
#     in CI, reading rust-version from Cargo.toml) refuses any standard-library item stabilised
#     after it. When the dependencies' floor is below our rust-version, the code must be what
#     needs the rest: clippy is run again with the floor as its msrv and must object; if it does
#     not, rust-version is higher than anything needs and this script fails.
#
# Not checked (and not provable without the old toolchain): language features and syntax
# stabilised later (the lint only knows library items), changes in type inference or lints,
# Cargo manifest/lockfile features, and whether dependencies' declared rust-version is true.
#
# Usage: scripts/check-msrv.sh         exit 0 when consistent, 1 otherwise
set -euo pipefail
cd "$(dirname "$0")/.."
OURS=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$OURS" ] || { echo "check-msrv: no rust-version in Cargo.toml" >&2; exit 1; }

cargo tree --workspace -e normal,build,dev --prefix none --locked 2>/dev/null |
    awk '{print $1" "$2}' | sort -u >"${TMPDIR:-/tmp}/msrv-tree.$$"
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
for u in used[-5:]:
    print(f"  {u[2]} {u[3]} needs rust {u[1]}", file=sys.stderr)
if above:
    for u in above:
        print(f"check-msrv: {u[2]} {u[3]} needs rust {u[1]}, above rust-version {sys.argv[2]}", file=sys.stderr)
    sys.exit(1)
print(".".join(str(x) for x in top[0][:2]))
' "${TMPDIR:-/tmp}/msrv-tree.$$" "$OURS")
rm -f "${TMPDIR:-/tmp}/msrv-tree.$$"
echo "rust-version $OURS; the dependencies need at least $FLOOR"

ours_mm=$(cut -d. -f1,2 <<<"$OURS")
if [ "$FLOOR" = "$ours_mm" ]; then
    echo "check-msrv: ok — a dependency needs exactly $OURS; clippy's incompatible_msrv (CI's clippy run) keeps our code within it"
    exit 0
fi
# The floor is lower: our code must be what needs $OURS. Ask clippy with the floor as msrv.
conf=$(mktemp -d)
trap 'rm -rf "$conf"' EXIT
echo "msrv = \"$FLOOR\"" >"$conf/clippy.toml"
if CLIPPY_CONF_DIR=$conf cargo clippy --workspace --all-targets --locked -- -A clippy::all \
    -D clippy::incompatible_msrv 2>"$conf/out"; then
    echo "check-msrv: rust-version $OURS is higher than needed: dependencies need $FLOOR and clippy finds nothing newer than $FLOOR in our code" >&2
    exit 1
fi
grep -m5 "incompatible_msrv\|is stable since\|was stabilized" "$conf/out" >&2 || true
echo "check-msrv: ok — our code uses items newer than $FLOOR (above), so $OURS is needed"
