#!/usr/bin/env bash
# Build the Debian package of tcpscope with dpkg-deb (no cargo-deb to install or compile): the
# release binary (stripped), one manual page per command, bash/zsh/fish completions, the docs,
# and contrib/ (Prometheus rules, Grafana dashboard) when the tree has it. Prints the path of
# the .deb on its last line.
#
#   /usr/bin/tcpscope
#   /usr/share/man/man1/tcpscope.1.gz, tcpscope-COMMAND.1.gz       (tcpscope man --dir)
#   /usr/share/bash-completion/completions/tcpscope                (tcpscope completions bash)
#   /usr/share/zsh/vendor-completions/_tcpscope                    (... zsh)
#   /usr/share/fish/vendor_completions.d/tcpscope.fish             (... fish)
#   /usr/share/doc/tcpscope/{README.md,BENCHMARKS.md,docs/,copyright,changelog.Debian.gz}
#   /usr/share/tcpscope/contrib/...                                (when contrib/ exists)
#
# Usage: scripts/build-deb.sh [OUTDIR]      default target/deb
# Needs: cargo, dpkg-deb, gzip, strip (binutils). Runs lintian when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${1:-$PWD/target/deb}

cargo build --release --locked -p tcpscope --quiet
BIN=$PWD/target/release/tcpscope
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
ARCH=$(dpkg --print-architecture)
# 0.1.0-1: upstream version, then the package revision.
DEBVERSION="$VERSION-1"
STAGE=$OUTDIR/tcpscope_${DEBVERSION}_$ARCH
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/usr/bin" "$STAGE/usr/share/man/man1" \
    "$STAGE/usr/share/bash-completion/completions" "$STAGE/usr/share/zsh/vendor-completions" \
    "$STAGE/usr/share/fish/vendor_completions.d" "$STAGE/usr/share/doc/tcpscope/docs"

install -m 0755 "$BIN" "$STAGE/usr/bin/tcpscope"
strip --strip-all --remove-section=.comment --remove-section=.note "$STAGE/usr/bin/tcpscope"

"$BIN" man --dir "$STAGE/usr/share/man/man1" >/dev/null
gzip -9n "$STAGE"/usr/share/man/man1/*.1
"$BIN" completions bash >"$STAGE/usr/share/bash-completion/completions/tcpscope"
"$BIN" completions zsh >"$STAGE/usr/share/zsh/vendor-completions/_tcpscope"
"$BIN" completions fish >"$STAGE/usr/share/fish/vendor_completions.d/tcpscope.fish"

DOC=$STAGE/usr/share/doc/tcpscope
install -m 0644 README.md BENCHMARKS.md "$DOC/"
install -m 0644 docs/* "$DOC/docs/"
if [ -d contrib ]; then
    mkdir -p "$STAGE/usr/share/tcpscope"
    cp -r contrib "$STAGE/usr/share/tcpscope/contrib"
    find "$STAGE/usr/share/tcpscope" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
fi
cat >"$DOC/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tcpscope
Source: the tcpscope repository ($("$BIN" --version))

Files: *
Copyright: the tcpscope authors
License: MIT or Apache-2.0
 tcpscope is dual-licensed under the MIT license and the Apache License 2.0
 (the license field of Cargo.toml). On Debian systems the Apache License 2.0
 is in /usr/share/common-licenses/Apache-2.0.
EOF
printf 'tcpscope (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- tcpscope maintainers <tcpscope@localhost>  %s\n' \
    "$DEBVERSION" "$("$BIN" --version)" "$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")" |
    gzip -9n >"$DOC/changelog.Debian.gz"

# Dependencies: the newest glibc symbol version the binary uses, and libgcc_s (unwinding).
GLIBC=$(objdump -T "$STAGE/usr/bin/tcpscope" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<EOF
Package: tcpscope
Version: $DEBVERSION
Architecture: $ARCH
Maintainer: tcpscope maintainers <tcpscope@localhost>
Installed-Size: $SIZE
Depends: libc6 (>= $GLIBC), libgcc-s1
Recommends: iproute2
Suggests: nftables
Section: net
Priority: optional
Description: every TCP connection on a Linux host: state, owner, whose fault
 tcpscope lists every TCP socket (like ss and netstat, faster), explains what
 each state means, and diagnoses what piles up: `tcpscope doctor` names the
 program that leaks CLOSE-WAIT sockets, the destination that exhausts ports
 with TIME-WAIT, the listener whose queue overflows, and says what to do.
 `tcpscope release` ends leaked sockets in place; `tcpscope lab` builds real
 sockets in any state to learn and test with.
EOF
(cd "$STAGE" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
find "$STAGE" -type d -exec chmod 0755 {} +

DEB=$OUTDIR/tcpscope_${DEBVERSION}_$ARCH.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
if command -v lintian >/dev/null; then
    lintian --no-tag-display-limit "$DEB" >&2 || true
fi
echo "$DEB"
