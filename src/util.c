/*
 * util.c -- formatted output without stdio or malloc, for messages from places where libc must
 * not be called (while libc's text is being rewritten, inside the dispatcher, in a vfork child).
 * Every write goes through the library's own raw syscall.  It must never allocate or lock.
 *
 * And the one reader of the INTERCEPT_* variables (si_env, si_env_level), so that every
 * variable follows the same boolean rule and secure mode ignores every one of them: nothing in
 * the library may call getenv on an INTERCEPT_* name itself.  Those two run only in the
 * constructor (and init functions it calls), where libc is usable.
 */
#include "intercept.h"

#include <stdarg.h>
#include <sys/syscall.h>

/*
 * Not <stdlib.h>: this file is built with -mgeneral-regs-only, and older glibc headers define
 * inline floating-point functions there (atof) that such a build rejects.
 */
extern char *getenv(const char *name);

bool si_secure_mode;

int
si_parse_level(const char *v, int if_unset)
{
	if (!v)
		return if_unset;
	if (!*v)
		return 0;
	const char *p = v;
	bool negative = *p == '-';
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return 1;	/* a sign alone is other text */
	int n = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 1;
		/* saturates: a thousand digits neither overflow nor take long */
		if (n < SI_LEVEL_MAX)
			n = n * 10 + (*p - '0');
	}
	if (negative)
		return 0;
	return n > SI_LEVEL_MAX ? SI_LEVEL_MAX : n;
}

const char *
si_env(const char *name)
{
	/* The constructor has removed them from environ already; this is the second lock. */
	return si_secure_mode ? NULL : getenv(name);
}

int
si_env_level(const char *name, int if_unset)
{
	return si_parse_level(si_env(name), if_unset);
}

static size_t
str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void
si_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		long r = si_sys(SYS_write, fd, buf, len);
		if (r == -4 /* EINTR */)
			continue;
		if (r <= 0)
			return;
		buf += r;
		len -= (size_t)r;
	}
}

void
si_write_str(int fd, const char *s)
{
	si_write_all(fd, s, str_len(s));
}

void
si_fatal(const char *msg)
{
	si_write_str(2, "syscall_intercept: fatal: ");
	si_write_str(2, msg);
	si_write_str(2, "\n");
	si_sys(SYS_exit_group, 127);
	__builtin_unreachable();
}

struct out {
	char *buf;
	size_t cap, len;
};

static void
put_char(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void
put_str(struct out *o, const char *s)
{
	while (*s)
		put_char(o, *s++);
}

static void
put_unsigned(struct out *o, unsigned long v, unsigned base)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		put_char(o, tmp[--n]);
}

static int
format(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = { buf, cap, 0 };
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put_char(&o, *fmt);
			continue;
		}
		fmt++;
		int is_long = 0;
		while (*fmt == 'l' || *fmt == 'z') {
			is_long = 1;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			put_str(&o, s ? s : "(null)");
			break;
		}
		case 'd': {
			long v = is_long ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0) {
				put_char(&o, '-');
				put_unsigned(&o, -(unsigned long)v, 10);
			} else {
				put_unsigned(&o, (unsigned long)v, 10);
			}
			break;
		}
		case 'u':
			put_unsigned(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
			break;
		case 'x':
			put_unsigned(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
			break;
		case 'p':
			put_str(&o, "0x");
			put_unsigned(&o, (unsigned long)va_arg(ap, void *), 16);
			break;
		case '%':
			put_char(&o, '%');
			break;
		default:
			put_char(&o, '?');
			break;
		}
	}
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return (int)o.len;
}

int
si_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = format(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

void
si_dprintf(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	format(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	si_write_str(fd, buf);
}
