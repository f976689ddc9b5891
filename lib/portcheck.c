/* portcheck.c - host port clashes between VMs' forwards (ssh = and forward =) */
#include "portcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "macro.h"

/* A forward's host address in binary: @family AF_INET/AF_INET6, @wildcard for 0.0.0.0 or ::. */
struct host_addr {
	int family;
	unsigned char bytes[16];
	bool wildcard;
};

/* Parse @s ("" counts as 127.0.0.1, the default listen address) into @ret. */
static void host_addr_parse(const char *s, struct host_addr *ret)
{
	static const unsigned char zero[16];

	memset(ret, 0, sizeof(*ret));
	if (!s[0])
		s = "127.0.0.1";
	if (inet_pton(AF_INET, s, ret->bytes) == 1) {
		ret->family = AF_INET;
		ret->wildcard = memcmp(ret->bytes, zero, 4) == 0;
	} else if (inet_pton(AF_INET6, s, ret->bytes) == 1) {
		ret->family = AF_INET6;
		ret->wildcard = memcmp(ret->bytes, zero, 16) == 0;
	}
}

bool forwards_clash(const struct forward *a, const struct forward *b)
{
	struct host_addr x, y;

	if (a->proto != b->proto || a->host_port != b->host_port)
		return false;
	host_addr_parse(a->host_addr, &x);
	host_addr_parse(b->host_addr, &y);
	if ((x.wildcard && x.family == AF_INET6) || (y.wildcard && y.family == AF_INET6))
		return true;
	if (x.family != y.family)
		return false;
	return x.wildcard || y.wildcard || memcmp(x.bytes, y.bytes, sizeof(x.bytes)) == 0;
}

/* "tcp 127.0.0.1:2222" for messages. */
static const char *forward_describe(const struct forward *f, char buf[static 96])
{
	const char *addr = f->host_addr[0] ? f->host_addr : "127.0.0.1";
	bool v6 = strchr(addr, ':') != NULL;

	snprintf(buf, 96, "%s %s%s%s:%d", f->proto == FORWARD_UDP ? "udp" : "tcp", v6 ? "[" : "", addr,
		 v6 ? "]" : "", f->host_port);
	return buf;
}

/* Record the clash of @fa (of VM @a) and @fb (of VM @b) in both VMs' files. */
static int report_clash(const struct vm_config *a, const struct forward *fa, const struct vm_config *b,
			const struct forward *fb, struct diag_list *diags)
{
	char da[96], db[96];

	forward_describe(fa, da);
	forward_describe(fb, db);
	if (diag_add(diags, a->path, 0, "host port %s clashes with %s of VM %s (%s); only one of them can run",
		     da, db, b->name, b->path) < 0 ||
	    diag_add(diags, b->path, 0, "host port %s clashes with %s of VM %s (%s); only one of them can run",
		     db, da, a->name, a->path) < 0)
		return -ENOMEM;
	return 0;
}

/* Count (and report) clashes between the forwards of VMs @a and @b. */
static int clashes_between(const struct vm_config *a, const struct forward *fa, size_t na,
			   const struct vm_config *b, const struct forward *fb, size_t nb, struct diag_list *diags)
{
	int count = 0;

	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++) {
			if (!forwards_clash(&fa[i], &fb[j]))
				continue;
			if (report_clash(a, &fa[i], b, &fb[j], diags) < 0)
				return -ENOMEM;
			count++;
		}
	return count;
}

/* Free an array of forward arrays of length @n. */
static void forwards_free_all(struct forward **fw, size_t n)
{
	for (size_t i = 0; fw && i < n; i++)
		free(fw[i]);
	free(fw);
}

int forwards_find_clashes(struct vm_config *const *vms, size_t n, struct diag_list *diags)
{
	struct forward **fw = calloc(n ? n : 1, sizeof(*fw));
	size_t *nfw = calloc(n ? n : 1, sizeof(*nfw));
	int total = 0, r = 0;

	if (!fw || !nfw) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (vms[i] && config_forwards(vms[i], &fw[i], &nfw[i]) < 0)
			nfw[i] = 0; /* malformed: config_load() already reported it */
	for (size_t i = 0; i < n && r >= 0; i++)
		for (size_t j = i + 1; j < n && r >= 0; j++) {
			if (!vms[i] || !vms[j])
				continue;
			r = clashes_between(vms[i], fw[i], nfw[i], vms[j], fw[j], nfw[j], diags);
			if (r > 0)
				total += r;
		}
out:
	forwards_free_all(fw, n);
	free(nfw);
	return r < 0 ? r : total;
}
