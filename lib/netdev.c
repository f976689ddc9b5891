/* netdev.c - rtnetlink (libmnl) and /dev/net/tun primitives behind qvm-net */
#include "netdev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "macro.h"

/* Big enough for any request here and for one recvmsg() of replies (libmnl suggests 8192). */
#define NL_BUF_SIZE 8192

bool ifname_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

int nl_open(struct mnl_socket **ret)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (!nl)
		return negative_errno();
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = negative_errno();

		mnl_socket_close(nl);
		return r;
	}
	*ret = nl;
	return 0;
}

/* State for parsing one RTM_NEWLINK reply. */
struct link_info {
	int index;
	int master;
	char kind[32];
};

/* mnl_attr_parse_nested() callback: pick IFLA_INFO_KIND out of IFLA_LINKINFO. */
static int linkinfo_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
		snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* mnl_attr_parse() callback: IFLA_MASTER and IFLA_LINKINFO of a link message. */
static int link_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			li->master = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) >= 0)
			mnl_attr_parse_nested(a, linkinfo_attr, li);
		break;
	}
	return MNL_CB_OK;
}

/* mnl_cb_run() callback for an RTM_NEWLINK reply. */
static int link_msg(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	li->index = ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, li);
	return MNL_CB_OK;
}

/* Send @nlh and run @cb over the replies until the ACK; kernel errors come back as negative errno. */
static int nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[NL_BUF_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	unsigned seq = (unsigned)time(NULL);
	ssize_t n;
	int r;

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return negative_errno();
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return negative_errno();
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (r == MNL_CB_ERROR)
			return negative_errno();
		if (r == MNL_CB_STOP)
			return 0;
	}
}

/* Start a request of @type with @flags and an ifinfomsg for @index in @buf. */
static struct nlmsghdr *link_request(char *buf, uint16_t type, uint16_t flags, int index, struct ifinfomsg **ret)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	if (ret)
		*ret = ifi;
	return nlh;
}

int link_lookup(struct mnl_socket *nl, const char *name, int *index, char *kind, int *master)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh;
	struct link_info li = { 0 };
	int r;

	if (!ifname_valid(name))
		return -EINVAL;
	nlh = link_request(buf, RTM_GETLINK, 0, 0, NULL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	r = nl_talk(nl, nlh, link_msg, &li);
	if (r < 0)
		return r;
	if (li.index <= 0)
		return -ENODEV;
	if (index)
		*index = li.index;
	if (kind)
		memcpy(kind, li.kind, sizeof(li.kind));
	if (master)
		*master = li.master;
	return 0;
}

int bridge_create(struct mnl_socket *nl, const char *name)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *info;

	if (!ifname_valid(name))
		return -EINVAL;
	nlh = link_request(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, NULL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int link_delete(struct mnl_socket *nl, int index)
{
	char buf[NL_BUF_SIZE];

	return nl_talk(nl, link_request(buf, RTM_DELLINK, 0, index, NULL), NULL, NULL);
}

int link_set_up(struct mnl_socket *nl, int index)
{
	char buf[NL_BUF_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_request(buf, RTM_NEWLINK, 0, index, &ifi);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(nl, nlh, NULL, NULL);
}

int link_set_master(struct mnl_socket *nl, int index, int master)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh = link_request(buf, RTM_NEWLINK, 0, index, NULL);

	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return nl_talk(nl, nlh, NULL, NULL);
}

int addr_add_ipv4(struct mnl_socket *nl, int index, const char *addr, int prefix)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct in_addr in;
	int r;

	if (inet_pton(AF_INET, addr, &in) != 1 || prefix < 1 || prefix > 32)
		return -EINVAL;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(in), &in);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(in), &in);
	r = nl_talk(nl, nlh, NULL, NULL);
	return r == -EEXIST ? 0 : r;
}

int tap_create(const char *name, uid_t uid, gid_t gid)
{
	struct ifreq ifr = { 0 };
	_cleanup_close_ int fd = -1;

	if (!ifname_valid(name))
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	/* IFF_TUN_EXCL: never attach to an interface someone else made. */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return errno == EBUSY ? -EEXIST : negative_errno();
	/* Until TUNSETPERSIST succeeds, closing fd removes the device: nothing is left behind. */
	if (ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0 ||
	    ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0 ||
	    ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		return negative_errno();
	return 0;
}
