/* net.c - qvm-net's one job: a VM's tap on its bridge, up before QEMU starts, gone after it stops */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "macro.h"
#include "netdev.h"
#include "paths.h"

/*
 * Theory of operation
 *
 * qvm-net runs as root, as ExecStartPre=+ and ExecStopPost=+ of
 * qvm@NAME.service, only for VMs with [network] mode = tap. QEMU itself runs
 * as the unprivileged user qvm and can open a tap only when one exists that
 * belongs to it; making that tap is the only reason qvm-net is privileged.
 *
 * It may:
 *  - create the VM's tap, vm_tap_name(NAME) (always "qvm-..."), through
 *    /dev/net/tun: persistent, IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, owner and
 *    group the qvm user's, so QEMU opens it with -netdev tap,ifname=...;
 *  - replace a stale tun device of exactly that name (left when the host
 *    lost power or qvm-net down could not run);
 *  - make the tap a port of [network] bridge = and set it up;
 *  - create qvm's own bridge, QVM_BRIDGE (qvmbr0), when it is missing, give
 *    it QVM_BRIDGE_ADDRESS/QVM_BRIDGE_PREFIX (10.88.0.1/24) and set it up;
 *  - delete the VM's tap (qvm-net down).
 *
 * It must not:
 *  - configure a bridge that is not qvmbr0: a user's bridge gets the VM's
 *    tap as a port and nothing else (no address, no flags, never created or
 *    deleted; when it is missing qvm-net fails);
 *  - touch any other interface, routes, sysctls (no ip_forward, no
 *    route_localnet), firewall rules or other network namespaces;
 *  - delete or reuse an interface of the tap's name that is not a tun;
 *  - run other programs: everything is rtnetlink (libmnl) and tun ioctls.
 *
 * Input is validated before use: the VM name by vm_name_valid() (in the
 * main), the bridge name by the config library and again by ifname_valid(),
 * and the tap name is derived, never taken from input.
 *
 * Failure: whatever this run created (tap, qvmbr0) is deleted again in
 * reverse order, so a failed start leaves the host as it was. Runs hold an
 * exclusive flock on QVM_NET_LOCK, so two VMs starting at once do not race
 * on creating qvmbr0.
 *
 * Teardown: qvm-net down deletes the tap by name. It needs neither the
 * config nor QEMU: after QEMU or the launcher was SIGKILLed the persistent
 * tap is still there and is removed the same way; when it is already gone,
 * down succeeds. qvmbr0 is not removed when the last VM stops: other VMs may
 * be about to use it, an idle bridge costs nothing, and removing it would
 * drop addresses a user may rely on; `ip link del qvmbr0` removes it by hand.
 */

