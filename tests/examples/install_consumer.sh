#!/bin/sh
# install_consumer.sh BUILD_DIR CONSUMER_SRC -- installs the build into a scratch prefix
# (cmake --install --prefix) and checks, against that install only:
#  - the files a user needs are there (library + soname link, header, pkg-config file, CMake
#    package, examples with their sources, man pages when they were built);
#  - a consumer CMake project using find_package(syscall_intercept) and
#    syscall_intercept::syscall_intercept builds a hook library, and so does a plain cc with
#    `pkg-config --cflags --libs libsyscall_intercept`; preloaded (LD_LIBRARY_PATH = the
#    prefix's lib), both make `mkdir` fail with "Read-only file system";
#  - the installed examples work as installed, without LD_LIBRARY_PATH (their RUNPATH finds
#    the library): deny_getdents makes ls fail, log_stderr logs.
# `cmake --install` rewrites BUILD_DIR/install_manifest.txt, which `make uninstall` reads: it
# is saved and restored, so a real install stays uninstallable.
set -u
. "$(dirname "$0")/lib.sh"
build=$1
consumer=$2
si_tmpdir
prefix=$tmp/prefix
manifest=$build/install_manifest.txt
if [ -f "$manifest" ]; then cp "$manifest" "$tmp/manifest.saved"; fi
restore() {
	if [ -f "$tmp/manifest.saved" ]; then cp "$tmp/manifest.saved" "$manifest"; else rm -f "$manifest"; fi
	rm -rf "$tmp"
}
trap restore EXIT

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install"; }
libdir=$(cd "$prefix" && ls -d lib lib64 lib/x86_64-linux-gnu 2>/dev/null | while read -r d; do
	[ -e "$prefix/$d/libsyscall_intercept.so.0" ] && echo "$d"; done | head -n 1)
[ -n "$libdir" ] || fail "libsyscall_intercept.so.0 not installed"
lib=$prefix/$libdir
for f in "$lib/libsyscall_intercept.so" "$lib/libsyscall_intercept.so.0" \
	 "$prefix/include/libsyscall_intercept_hook_point.h" \
	 "$lib/pkgconfig/libsyscall_intercept.pc" \
	 "$lib/cmake/syscall_intercept/syscall_intercept-config.cmake" \
	 "$lib/cmake/syscall_intercept/syscall_intercept-config-version.cmake" \
	 "$lib/cmake/syscall_intercept/syscall_intercept-targets.cmake"; do
	[ -e "$f" ] || fail "not installed: ${f#$prefix/}"
done
ex=$prefix/share/syscall_intercept/examples
for e in deny_getdents log_stderr redirect fault_inject fork_limit net_deny; do
	[ -f "$ex/$e.so" ] && [ -f "$ex/$e.c" ] || fail "example $e not installed with its source"
done
if [ -f "$build/docs/libsyscall_intercept.3" ]; then
	[ -f "$prefix/share/man/man3/libsyscall_intercept.3" ] || fail "man page (3) not installed"
	[ -f "$prefix/share/man/man1/syscall-trace.1" ] || fail "man page (1) not installed"
fi
echo "install: ok ($libdir)"

mkdir "$tmp/ro"
check_hook() {	# check_hook HOOK DESCRIPTION
	rm -rf "$tmp/ro/d"
	LD_LIBRARY_PATH=$lib LD_PRELOAD=$1 mkdir "$tmp/ro/d" 2>"$tmp/err" && fail "$2: mkdir succeeded"
	grep -q "Read-only file system" "$tmp/err" || fail "$2: $(cat "$tmp/err")"
	[ -e "$tmp/ro/d" ] && fail "$2: the directory was created"
	LD_LIBRARY_PATH=$lib LD_PRELOAD=$1 ls "$tmp/ro" >/dev/null || fail "$2: other syscalls broke"
	echo "$2: ok"
}

# CMake consumer: only the scratch prefix is searched.
cmake -S "$consumer" -B "$tmp/cbuild" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF >"$tmp/c.log" 2>&1 || { cat "$tmp/c.log"; fail "consumer configure"; }
cmake --build "$tmp/cbuild" >>"$tmp/c.log" 2>&1 || { cat "$tmp/c.log"; fail "consumer build"; }
check_hook "$tmp/cbuild/consumer_hook.so" "find_package consumer"

# pkg-config consumer.
if command -v pkg-config >/dev/null; then
	flags=$(PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_LIBDIR=$lib/pkgconfig \
		pkg-config --cflags --libs libsyscall_intercept) || fail "pkg-config"
	echo "pkg-config: $flags"
	case "$flags" in *"$prefix"*) ;; *) fail "pkg-config flags do not point into the prefix" ;; esac
	# shellcheck disable=SC2086
	cc -Wall -Wextra -fpic -shared "$consumer/hook.c" $flags -o "$tmp/pc_hook.so" ||
		fail "cc with pkg-config flags"
	check_hook "$tmp/pc_hook.so" "pkg-config consumer"
else
	echo "pkg-config not installed: that half is not checked"
fi

# Installed examples, as installed: no LD_LIBRARY_PATH.
mkdir "$tmp/list" && touch "$tmp/list/x"
LD_PRELOAD=$ex/deny_getdents.so ls "$tmp/list" 2>"$tmp/err" && fail "installed deny_getdents: ls succeeded"
grep -q "Operation not supported" "$tmp/err" || fail "installed deny_getdents: $(cat "$tmp/err")"
LD_PRELOAD=$ex/log_stderr.so LOG_STDERR_ONLY=getdents64 ls "$tmp/list" 2>"$tmp/err" >/dev/null ||
	fail "installed log_stderr: ls failed"
grep -q "getdents64(" "$tmp/err" || fail "installed log_stderr logged nothing: $(cat "$tmp/err")"
echo "installed examples: ok"
echo PASS
