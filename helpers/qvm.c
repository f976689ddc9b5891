/* qvm - the command for people: list, status, start/stop, console, ssh, logs, check, new, image */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qvm-build.h"

static const struct cli_command commands[] = {
	{ "list", cli_list, "[--json]", "every configured VM with its state" },
	{ "status", cli_status, "NAME", "config summary, unit state and the last console lines" },
	{ "start", cli_start, "NAME", "start qvm@NAME.service and wait for the job" },
	{ "stop", cli_stop, "NAME", "stop qvm@NAME.service (ACPI power-off) and wait" },
	{ "restart", cli_restart, "NAME", "restart qvm@NAME.service and wait" },
	{ "console", cli_console, "NAME", "attach to the serial console (Ctrl-] detaches)" },
	{ "ssh", cli_ssh, "NAME [-- COMMAND...]", "ssh into the guest" },
	{ "display", cli_display, "NAME", "how to reach the VNC screen (display = vnc), also via ssh" },
	{ "logs", cli_logs, "NAME [-f] [-n LINES]", "the guest console from the journal" },
	{ "check", cli_check, "[NAME|FILE...]", "validate configs, also across VMs" },
	{ "new", cli_new, "NAME [--image IMAGE] [--ssh-key FILE]", "write a working /etc/qvm/NAME.ini" },
	{ "image", cli_image, "list|refresh NAME|prune", "the base image cache" },
	{ "reset", cli_reset, "NAME", "discard the VM's system disk (its overlay)" },
	{ "monitor", cli_monitor, "NAME [HMP COMMAND...]", "QEMU's human monitor: one command, or a prompt" },
	{ "qmp", cli_qmp, "NAME", "raw QMP on stdin/stdout, for scripts" },
	{ "snapshot", cli_snapshot, "NAME create|list|revert|delete [SNAP]", "disk (and live RAM) snapshots" },
	{ "disk", cli_disk, "grow NAME [DISK] SIZE", "grow a disk (live on a running VM) and record the size" },
	{ "reseed", cli_reseed, "NAME", "regenerate the cloud-init seed with a new instance-id" },
};

/* Print the overall usage to @f. */
static void help(FILE *f)
{
	fprintf(f, "Usage: qvm COMMAND [ARGS...]\n\nQEMU virtual machines as systemd services (qvm@NAME.service).\n\n");
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		fprintf(f, "  %-8s %-38s %s\n", commands[i].name, commands[i].args, commands[i].summary);
	fprintf(f, "\n  -h, --help      show this help (qvm COMMAND --help: that command's)\n"
		"      --version   show the version\n\n"
		"Exit status: 0 done, 1 the operation failed, 2 usage or configuration error.\n"
		"Configs are read from /etc/qvm ($QVM_CONFIG_DIR). See qvm(1), qvm.ini(5).\n");
}

int main(int argc, char *argv[])
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		help(stderr);
		return QVM_EXIT_USAGE;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		help(stdout);
		return QVM_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("qvm %s\n", QVM_VERSION);
		return QVM_EXIT_OK;
	}
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "qvm: unknown command '%s'; see qvm --help\n", cmd);
	return QVM_EXIT_USAGE;
}
