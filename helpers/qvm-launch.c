/* qvm-launch - main process of qvm@NAME.service: runs the VM's QEMU and supervises it (see qvm-launch(8)) */
#include <stdio.h>

#include "helper.h"
#include "config.h"
#include "launch.h"
#include "prepare.h"

static void usage(FILE *f)
{
	fputs("Usage: qvm-launch NAME\n"
	      "Run the VM configured in /etc/qvm/NAME.ini in the foreground as the main process of\n"
	      "qvm@NAME.service: prepare its disks and cloud-init seed (as qvm-image and qvm-seed do),\n"
	      "start QEMU, log the guest console to the journal, report READY=1 per\n"
	      "ready=, and on SIGTERM shut the guest down through ACPI (then quit, then kill).\n"
	      "Exit status: 0 when the guest powered off or was stopped, 1 on failure, 2 on a usage or\n"
	      "configuration error.\n", f);
}

int main(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	int r = helper_start(argc, argv, "qvm-launch", usage, &c);

	if (r != HELPER_CONTINUE)
		return r;
	/* In this process, not as ExecStartPre= helpers: each of those was one more fork
	 * and sandbox set-up by systemd before QEMU (bench/bench-prequemu.py). */
	if (vm_prepare_disks(c, PREPARE_START) < 0 || vm_prepare_seed(c, false, NULL) < 0)
		return 1;
	return launch_vm(c);
}
