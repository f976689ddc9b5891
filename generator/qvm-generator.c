/* qvm-generator - turn /etc/qvm/NAME.ini files into qvm@NAME.service drop-ins (systemd.generator(7)) */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "crosscheck.h"
#include "log.h"
#include "qvm-build.h"
#include "strv.h"
#include "unitgen.h"

/* Are we running in the initrd, where there is nothing for us to do? */
static int in_initrd(void)
{
	const char *root = getenv("QVM_GENERATOR_ROOT");
	const char *flag = getenv("SYSTEMD_IN_INITRD"); /* set by systemd >= 251 */
	char path[4096];

	if (flag && (strcmp(flag, "0") == 0 || strcmp(flag, "1") == 0))
		return flag[0] == '1';
	snprintf(path, sizeof(path), "%s/etc/initrd-release", root ? root : "");
	return access(path, F_OK) == 0;
}

/* Load one VM; a bad file is logged and skipped. Return: its config, or NULL. */
static struct vm_config *load_one(const char *dir, const char *name)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	int r;

	r = config_load(dir, name, &c, &diags);
	log_diags(LOG_WARNING, &diags, NULL);
	if (r < 0) {
		log_error("%s/%s.ini: not generating VM %s: %s, ignoring", dir, name, name,
			  r == -EINVAL ? "invalid configuration" : strerror(-r));
		return NULL;
	}
	diag_list_clear(&diags);
	if (crosscheck_secrets(c, &diags) > 0)
		log_diags(LOG_WARNING, &diags, NULL);
	return TAKE_PTR(c);
}

/* Write the units of loaded VM @c into @dest (failures are logged). */
static void generate_one(const char *dest, const struct vm_config *c, const struct unitgen_paths *paths)
{
	int r = unitgen_write_vm(dest, c, paths);

	if (r < 0)
		log_error_errno(r, "%s: failed to write units for VM %s: %m", c->path, c->name);
}

/*
 * Two tap-mode VMs whose names map to one tap would take over and delete each
 * other's device: the later one (in name order) is not generated.
 * Return: -ENOMEM, or 0 with @skip[i] set for each VM to leave out.
 */
static int reject_tap_clashes(struct vm_config **configs, size_t n, bool *skip)
{
	_cleanup_diag_list_ struct diag_list clashes = { 0 };
	struct crosscheck_set set = { (const struct vm_config *const *)configs, n, NULL, NULL };
	int r = crosscheck_taps(&set, &clashes, skip);

	if (r < 0)
		return r;
	log_diags(LOG_ERR, &clashes, NULL);
	for (size_t i = 0; i < n; i++)
		if (skip[i])
			log_error("%s: not generating VM %s: its tap name is taken, ignoring", configs[i]->path,
				  configs[i]->name);
	return 0;
}

/*
 * Warn about host ports that two VMs both forward. Both are still generated:
 * each is valid alone, and only starting both at once fails (QEMU or the
 * forward socket then cannot bind, and says so).
 */
static void warn_port_clashes(struct vm_config **configs, size_t n)
{
	_cleanup_diag_list_ struct diag_list clashes = { 0 };
	struct crosscheck_set set = { (const struct vm_config *const *)configs, n, NULL, NULL };

	if (crosscheck_ports(&set, &clashes) < 0)
		return;
	log_diags(LOG_WARNING, &clashes, NULL);
}

/* Write units for every VM in the config dir into @dest. */
static int run(const char *dest, const char *dest_early, const char *dest_late)
{
	_cleanup_strv_free_ char **names = NULL;
	struct vm_config **configs;
	bool *skip;
	size_t n = 0;
	const char *dir = config_dir();
	const struct unitgen_paths paths = {
		.libexecdir = getenv("QVM_LIBEXECDIR") ? getenv("QVM_LIBEXECDIR") : QVM_LIBEXECDIR,
		.unitdir = getenv("QVM_UNITDIR") ? getenv("QVM_UNITDIR") : QVM_UNITDIR,
		.root = getenv("QVM_GENERATOR_ROOT"),
		.socket_proxyd = getenv("QVM_SOCKET_PROXYD") ? getenv("QVM_SOCKET_PROXYD") : QVM_SOCKET_PROXYD,
	};
	int r;

	(void)dest_early;
	(void)dest_late;
	if (in_initrd())
		return 0;
	r = config_list_names(dir, &names);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "cannot read %s: %s", dir, strerror(-r));
	configs = calloc(strv_length(names) + 1, sizeof(*configs));
	if (!configs)
		return log_error_errno(ENOMEM, "out of memory");
	STRV_FOREACH(name, names) {
		struct vm_config *c = load_one(dir, *name);

		if (c)
			configs[n++] = c;
	}
	skip = calloc(n + 1, sizeof(*skip));
	if (!skip || reject_tap_clashes(configs, n, skip) < 0)
		r = log_error_errno(ENOMEM, "out of memory");
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (!skip[i])
			generate_one(dest, configs[i], &paths);
	if (r >= 0)
		warn_port_clashes(configs, n);
	for (size_t i = 0; i < n; i++)
		config_free(configs[i]);
	free(configs);
	free(skip);
	return r < 0 ? r : 0;
}

/* Print usage. */
static void help(void)
{
	printf("Usage: qvm-generator NORMAL-DIR [EARLY-DIR LATE-DIR]\n"
	       "\n"
	       "systemd generator: turns every /etc/qvm/NAME.ini into a drop-in\n"
	       "NORMAL-DIR/qvm@NAME.service.d/50-qvm.conf, and links VMs with\n"
	       "autostart = yes into machines.target.wants/. Bad files are logged\n"
	       "with path:line and skipped; the others are still generated.\n"
	       "\n"
	       "  -h, --help      show this help\n"
	       "      --version   show the version\n"
	       "\n"
	       "Environment (test seams): QVM_CONFIG_DIR overrides /etc/qvm;\n"
	       "QVM_GENERATOR_ROOT prefixes the paths the generator looks at\n"
	       "(initrd-release, unit dir); QVM_LIBEXECDIR and QVM_UNITDIR\n"
	       "override the paths written into units.\n"
	       "See qvm-generator(8).\n");
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case 'V':
			printf("qvm-generator %s\n", QVM_VERSION);
			return 0;
		default:
			return 1;
		}
	}
	if (argc - optind != 1 && argc - optind != 3) {
		fprintf(stderr, "qvm-generator: expected 1 or 3 output directories, got %d\n", argc - optind);
		return 1;
	}
	/* systemd runs generators with $SYSTEMD_SCOPE set; log to the kernel log then. */
	log_setup("qvm-generator", getenv("SYSTEMD_SCOPE") != NULL);
	return run(argv[optind], argc - optind == 3 ? argv[optind + 1] : NULL,
		   argc - optind == 3 ? argv[optind + 2] : NULL) < 0 ? 1 : 0;
}
