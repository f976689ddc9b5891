/* cli-check.c - qvm check [NAME|FILE...]: the generator's diagnostics plus checks across VMs */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "basic.h"
#include "crosscheck.h"
#include "qemu_argv.h"
#include "strv.h"

/* Everything loaded for one run of qvm check. */
struct check {
	struct vm_config **configs;
	bool *report;
	struct stat *ids;         /* st_dev/st_ino of each config's file (st_ino 0: unknown) */
	size_t n;
	char **known;             /* every VM name that exists, loadable or not */
	char **dirs;              /* directories whose other VMs were loaded as context */
	unsigned errors, warnings, checked;
	bool missing;             /* a NAME or FILE did not exist */
};

static void check_free(struct check *k)
{
	for (size_t i = 0; i < k->n; i++)
		config_free(k->configs[i]);
	free(k->configs);
	free(k->report);
	free(k->ids);
	strv_free(k->known);
	strv_free(k->dirs);
}

/*
 * Is the VM at @path already loaded (the same file, however its path is spelt)?
 * If so, mark it reported when @report. One stat() of @path, compared with the
 * identities recorded at load: with 1000 VMs, stat()ing both sides of every
 * pair made qvm check take seconds.
 */
static bool check_has(struct check *k, const char *path, bool report)
{
	struct stat st;
	bool known = stat(path, &st) == 0;

	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->configs[i]->path, path) == 0 ||
		    (known && k->ids[i].st_ino && k->ids[i].st_dev == st.st_dev && k->ids[i].st_ino == st.st_ino)) {
			k->report[i] = k->report[i] || report;
			return true;
		}
	return false;
}

