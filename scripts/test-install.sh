#!/usr/bin/env bash
# Install tcpscope both ways a user would and check what they get (issue 17; run by .ci/run):
#
#  1. `cargo install --locked --path crates/tcpscope` (into a scratch --root): the binary runs
#     and names its version and commit.
#  2. The Debian package (scripts/build-deb.sh) installed with `dpkg -i`: `tcpscope doctor`
#     runs from PATH, `man tcpscope` / `man tcpscope-doctor` find and render every page without
#     a warning, bash (through bash-completion's loader), zsh (compinit from the default fpath)
#     and fish (vendor_completions.d) complete `tcpscope` from the installed files, then
#     `dpkg -r` removes every file again.
#
# Usage: scripts/test-install.sh        as root (dpkg); exits 1 on the first failed check
# Needs: cargo, dpkg, binutils, man-db, groff-base, bash-completion, zsh, fish.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test-install.sh: needs root for dpkg -i" >&2; exit 2; }
fail() { echo "test-install: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }
SCRATCH=$(mktemp -d)
was_installed=$(dpkg-query -W -f='${Status}' tcpscope 2>/dev/null | grep -c 'install ok installed' || true)
cleanup() {
    rm -rf "$SCRATCH"
    if [ "$was_installed" = 0 ] && dpkg-query -W tcpscope >/dev/null 2>&1; then
        dpkg -r tcpscope >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || true)

step "cargo install --locked --path crates/tcpscope --root $SCRATCH/cargo"
start=$(date +%s)
cargo install --locked --quiet --path crates/tcpscope --root "$SCRATCH/cargo"
echo "   built and installed in $(( $(date +%s) - start )) s"
got=$("$SCRATCH/cargo/bin/tcpscope" --version)
echo "   $got"
case "$got" in
    "tcpscope $VERSION ("*) ;;
    *) fail "cargo-installed --version says '$got'" ;;
esac
[ -z "$COMMIT" ] || [[ "$got" == *"$COMMIT"* ]] || fail "--version does not name commit $COMMIT: $got"

step "scripts/build-deb.sh"
DEB=$(scripts/build-deb.sh "$SCRATCH/deb" 2>"$SCRATCH/build-deb.err" | tail -1) ||
    { cat "$SCRATCH/build-deb.err" >&2; fail "build-deb.sh"; }
[ -f "$DEB" ] || fail "no package at '$DEB'"
echo "   $(basename "$DEB"): $(stat -c %s "$DEB") bytes; $(dpkg-deb -f "$DEB" Depends)"

step "dpkg -i $(basename "$DEB")"
dpkg -i "$DEB" >/dev/null
[ "$(command -v tcpscope)" = /usr/bin/tcpscope ] || fail "tcpscope on PATH is '$(command -v tcpscope)'"
[ "$(tcpscope --version)" = "$got" ] || fail "the package's --version '$(tcpscope --version)' is not '$got'"

step "tcpscope doctor, from PATH, in /"
set +e
(cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin tcpscope doctor >"$SCRATCH/doctor.out" 2>"$SCRATCH/doctor.err")
code=$?
set -e
[ "$code" -le 2 ] || { cat "$SCRATCH/doctor.err" >&2; fail "tcpscope doctor exited $code"; }
head -1 "$SCRATCH/doctor.out" | sed 's/^/   /'
echo "   exit $code (0 healthy, 1 warnings, 2 critical)"

step "man pages"
if grep -rqs '^path-exclude=/usr/share/man' /etc/dpkg/dpkg.cfg.d/; then
    fail "dpkg is told not to install manual pages here (path-exclude in /etc/dpkg/dpkg.cfg.d/, as in minimal container images)"
fi
pages=$(dpkg -L tcpscope | grep '^/usr/share/man/man1/.*\.1\.gz$' | sort)
[ -n "$pages" ] || fail "the package has no manual page"
for cmd in ls summary doctor release explain simulate diagram lab completions; do
    grep -qx "/usr/share/man/man1/tcpscope-$cmd.1.gz" <<<"$pages" || fail "no page for tcpscope $cmd"
done
for page in $pages; do
    name=$(basename "$page" .1.gz)
    [ "$(man -w "$name")" = "$page" ] || fail "man -w $name finds '$(man -w "$name")'"
    warnings=$(MANWIDTH=80 man --warnings "$name" 2>&1 >/dev/null || true)
    [ -z "$warnings" ] || fail "man $name warns: $warnings"
    MANWIDTH=80 man "$name" 2>/dev/null | grep -q . || fail "man $name renders nothing"
done
echo "   $(wc -l <<<"$pages") pages found by name and rendered without a warning"

step "completions"
out=$(bash -c 'source /usr/share/bash-completion/bash_completion
    COMP_WORDS=(tcpscope do); COMP_CWORD=1; COMP_LINE="tcpscope do"; COMP_POINT=${#COMP_LINE}
    _comp_load tcpscope 2>/dev/null || __load_completion tcpscope 2>/dev/null || _completion_loader tcpscope
    f=$(complete -p tcpscope | sed -n "s/.*-F \([^ ]*\).*/\1/p"); "$f" tcpscope do tcpscope
    printf "%s\n" "${COMPREPLY[@]}"')
grep -qx doctor <<<"$out" || fail "bash does not complete 'tcpscope do' to doctor: $out"
echo "   bash: tcpscope do<TAB> -> $(tr '\n' ' ' <<<"$out")"
# -D: no dump file. (A dump goes through a temporary file moved over the target: with
# `-d /dev/null` it replaced the device with a regular file, and every later build broke.)
out=$(zsh -fc 'autoload -Uz compinit && compinit -u -D && print -r -- ${_comps[tcpscope]}')
[ "$out" = _tcpscope ] || fail "zsh's compinit did not pick up _tcpscope from its fpath: '$out'"
echo "   zsh: compinit maps tcpscope to $out"
out=$(fish -c 'complete -C "tcpscope do"')
grep -q '^doctor' <<<"$out" || fail "fish does not complete 'tcpscope do': $out"
echo "   fish: tcpscope do<TAB> -> $(cut -f1 <<<"$out" | tr '\n' ' ')"

step "dpkg -r tcpscope"
files=$(dpkg -L tcpscope | while read -r f; do [ -f "$f" ] && echo "$f"; done)
dpkg -r tcpscope >/dev/null
for f in $files; do [ ! -e "$f" ] || fail "$f is still there after dpkg -r"; done
echo "   $(wc -l <<<"$files") files removed"
if [ "$was_installed" != 0 ]; then dpkg -i "$DEB" >/dev/null; fi
echo "test-install: ok"
