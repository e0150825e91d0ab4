/*
 * net_deny.c -- an example hook library: connections to denied addresses or ports fail with
 * EACCES, as if a firewall had refused them locally.  Configured by one environment variable,
 * a comma-separated list of rules:
 *
 *   NET_DENY=25,10.0.0.1,127.0.0.1:8080,[::1]:8080,::1
 *
 * A rule is a port alone (any address), an address alone (any port; IPv4 or IPv6), or an
 * address and a port (IPv6 addresses in brackets when a port follows).  connect(2), and
 * sendto(2)/sendmsg(2) with a destination address (UDP), are checked; an IPv4-mapped IPv6
 * address (::ffff:10.0.0.1) is checked as the IPv4 address it carries.
 *
 *   cc net_deny.c -lsyscall_intercept -fpic -shared -o net_deny.so
 *   NET_DENY=127.0.0.1:8080 LD_PRELOAD=./net_deny.so bash -c 'echo > /dev/tcp/127.0.0.1/8080'
 *   bash: connect: Permission denied
 *
 * An honest note: this is a convenience for testing and a guard against mistakes, NOT a
 * security boundary.  A program can bypass any LD_PRELOAD interception: a static binary, an
 * inline `syscall` instruction outside libc (unless INTERCEPT_ALL_OBJS), io_uring's connect
 * operation, a child started with a clean environment, or syscall_no_intercept() itself.  To
 * keep an untrusted program off the network use the kernel: network namespaces, seccomp,
 * firewall rules, Landlock.
 *
 * It must never deny anything that no rule names, and never modify the program's memory.  (It
 * reads the address the program passes; a wild pointer the kernel would answer with EFAULT
 * crashes the program here instead.)
 */
#define _GNU_SOURCE
#include <libsyscall_intercept_hook_point.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

struct rule {
	int any_address;
	struct in6_addr address;	/* IPv4 addresses stored as ::ffff:a.b.c.d */
	int port;			/* 0: any port */
};

#define MAX_RULES 64
static struct rule rules[MAX_RULES];
static int n_rules;

/* The destination of a sockaddr as (IPv6 or mapped IPv4 address, port); 0 if not IP. */
static int
destination(const struct sockaddr *sa, unsigned long len, struct in6_addr *addr, int *port)
{
	if (!sa || len < sizeof(sa_family_t))
		return 0;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memset(addr, 0, sizeof(*addr));
		addr->s6_addr[10] = 0xff;
		addr->s6_addr[11] = 0xff;
		memcpy(&addr->s6_addr[12], &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return 1;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		*addr = in6->sin6_addr;
		*port = ntohs(in6->sin6_port);
		return 1;
	}
	return 0;
}

static int
denied(const struct sockaddr *sa, unsigned long len)
{
	struct in6_addr addr;
	int port;
	if (!destination(sa, len, &addr, &port))
		return 0;
	for (int i = 0; i < n_rules; i++) {
		if (rules[i].port != 0 && rules[i].port != port)
			continue;
		if (!rules[i].any_address &&
		    memcmp(&rules[i].address, &addr, sizeof(addr)) != 0)
			continue;
		return 1;
	}
	return 0;
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a0; (void)a3; (void)a5;
	const struct sockaddr *sa = NULL;
	unsigned long len = 0;
	switch (nr) {
	case SYS_connect:	/* connect(fd, addr, addrlen) */
		sa = (const struct sockaddr *)a1;
		len = (unsigned long)a2;
		break;
	case SYS_sendto:	/* sendto(fd, buf, len, flags, addr, addrlen) */
		sa = (const struct sockaddr *)a4;
		len = (unsigned long)a5;
		break;
	case SYS_sendmsg: {	/* sendmsg(fd, msg, flags) */
		const struct msghdr *msg = (const struct msghdr *)a1;
		if (msg) {
			sa = msg->msg_name;
			len = msg->msg_namelen;
		}
		break;
	}
	default:
		return 1;
	}
	if (!denied(sa, len))
		return 1;
	*result = -EACCES;
	return 0;
}

/* One rule: "port", "address", "a.b.c.d:port", "[v6]:port".  Returns 0 when malformed. */
static int
parse_rule(const char *text, struct rule *r)
{
	char buf[128];
	if (strlen(text) >= sizeof(buf))
		return 0;
	strcpy(buf, text);
	memset(r, 0, sizeof(*r));
	char *addr = buf, *port = NULL;
	if (buf[0] == '[') {		/* [v6]:port */
		char *close = strchr(buf, ']');
		if (!close || (close[1] != '\0' && close[1] != ':'))
			return 0;
		*close = '\0';
		addr = buf + 1;
		port = close[1] == ':' ? close + 2 : NULL;
	} else if (strchr(buf, '.') && strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
		/* a.b.c.d:port */
		port = strchr(buf, ':');
		*port++ = '\0';
	} else if (!strchr(buf, '.') && !strchr(buf, ':')) {	/* port */
		port = buf;
		addr = NULL;
	}
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || p <= 0 || p > 65535)
			return 0;
		r->port = (int)p;
	}
	if (!addr) {
		r->any_address = 1;
		return 1;
	}
	struct in_addr v4;
	if (inet_pton(AF_INET, addr, &v4) == 1) {
		r->address.s6_addr[10] = 0xff;
		r->address.s6_addr[11] = 0xff;
		memcpy(&r->address.s6_addr[12], &v4, 4);
		return 1;
	}
	return inet_pton(AF_INET6, addr, &r->address) == 1;
}

static __attribute__((constructor)) void
init(void)
{
	const char *spec = getenv("NET_DENY");
	while (spec && *spec) {
		size_t len = strcspn(spec, ",");
		char text[128];
		if (len > 0 && len < sizeof(text)) {
			memcpy(text, spec, len);
			text[len] = '\0';
			if (n_rules < MAX_RULES && parse_rule(text, &rules[n_rules]))
				n_rules++;
			else
				fprintf(stderr, "net_deny: ignoring rule '%s'\n", text);
		}
		spec += len;
		if (*spec == ',')
			spec++;
	}
	if (n_rules > 0)
		intercept_hook_point = hook;
}
