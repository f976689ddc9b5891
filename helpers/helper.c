/* helper.c - the preamble the per-VM helpers share: load the VM, log its problems, one exit code */
#include "helper.h"

#include <errno.h>

#include "diag.h"
#include "log.h"

int helper_load_vm(const char *name, struct vm_config **ret)
{
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	int r;

	if (!vm_name_valid(name)) {
		log_error("invalid VM name '%s'", name);
		return HELPER_EXIT_CONFIG;
	}
	r = config_load(config_dir(), name, ret, &diags);
	log_diags(LOG_ERR, &diags, NULL);
	if (r == -ENOENT)
		log_error("no VM %s: %s/%s.ini does not exist", name, config_dir(), name);
	else if (r < 0 && r != -EINVAL)
		log_error_errno(r, "VM %s: cannot load its configuration: %m", name);
	return r < 0 ? HELPER_EXIT_CONFIG : HELPER_EXIT_OK;
}
