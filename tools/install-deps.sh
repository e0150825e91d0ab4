#!/bin/sh
# Installs the Debian packages the build and the tests need, when run as root and something is
# missing.  As an ordinary user it only says what is missing; it never fails the build for that.
set -e
PKGS="cmake make gcc libc6-dev pkg-config libzydis-dev strace gdb python3 file binutils pandoc groff-base \
      musl-tools coreutils bash dash perl git tar gzip xz-utils sqlite3 findutils grep sed mawk nodejs libllvm15 \
      golang-go"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	echo "note: missing packages:$missing (run as root, or install them, to build and test)" >&2
fi
