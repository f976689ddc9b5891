/* netdev.h - the few rtnetlink and tun operations qvm-net needs: taps, a bridge, an address */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The bridge qvm creates and owns, and the host address it gives that bridge. */
#define QVM_BRIDGE "qvmbr0"
#define QVM_BRIDGE_ADDRESS "10.88.0.1"
#define QVM_BRIDGE_PREFIX 24

struct mnl_socket;

/**
 * ifname_valid() - is @name a safe interface name?
 * Return: true for 1-15 characters of [A-Za-z0-9_.-], not "." or ".."
 */
bool ifname_valid(const char *name);

/**
 * nl_open() - open and bind a NETLINK_ROUTE socket
 * @ret: the socket; close it with mnl_socket_close()
 * Return: 0, or negative errno
 */
int nl_open(struct mnl_socket **ret);

/**
 * link_lookup() - find interface @name in the current network namespace
 * @nl: socket from nl_open()
 * @name: interface name
 * @index: set to the ifindex (may be NULL)
 * @kind: NULL, or 32 bytes filled with its IFLA_INFO_KIND ("bridge", "tun", ""...)
 * @master: set to the ifindex of its master, 0 if none (may be NULL)
 * Return: 0, -ENODEV when there is no such interface, other negative errno
 */
int link_lookup(struct mnl_socket *nl, const char *name, int *index, char *kind, int *master);

/**
 * bridge_create() - create bridge @name (fails if it exists)
 * Return: 0, -EEXIST, or other negative errno
 */
int bridge_create(struct mnl_socket *nl, const char *name);

/**
 * link_delete() - delete interface @index
 * Return: 0, -ENODEV if it is already gone, or other negative errno
 */
int link_delete(struct mnl_socket *nl, int index);

/**
 * link_set_up() - set IFF_UP on interface @index
 * Return: 0, or negative errno
 */
int link_set_up(struct mnl_socket *nl, int index);

/**
 * link_set_master() - enslave interface @index to bridge @master
 * Return: 0, or negative errno
 */
int link_set_master(struct mnl_socket *nl, int index, int master);

/**
 * addr_add_ipv4() - add @addr/@prefix to interface @index (an existing equal address is fine)
 * @addr: dotted quad
 * Return: 0, -EINVAL for a bad address, or other negative errno
 */
int addr_add_ipv4(struct mnl_socket *nl, int index, const char *addr, int prefix);

/**
 * tap_create() - create persistent tap @name (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) owned by @uid/@gid
 * @name: interface name, must not exist yet
 * Return: 0, -EEXIST if an interface of that name exists, or other negative errno
 * (nothing is left behind on failure)
 */
int tap_create(const char *name, uid_t uid, gid_t gid);
