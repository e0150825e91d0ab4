#!/bin/bash
# make matrix: builds the library and its tests with -Werror inside minimal Debian roots of other
# glibc versions (bullseye: 2.31, trixie: 2.41) and runs the core, processes and log suites
# there, then prints a table per glibc version.  The roots are made with debootstrap from the
# Debian mirror this machine's apt already uses and kept as a cache outside the repository
# (MATRIX_CACHE), so only the first run downloads anything.  It must never write into the
# source tree, never change the host's apt configuration nor install anything on the host but
# debootstrap, never leave a mount or a process behind (a trap undoes every mount and stops
# what still runs in the root, on failure too), and never delete a root that still has
# something mounted inside it.
#
# Settings (environment):
#   MATRIX_RELEASES  Debian releases to test            (default: "bullseye trixie")
#   MATRIX_CACHE     where roots, downloads, logs live  (default: /var/cache/syscall_intercept-matrix)
#   MATRIX_TESTS     ctest -R regex                     (default: core, processes and log suites)
#   MATRIX_MIRROR    Debian mirror                      (default: the one in /etc/apt/sources*)
#   JOBS             parallel build and ctest jobs      (default: nproc)
#   MATRIX_REV       test this git revision (git archive), e.g. HEAD, instead of the work tree
#   MATRIX_CFLAGS    extra CFLAGS, only to explore past a failure (default: none; a run
#                    with them says EXPLORATORY in its table and is not the matrix's verdict)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
CACHE=${MATRIX_CACHE:-/var/cache/syscall_intercept-matrix}
RELEASES=${MATRIX_RELEASES:-bullseye trixie}
TESTS=${MATRIX_TESTS:-'^(api_|patterns_|unit_|proc_|log_|trace_)'}
JOBS=${JOBS:-$(nproc)}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

