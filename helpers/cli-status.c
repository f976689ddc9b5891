/* cli-status.c - qvm status NAME (config, unit state, last console lines) and qvm logs NAME [-f] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "paths.h"
#include "strv.h"
#include "values.h"

/* Print the config summary of @c. */
static void print_config(const struct vm_config *c)
{
	char mem[32], host[64];
	int port;

	printf("%s - %s\n", c->name, c->description);
	printf("   Config: %s\n", c->path);
	printf("  Machine: %s, %lld cpus, %s memory, accel %s%s\n", c->arch, (long long)c->cpus,
	       format_size(mem, sizeof(mem), c->memory), accel_to_string(c->accel),
	       c->autostart ? ", autostart" : "");
	if (c->image_source)
		printf("    Image: %s\n", c->image_source);
	else if (c->image_disk)
		printf("     Disk: %s\n", c->image_disk);
	printf("  Network: %s", net_mode_to_string(c->net_mode));
	if (config_ssh_endpoint(c, host, &port))
		printf(", ssh %s%s%s:%d (qvm ssh %s)", c->ci_user ? c->ci_user : "", c->ci_user ? "@" : "",
		       host, port, c->name);
	printf("\n    Ready: %s\n", ready_mode_to_string(c->ready));
}

/* Print what systemd says about the VM's unit. */
static void print_unit(const char *name)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	struct unit_info u = { 0 };
	sd_bus *bus = NULL;
	char unit[256];
	int r;

	vm_unit_name(name, unit);
	r = bus_connect(&bus);
	if (r >= 0)
		r = unit_info_get(bus, unit, &u, &err);
	if (r < 0) {
		printf("     Unit: %s: state unknown (%s)\n", unit,
		       sd_bus_error_is_set(&err) ? err.message : strerror(-r));
	} else {
		printf("     Unit: %s: %s (%s)", unit, u.active_state, u.sub_state);
		if (u.result && *u.result && strcmp(u.result, "success") != 0)
			printf(", last result %s", u.result);
		printf("\n");
		if (u.status_text && *u.status_text)
			printf("   Status: %s\n", u.status_text);
	}
	unit_info_clear(&u);
	sd_bus_flush_close_unref(bus);
}

static void status_help(void)
{
	printf("Usage: qvm status NAME [-n LINES]\n\n"
	       "The VM's config in short, its unit's state and STATUS= text from systemd,\n"
	       "and the last lines of its console from the journal.\n\n"
	       "  -n, --lines=N   console lines to show (default 10, 0: none)\n"
	       "  -h, --help      show this help\n");
}

/* Parse -n: a line count. Return: 0, or -EINVAL. */
static int parse_lines(const char *s, unsigned *ret)
{
	int64_t v;

	if (parse_int(s, &v) < 0 || v < 0 || v > 1000000)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int cli_status(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "lines", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_config_free_ struct vm_config *c = NULL;
	unsigned lines = 10;
	const char *name;
	int o, r;

	while ((o = getopt_long(argc, argv, "n:h", options, NULL)) >= 0)
		switch (o) {
		case 'n':
			if (parse_lines(optarg, &lines) < 0)
				return cli_usage_error("status", "bad line count '%s'", optarg);
			break;
		case 'h':
			status_help();
			return QVM_EXIT_OK;
		default:
			return cli_usage_error("status", "bad option");
		}
	r = cli_one_name("status", argc - optind, argv + optind, &name);
	if (r == QVM_EXIT_OK)
		r = cli_load_vm(name, &c);
	if (r != QVM_EXIT_OK)
		return r;
	print_config(c);
	print_unit(name);
	if (lines == 0)
		return QVM_EXIT_OK;
	printf("\nConsole (last %u lines, qvm logs %s for all):\n", lines, name);
	fflush(stdout);
	r = journal_print_console(name, lines, false);
	if (r < 0)
		printf("  (journal not readable: %s)\n", strerror(-r));
	return QVM_EXIT_OK;
}

static void logs_help(void)
{
	printf("Usage: qvm logs NAME [-f] [-n LINES]\n\n"
	       "The guest's serial console, as qvm-launch logged it to the journal\n"
	       "(the entries with QVM_VM=NAME; journalctl QVM_VM=NAME shows the same).\n\n"
	       "  -f, --follow    keep printing new lines until interrupted\n"
	       "  -n, --lines=N   only the last N lines (default: all)\n"
	       "  -h, --help      show this help\n");
}

int cli_logs(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	unsigned lines = 0;
	bool follow = false;
	const char *name;
	int o, r;

	while ((o = getopt_long(argc, argv, "fn:h", options, NULL)) >= 0)
		switch (o) {
		case 'f':
			follow = true;
			break;
		case 'n':
			if (parse_lines(optarg, &lines) < 0)
				return cli_usage_error("logs", "bad line count '%s'", optarg);
			break;
		case 'h':
			logs_help();
			return QVM_EXIT_OK;
		default:
			return cli_usage_error("logs", "bad option");
		}
	r = cli_one_name("logs", argc - optind, argv + optind, &name);
	if (r != QVM_EXIT_OK)
		return r;
	if (!vm_name_valid(name))
		return cli_usage_error("logs", "'%s' is not a valid VM name", name);
	r = journal_print_console(name, lines, follow);
	if (r < 0)
		return cli_error("cannot read the journal: %s", strerror(-r));
	return QVM_EXIT_OK;
}
