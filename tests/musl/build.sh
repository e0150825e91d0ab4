#!/bin/sh
# build.sh SRCDIR OUTDIR [ZYDIS_LIBRARY [SOURCES]] -- builds, with musl-gcc, a musl variant of libsyscall_intercept.so.0
# from the library's unchanged sources (plus musl_compat.c), a hook library and a test program
# linked dynamically against musl, into OUTDIR.  Zydis is not rebuilt: Debian's libZydis.so.4
# needs only memcpy, memset, strlen, __assert_fail and __stack_chk_fail from its libc.so.6, and
# musl's loader takes "libc.so.6" for itself, so the glibc-built Zydis loads into a musl process.
# Kernel and Zydis headers come from /usr/include through a folder of links (musl-gcc hides
# /usr/include).  SOURCES: the library's files of src/ (':' or ';' between them);
# default every src/*.c and src/*.S but log_stub.c.  Exit 77 when musl-gcc or Zydis is missing.  It writes only below OUTDIR.
set -eu
src=$1 out=$2
command -v musl-gcc >/dev/null || { echo "SKIP: musl-gcc is not installed (Debian: musl-tools)"; exit 77; }
zydis=${3:-/usr/lib/x86_64-linux-gnu/libZydis.so}
[ -f "$zydis" ] || { echo "SKIP: $zydis not found"; exit 77; }
zydis_dir=$(dirname "$(readlink -f "$zydis")")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/inc" "$out/obj"
for d in Zydis Zycore linux asm-generic; do ln -sfn "/usr/include/$d" "$out/inc/$d"; done
ln -sfn /usr/include/x86_64-linux-gnu/asm "$out/inc/asm"

CFLAGS="-std=gnu11 -O2 -g -fPIC -Wall -Wextra -Werror -fvisibility=hidden -fno-builtin
	-fasynchronous-unwind-tables -fno-stack-protector -ftls-model=initial-exec
	-I$src/include -I$src/src -isystem $out/inc"
objs=""
if [ -n "${4:-}" ]; then
	files=$(echo "$4" | tr ';:' '  ')
else
	files=$(cd "$src/src" && ls ./*.c ./*.S | sed 's|^\./||' | grep -v '^log_stub\.c$')
fi
files=$(echo $files)
case " $files " in *" init.c "*) ;; *) files="$files init.c" ;; esac
for f in $files; do
	[ -f "$src/src/$f" ] || continue
	extra=""
	case $f in
	late_load.c) extra="-include $here/musl_compat.h" ;;
	dispatch.c|safety_net.c|util.c|log.c|log_format.c|syscall_table.c) extra="-mgeneral-regs-only" ;;
	esac
	# shellcheck disable=SC2086
	musl-gcc $CFLAGS $extra -c "$src/src/$f" -o "$out/obj/$f.o"
	objs="$objs $out/obj/$f.o"
done
# shellcheck disable=SC2086
musl-gcc $CFLAGS -c "$here/musl_compat.c" -o "$out/obj/musl_compat.o"
# shellcheck disable=SC2086
musl-gcc -shared -o "$out/libsyscall_intercept.so.0" $objs "$out/obj/musl_compat.o" \
	-Wl,-soname,libsyscall_intercept.so.0 \
	-Wl,--version-script="$src/src/libsyscall_intercept.map" -Wl,-z,now -Wl,-z,noexecstack \
	"$zydis" -Wl,-rpath,"$zydis_dir" -Wl,--allow-shlib-undefined
ln -sfn libsyscall_intercept.so.0 "$out/libsyscall_intercept.so"
musl-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -fPIC -shared -I"$src/include" \
	"$here/musl_hook.c" -L"$out" -lsyscall_intercept -Wl,-rpath,"$out" -o "$out/musl_hook.so"
musl-gcc -std=gnu11 -O2 -Wall -Wextra -Werror "$here/musl_prog.c" -o "$out/musl_prog" -lpthread
