#!/bin/sh
# Runs inside a matrix root (tools/matrix.sh, chroot): installs what building the library and
# running its core, processes and log tests need, from the root's own Debian release.  Zydis 4
# comes from the release when it has it (libzydis-dev 4.x); when it does not (bullseye), Zydis 4
# and its Zycore are built from Debian 12's (bookworm's) source packages, fetched with
# apt-get source from the same mirror, and installed under /usr/local (see below for a file the
# mirror lacks).  It must never add a binary package source of another release (only deb-src
# lines, removed again after use), never take a file not checked against Debian's signed
# index, and never run outside a matrix root.
#   usage: deps.sh <release> <mirror>
set -eu
rel=$1 mirror=$2
[ -f /.matrix-bootstrapped ] || { echo "deps.sh: not inside a matrix root" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive

# The root's sources: its release only (debootstrap writes the main suite; keep it that way).
echo "deb $mirror $rel main" >/etc/apt/sources.list
rm -f /etc/apt/sources.list.d/matrix-*.list
apt-get update -qq

PKGS="cmake make gcc libc6-dev pkg-config strace python3 gdb file binutils procps xz-utils"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PKGS

zydis=$(apt-cache policy libzydis-dev | awk '/Candidate:/ { print $2 }')
echo "libzydis-dev candidate in $rel: ${zydis:-none}"
case $zydis in
4.*)
	apt-get install -y -qq --no-install-recommends libzydis-dev
	exit 0 ;;
esac

# --- Zydis 4 from Debian 12's source packages ---------------------------------------------------
# apt-get source verifies every file against the signed Sources index.  When the mirror lacks a
# file of a bookworm source package (this workplace's mirror lacks zycore-c_1.4.1's tarballs),
# the upstream tarball (.orig) of another Debian version of the same source package is taken
# instead, fetched by apt's own downloader and checked against the SHA256 of the signed index.
if [ -f /usr/local/lib/libZydis.so ] && [ -f /usr/local/share/doc/matrix-zydis/PROVENANCE ]; then
	exit 0
fi
apt-get install -y -qq --no-install-recommends dpkg-dev ca-certificates g++
srclist=/etc/apt/sources.list.d/matrix-src.list
trap 'rm -f $srclist' EXIT
for r in bookworm trixie; do
	echo "deb-src [signed-by=/etc/apt/keyrings/matrix-debian-archive-keyring.gpg] $mirror $r main"
done >$srclist
apt-get update -qq
W=/usr/local/src/matrix-zydis
rm -rf $W && mkdir -p $W && cd $W
: >provenance

# orig_of <pkg> <version>: "<directory>/<file> <sha256>" of the upstream tarball in the index.
orig_of() {
	apt-cache showsrc "$1" | awk -v v="$2" '
		/^Package:/ { inblk = 0; ck = 0 } /^Version:/ { inblk = ($2 == v) }
		inblk && /^Directory:/ { dir = $2 }
		inblk && /^Checksums-Sha256:/ { ck = 1; next } /^[^ ]/ { ck = 0 }
		inblk && ck && $3 ~ /\.orig\.tar\./ { file = $3; sum = $1 }
		END { if (file != "") print dir "/" file, sum }'
}
# fetch <pkg>: unpacks the source into ./<pkg>-src, bookworm's version first.
fetch() {
	pkg=$1
	if apt-get source -qq "$pkg/bookworm"; then
		d=$(find . -maxdepth 1 -type d -name "$pkg-*" | head -n 1)
		mv "$d" "$pkg-src"
		echo "$pkg: Debian 12 source package $(ls "$pkg"_*.dsc), Debian patches applied" >>provenance
		return 0
	fi
	echo "deps.sh: apt-get source $pkg/bookworm failed; trying the upstream tarballs in the index" >&2
	for v in $(apt-cache showsrc "$pkg" | awk '/^Version:/ { print $2 }'); do
		# shellcheck disable=SC2046
		set -- $(orig_of "$pkg" "$v")
		[ $# = 2 ] || continue
		f=$(basename "$1")
		/usr/lib/apt/apt-helper download-file "$mirror/$1" "$W/$f" "SHA256:$2" || continue
		mkdir "$pkg-src"
		tar -xf "$f" -C "$pkg-src" --strip-components=1
		echo "$pkg: upstream tarball $f of Debian source $pkg $v (SHA256 $2 from the signed Sources index; Debian $v packaging not applied)" >>provenance
		return 0
	done
	echo "deps.sh: no source of $pkg could be fetched" >&2
	exit 1
}
fetch zycore-c
fetch zydis
rm -f $srclist
apt-get update -qq

cmake -S zycore-c-src -B build-zycore -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr/local \
	-DZYCORE_BUILD_SHARED_LIB=ON -DZYCORE_BUILD_EXAMPLES=OFF -DZYCORE_BUILD_TESTS=OFF
cmake --build build-zycore -j "$(nproc)"
cmake --install build-zycore

cmake -S zydis-src -B build-zydis -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr/local \
	-DZYAN_SYSTEM_ZYCORE=ON -DZYDIS_BUILD_SHARED_LIB=ON -DZYDIS_BUILD_TOOLS=OFF \
	-DZYDIS_BUILD_EXAMPLES=OFF -DZYDIS_BUILD_DOXYGEN=OFF -DZYDIS_BUILD_TESTS=OFF \
	-DZYDIS_BUILD_MAN=OFF -DCMAKE_PREFIX_PATH=/usr/local
cmake --build build-zydis -j "$(nproc)"
cmake --install build-zydis
ldconfig

mkdir -p /usr/local/share/doc/matrix-zydis
{
	echo "Built by tools/matrix/deps.sh in this root with its own compiler, installed under /usr/local:"
	cat provenance
} >/usr/local/share/doc/matrix-zydis/PROVENANCE
cat /usr/local/share/doc/matrix-zydis/PROVENANCE
