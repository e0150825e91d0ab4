# lib.sh -- shared by run.sh and coverage.sh (sourced, POSIX sh): reads entries of
# programs.list, creates the fixture folder every run starts in, and builds the clean
# environment the programs run with.  It only reads the list and writes below the folders it is
# given; it must never change what a test compares.

PROG_DIR=$(cd "$(dirname "$0")" && pwd)
PROG_LIST=${PROG_LIST:-$PROG_DIR/programs.list}
PROG_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# entry_names: every entry name of the list, one per line.
entry_names() {
	sed -n 's/^\[\([A-Za-z0-9_]*\)\][[:space:]]*$/\1/p' "$PROG_LIST"
}

# entry_field NAME KEY: the value of KEY in entry NAME ("run" goes on to the next blank line).
entry_field() {
	awk -v name="$1" -v key="$2" '
		inrun { if ($0 == "") { inrun = 0; next } print; next }
		/^\[[A-Za-z0-9_]+\][ \t]*$/ { inside = ($0 == "[" name "]"); next }
		!inside { next }
		/^#/ { next }
		{
			k = $0; sub(/:.*/, "", k)
			if (k != key) next
			v = $0; sub(/^[^:]*:[ \t]*/, "", v)
			print v
			if (key == "run") inrun = 1
		}' "$PROG_LIST"
}

entry_exists() {
	entry_names | grep -qx "$1"
}

# entry_missing NAME: prints why NAME cannot run here (nothing when it can).
entry_missing() {
	for _c in $(entry_field "$1" needs); do
		PATH=$PROG_PATH command -v "$_c" >/dev/null 2>&1 || { echo "$_c is not installed"; return; }
	done
	_chk=$(entry_field "$1" check)
	if [ -n "$_chk" ]; then
		( cd "${TMPDIR:-/tmp}" && env -i PATH="$PROG_PATH" LC_ALL=C sh -c "$_chk" ) \
			>/dev/null 2>&1 || echo "check failed: $_chk"
	fi
}

# make_fixture DIR: creates DIR with fix/ (fixed contents and dates), home/ and tmp/.
make_fixture() {
	_d=$1
	mkdir -p "$_d/fix/sub" "$_d/fix/mk" "$_d/home" "$_d/tmp" || return 1
	printf '%s\n' banana apple cherry apple date fig banana apple >"$_d/fix/words.txt"
	awk 'BEGIN { for (i = 1; i <= 3000; i++) print (i * 7919) % 1000 }' >"$_d/fix/numbers.txt"
	printf 'hello world\nsecond line x\nthird\n' >"$_d/fix/a.txt"
	printf 'xyz\nbanana split\n' >"$_d/fix/sub/c.txt"
	ln -s ../a.txt "$_d/fix/sub/link"
	cat >"$_d/fix/hello.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
double twice(double x);
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	for (int i = 0; i < n; i++)
		printf("%d %.2f\n", i, twice(i + 0.25));
	return argc > 1 ? 0 : 7;
}
EOF
	cat >"$_d/fix/util.c" <<'EOF'
#include <math.h>
#ifndef VAL
#define VAL 2
#endif
double twice(double x) { return sqrt(x * x) * VAL; }
EOF
	cat >"$_d/fix/mk/Makefile" <<'EOF'
PARTS = p1.out p2.out p3.out p4.out p5.out p6.out
all: all.out
all.out: $(PARTS)
	cat $(PARTS) | sort > $@
p%.out: gen.sh
	sh gen.sh $* > $@
gen.sh:
	printf 'i=0; while [ $$i -lt $$1 ]; do echo "part $$1 line $$i"; i=$$((i + 1)); done\n' > $@
clean:
	rm -f *.out gen.sh
.PHONY: all clean
EOF
	# The run folder too: it is fix/.. in listings.
	find "$_d/fix" -exec touch -h -d '2020-01-02 03:04:05 UTC' {} + || return 1
	touch -d '2020-01-02 03:04:05 UTC' "$_d" || return 1
}

# prog_exec DIR ARGS...: runs `env -i <the suite's clean environment> ARGS...` (ARGS may start
# with more VAR=value assignments), with HOME and TMPDIR inside the run folder DIR.
prog_exec() {
	_dir=$1
	shift
	env -i PATH="$PROG_PATH" HOME="$_dir/home" TMPDIR="$_dir/tmp" LC_ALL=C TZ=UTC \
		PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 GIT_CONFIG_NOSYSTEM=1 \
		GIT_AUTHOR_NAME="A U Thor" GIT_AUTHOR_EMAIL=author@example.com \
		GIT_COMMITTER_NAME="C O Mitter" GIT_COMMITTER_EMAIL=committer@example.com \
		GIT_AUTHOR_DATE=2020-01-02T03:04:05+00:00 GIT_COMMITTER_DATE=2020-01-02T03:04:05+00:00 \
		"$@"
}
