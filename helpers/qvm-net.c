/* qvm-net - the privileged network helper: a VM's tap device on its bridge, created before QEMU and removed after */
/*
 * Theory of operation
 *
 * qvm-net runs as root (ExecStartPre=+ and ExecStopPost=+ of qvm@NAME.service)
 * only for VMs with [network] mode = tap. It exists so that QEMU itself never
 * needs privileges: it makes a persistent tap owned by the VM's own user, which the
 * unprivileged QEMU then opens by name.
 *
 * It may:
 *   - create and delete the VM's own tap, named by vm_tap_name() ("qvm-NAME",
 *     or a hashed form that fits IFNAMSIZ), and attach it to the VM's bridge.
 *     The tap carries the alias "qvm:NAME": up reuses only a tap with its own
 *     alias, and down deletes only that one, so two VM names that map to one
 *     tap name (qvm check and the generator reject them) never share a tap,
 *     and one VM's stop never removes another's live tap;
 *   - create qvm's own bridge QVM_BRIDGE with QVM_BRIDGE_ADDRESS and bring it
 *     up, when a VM asks for bridge = QVM_BRIDGE. That bridge stays when VMs
 *     stop (other VMs may use it; it holds no state).
 * It must not:
 *   - change a bridge it did not create (a user's bridge is only attached to;
 *     when it is missing, that is an error, not something to create);
 *   - touch any other interface, route, firewall rule or sysctl; in
 *     particular an interface that has the tap's name but is not a tun
 *     device, or one named like qvm's bridge that is not a bridge, is an
 *     error and left alone (up and down both check the kind first);
 *   - run anything: all changes go through rtnetlink and /dev/net/tun.
 * Every name and address is validated before use, and when "up" fails
 * half-way the tap it created is removed again, so nothing is left behind.
 * "down" needs only the VM name, not its config: it also cleans up when the
 * INI was edited or broken while the VM ran, or after a crash.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helper.h"
#include "config.h"
#include "log.h"
#include "netdev.h"
#include "paths.h"

#define QVM_BRIDGE "qvmbr0"
#define QVM_BRIDGE_ADDRESS "10.88.0.1/24"

/*
 * The uid and gid the tap is handed to: the owner of $STATE_DIRECTORY, which
 * systemd created for the VM's own DynamicUser= identity just before this
 * ExecStartPre=+ ran; $QVM_USER (tests), else the user qvm, outside systemd.
 */
