/* qvm-net - as root, create (up) or remove (down) a VM's tap on its bridge; see lib/net.c */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "paths.h"
#include "qvm-build.h"

#define QVM_USER "qvm"

/* Print usage. */
static void help(void)
{
	printf("Usage: qvm-net up|down NAME\n"
	       "\n"
	       "Privileged network helper of qvm@NAME.service (ExecStartPre=+ and\n"
	       "ExecStopPost=+, only for [network] mode = tap).\n"
	       "  up    create the persistent tap of VM NAME, owned by user " QVM_USER ",\n"
	       "        and plug it into [network] bridge =; qvmbr0 is created with\n"
	       "        10.88.0.1/24 when missing, any other bridge must exist already\n"
	       "  down  remove the VM's tap (fine if it is already gone); qvmbr0 stays\n"
	       "\n"
	       "  -h, --help      show this help\n"
	       "      --version   show the version\n"
	       "\n"
	       "Environment: QVM_CONFIG_DIR overrides /etc/qvm. See qvm.ini(5).\n");
}

/* qvm-net up NAME: load the config and bring the tap up. */
static int do_up(const char *name)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	struct passwd *pw;
	char err[256] = "", tap[16];
	int r;

	r = config_load(config_dir(), name, &c, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		_cleanup_free_ char *s = diag_format(&diags.items[i]);

		log_error("%s", s ? s : diags.items[i].message);
	}
	if (r < 0)
		return log_error_errno(r, "cannot load the configuration of VM %s: %s", name, strerror(-r));
	if (c->net_mode != NET_TAP) {
		log_info("VM %s does not use mode = tap; nothing to do", name);
		return 0;
	}
	errno = 0;
	pw = getpwnam(QVM_USER);
	if (!pw)
		return log_error_errno(errno ? -errno : -ESRCH, "user %s does not exist (systemd-sysusers creates it)",
				       QVM_USER);
	r = net_up(c, pw->pw_uid, pw->pw_gid, err, sizeof(err));
	if (r < 0)
		return log_error_errno(r, "VM %s: %s", name, err);
	log_info("VM %s: tap %s is up on bridge %s", name, vm_tap_name(name, tap), c->net_bridge);
	return 0;
}

/* qvm-net down NAME: remove the tap, without needing the config. */
static int do_down(const char *name)
{
	char err[256] = "";
	int r = net_down(name, err, sizeof(err));

	if (r < 0)
		return log_error_errno(r, "VM %s: %s", name, err);
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *verb, *name;
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case 'V':
			printf("qvm-net %s\n", QVM_VERSION);
			return 0;
		default:
			return 2;
		}
	}
	log_setup("qvm-net", 0);
	if (argc - optind != 2) {
		log_error("expected: qvm-net up|down NAME (see --help)");
		return 2;
	}
	verb = argv[optind];
	name = argv[optind + 1];
	if (!vm_name_valid(name)) {
		log_error("invalid VM name '%s'", name);
		return 2;
	}
	if (strcmp(verb, "up") == 0)
		return do_up(name) < 0 ? 1 : 0;
	if (strcmp(verb, "down") == 0)
		return do_down(name) < 0 ? 1 : 0;
	log_error("unknown command '%s': expected up or down", verb);
	return 2;
}