/* Add a loaded config. Return: 0, or -ENOMEM. */
static int check_add(struct check *k, struct vm_config *c, bool report)
{
	struct vm_config **nc = realloc(k->configs, (k->n + 1) * sizeof(*nc));
	struct stat *ni;
	bool *nr;

	if (!nc)
		return -ENOMEM;
	k->configs = nc;
	nr = realloc(k->report, (k->n + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	k->report = nr;
	ni = realloc(k->ids, (k->n + 1) * sizeof(*ni));
	if (!ni)
		return -ENOMEM;
	k->ids = ni;
	if (stat(c->path, &k->ids[k->n]) < 0)
		k->ids[k->n].st_ino = 0;
	k->configs[k->n] = c;
	k->report[k->n++] = report;
	if (!strv_contains(k->known, c->name) && strv_push(&k->known, c->name) < 0)
		return -ENOMEM;
	return 0;
}

/* Print the warnings about @c's password hash being readable by others (L5). Return: how many. */
static unsigned report_secrets(const struct vm_config *c)
{
	_cleanup_diag_list_ struct diag_list warnings = { 0 };

	if (crosscheck_secrets(c, &warnings) <= 0)
		return 0;
	for (size_t i = 0; i < warnings.n; i++)
		printf("%s: warning: %s\n", warnings.items[i].path, warnings.items[i].message);
	return (unsigned)warnings.n;
}

/* The checks that need this host: shared directories exist. Return: errors found. */
static unsigned check_host(const struct vm_config *c)
{
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	int n = config_check_shares_on_host(c, &diags);

	diag_print(&diags, stdout, "");
	return n > 0 ? (unsigned)n : 0;
}

/* Load and check one VM: @dir + @name, or the file @path. */
static int check_one(struct check *k, const char *dir, const char *name, const char *path)
{
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	struct vm_config *c = NULL;
	char p[4096];
	int r;

	snprintf(p, sizeof(p), "%s/%s.ini", dir, name);
	if (check_has(k, path ? path : p, true))
		return 0;
	r = path ? config_load_file(path, &c, &diags) : config_load(dir, name, &c, &diags);
	diag_print(&diags, stdout, "");
	k->checked++;
	if (r == -ENOENT) {
		printf("%s: no such VM config\n", path ? path : p);
		k->missing = true;
		return 0;
	}
	if (r < 0) {
		k->errors += diags.n ? (unsigned)diags.n : 1;
		if (r != -EINVAL)
			printf("%s: %s\n", path ? path : p, strerror(-r));
		return strv_contains(k->known, name) ? 0 : strv_push(&k->known, name);
	}
	k->warnings += (unsigned)diags.n + report_secrets(c);
	k->errors += check_host(c);
	return check_add(k, c, true);
}

/* Load the other VMs of @dir silently, as context for the checks across VMs. */
static int load_context(struct check *k, const char *dir)
{
	_cleanup_strv_free_ char **names = NULL;
	int r;

	if (strv_contains(k->dirs, dir))
		return 0;
	if (strv_push(&k->dirs, dir) < 0)
		return -ENOMEM;
	r = config_list_names(dir, &names);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	STRV_FOREACH(name, names) {
		_cleanup_diag_list_ struct diag_list diags = { 0 };
		struct vm_config *c = NULL;
		char p[4096];

		if (!strv_contains(k->known, *name) && strv_push(&k->known, *name) < 0)
			return -ENOMEM;
		snprintf(p, sizeof(p), "%s/%s.ini", dir, *name);
		if (check_has(k, p, false) || config_load(dir, *name, &c, &diags) < 0)
			continue;
		if (check_add(k, c, false) < 0) {
			config_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Is command-line operand @arg a file (rather than a VM name)? */
static bool operand_is_file(const char *arg)
{
	return strchr(arg, '/') || endswith(arg, ".ini");
}

/* Load every operand (or every VM of the config dir), then their neighbours. */
static int load_all(struct check *k, int argc, char *argv[])
{
	int r = 0;

	if (argc == 0)
		return load_context(k, config_dir()) < 0 ? -ENOMEM : 0;
	for (int i = 0; i < argc && r >= 0; i++) {
		_cleanup_free_ char *copy = strdup(argv[i]), *copy2 = strdup(argv[i]);
		char name[4096];

		if (!copy || !copy2)
			return -ENOMEM;
		if (!operand_is_file(argv[i])) {
			r = check_one(k, config_dir(), argv[i], NULL);
			continue;
		}
		snprintf(name, sizeof(name), "%s", basename(copy));
		name[strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".ini") == 0 ? strlen(name) - 4
										      : strlen(name)] = '\0';
		r = check_one(k, dirname(copy2), name, argv[i]);
	}
	for (int i = 0; i < argc && r >= 0; i++) {
		_cleanup_free_ char *copy = strdup(argv[i]);

		if (!copy)
			return -ENOMEM;
		r = load_context(k, operand_is_file(argv[i]) ? dirname(copy) : config_dir());
	}
	return r;
}

/* With no operands every VM of the config dir is checked: count and report its diagnostics. */
static void check_dir_loaded(struct check *k)
{
	_cleanup_strv_free_ char **names = NULL;

	for (size_t i = 0; i < k->n; i++)
		k->report[i] = true;
	(void)config_list_names(config_dir(), &names);
	STRV_FOREACH(name, names) {
		_cleanup_diag_list_ struct diag_list diags = { 0 };
		struct vm_config *c = NULL;
		int r = config_load(config_dir(), *name, &c, &diags);

		diag_print(&diags, stdout, "");
		k->checked++;
		if (r < 0)
			k->errors += diags.n ? (unsigned)diags.n : 1;
		else
			k->warnings += (unsigned)diags.n + report_secrets(c);
		if (r >= 0)
			k->errors += check_host(c);
		config_free(c);
	}
}

/* Print @errors and @warnings and count them in @k. */
static void report(struct check *k, const struct diag_list *errors, const struct diag_list *warnings)
{
	diag_print(errors, stdout, "");
	for (size_t i = 0; i < warnings->n; i++)
		printf("%s: warning: %s\n", warnings->items[i].path, warnings->items[i].message);
	k->errors += (unsigned)errors->n;
	k->warnings += (unsigned)warnings->n;
}

/* Run the checks across VMs and print what they find. Return: 0, or -ENOMEM. */
static int cross(struct check *k)
{
	_cleanup_diag_list_ struct diag_list errors = { 0 }, warnings = { 0 };
	struct crosscheck_set set = { (const struct vm_config *const *)k->configs, k->n, k->known, k->report };

	if (crosscheck_ports(&set, &errors) < 0 || crosscheck_taps(&set, &errors, NULL) < 0 ||
	    crosscheck_cycles(&set, &errors) < 0 ||
	    crosscheck_references(&set, &errors, &warnings) < 0)
		return -ENOMEM;
	report(k, &errors, &warnings);
	return 0;
}

/* What this host lacks for each checked VM: QEMU, its machine, firmware, KVM. Return: 0, or -ENOMEM. */
static int host(struct check *k)
{
	_cleanup_diag_list_ struct diag_list errors = { 0 }, warnings = { 0 };
	_cleanup_qemu_host_ struct qemu_host h = { 0 };

	if (qemu_host_probe(&h) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < k->n; i++)
		if (k->report[i] && qemu_host_check(k->configs[i], &h, &errors, &warnings) < 0)
			return -ENOMEM;
	report(k, &errors, &warnings);
	return 0;
}

static void help(void)
{
	printf("Usage: qvm check [NAME|FILE...]\n\n"
	       "Check VM configs with the generator's diagnostics (path:line: message), and\n"
	       "across VMs: host ports forwarded twice, ordering cycles through after= and\n"
	       "requires=, and names of VMs that do not exist (an error in requires=, a\n"
	       "warning in after=); and on this host, that every [share:NAME] path is a\n"
	       "directory. Without operands every VM in /etc/qvm ($QVM_CONFIG_DIR) is checked.\n"
	       "An operand with a '/' or ending in .ini is a file anywhere (for example in a\n"
	       "config repository); the other VMs in its directory are read as context for\n"
	       "the checks across VMs.\n\n"
	       "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 a NAME or FILE\n"
	       "does not exist or bad usage.\n\n"
	       "  -q, --quiet   no summary line\n"
	       "  -h, --help    show this help\n");
}

int cli_check(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct check k = { 0 };
	bool quiet = false;
	int o, r;

	while ((o = getopt_long(argc, argv, "qh", options, NULL)) >= 0)
		switch (o) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			help();
			return QVM_EXIT_OK;
		default:
			return cli_usage_error("check", "bad option");
		}
	r = load_all(&k, argc - optind, argv + optind);
	if (r >= 0 && optind == argc)
		check_dir_loaded(&k);
	if (r >= 0)
		r = cross(&k);
	if (r >= 0)
		r = host(&k);
	if (r < 0) {
		check_free(&k);
		return cli_error("check failed: %s", strerror(-r));
	}
	if (!quiet)
		printf("%u VM%s checked: %u error%s, %u warning%s\n", k.checked, k.checked == 1 ? "" : "s", k.errors,
		       k.errors == 1 ? "" : "s", k.warnings, k.warnings == 1 ? "" : "s");
	r = k.missing ? QVM_EXIT_USAGE : k.errors ? QVM_EXIT_FAILURE : QVM_EXIT_OK;
	check_free(&k);
	return r;
}
