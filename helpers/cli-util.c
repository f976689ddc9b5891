/* cli-util.c - what the qvm subcommands share: loading a VM, messages, JSON strings, helper paths */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qvm-build.h"

int cli_load_vm(const char *name, struct vm_config **ret)
{
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	int r;

	if (!vm_name_valid(name)) {
		fprintf(stderr, "qvm: '%s' is not a valid VM name\n", name);
		return QVM_EXIT_USAGE;
	}
	r = config_load(config_dir(), name, ret, &diags);
	diag_print(&diags, stderr, "");
	if (r == -ENOENT) {
		fprintf(stderr, "qvm: no VM %s: %s/%s.ini does not exist\n", name, config_dir(), name);
		return QVM_EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "qvm: %s/%s.ini: %s\n", config_dir(), name,
			r == -EINVAL ? "invalid configuration" : strerror(-r));
		return QVM_EXIT_USAGE;
	}
	return QVM_EXIT_OK;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qvm %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'qvm %s --help'.\n", cmd);
	return QVM_EXIT_USAGE;
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("qvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return QVM_EXIT_FAILURE;
}

int cli_one_name(const char *cmd, int argc, char *argv[], const char **ret)
{
	if (argc < 1)
		return cli_usage_error(cmd, "missing VM NAME");
	if (argc > 1)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
	*ret = argv[0];
	return QVM_EXIT_OK;
}

int cli_parse_name(int argc, char *argv[], const char **ret)
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
	int o;

	while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		if (o == 'h')
			return CLI_HELP;
		else
			return cli_usage_error(argv[0], "bad option");
	return cli_one_name(argv[0], argc - optind, argv + optind, ret);
}

int cli_parse_vm(int argc, char *argv[], void (*help)(void), struct vm_config **ret)
{
	const char *name;
	int r = cli_parse_name(argc, argv, &name);

	*ret = NULL;
	if (r == CLI_HELP) {
		help();
		return QVM_EXIT_OK;
	}
	return r == QVM_EXIT_OK ? cli_load_vm(name, ret) : r;
}

char *cli_libexec(const char *name, char buf[static 4096])
{
	const char *dir = getenv("QVM_LIBEXECDIR");

	snprintf(buf, 4096, "%s/%s", dir && *dir ? dir : QVM_LIBEXECDIR, name);
	return buf;
}

void json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}
