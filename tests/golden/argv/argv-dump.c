/* argv-dump.c - print the QEMU argv qvm builds for an INI file, one argument per line (golden tests) */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "qemu_argv.h"
#include "strv.h"

static void usage(FILE *f)
{
	fputs("Usage: argv-dump [--kvm] [--no-sandbox] [--qmp-path] [--raw-disk] [--host-arch ARCH]\n"
	      "                 [--firmware-dir DIR...] [--installed] FILE.ini\n"
	      "Prints qemu_argv_build()'s command line for FILE.ini with pinned host facts,\n"
	      "or its diagnostics as \"error: ...\" lines. --firmware-dir may repeat\n"
	      "(general to specific, as QEMU's search path); default: firmware\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kvm", no_argument, NULL, 'k' },          { "no-sandbox", no_argument, NULL, 's' },
		{ "qmp-path", no_argument, NULL, 'q' },     { "raw-disk", no_argument, NULL, 'r' },
		{ "host-arch", required_argument, NULL, 'a' }, { "firmware-dir", required_argument, NULL, 'f' },
		{ "installed", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },         {}
	};
	_cleanup_qemu_host_ struct qemu_host host = { .host_arch = "x86_64", .sandbox = true,
						      .qmp_listen_fd = 3, .monitor_listen_fd = 4 };
	_cleanup_strv_free_ char **fw_dirs = NULL;
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list diags = {};
	_cleanup_strv_free_ char **qemu = NULL;
	struct qemu_choice choice;
	struct vm_paths paths;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
		switch (o) {
		case 'k': host.kvm_usable = true; break;
		case 's': host.sandbox = false; break;
		case 'q': host.qmp_listen_fd = -1; break;
		case 'r': host.disk_format = "raw"; break;
		case 'a': host.host_arch = optarg; break;
		case 'f': if (strv_push(&fw_dirs, optarg) < 0) return 1; break;
		case 'i': host.installed = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if ((!fw_dirs && strv_push(&fw_dirs, "firmware") < 0) || firmware_load(fw_dirs, &host.firmware) < 0)
		return 1;
	r = config_load_file(argv[optind], &c, &diags);
	if (r >= 0 && vm_paths_get(c, &paths) >= 0)
		r = qemu_argv_build(c, &paths, &host, &qemu, &choice, &diags);
	for (size_t i = 0; i < diags.n; i++)
		printf("error: %s\n", diags.items[i].message);
	if (r < 0)
		return diags.n ? 0 : 1;
	STRV_FOREACH(a, qemu)
		printf("%s\n", *a);
	printf("# accel=%s efivars-template=%s\n", choice.kvm ? "kvm" : "tcg", choice.efivars_template);
	return 0;
}
