/*
 * sitecheck.c -- looks at the text of libc.so.6 and ld-linux-x86-64.so.2 as they are mapped in
 * this process.  Subcommands:
 *   paths                                  prints "libc <path>" and "ldso <path>" (real paths)
 *   check LIBC_SITES LDSO_SITES MODE       each file lists the virtual addresses (hex) of the
 *       `syscall` instructions in that object's file; MODE expect-native: every one must still
 *       read 0f 05 in memory; expect-patched: none may.  Prints the counts.
 * It only reads memory (through dl_iterate_phdr's load bias, inside an executable PT_LOAD) and
 * must never accept an address outside the object's executable segments.
 */
#define _GNU_SOURCE
#include <link.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct obj {
	const char *key;	/* basename to look for */
	char path[PATH_MAX];
	uintptr_t bias;
	uintptr_t lo[8], hi[8];	/* executable PT_LOAD segments, run-time addresses */
	int n_seg;
	int found;
};

static struct obj objs[2] = { { .key = "libc.so.6" }, { .key = "ld-linux-x86-64.so.2" } };

static int
each(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size; (void)data;
	const char *name = info->dlpi_name;
	if (!name || !*name)
		return 0;
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	for (int i = 0; i < 2; i++) {
		struct obj *o = &objs[i];
		if (o->found || strcmp(base, o->key) != 0)
			continue;
		o->found = 1;
		if (!realpath(name, o->path))
			snprintf(o->path, sizeof(o->path), "%s", name);
		o->bias = info->dlpi_addr;
		for (int k = 0; k < info->dlpi_phnum && o->n_seg < 8; k++) {
			const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
			if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
				o->lo[o->n_seg] = o->bias + ph->p_vaddr;
				o->hi[o->n_seg] = o->bias + ph->p_vaddr + ph->p_memsz;
				o->n_seg++;
			}
		}
	}
	return 0;
}

static int
in_text(const struct obj *o, uintptr_t a, size_t len)
{
	for (int i = 0; i < o->n_seg; i++)
		if (a >= o->lo[i] && a + len <= o->hi[i])
			return 1;
	return 0;
}

/* Returns the number of failures. */
static int
check(struct obj *o, const char *list, int expect_patched)
{
	FILE *f = fopen(list, "r");
	if (!f) {
		printf("FAIL: cannot read %s\n", list);
		return 1;
	}
	char line[128];
	long total = 0, still = 0, bad = 0, shown = 0;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		unsigned long vaddr = strtoul(line, &end, 16);
		if (end == line)
			continue;
		total++;
		uintptr_t a = o->bias + vaddr;
		if (!in_text(o, a, 2)) {
			printf("FAIL: %s 0x%lx is not in an executable segment\n", o->key, vaddr);
			bad++;
			continue;
		}
		const unsigned char *p = (const unsigned char *)a;
		int is_syscall = p[0] == 0x0f && p[1] == 0x05;
		still += is_syscall;
		if (is_syscall == expect_patched && shown++ < 50)
			printf("  %s 0x%lx: %02x %02x %s\n", o->key, vaddr, p[0], p[1],
			       expect_patched ? "still a syscall instruction (not patched)"
					      : "is not a syscall natively (wrong address?)");
	}
	fclose(f);
	long patched = total - still;
	printf("%s (%s): %ld syscall sites in the file, %ld patched in memory, %ld unchanged\n",
	       o->key, o->path, total, patched, still);
	if (total == 0) {
		printf("FAIL: no sites listed for %s\n", o->key);
		return 1;
	}
	return (int)(bad + (expect_patched ? still : patched));
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	dl_iterate_phdr(each, NULL);
	for (int i = 0; i < 2; i++)
		if (!objs[i].found) {
			printf("FAIL: %s is not loaded\n", objs[i].key);
			return 1;
		}
	if (argc == 2 && strcmp(argv[1], "paths") == 0) {
		printf("libc %s\nldso %s\n", objs[0].path, objs[1].path);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "check") == 0) {
		int expect_patched = strcmp(argv[4], "expect-patched") == 0;
		int fails = check(&objs[0], argv[2], expect_patched) +
			    check(&objs[1], argv[3], expect_patched);
		printf("%s\n", fails ? "FAIL" : "PASS");
		return fails ? 1 : 0;
	}
	fprintf(stderr, "usage: sitecheck paths | check LIBC_SITES LDSO_SITES expect-native|expect-patched\n");
	return 2;
}
