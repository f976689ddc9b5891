/* helper.c - the preamble the per-VM helpers share: load the VM, log its problems, one exit code */
#include "helper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "log.h"

/*
 * Under qvm@.service the template sets QVM_CONFIG_DIGEST=ungenerated and the
 * generator's drop-in overrides it with the digest of the files it read. A
 * helper that finds "ungenerated" runs a VM the generator rejected; one that
 * finds another digest runs a plan made from files that changed since.
 * Either way, starting would use a stale plan, so stop. Run by hand (no
 * QVM_CONFIG_DIGEST), a helper just reads the files.
 */
static int check_generated(const char *name)
{
	const char *want = getenv("QVM_CONFIG_DIGEST");
	char have[CONFIG_DIGEST_SIZE];

	if (!want || !*want)
		return 0;
	if (strcmp(want, "ungenerated") == 0)
		return log_error_errno(ESTALE, "VM %s has no generated units: qvm-generator rejected %s/%s.ini "
				       "(see qvm check %s) or has not run; fix it and run systemctl daemon-reload",
				       name, config_dir(), name, name);
	if (config_digest(config_dir(), name, have) < 0 || strcmp(have, want) != 0)
		return log_error_errno(ESTALE, "configuration changed: run systemctl daemon-reload "
				       "(%s/%s.ini or its drop-ins differ from what qvm@%s.service was generated from)",
				       config_dir(), name, name);
	return 0;
}

int helper_load_vm(const char *name, struct vm_config **ret)
{
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	int r;

	if (!vm_name_valid(name)) {
		log_error("invalid VM name '%s'", name);
		return HELPER_EXIT_CONFIG;
	}
	if (check_generated(name) < 0)
		return HELPER_EXIT_CONFIG;
	r = config_load(config_dir(), name, ret, &diags);
	log_diags(LOG_ERR, &diags, NULL);
	if (r == -ENOENT)
		log_error("no VM %s: %s/%s.ini does not exist", name, config_dir(), name);
	else if (r < 0 && r != -EINVAL)
		log_error_errno(r, "VM %s: cannot load its configuration: %m", name);
	return r < 0 ? HELPER_EXIT_CONFIG : HELPER_EXIT_OK;
}

int helper_start(int argc, char *argv[], const char *ident, void (*usage)(FILE *f), struct vm_config **ret)
{
	int r;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return HELPER_EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		usage(stderr);
		return HELPER_EXIT_CONFIG;
	}
	log_setup(ident, 0);
	r = helper_load_vm(argv[1], ret);
	return r == HELPER_EXIT_OK ? HELPER_CONTINUE : r;
}
