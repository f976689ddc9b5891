/* qvm-seed - write the cloud-init NoCloud seed (STATE/seed.iso) of a VM from its [cloud-init] section */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "helper.h"
#include "config.h"
#include "log.h"
#include "paths.h"
#include "seed.h"

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

/* Build the documents of @c and write them where asked. */
static int run(const struct vm_config *c, bool reseed, const char *documents_dir)
{
	struct vm_paths paths;
	struct seed_docs docs = { 0 };
	const char *failed = NULL;
	unsigned gen;
	int r;

	r = vm_paths_get(c, &paths);
	if (r < 0)
		return log_error_errno(r, "VM %s: paths too long", c->name);
	r = seed_generation(paths.state_dir, reseed, &gen);
	if (r < 0)
		return log_error_errno(r, "VM %s: cannot read or write %s/seed.generation: %m", c->name,
				       paths.state_dir);
	r = seed_docs_build(c, gen, &docs, &failed);
	if (r < 0) {
		if (failed)
			return log_error_errno(r, "VM %s: cannot read %s: %m", c->name, failed);
		return log_error_errno(r, "VM %s: cannot write the seed documents: %s", c->name,
				       r == -EINVAL ? "a [cloud-init] value is not valid UTF-8 text" : strerror(-r));
	}
	if (documents_dir) {
		r = seed_write_documents(documents_dir, &docs);
		if (r < 0)
			log_error_errno(r, "VM %s: cannot write documents to %s: %m", c->name, documents_dir);
	} else {
		r = seed_write(paths.seed, &docs);
		if (r < 0)
			log_error_errno(r, "VM %s: cannot write %s: %m", c->name, paths.seed);
		else
			log_info("VM %s: %s %s (instance-id qvm-%s-%u)", c->name, paths.seed,
				 r > 0 ? "written" : "up to date", c->name, gen);
	}
	seed_docs_done(&docs);
	return r < 0 ? r : 0;
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
	return run(c, reseed, documents_dir) < 0 ? 1 : 0;
}
