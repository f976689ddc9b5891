/* cli-unit.c - qvm start|stop|restart NAME: systemd jobs over sd-bus, waited for */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(const char *cmd, const char *what)
{
	printf("Usage: qvm %s NAME\n\n"
	       "%s qvm@NAME.service through systemd (job mode \"replace\"), wait until the job\n"
	       "has finished and print its result. Exit status 0 when the result is \"done\",\n"
	       "1 otherwise (see qvm status NAME and journalctl -u qvm@NAME).\n\n"
	       "  -h, --help   show this help\n", cmd, what);
}

/* Run one job subcommand: @method on qvm@NAME.service. */
static int run_job(int argc, char *argv[], const char *method, const char *what)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_free_ char *result = NULL;
	sd_bus *bus = NULL;
	const char *name;
	char unit[256];
	int r;

	r = cli_parse_name(argc, argv, &name);
	if (r == CLI_HELP)
		return help(argv[0], what), QVM_EXIT_OK;
	/* Stopping works even when the config is gone or broken; starting needs a good one. */
	if (r == QVM_EXIT_OK && strcmp(method, "StopUnit") != 0)
		r = cli_load_vm(name, &c);
	else if (r == QVM_EXIT_OK && !vm_name_valid(name))
		r = cli_usage_error(argv[0], "'%s' is not a valid VM name", name);
	if (r != QVM_EXIT_OK)
		return r;
	vm_unit_name(name, unit);
	r = bus_connect(&bus);
	if (r < 0)
		return cli_error("cannot reach systemd: %s", strerror(-r));
	r = bus_run_job(bus, method, unit, &result, &err);
	sd_bus_flush_close_unref(bus);
	if (r < 0)
		return cli_error("%s %s: %s", argv[0], unit, sd_bus_error_is_set(&err) ? err.message : strerror(-r));
	printf("%s %s: %s\n", argv[0], unit, result);
	if (strcmp(result, "done") != 0) {
		fprintf(stderr, "qvm: see 'qvm status %s' and 'journalctl -u %s'\n", name, unit);
		return QVM_EXIT_FAILURE;
	}
	return QVM_EXIT_OK;
}

int cli_start(int argc, char *argv[])
{
	return run_job(argc, argv, "StartUnit", "Start");
}

int cli_stop(int argc, char *argv[])
{
	return run_job(argc, argv, "StopUnit", "Stop (ACPI power-off, forced off after shutdown-timeout)");
}

int cli_restart(int argc, char *argv[])
{
	return run_job(argc, argv, "RestartUnit", "Restart");
}
