/* qvm-launch - main process of qvm@NAME.service (placeholder until the launcher lands: validates the config) */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"

int main(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	int r;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		printf("Usage: qvm-launch NAME\n");
		return argc == 2 ? 0 : 2;
	}
	log_setup("qvm-launch", 0);
	r = config_load(config_dir(), argv[1], &c, &diags);
	diag_print(&diags, stderr, "");
	if (r < 0)
		return 1;
	log_error("VM %s: configuration is valid, but this build of qvm cannot run QEMU yet", c->name);
	return 1;
}
