/* netdev.c - the few network device operations qvm-net needs: taps, a bridge, links up, one address (rtnetlink) */
#include "netdev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define NL_BUFFER_SIZE 8192

bool netdev_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

bool netdev_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

int netdev_tap_create(const char *name, uid_t uid, gid_t gid)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0 ||
	    ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0 || ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		return -errno;
	return 0;
}

/* Send one rtnetlink request @nlh, pass replies to @cb (may be NULL), wait for its acknowledgement. */
static int rtnl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[NL_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	unsigned seq = (unsigned)time(NULL), portid;
	ssize_t n;
	int r;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		mnl_socket_close(nl);
		return r;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	r = 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		r = -errno;
	while (r == 0 && (n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (r <= MNL_CB_STOP)
			break;
		r = 0;
	}
	r = r < 0 ? -errno : 0;
	mnl_socket_close(nl);
	return r;
}

/* Send one rtnetlink request @nlh and wait for its acknowledgement. */
static int rtnl_request(struct nlmsghdr *nlh)
{
	return rtnl_talk(nlh, NULL, NULL);
}

/* Start an RTM_NEWLINK/RTM_DELLINK message for interface index @index (0: by name) in @buf. */
static struct nlmsghdr *link_msg(char *buf, int type, unsigned flags, unsigned index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = (unsigned short)type;
	nlh->nlmsg_flags = (unsigned short)flags;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)index;
	return nlh;
}

/* mnl_attr_parse_nested() callback: copy IFLA_INFO_KIND into @data (32 bytes). */
static int linkinfo_kind(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
		snprintf(data, 32, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* mnl_attr_parse() callback: descend into IFLA_LINKINFO. */
static int link_attr_kind(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_LINKINFO && mnl_attr_validate(a, MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(a, linkinfo_kind, data);
	return MNL_CB_OK;
}

/* mnl_cb_run() callback for the RTM_NEWLINK reply to RTM_GETLINK. */
static int link_reply_kind(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_kind, data);
	return MNL_CB_OK;
}

int netdev_kind(const char *name, char kind[static 32])
{
	char buf[NL_BUFFER_SIZE];
	unsigned index = if_nametoindex(name);

	kind[0] = '\0';
	if (!index)
		return -ENODEV;
	return rtnl_talk(link_msg(buf, RTM_GETLINK, 0, index), link_reply_kind, kind);
}

/* mnl_attr_parse() callback: copy IFLA_IFALIAS into @data (NETDEV_ALIAS_MAX bytes). */
static int link_attr_alias(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_IFALIAS && mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
		snprintf(data, NETDEV_ALIAS_MAX, "%.*s", (int)mnl_attr_get_payload_len(a),
			 (const char *)mnl_attr_get_payload(a));
	return MNL_CB_OK;
}

/* mnl_cb_run() callback for the RTM_NEWLINK reply to RTM_GETLINK: the alias. */
static int link_reply_alias(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_alias, data);
	return MNL_CB_OK;
}

int netdev_alias(const char *name, char alias[static NETDEV_ALIAS_MAX])
{
	char buf[NL_BUFFER_SIZE];
	unsigned index = if_nametoindex(name);

	alias[0] = '\0';
	if (!index)
		return -ENODEV;
	return rtnl_talk(link_msg(buf, RTM_GETLINK, 0, index), link_reply_alias, alias);
}

int netdev_set_alias(const char *name, const char *alias)
{
	char buf[NL_BUFFER_SIZE];
	unsigned index = if_nametoindex(name);
	struct nlmsghdr *nlh;

	if (!index)
		return -ENODEV;
	nlh = link_msg(buf, RTM_NEWLINK, 0, index);
	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return rtnl_request(nlh);
}

int netdev_bridge_create(const char *name)
{
	char buf[NL_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct nlattr *info;
	int r;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	r = rtnl_request(nlh);
	return r == -EEXIST ? 0 : r;
}

int netdev_set_master(const char *name, const char *master)
{
	char buf[NL_BUFFER_SIZE];
	unsigned index = if_nametoindex(name), master_index = if_nametoindex(master);
	struct nlmsghdr *nlh;

	if (!index || !master_index)
		return -ENODEV;
	nlh = link_msg(buf, RTM_NEWLINK, 0, index);
	mnl_attr_put_u32(nlh, IFLA_MASTER, master_index);
	return rtnl_request(nlh);
}

int netdev_set_up(const char *name)
{
	char buf[NL_BUFFER_SIZE];
	unsigned index = if_nametoindex(name);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (!index)
		return -ENODEV;
	nlh = link_msg(buf, RTM_NEWLINK, 0, index);
	ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return rtnl_request(nlh);
}

int netdev_parse_cidr(const char *cidr, unsigned char addr[static 4], unsigned *prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	char *end;
	unsigned long p;

	if (!slash || (size_t)(slash - cidr) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, cidr, (size_t)(slash - cidr));
	ip[slash - cidr] = '\0';
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, ip, addr) != 1 || errno || *end || end == slash + 1 || p < 1 || p > 32)
		return -EINVAL;
	*prefix = (unsigned)p;
	return 0;
}

int netdev_add_address(const char *name, const char *cidr)
{
	char buf[NL_BUFFER_SIZE];
	unsigned char addr[4];
	unsigned prefix, index = if_nametoindex(name);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int r;

	if (netdev_parse_cidr(cidr, addr, &prefix) < 0)
		return -EINVAL;
	if (!index)
		return -ENODEV;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = index;
	mnl_attr_put(nlh, IFA_LOCAL, 4, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, addr);
	r = rtnl_request(nlh);
	return r == -EEXIST ? 0 : r;
}

int netdev_delete(const char *name)
{
	char buf[NL_BUFFER_SIZE];
	unsigned index = if_nametoindex(name);
	int r;

	if (!index)
		return 0;
	r = rtnl_request(link_msg(buf, RTM_DELLINK, 0, index));
	return r == -ENODEV ? 0 : r;
}
