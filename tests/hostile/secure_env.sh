#!/bin/sh
# secure_env.sh LIB HOOK PROG -- secure mode (AT_SECURE): a set-user-ID root program run by an
# unprivileged user with every INTERCEPT_* variable set must find none of them left in its
# environment, act on none of them (no log, no plan cache, no dump, normal mode although
# INTERCEPT_ALL_OBJS/INTERCEPT_EXHAUSTIVE ask otherwise, patched although the filter names
# another program), and still reach the hook; the program it then runs as full root must
# inherit none of them (before, it opened the user's log path as root).
#
# How, without changing the machine: needs root (exit 77 otherwise: the CI runs as root).  In a
# private mount namespace (unshare -m) a tmpfs is mounted on a fresh folder under /tmp; the
# library, HOOK (api_answer_hook.so) and two copies of PROG (secure_prog) go there, one of them
# set-user-ID root.  /etc is covered by an overlay (or, without overlayfs, a bind-mounted copy)
# whose /etc/ld.so.preload names the library and the hook: glibc honours neither LD_PRELOAD
# paths nor untrusted folders in secure mode, but always /etc/ld.so.preload.  Then
# `setpriv` runs PROG as nobody (65534), which sets the variables and executes the
# set-user-ID copy.  Everything mounted exists only in that namespace and disappears with it,
# even if this script is killed: the host's /etc is never modified and no set-user-ID file is
# left on disk; the trap removes the empty mount point.  Exit 77 also when mount namespaces,
# setpriv or set-user-ID execution are unavailable (a container without CAP_SYS_ADMIN,
# no_new_privs).
set -u
LC_ALL=C; export LC_ALL

skip() { echo "SKIP: $*"; exit 77; }

if [ "${1:-}" = "--inner" ]; then
	# ---- inside the private mount namespace
	tmp=$2 lib=$3 hook=$4 prog=$5
	mount -t tmpfs -o mode=755,size=64m si-secure-test "$tmp" ||
		skip "cannot mount a tmpfs in a private mount namespace"
	mkdir "$tmp/bin" "$tmp/logs" "$tmp/up" "$tmp/work" "$tmp/etc" || exit 1
	cp "$lib" "$tmp/bin/libsyscall_intercept.so.0" && cp "$hook" "$tmp/bin/hook.so" &&
		cp "$prog" "$tmp/bin/launch" && cp "$prog" "$tmp/bin/secure-parent" || exit 1
	chown 0:0 "$tmp/bin/secure-parent" && chmod 4755 "$tmp/bin/secure-parent" || exit 1
	if ! mount -t overlay si-secure-etc \
		-o "lowerdir=/etc,upperdir=$tmp/up,workdir=$tmp/work" /etc 2>/dev/null; then
		cp -a /etc/. "$tmp/etc/" && mount --bind "$tmp/etc" /etc ||
			skip "cannot cover /etc in a private mount namespace"
	fi
	printf '%s\n%s\n' "$tmp/bin/libsyscall_intercept.so.0" "$tmp/bin/hook.so" >/etc/ld.so.preload ||
		exit 1
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$tmp/bin/launch" launch "$tmp/bin/secure-parent" "$tmp/logs" "$tmp/plans" \
		>"$tmp/stdout" 2>"$tmp/stderr"
	st=$?
	rm -f /etc/ld.so.preload	# what follows runs without the library
	out=$(cat "$tmp/stdout") err=$(cat "$tmp/stderr")
	if ! printf '%s\n' "$out" | grep -q '^parent at_secure=1$'; then
		printf '%s\n%s\n' "$out" "$err"
		skip "the set-user-ID copy did not run in secure mode here (no_new_privs? nosuid?)"
	fi
	fail=0
	for want in "parent env none" "parent allowed=1" "parent libc_getppid=hooked" \
		"parent inline_getppid=kernel" "child at_secure=0" "child env none" \
		"child libc_getppid=hooked" "child log=absent" "child failed_mark=absent" \
		"child plans=absent"; do
		if printf '%s\n' "$out" | grep -qx -- "$want"; then echo "ok    $want"
		else echo "FAIL  expected \"$want\""; fail=1; fi
	done
	if [ $st -ne 0 ]; then echo "FAIL  status $st"; fail=1; fi
	if [ -n "$err" ]; then echo "FAIL  something on stderr (a dump, a log message)"; fail=1
	else echo "ok    nothing on stderr (INTERCEPT_DEBUG_DUMP ignored)"; fi
	if [ $fail -ne 0 ]; then
		echo "---- stdout:"; printf '%s\n' "$out"
		echo "---- stderr (first lines):"; printf '%s\n' "$err" | head -n 20
		echo "---- $tmp/logs:"; ls -la "$tmp/logs"
	fi
	exit $fail
fi

lib=$1 hook=$2 prog=$3
[ "$(id -u)" = 0 ] || skip "needs root (runs a set-user-ID root copy of a test program as nobody)"
for tool in unshare setpriv mount; do
	command -v $tool >/dev/null 2>&1 || skip "$tool is not installed"
done
unshare --mount --propagation private true 2>/dev/null ||
	skip "no private mount namespace here (unshare -m: a container without CAP_SYS_ADMIN?)"
tmp=$(mktemp -d /tmp/si_secure.XXXXXX) || exit 1
# The namespace's mounts are gone once unshare returns; only the empty folder is left to remove.
trap 'rmdir "$tmp" 2>/dev/null || rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
# A clean environment: nothing of ours (INTERCEPT_*, LD_PRELOAD) may reach the launcher.
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	unshare --mount --propagation private sh "$0" --inner "$tmp" "$lib" "$hook" "$prog"
st=$?
[ $st -eq 0 ] && echo PASS
exit $st
