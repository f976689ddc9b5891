/* config-forward.c - host→guest port forwards and the ssh endpoint, derived from [network] */
#include "config-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "values.h"

bool config_ssh_endpoint(const struct vm_config *c, char host[static 64], int *port)
{
	if (c->net_mode != NET_NONE && c->net_ssh > 0) {
		snprintf(host, 64, "%s", c->net_listen ? c->net_listen : "127.0.0.1");
		*port = (int)c->net_ssh;
		return true;
	}
	if (c->net_mode == NET_TAP && c->net_address) {
		snprintf(host, 64, "%.*s", (int)strcspn(c->net_address, "/"), c->net_address);
		*port = 22;
		return true;
	}
	return false;
}

/* Parse a port number 1..65535. */
static int parse_port(const char *s, int *ret)
{
	int64_t v;

	if (parse_int(s, &v) < 0 || v < 1 || v > 65535)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

int forward_parse(const char *s, struct forward *ret)
{
	struct forward f = { .proto = FORWARD_TCP };
	char buf[128], *p = buf, *colon;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	if (strncmp(p, "tcp:", 4) == 0 || strncmp(p, "udp:", 4) == 0) {
		f.proto = p[0] == 'u' ? FORWARD_UDP : FORWARD_TCP;
		p += 4;
	}
	if (*p == '[') {
		char *close = strchr(p, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		*close = '\0';
		if (strlen(p + 1) >= sizeof(f.host_addr))
			return -EINVAL;
		memcpy(f.host_addr, p + 1, strlen(p + 1) + 1);
		p = close + 2;
	} else if (strchr(p, ':') != strrchr(p, ':')) {
		colon = strchr(p, ':');
		*colon = '\0';
		if (strlen(p) >= sizeof(f.host_addr))
			return -EINVAL;
		memcpy(f.host_addr, p, strlen(p) + 1);
		p = colon + 1;
	}
	if (f.host_addr[0] && !config_ip_valid(f.host_addr))
		return -EINVAL;
	colon = strchr(p, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (parse_port(p, &f.host_port) < 0 || parse_port(colon + 1, &f.guest_port) < 0)
		return -EINVAL;
	*ret = f;
	return 0;
}

int config_forwards(const struct vm_config *c, struct forward **ret, size_t *n)
{
	size_t count = strv_length(c->net_forwards) + 1, used = 0;
	_cleanup_free_ struct forward *fw = calloc(count, sizeof(*fw));
	const char *listen = c->net_listen ? c->net_listen : "127.0.0.1";

	if (!fw)
		return -ENOMEM;
	if (c->net_mode != NET_NONE && c->net_ssh > 0) {
		fw[used] = (struct forward){ .proto = FORWARD_TCP, .host_port = (int)c->net_ssh, .guest_port = 22 };
		snprintf(fw[used++].host_addr, sizeof(fw->host_addr), "%s", listen);
	}
	STRV_FOREACH(s, c->net_forwards) {
		if (forward_parse(*s, &fw[used]) < 0)
			return -EINVAL;
		if (!fw[used].host_addr[0])
			snprintf(fw[used].host_addr, sizeof(fw->host_addr), "%s", listen);
		used++;
	}
	*ret = TAKE_PTR(fw);
	*n = used;
	return 0;
}