/* snprintf into @err, if the caller gave one. */
_printf_(3, 4) static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Take the lock that serialises qvm-net runs; @ret is the fd holding it. */
static int take_lock(int *ret)
{
	int fd = open(QVM_NET_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return negative_errno();
	if (flock(fd, LOCK_EX) < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

/* Close a netlink socket held in a cleanup variable. */
static void nl_closep(struct mnl_socket **nl)
{
	if (*nl)
		mnl_socket_close(*nl);
}

/* Find or (for qvmbr0 only) create bridge @name; @created says whether this run made it. */
static int bridge_prepare(struct mnl_socket *nl, const char *name, int *index, bool *created,
			  char *err, size_t errlen)
{
	char kind[32];
	int r;

	*created = false;
	r = link_lookup(nl, name, index, kind, NULL);
	if (r == -ENODEV && strcmp(name, QVM_BRIDGE) != 0) {
		set_err(err, errlen, "bridge %s does not exist; create it, or use bridge = %s, which qvm manages",
			name, QVM_BRIDGE);
		return r;
	}
	if (r == -ENODEV) {
		r = bridge_create(nl, name);
		if (r < 0) {
			set_err(err, errlen, "cannot create bridge %s: %s", name, strerror(-r));
			return r;
		}
		*created = true;
		r = link_lookup(nl, name, index, kind, NULL);
	}
	if (r < 0) {
		set_err(err, errlen, "cannot look up bridge %s: %s", name, strerror(-r));
		return r;
	}
	if (strcmp(kind, "bridge") != 0) {
		set_err(err, errlen, "%s is not a bridge (it is a %s device)", name, kind[0] ? kind : "plain");
		return -EINVAL;
	}
	if (strcmp(name, QVM_BRIDGE) != 0)
		return 0;
	r = addr_add_ipv4(nl, *index, QVM_BRIDGE_ADDRESS, QVM_BRIDGE_PREFIX);
	if (r >= 0)
		r = link_set_up(nl, *index);
	if (r < 0)
		set_err(err, errlen, "cannot configure bridge %s: %s", name, strerror(-r));
	return r;
}

/* Delete a stale tun device called @tap; refuse when @tap is anything else. */
static int remove_stale_tap(struct mnl_socket *nl, const char *tap, char *err, size_t errlen)
{
	char kind[32];
	int index, r;

	r = link_lookup(nl, tap, &index, kind, NULL);
	if (r == -ENODEV)
		return 0;
	if (r < 0) {
		set_err(err, errlen, "cannot look up %s: %s", tap, strerror(-r));
		return r;
	}
	if (strcmp(kind, "tun") != 0) {
		set_err(err, errlen, "interface %s exists and is not a tap; not touching it", tap);
		return -EEXIST;
	}
	r = link_delete(nl, index);
	if (r < 0 && r != -ENODEV) {
		set_err(err, errlen, "cannot remove stale tap %s: %s", tap, strerror(-r));
		return r;
	}
	return 0;
}

/* Create tap @tap and plug it into bridge @bridge_index; the tap is deleted again on failure. */
static int tap_prepare(struct mnl_socket *nl, const char *tap, int bridge_index, uid_t uid, gid_t gid,
		       char *err, size_t errlen)
{
	int index, r;

	r = tap_create(tap, uid, gid);
	if (r < 0) {
		set_err(err, errlen, "cannot create tap %s: %s", tap, strerror(-r));
		return r;
	}
	r = link_lookup(nl, tap, &index, NULL, NULL);
	if (r >= 0)
		r = link_set_master(nl, index, bridge_index);
	if (r >= 0)
		r = link_set_up(nl, index);
	if (r < 0) {
		set_err(err, errlen, "cannot attach tap %s to its bridge: %s", tap, strerror(-r));
		if (link_lookup(nl, tap, &index, NULL, NULL) >= 0)
			link_delete(nl, index);
	}
	return r;
}

int net_up(const struct vm_config *c, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	_cleanup_(nl_closep) struct mnl_socket *nl = NULL;
	_cleanup_close_ int lock = -1;
	char tap[16];
	int bridge_index, r;
	bool created;

	if (c->net_mode != NET_TAP || !c->net_bridge || !ifname_valid(c->net_bridge)) {
		set_err(err, errlen, "VM %s has no valid tap networking ([network] mode = tap, bridge = NAME)",
			c->name);
		return -EINVAL;
	}
	vm_tap_name(c->name, tap);
	if (!ifname_valid(tap)) {
		set_err(err, errlen, "derived tap name '%s' is not a valid interface name", tap);
		return -EINVAL;
	}
	r = take_lock(&lock);
	if (r < 0) {
		set_err(err, errlen, "cannot lock %s: %s", QVM_NET_LOCK, strerror(-r));
		return r;
	}
	r = nl_open(&nl);
	if (r < 0) {
		set_err(err, errlen, "cannot open rtnetlink: %s", strerror(-r));
		return r;
	}
	r = remove_stale_tap(nl, tap, err, errlen);
	if (r < 0)
		return r;
	r = bridge_prepare(nl, c->net_bridge, &bridge_index, &created, err, errlen);
	if (r >= 0)
		r = tap_prepare(nl, tap, bridge_index, uid, gid, err, errlen);
	if (r < 0 && created)
		link_delete(nl, bridge_index);
	return r;
}

int net_down(const char *name, char *err, size_t errlen)
{
	_cleanup_(nl_closep) struct mnl_socket *nl = NULL;
	_cleanup_close_ int lock = -1;
	char tap[16];
	int r;

	vm_tap_name(name, tap);
	if (!ifname_valid(tap)) {
		set_err(err, errlen, "derived tap name '%s' is not a valid interface name", tap);
		return -EINVAL;
	}
	r = take_lock(&lock);
	if (r < 0) {
		set_err(err, errlen, "cannot lock %s: %s", QVM_NET_LOCK, strerror(-r));
		return r;
	}
	r = nl_open(&nl);
	if (r < 0) {
		set_err(err, errlen, "cannot open rtnetlink: %s", strerror(-r));
		return r;
	}
	return remove_stale_tap(nl, tap, err, errlen);
}
