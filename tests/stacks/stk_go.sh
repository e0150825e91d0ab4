#!/bin/sh
# stk_go.sh -- a dynamically linked (cgo) Go program under the library: every goroutine starts
# on a 2 KiB stack, and under INTERCEPT_ALL_OBJS and INTERCEPT_EXHAUSTIVE the Go runtime's own
# syscalls run through the library there.  Builds stk_go.go with the installed Go toolchain
# (its caches in STK_GO_DIR, the standard library only, no network), runs it natively and then
# in every mode under the library alone and under stk_hook.so, all twice: the same output and
# status as native.  Then the go command itself, a real program, lists the standard library under
# INTERCEPT_ALL_OBJS and INTERCEPT_EXHAUSTIVE, as natively.  Exits 77 (skip) where `go` is
# missing.
# usage: stk_go.sh <stk_go.go> <stk_hook.so>   (environment: STK_GO_DIR, a folder of the build)
. "$(dirname "$0")/stk_lib.sh"
src=$1
hook=$2
command -v go >/dev/null 2>&1 || stk_skip "go is not installed (Debian: golang-go)"
: "${STK_GO_DIR:?}"
mkdir -p "$STK_GO_DIR" || exit 2
export GOCACHE="$STK_GO_DIR/cache" GOPATH="$STK_GO_DIR/path" GOFLAGS="" GO111MODULE=off
export CGO_ENABLED=1 GOTOOLCHAIN=local GOPROXY=off
bin=$STK_GO_DIR/stk_go
if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
	if ! (cd "$STK_GO_DIR" && env -u LD_PRELOAD go build -o "$bin.tmp" "$src") \
		>"$STK_WORK/build.log" 2>&1; then
		cat "$STK_WORK/build.log" >&2
		stk_fail "go build of $src failed"
		stk_finish
	fi
	mv "$bin.tmp" "$bin"
fi
mkdir "$STK_WORK/files" || exit 2

STK_MODES_EXTRA=alllog
for round in 1 2; do
	stk_each_mode "go$round" "$hook" same "$bin" "$STK_WORK/files"
done

# The go command: dynamically linked on Debian (cgo); skipped where it is static.
gocmd=$(command -v go)
if file -L "$gocmd" 2>/dev/null | grep -q 'dynamically linked'; then
	stk_run native default golist "$gocmd" list std
	native=$STK_RUN
	if stk_expect_exit "$native" 0; then
		for env in all exh; do
			[ "$env" = exh ] && ! stk_has_sud && continue
			stk_run lib "$env" golist "$gocmd" list std
			stk_expect_exit "$STK_RUN" 0 || continue
			stk_compare "$STK_RUN" "$native"
			stk_check_active "$STK_RUN"
		done
	fi
else
	echo "note: $gocmd is not dynamically linked: the go command itself is not tried"
fi
stk_finish