say() { printf '[matrix %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
[ "$(uname -m)" = x86_64 ] || die "x86-64 only"

# The Debian mirror of this machine's apt sources (one-line or deb822 format): the first URI
# whose path ends in /debian, so that no other host is ever named here.
detect_mirror() {
	{ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
		2>/dev/null || true; } | awk '
		/^[[:space:]]*#/ { next }
		$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /:\/\//) { print $i; break } }
		$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' |
		{ grep -E '^https?://[^ ]+/debian/?$' || true; } | sed -e 's|/$||' -e q
}
MIRROR=${MATRIX_MIRROR:-$(detect_mirror)}
[ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources*; set MATRIX_MIRROR"

# --- tools on the host -----------------------------------------------------------------------
if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap on the host"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
fi
[ -f "$KEYRING" ] || die "$KEYRING missing (Debian: debian-archive-keyring)"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -n 9 || { say "another make matrix holds $CACHE/.lock; waiting"; flock 9; }

# --- mounts, always undone --------------------------------------------------------------------
MOUNTED=()
mounts_under() {	# mount points at or below $1, deepest first
	awk -v p="$1" '$2 == p || index($2, p "/") == 1 { print $2 }' /proc/mounts | sort -r
}
ACTIVE_ROOT=''
BOOTSTRAPPING=''
root_pids() {	# processes whose root directory is the chroot $1 (only ever ones this run started)
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
	true
}
unmount_all() {
	local i m pids flags=$-
	set +e	# in a trap: one failing step (a process already gone) must not skip the rest
	if [ -n "$ACTIVE_ROOT" ]; then	# nothing of ours may outlive the mounts it runs on
		pids=$(root_pids "$ACTIVE_ROOT")
		if [ -n "$pids" ]; then
			say "stopping what still runs in $ACTIVE_ROOT: $(echo "$pids" | tr '\n' ' ')"
			# shellcheck disable=SC2086
			kill -TERM $pids 2>/dev/null || true
			sleep 2
			pids=$(root_pids "$ACTIVE_ROOT")
			# shellcheck disable=SC2086
			[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
			sleep 1
		fi
		ACTIVE_ROOT=
	fi
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		m=${MOUNTED[i]}
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "could not unmount $m"
	done
	MOUNTED=()
	if [ -n "$BOOTSTRAPPING" ]; then	# debootstrap interrupted: its own /proc, /sys mounts
		for m in $(mounts_under "$BOOTSTRAPPING"); do umount "$m" || umount -l "$m"; done
		BOOTSTRAPPING=
	fi
	case $flags in *e*) set -e ;; esac
}
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

domount() {	# domount <target> <mount args...>
	local target=$1; shift
	mkdir -p "$target"
	mount "$@" "$target"
	MOUNTED+=("$target")
}
mount_root() {
	local r=$1
	ACTIVE_ROOT=$r
	domount "$r/proc" -t proc proc
	domount "$r/sys" -t sysfs sysfs
	domount "$r/dev" --bind /dev
	domount "$r/dev/pts" --bind /dev/pts
	domount "$r/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm
	domount "$r/tmp" -t tmpfs -o mode=1777,nosuid,size=2g tmp
}

# chroot with a clean environment: nothing of the host's shell leaks in.
inroot() {
	local r=$1; shift
	chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}

# --- one root per release ---------------------------------------------------------------------
make_root() {	# debootstrap (variant minbase) unless a finished root is cached
	local rel=$1 r=$CACHE/$1/root part=$CACHE/$1/root.partial
	[ -f "$r/.matrix-bootstrapped" ] && return 0
	if [ -e "$part" ]; then
		[ -z "$(mounts_under "$part")" ] || die "$part has mounts left; unmount them first"
		rm -rf --one-file-system "$part"
	fi
	say "$rel: debootstrap --variant=minbase from $MIRROR"
	mkdir -p "$CACHE/debs"
	BOOTSTRAPPING=$part
	if ! debootstrap --variant=minbase --keyring="$KEYRING" --cache-dir="$CACHE/debs" \
		"$rel" "$part" "$MIRROR" >"$CACHE/$rel/debootstrap.log" 2>&1; then
		for m in $(mounts_under "$part"); do umount "$m" || umount -l "$m"; done
		tail -n 20 "$CACHE/$rel/debootstrap.log" >&2
		die "$rel: debootstrap failed (log: $CACHE/$rel/debootstrap.log)"
	fi
	BOOTSTRAPPING=
	touch "$part/.matrix-bootstrapped"
	mv "$part" "$r"
}

install_deps() {	# tools/matrix/deps.sh inside the root, again only when it changed
	local rel=$1 r=$CACHE/$1/root stamp sum
	stamp=$r/var/lib/syscall_intercept-matrix/deps.sha256
	sum=$(sha256sum <"$HERE/matrix/deps.sh" | cut -d" " -f1)
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && return 0
	say "$rel: installing build and test dependencies"
	mkdir -p "$r/matrix" "$r/etc/apt/keyrings" "$(dirname "$stamp")"
	cp "$HERE/matrix/deps.sh" "$r/matrix/deps.sh"
	cp "$KEYRING" "$r/etc/apt/keyrings/matrix-debian-archive-keyring.gpg"
	if ! inroot "$r" sh /matrix/deps.sh "$rel" "$MIRROR" >"$CACHE/$rel/deps.log" 2>&1; then
		tail -n 30 "$CACHE/$rel/deps.log" >&2
		die "$rel: installing dependencies failed (log: $CACHE/$rel/deps.log)"
	fi
	echo "$sum" >"$stamp"
}

copy_source() {	# a snapshot of the work tree (tracked and untracked files, not ignored ones)
	local r=$1
	rm -rf --one-file-system "$r/matrix/src" "$r/matrix/build" "$r/matrix/out"
	mkdir -p "$r/matrix/src" "$r/matrix/out"
	if [ -n "${MATRIX_REV:-}" ]; then
		git -C "$SRC" archive --format=tar "$MATRIX_REV" | tar -C "$r/matrix/src" -xf -
	elif git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
		# shellcheck disable=SC2016
		(cd "$SRC" && git ls-files -z -co --exclude-standard | xargs -0 -r sh -c \
			'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh | tar --null -T - -cf -) |
			tar -C "$r/matrix/src" -xf -
	else
		tar -C "$SRC" --anchored --exclude='./build*' --exclude='./.git' -cf - . |
			tar -C "$r/matrix/src" -xf -
	fi
	cp "$HERE/matrix/build-test.sh" "$r/matrix/build-test.sh"
}

# --- results ----------------------------------------------------------------------------------
declare -A RESULT_TABLE
OVERALL=0

# Reads ctest's "N/M Test #k: name ...   Passed  0.1 sec" lines; counts per suite (the test
# name's first word) and quotes the first lines of each failed test's output.
tabulate() {
	awk -v info="$2" '
		grab > 0 && (/^ *Start +[0-9]+: |Test +#[0-9]+: |^[0-9]+% tests passed/ || grab > 8) { grab = 0 }
		grab > 0 { if ($0 != "") why[nf] = why[nf] "      | " $0 "\n"; grab++ }
		/Test +#[0-9]+: / {
			name = $0; sub(/.*Test +#[0-9]+: /, "", name); sub(/ .*/, "", name)
			suite = name; sub(/_.*/, "", suite)
			if ($0 ~ /\*\*\*Skipped|Not Run \(Disabled\)| Skipped /) r = "skip"
			else if ($0 ~ / Passed /) r = "pass"
			else { r = "fail"; failed[++nf] = name; grab = 1 }
			if (!(suite in seen)) { seen[suite] = 1; order[++ns] = suite }
			count[suite, r]++; total[r]++
		}
		END {
			printf "\n%s\n", info
			printf "  %-10s %7s %7s %7s\n", "suite", "passed", "failed", "skipped"
			for (i = 1; i <= ns; i++) {
				s = order[i]
				printf "  %-10s %7d %7d %7d\n", s, count[s, "pass"], count[s, "fail"], count[s, "skip"]
			}
			printf "  %-10s %7d %7d %7d\n", "total", total["pass"], total["fail"], total["skip"]
			for (i = 1; i <= nf; i++) printf "  FAILED: %s\n%s", failed[i], why[i]
		}' "$1"
}

run_release() {
	local rel=$1 r=$CACHE/$1/root out=$CACHE/$1/out rc=0 t0 info
	t0=$(date +%s)
	mkdir -p "$CACHE/$rel"
	make_root "$rel"
	install_deps "$rel"
	copy_source "$r"
	mount_root "$r"
	say "$rel: source $SOURCE_DESC; cmake -DWERROR=ON, build, ctest -R '$TESTS'"
	inroot "$r" sh /matrix/build-test.sh "$JOBS" "$TESTS" "${MATRIX_CFLAGS:-}" 2>&1 | tee "$CACHE/$rel/run.log" |
		grep -E --line-buffered '^(== |[[:space:]]*[0-9]+/[0-9]+ Test|.*(error|warning):)' >&2 ||
		true
	rc=$(cat "$r/matrix/out/status" 2>/dev/null || echo 99)
	unmount_all
	rm -rf "$out" && cp -r "$r/matrix/out" "$out"
	info="== $rel: $(cat "$out/versions" 2>/dev/null || echo '?')  [$(($(date +%s) - t0)) s, logs in $out]"
	if [ "$rc" = 4 ]; then
		info="$info
  BUILD FAILED (cmake -DWERROR=ON), errors:
$(grep -E 'error:|undefined reference' "$out/diagnostics.txt" | sed 's/^/    /')"
		[ -f "$out/ctest.log" ] && info="$info
  tests of what did build:"
	fi
	if [ -f "$out/ctest.log" ]; then
		RESULT_TABLE[$rel]=$(tabulate "$out/ctest.log" "$info")
	else
		RESULT_TABLE[$rel]=$(printf '\n%s\n  %s FAILED: see %s\n' "$info" \
			"$(cat "$out/stage" 2>/dev/null || echo 'did not run')" "$out")
	fi
	[ "$rc" = 0 ] || OVERALL=1
}

if [ -n "${MATRIX_REV:-}" ]; then
	SOURCE_DESC="git $(git -C "$SRC" rev-parse --short "$MATRIX_REV") ($MATRIX_REV)"
elif git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	SOURCE_DESC="work tree at git $(git -C "$SRC" rev-parse --short HEAD)$(git -C "$SRC" status --porcelain | grep -q . && echo " + local changes" || true)"
else
	SOURCE_DESC="work tree $SRC"
fi
T0=$(date +%s)
for rel in $RELEASES; do
	run_release "$rel"
done

echo
echo "make matrix: $RELEASES ($(($(date +%s) - T0)) s; source: $SOURCE_DESC; tests: $TESTS)"
for rel in $RELEASES; do
	printf '%s\n' "${RESULT_TABLE[$rel]}"
done
exit $OVERALL
