/* cli-list.c - qvm list: every configured VM with its unit state, as a table or JSON */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strv.h"
#include "values.h"

/* One row of the listing. */
struct row {
	const char *name;
	struct vm_config *c;      /* NULL when the config does not load */
	struct unit_info unit;    /* active_state NULL: unknown */
	char ssh[96];             /* "" when none */
};

/* Load the config of VM @name into @r. */
static void row_load(const char *name, struct row *r)
{
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	char host[64];
	int port;

	*r = (struct row){ .name = name };
	if (config_load(config_dir(), name, &r->c, &diags) < 0)
		r->c = NULL;
	if (r->c && config_ssh_endpoint(r->c, host, &port))
		snprintf(r->ssh, sizeof(r->ssh), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

/*
 * The unit state of every row from one ListUnitsByPatterns call (a unit systemd
 * has not loaded is inactive), and for --json the STATUS= texts of the loaded
 * ones, requested all at once. Without a bus every state stays unknown.
 */
static void rows_state(sd_bus *bus, struct row *rows, size_t n, bool status)
{
	_cleanup_free_ char **paths = calloc(n + 1, sizeof(char *));
	_cleanup_free_ char **texts = calloc(n + 1, sizeof(char *));
	struct unit_state *units = NULL;
	size_t n_units = 0;
	char unit[256];

	if (!bus || !paths || !texts || bus_list_units(bus, "qvm@*.service", &units, &n_units) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct unit_state *u;

		if (!vm_name_valid(rows[i].name))
			continue;   /* no unit can have this name: unknown */
		u = unit_state_find(units, n_units, vm_unit_name(rows[i].name, unit));
		rows[i].unit.active_state = strdup(u ? u->active_state : "inactive");
		paths[i] = u ? u->path : NULL;
	}
	if (status && bus_get_status_texts(bus, paths, n, texts) >= 0)
		for (size_t i = 0; i < n; i++)
			rows[i].unit.status_text = texts[i];
	unit_states_free(units, n_units);
}

/* The state word shown for @r. */
static const char *row_state_text(const struct row *r)
{
	return r->unit.active_state ? r->unit.active_state : "unknown";
}

/* Print @rows as a JSON array. */
static void print_json(const struct row *rows, size_t n)
{
	fputs("[", stdout);
	for (size_t i = 0; i < n; i++) {
		const struct vm_config *c = rows[i].c;

		fputs(i ? ",\n {" : "\n {", stdout);
		fputs("\"name\": ", stdout);
		json_string(stdout, rows[i].name);
		fputs(", \"state\": ", stdout);
		json_string(stdout, row_state_text(&rows[i]));
		fputs(", \"status\": ", stdout);
		json_string(stdout, rows[i].unit.status_text && *rows[i].unit.status_text ?
				    rows[i].unit.status_text : NULL);
		printf(", \"valid\": %s", c ? "true" : "false");
		if (c) {
			printf(", \"autostart\": %s, \"accel\": ", c->autostart ? "true" : "false");
			json_string(stdout, accel_to_string(c->accel));
			printf(", \"memory\": %llu, \"cpus\": %lld, \"ssh\": ", (unsigned long long)c->memory,
			       (long long)c->cpus);
			json_string(stdout, rows[i].ssh[0] ? rows[i].ssh : NULL);
			fputs(", \"user\": ", stdout);
			json_string(stdout, c->ci_user);
		}
		fputs("}", stdout);
	}
	fputs(n ? "\n]\n" : "]\n", stdout);
}

static void print_table(const struct row *rows, size_t n)
{
	size_t w = 4;

	for (size_t i = 0; i < n; i++)
		w = strlen(rows[i].name) > w ? strlen(rows[i].name) : w;
	printf("%-*s  %-12s %-9s %-5s %-7s %s\n", (int)w, "NAME", "STATE", "AUTOSTART", "ACCEL", "MEMORY", "SSH");
	for (size_t i = 0; i < n; i++) {
		const struct vm_config *c = rows[i].c;
		char mem[32];

		if (!c) {
			printf("%-*s  %-12s (invalid config: qvm check %s)\n", (int)w, rows[i].name,
			       row_state_text(&rows[i]), rows[i].name);
			continue;
		}
		printf("%-*s  %-12s %-9s %-5s %-7s %s\n", (int)w, rows[i].name, row_state_text(&rows[i]),
		       c->autostart ? "yes" : "no", accel_to_string(c->accel),
		       format_size(mem, sizeof(mem), c->memory), rows[i].ssh[0] ? rows[i].ssh : "-");
	}
}

static void help(void)
{
	printf("Usage: qvm list [--json]\n\n"
	       "Every VM configured in /etc/qvm ($QVM_CONFIG_DIR): its unit's state as systemd\n"
	       "reports it (\"unknown\" when systemd cannot be reached), autostart, accel,\n"
	       "memory and ssh endpoint.\n\n"
	       "  -j, --json   print a JSON array instead of a table\n"
	       "  -h, --help   show this help\n");
}

int cli_list(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_free_ struct row *rows = NULL;
	sd_bus *bus = NULL;
	bool json = false;
	size_t n;
	int c, r;

	while ((c = getopt_long(argc, argv, "jh", options, NULL)) >= 0)
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return QVM_EXIT_OK;
		default:
			return cli_usage_error("list", "bad option");
		}
	if (optind < argc)
		return cli_usage_error("list", "unexpected argument '%s'", argv[optind]);
	r = config_list_names(config_dir(), &names);
	if (r < 0 && r != -ENOENT)
		return cli_error("cannot read %s: %s", config_dir(), strerror(-r));
	n = strv_length(names);
	rows = calloc(n + 1, sizeof(*rows));
	if (!rows)
		return cli_error("out of memory");
	if (bus_connect(&bus) < 0)
		bus = NULL;
	for (size_t i = 0; i < n; i++)
		row_load(names[i], &rows[i]);
	rows_state(bus, rows, n, json);
	if (json)
		print_json(rows, n);
	else
		print_table(rows, n);
	for (size_t i = 0; i < n; i++) {
		config_free(rows[i].c);
		unit_info_clear(&rows[i].unit);
	}
	sd_bus_flush_close_unref(bus);
	return fflush(stdout) == 0 ? QVM_EXIT_OK : QVM_EXIT_FAILURE;
}
