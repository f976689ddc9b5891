/* netdev.h - the few network device operations qvm-net needs: taps, a bridge, links up, one address (rtnetlink) */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/**
 * netdev_name_valid() - whether @name is a usable interface name: 1-15
 * characters of letters, digits, '-', '_' and '.', not "." or ".."
 * Return: true or false
 */
bool netdev_name_valid(const char *name);

/**
 * netdev_exists() - whether interface @name exists
 * Return: true or false
 */
bool netdev_exists(const char *name);

/**
 * netdev_kind() - the kind of interface @name: "tun" (taps too), "bridge",
 * "veth"...; "" for kinds without rtnetlink link info (physical devices)
 * @kind: filled in (32 bytes)
 * Return: 0, -ENODEV when there is no such interface, or negative errno
 */
int netdev_kind(const char *name, char kind[static 32]);

#define NETDEV_ALIAS_MAX 256 /* IFALIASZ */

/**
 * netdev_alias() - the alias (ifalias) of interface @name; "" when it has none
 * Return: 0, -ENODEV when there is no such interface, or negative errno
 */
int netdev_alias(const char *name, char alias[static NETDEV_ALIAS_MAX]);

/**
 * netdev_set_alias() - set the alias of interface @name (needs CAP_NET_ADMIN)
 * Return: 0, or negative errno
 */
int netdev_set_alias(const char *name, const char *alias);

/**
 * netdev_tap_create() - create persistent tap @name owned by @uid/@gid, so an
 * unprivileged QEMU of that user can open it (an existing tap is reused)
 * Return: 0, or negative errno
 */
int netdev_tap_create(const char *name, uid_t uid, gid_t gid);

/**
 * netdev_bridge_create() - create bridge @name (nothing if it exists)
 * Return: 0, or negative errno
 */
int netdev_bridge_create(const char *name);

/**
 * netdev_set_master() - attach interface @name to bridge @master
 * Return: 0, or negative errno (-ENODEV when either is missing)
 */
int netdev_set_master(const char *name, const char *master);

/**
 * netdev_set_up() - bring interface @name up
 * Return: 0, or negative errno
 */
int netdev_set_up(const char *name);

/**
 * netdev_add_address() - add IPv4 address @cidr ("10.88.0.1/24") to @name (nothing if present)
 * Return: 0, -EINVAL for a bad address, or negative errno
 */
int netdev_add_address(const char *name, const char *cidr);

/**
 * netdev_delete() - delete interface @name
 * Return: 0 (also when it did not exist), or negative errno
 */
int netdev_delete(const char *name);

/**
 * netdev_parse_cidr() - parse "A.B.C.D/PREFIX" (prefix 1-32)
 * Return: 0, or -EINVAL
 */
int netdev_parse_cidr(const char *cidr, unsigned char addr[static 4], unsigned *prefix);
