/* qvm-machine - register a running VM with systemd-machined (machinectl), and unregister it at stop */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "config.h"
#include "log.h"
#include "macro.h"

/*
 * Theory of operation: runs as root (ExecStartPost=-+ and ExecStopPost=-+ of
 * qvm@.service), because machined lets only root call RegisterMachine. It makes
 * exactly one bus call, RegisterMachine or UnregisterMachine, for the VM named
 * on its command line; the leader is $MAINPID, the unit's qvm-launch, which is
 * QEMU's parent in the same cgroup and turns machinectl poweroff's SIGRTMIN+4
 * into the ACPI power button. It reads nothing else and writes nothing. Where
 * there is no system bus or no machined, it says so once and exits 0: a VM
 * runs the same without machinectl.
 */

#define M_DEST "org.freedesktop.machine1"
#define M_PATH "/org/freedesktop/machine1"
#define M_IFACE "org.freedesktop.machine1.Manager"

/* Whether @e says machined (or the bus) is simply not there. */
static bool machined_absent(const sd_bus_error *e, int r)
{
	return r == -ENOENT || r == -ECONNREFUSED || r == -EACCES ||
	       sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
				      "org.freedesktop.DBus.Error.Spawn.ServiceNotFound");
}

/* RegisterMachine(NAME, no id, "qvm", "vm", @leader, ""). */
static int register_vm(sd_bus *bus, const char *name, uint32_t leader, sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, M_DEST, M_PATH, M_IFACE, "RegisterMachine");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", name);
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', NULL, 0);
	if (r >= 0)
		r = sd_bus_message_append(m, "ssus", "qvm", "vm", leader, "");
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, e, NULL);
	return r;
}

int main(int argc, char *argv[])
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	const char *pid = getenv("MAINPID");
	bool reg;
	int r;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: qvm-machine register|unregister NAME\n"
		       "Register the running VM NAME with systemd-machined (class vm, leader $MAINPID,\n"
		       "its unit's cgroup), so that machinectl lists it; unregister it at stop.\n"
		       "Run by qvm@.service as root. Without machined: a note, exit 0.\n");
		return 0;
	}
	if (argc != 3 || (strcmp(argv[1], "register") != 0 && strcmp(argv[1], "unregister") != 0) ||
	    !vm_name_valid(argv[2])) {
		fprintf(stderr, "Usage: qvm-machine register|unregister NAME\n");
		return 2;
	}
	log_setup("qvm-machine", 0);
	reg = strcmp(argv[1], "register") == 0;
	if (reg && (!pid || atoi(pid) <= 1)) {
		log_error("register %s: $MAINPID is not set (run from ExecStartPost=)", argv[2]);
		return 1;
	}
	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = reg ? register_vm(bus, argv[2], (uint32_t)atoi(pid), &e)
			: sd_bus_call_method(bus, M_DEST, M_PATH, M_IFACE, "UnregisterMachine", &e, NULL, "s", argv[2]);
	if (r >= 0) {
		if (reg)
			log_info("registered %s with systemd-machined (machinectl status %s)", argv[2], argv[2]);
		return 0;
	}
	if (!reg)
		return 0; /* gone with its unit already, or never registered */
	if (machined_absent(&e, r))
		log_info("systemd-machined is not available (%s); %s runs without machinectl",
			 sd_bus_error_is_set(&e) ? e.message : strerror(-r), argv[2]);
	else
		log_warning("cannot register %s with systemd-machined: %s", argv[2],
			    sd_bus_error_is_set(&e) ? e.message : strerror(-r));
	return 0;
}
