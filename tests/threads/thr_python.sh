#!/bin/sh
# thr_python.sh HOOK -- runs the python3 scenario (thr_python.py) through thr_loop.sh with the
# system's python3 (a Debian program, and no wrapper script such as a pyenv shim that would
# itself run under the loop's timeout), else the interpreter that PATH's python3 really is.
# Exit 77 when there is no python3.  It must never run the script any other way than
# thr_loop.sh does.
set -u
here=$(dirname "$0")
py=/usr/bin/python3
if [ ! -x "$py" ]; then
	py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || {
		echo "SKIP: python3 is not installed"; exit 77; }
	[ -x "$py" ] || { echo "SKIP: python3 executable '$py' not found"; exit 77; }
fi
exec sh "$here/thr_loop.sh" threads_python -- "$py" "$here/thr_python.py" "$1"
