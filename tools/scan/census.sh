#!/bin/sh
# census.sh SCANNER [OUTDIR] -- the patchability census of this machine: runs
# syscall-intercept-scan --summary over every shared library under /usr/lib and /lib (files
# named *.so or *.so.*, each file once however many names it has), and prints the totals, the
# numbers for libc and ld.so, the files with unpatched sites and the unpatched sites grouped by
# reason, and the exception landing pads (how many, how many in decoded code, any that a plan
# made without them would have covered, any the analysis missed) (the input of
# docs/CENSUS.md).  The raw scanner output goes to OUTDIR/census.txt
# (default: a temporary folder, removed).  CENSUS_SCAN_FLAGS adds scanner options (--threads:
# plan as with other threads running).  It only reads the libraries.
set -u
scan=${1:?usage: census.sh SCANNER [OUTDIR]}
out=${2:-}
if [ -z "$out" ]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/si-census.XXXXXX") || exit 1
	trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out" || exit 1

# Every regular file once: symlinks (and a merged /lib -> /usr/lib) resolved, hard links by inode.
find /usr/lib /lib -xdev \( -name '*.so' -o -name '*.so.*' \) \( -type f -o -type l \) \
	-exec readlink -f {} + 2>/dev/null | sort -u |
	while read -r f; do
		[ -f "$f" ] && stat -c '%d:%i %n' "$f"
	done | sort -u -k1,1 | cut -d' ' -f2- | sort >"$out/files.txt"
n_files=$(wc -l <"$out/files.txt")

# In batches, so one huge command line never fails.
tr '\n' '\0' <"$out/files.txt" | xargs -0 -n 200 "$scan" --summary --quiet --landing-pads ${CENSUS_SCAN_FLAGS:-} >"$out/raw.txt"
grep -v '^total: ' "$out/raw.txt" >"$out/census.txt"

awk -v n_files="$n_files" '
	/: [0-9]+ sites, / {
		elf++
		sites += $2; win += $4; pad += $6; un += $8
		if ($2 > 0) with_sites++
		if ($8 > 0) bad[$1] = $8 " of " $2
		if (match($0, /\([0-9]+ of the sites not in code sections\)/)) {
			n = substr($0, RSTART + 1); sub(/ .*/, "", n)
			notcode += n; datafile[$1] = n " of " $2
		}
		next
	}
	/: [0-9]+ landing pads, / {
		pads += $2; pads_dec += $5; pads_old += $9; pads_missed += $15
		next
	}
	/ unpatched: / {
		r = $0; sub(/^[^ ]+ 0x[0-9a-f]+ unpatched: /, "", r)
		if (r ~ /\[not code: /) { un_data++; sub(/ \[not code: .*/, " (not code)", r) }
		reason[r]++
	}
	END {
		printf "shared-library files under /usr/lib and /lib: %d (x86-64 ELF: %d, with syscall sites: %d)\n", n_files, elf, with_sites
		printf "as the library sees them (whole executable segments):\n"
		printf "  sites: %d   jmp-window: %d   jmp-padding: %d   unpatched: %d   patchable: %.3f%%\n", sites, win, pad, un, sites ? 100 * (win + pad) / sites : 100
		cs = sites - notcode; cu = un - un_data
		printf "real syscall instructions (in executable sections):\n"
		printf "  sites: %d   unpatched: %d   patchable: %.3f%%\n", cs, cu, cs ? 100 * (cs - cu) / cs : 100
		printf "bytes 0f 05 outside code sections that the library takes for sites: %d\n", notcode
		printf "exception landing pads: %d, in decoded code: %d, inside windows planned without them: %d, not marked as targets: %d\n", pads, pads_dec, pads_old, pads_missed
		for (f in datafile) printf "  %s %s\n", f, datafile[f]
		if (un) {
			print "unpatched sites by reason:"
			for (r in reason) printf "  %5d  %s\n", reason[r], r
			print "files with unpatched sites (unpatched of sites):"
			for (f in bad) printf "  %s %s\n", f, bad[f]
		}
	}' "$out/census.txt"
echo "libc and ld.so:"
grep -E '/(libc\.so\.6|ld-linux-x86-64\.so\.2): ' "$out/census.txt" | sed 's/^/  /'
echo "unpatched sites:"
grep ' unpatched: ' "$out/census.txt" | sed 's/^/  /'
echo "landing pads a plan made without them would have covered, or the analysis missed:"
grep -E ' landing pad (inside|NOT)' "$out/census.txt" | sed 's/^/  /'
