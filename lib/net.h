/* net.h - bring a VM's tap networking up and down (the work of qvm-net, which runs as root) */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* Serialises qvm-net runs, which share the qvm-owned bridge. */
#define QVM_NET_LOCK "/run/lock/qvm-net.lock"

/**
 * net_up() - create VM @c's tap, owned by @uid/@gid, and attach it to its bridge
 * @c: config with net_mode == NET_TAP
 * @uid: owner of the tap (the qvm user), so unprivileged QEMU can open it
 * @gid: group of the tap
 * @err: filled with a one-line explanation on failure
 * @errlen: size of @err
 *
 * See the theory of operation in net.c. On failure nothing this call created
 * is left behind.
 * Return: 0, or negative errno (-ENODEV: a user's bridge is missing; -EEXIST:
 * an interface that is not a tap has the tap's name)
 */
int net_up(const struct vm_config *c, uid_t uid, gid_t gid, char *err, size_t errlen);

/**
 * net_down() - remove the tap of VM @name; succeeds when it is already gone
 * @name: VM name (the config is not needed, so a VM whose file changed or
 *        broke while it ran is still cleaned up)
 * @err: filled with a one-line explanation on failure
 * @errlen: size of @err
 * Return: 0, or negative errno
 */
int net_down(const char *name, char *err, size_t errlen);