static int tap_owner(uid_t *uid, gid_t *gid)
{
	const char *state = getenv("STATE_DIRECTORY");
	const char *user = getenv("QVM_USER") ? getenv("QVM_USER") : "qvm";
	struct passwd *pw;
	struct stat st;

	if (state && *state && !strchr(state, ':') && stat(state, &st) == 0 && st.st_uid != 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
		return 0;
	}
	pw = getpwnam(user);
	if (!pw)
		return log_error_errno(ESRCH, "user %s does not exist (systemd-sysusers creates it from qvm's sysusers.d file)",
				 user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* The alias qvm-net gives VM @vm's tap ("qvm:NAME"): who owns the device, since two names may share one. */
static char *tap_alias(const char *vm, char buf[static NETDEV_ALIAS_MAX])
{
	snprintf(buf, NETDEV_ALIAS_MAX, "qvm:%s", vm);
	return buf;
}

/*
 * Is interface @name missing (0), VM @vm's own tap (1), or something else:
 * not a tap, or another VM's tap, or a tap qvm-net did not mark (-EEXIST, logged)?
 * Only root can set the alias, so a VM cannot forge it.
 */
static int tap_state(const char *name, const char *vm)
{
	char kind[32], alias[NETDEV_ALIAS_MAX], want[NETDEV_ALIAS_MAX];
	int r = netdev_kind(name, kind);

	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return log_error_errno(r, "cannot look up interface %s: %m", name);
	if (strcmp(kind, "tun") != 0)
		return log_error_errno(EEXIST, "interface %s exists and is not a tap (kind '%s'); not touching it", name, kind);
	r = netdev_alias(name, alias);
	if (r < 0)
		return log_error_errno(r, "cannot look up interface %s: %m", name);
	if (strcmp(alias, tap_alias(vm, want)) == 0)
		return 1;
	if (alias[0])
		log_error("tap %s belongs to %s, not to VM %s; not touching it (two VM names map to one tap "
			"name: run qvm check)", name, alias, vm);
	else
		log_error("tap %s has no alias qvm:NAME, so it is no VM's; not touching it (if nothing uses "
			"it: ip link delete %s)", name, name);
	return -EEXIST;
}

/* Is @bridge really a bridge (it exists)? Logs when not. */
static int check_bridge_kind(const char *bridge)
{
	char kind[32];
	int r = netdev_kind(bridge, kind);

	if (r < 0)
		return log_error_errno(r, "cannot look up bridge %s: %m", bridge);
	if (strcmp(kind, "bridge") != 0)
		return log_error_errno(EINVAL, "%s is not a bridge (kind '%s'); not touching it", bridge, kind);
	return 0;
}

/* Make sure bridge @bridge is there: qvm's own is created and configured, a user's must exist. */
static int ensure_bridge(const char *bridge)
{
	int r;

	if (strcmp(bridge, QVM_BRIDGE) != 0) {
		if (!netdev_exists(bridge))
			return log_error_errno(ENODEV, "bridge %s does not exist; create it, or use bridge = %s (qvm's own)", bridge,
					 QVM_BRIDGE);
		return check_bridge_kind(bridge);
	}
	r = netdev_bridge_create(bridge);
	if (r < 0)
		return log_error_errno(r, "cannot create bridge %s: %m", bridge);
	r = check_bridge_kind(bridge);
	if (r < 0)
		return r;
	r = netdev_add_address(bridge, QVM_BRIDGE_ADDRESS);
	if (r >= 0)
		r = netdev_set_up(bridge);
	return r < 0 ? log_error_errno(r, "cannot set up bridge %s: %m", bridge) : 0;
}

/* up: the VM's tap, owned by qvm, on its bridge, up. */
static int net_up(const struct vm_config *c)
{
	const char *bridge = c->net_bridge ? c->net_bridge : QVM_BRIDGE;
	char tap[16], alias[NETDEV_ALIAS_MAX];
	uid_t uid;
	gid_t gid;
	int r;

	vm_tap_name(c->name, tap);
	if (!netdev_name_valid(bridge))
		return log_error_errno(EINVAL, "%s: bridge = %s is not a valid interface name", c->path, bridge);
	r = tap_owner(&uid, &gid);
	if (r < 0)
		return r;
	r = tap_state(tap, c->name);
	if (r < 0)
		return r;
	r = ensure_bridge(bridge);
	if (r < 0)
		return r;
	r = netdev_tap_create(tap, uid, gid);
	if (r < 0)
		return log_error_errno(r, "cannot create tap %s: %m", tap);
	r = netdev_set_alias(tap, tap_alias(c->name, alias));
	if (r >= 0)
		r = netdev_set_master(tap, bridge);
	if (r >= 0)
		r = netdev_set_up(tap);
	if (r < 0) {
		log_error_errno(r, "cannot attach tap %s to bridge %s: %m", tap, bridge);
		netdev_delete(tap); /* nothing left behind */
		return r;
	}
	log_info("tap %s (owner %u) is up on bridge %s", tap, (unsigned)uid, bridge);
	return 0;
}

/* down: remove the tap of VM @name (also after a crash; a missing tap is fine, another VM's is an error and stays). */
static int net_down(const char *name)
{
	char tap[16];
	int r = tap_state(vm_tap_name(name, tap), name);

	if (r <= 0)
		return r;
	r = netdev_delete(tap);
	if (r < 0)
		return log_error_errno(r, "cannot remove tap %s: %m", tap);
	return 0;
}

static void usage(FILE *f)
{
	fputs("Usage: qvm-net up|down NAME\n"
	      "Privileged network helper of qvm@NAME.service for [network] mode = tap.\n"
	      "  up    create the VM's tap (owned by the VM's user, alias qvm:NAME), attach it to [network] bridge\n"
	      "        (creating qvm's own bridge " QVM_BRIDGE " with " QVM_BRIDGE_ADDRESS " when asked for),\n"
	      "        and bring it up\n"
	      "  down  remove the VM's tap (only one with alias qvm:NAME); the bridge stays\n"
	      "Exit status: 0 done, 1 failure, 2 usage or configuration error.\n", f);
}

int main(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	bool up;
	int r;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc != 3 || (strcmp(argv[1], "up") != 0 && strcmp(argv[1], "down") != 0)) {
		usage(stderr);
		return 2;
	}
	up = strcmp(argv[1], "up") == 0;
	log_setup("qvm-net", 0);
	if (!vm_name_valid(argv[2])) {
		log_error("invalid VM name '%s'", argv[2]);
		return 2;
	}
	if (!up)
		return net_down(argv[2]) < 0 ? 1 : 0;
	r = helper_load_vm(argv[2], &c);
	if (r != HELPER_EXIT_OK)
		return r;
	if (c->net_mode != NET_TAP) {
		log_info("VM %s does not use tap networking; nothing to do", c->name);
		return 0;
	}
	return net_up(c) < 0 ? 1 : 0;
}
