/* qvm-seed - write the cloud-init NoCloud seed (STATE/seed.iso) of a VM from its [cloud-init] section */
#include <getopt.h>
#include <stdio.h>

#include "helper.h"
#include "config.h"
#include "log.h"
#include "prepare.h"

static void help(void)
{
	printf("Usage: qvm-seed [OPTIONS] NAME\n"
	       "\n"
	       "Write the cloud-init NoCloud seed of VM NAME (ISO9660, label cidata) to\n"
	       "STATE/seed.iso, from the [cloud-init] section of /etc/qvm/NAME.ini. The seed\n"
	       "is rewritten only when its contents change. Without [cloud-init] nothing is\n"
	       "written or removed.\n"
	       "\n"
	       "  --reseed             new instance-id: cloud-init in the guest runs its\n"
	       "                       first-boot modules again on the next boot\n"
	       "  --documents DIR      write the seed documents as files into DIR instead\n"
	       "  -h, --help           show this help\n");
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "reseed", no_argument, NULL, 'r' },
		{ "documents", required_argument, NULL, 'd' },
		{}
	};
	_cleanup_config_free_ struct vm_config *c = NULL;
	const char *documents_dir = NULL;
	bool reseed = false;
	int opt, r;

	log_setup("qvm-seed", 0);
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'h':
			help();
			return 0;
		case 'r':
			reseed = true;
			break;
		case 'd':
			documents_dir = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		log_error("expected one VM name; see --help");
		return 2;
	}
	r = helper_load_vm(argv[optind], &c);
	if (r != HELPER_EXIT_OK)
		return r;
	if (!c->has_cloud_init) {
		log_info("VM %s has no [cloud-init] section: no seed", c->name);
		return 0;
	}
	return vm_prepare_seed(c, reseed, documents_dir) < 0 ? 1 : 0;
}
