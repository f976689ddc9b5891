/* cli.h - the subcommands of the qvm command and the helpers they share */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <systemd/sd-bus.h>

#include "config.h"
#include "macro.h"
#include "qmp.h"

/* Exit codes of qvm, documented in qvm(1). */
enum {
	QVM_EXIT_OK = 0,          /* done */
	QVM_EXIT_FAILURE = 1,     /* the operation failed: job not "done", check found errors, ... */
	QVM_EXIT_USAGE = 2,       /* bad command line, unknown VM, or a config that does not load */
};

/* One subcommand: @run gets argv with argv[0] = the subcommand's name. */
struct cli_command {
	const char *name;
	int (*run)(int argc, char *argv[]);
	const char *args;         /* synopsis after the name */
	const char *summary;
};

/**
 * cli_list() - qvm list [--json]: every configured VM with its unit state
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_list(int argc, char *argv[]);

/**
 * cli_status() - qvm status NAME: config summary, unit state, last console lines
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_status(int argc, char *argv[]);

/**
 * cli_start() - qvm start NAME: StartUnit, waited for
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_start(int argc, char *argv[]);

/**
 * cli_stop() - qvm stop NAME: StopUnit, waited for
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_stop(int argc, char *argv[]);

/**
 * cli_restart() - qvm restart NAME: RestartUnit, waited for
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_restart(int argc, char *argv[]);

/**
 * cli_console() - qvm console NAME: attach the terminal to the console socket
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_console(int argc, char *argv[]);

/**
 * cli_display() - qvm display NAME: how to connect to the VM's VNC screen
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_display(int argc, char *argv[]);

/**
 * cli_ssh() - qvm ssh NAME [-- CMD...]: exec ssh to the guest
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_ssh(int argc, char *argv[]);

/**
 * cli_logs() - qvm logs NAME [-f]: the guest console from the journal
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_logs(int argc, char *argv[]);

/**
 * cli_check() - qvm check [NAME|FILE...]: diagnostics, also across VMs
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_check(int argc, char *argv[]);

/**
 * cli_new() - qvm new NAME: write a working NAME.ini and daemon-reload
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_new(int argc, char *argv[]);

/**
 * cli_image() - qvm image list|refresh|prune: the base image cache
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_image(int argc, char *argv[]);

/**
 * cli_reset() - qvm reset NAME: discard the system disk overlay (qvm-image --reset)
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_reset(int argc, char *argv[]);

/**
 * cli_reseed() - qvm reseed NAME: a new cloud-init instance-id (qvm-seed --reseed)
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_reseed(int argc, char *argv[]);

/**
 * cli_monitor() - qvm monitor NAME [HMP COMMAND]: human monitor commands, or a prompt
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_monitor(int argc, char *argv[]);

/**
 * cli_qmp() - qvm qmp NAME: raw QMP between stdin/stdout and the VM's monitor
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_qmp(int argc, char *argv[]);

/**
 * cli_snapshot() - qvm snapshot NAME create|list|revert|delete [SNAP]
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_snapshot(int argc, char *argv[]);

/**
 * cli_disk() - qvm disk grow NAME [DISK] SIZE
 * @argc: argument count, argv[0] being the subcommand
 * @argv: arguments
 * Return: exit status, QVM_EXIT_*
 */
int cli_disk(int argc, char *argv[]);

#define VM_DISKS_MAX 64

/* One disk of a VM, as qvm disk and qvm snapshot see it. */
struct vm_disk {
	const char *name;         /* "system", or the [disk:NAME] name */
	char device[24];          /* QEMU's drive id: disk0, data0, ... */
	char key[80];             /* its size key, for messages: "[image] size", "[disk:NAME] size" */
	char path[4096];          /* the file QEMU opens */
	uint64_t size;            /* configured size, 0 = none */
	bool qvm_made;            /* qvm created it (not the administrator's own [image] disk) */
	bool ephemeral;           /* a throwaway overlay in the runtime dir */
	bool raw;                 /* a raw file: no internal snapshots */
};

/**
 * vm_disks_get() - the disks of VM @c: the system disk first (when it has one), then [disk:NAME]
 * Return: 0, or negative errno
 */
int vm_disks_get(const struct vm_config *c, struct vm_disk disks[static VM_DISKS_MAX], size_t *n);

/**
 * cli_monitor_open() - connect to VM @c's monitor socket and negotiate QMP
 * @on_event: called for events (may be NULL)
 * Return: 0 and *@ret, -ENOENT/-ECONNREFUSED when the VM is not running, -EACCES, ...
 */
int cli_monitor_open(const struct vm_config *c, qmp_event_fn on_event, void *userdata, struct qmp **ret);

/**
 * cli_monitor_error() - print why VM @name's monitor could not be used
 * Return: QVM_EXIT_FAILURE
 */
int cli_monitor_error(const char *name, int r);

/**
 * cli_load_vm() - load VM @name from the config dir, printing its diagnostics
 * @name: VM name from the command line
 * @ret: the config
 * Return: QVM_EXIT_OK, or QVM_EXIT_USAGE after printing why it cannot be used
 */
int cli_load_vm(const char *name, struct vm_config **ret);

/**
 * cli_usage_error() - print "qvm CMD: MESSAGE" and a pointer to --help
 * Return: QVM_EXIT_USAGE
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) _printf_(2, 3);

/**
 * cli_error() - print "qvm: MESSAGE" to stderr
 * Return: QVM_EXIT_FAILURE
 */
int cli_error(const char *fmt, ...) _printf_(1, 2);

/**
 * cli_one_name() - the single VM NAME operand of a simple subcommand
 * @cmd: subcommand, for messages
 * @argc: argument count after option parsing (argv + optind)
 * @argv: arguments
 * @ret: set to the name
 * Return: QVM_EXIT_OK, or QVM_EXIT_USAGE after printing the problem
 */
int cli_one_name(const char *cmd, int argc, char *argv[], const char **ret);

/* cli_parse_name()'s answer to -h/--help: print the usage and exit 0. */
#define CLI_HELP (-1)

/**
 * cli_parse_name() - the command line of a subcommand that takes -h/--help and one VM NAME
 * @argc: argument count
 * @argv: arguments, argv[0] being the subcommand (for messages)
 * @ret: set to the NAME
 * Return: QVM_EXIT_OK, CLI_HELP, or QVM_EXIT_USAGE after printing the problem
 */
int cli_parse_name(int argc, char *argv[], const char **ret);

/**
 * cli_parse_vm() - cli_parse_name(), then load the VM: the whole preamble of such a subcommand
 * @help: prints the subcommand's usage on -h/--help
 * @ret: the loaded VM; NULL after --help
 * Return: QVM_EXIT_OK (check @ret: NULL means the help was printed), or the exit status of a usage
 * or configuration error, already printed
 */
int cli_parse_vm(int argc, char *argv[], void (*help)(void), struct vm_config **ret);

/**
 * cli_libexec() - the full path of helper @name (honours $QVM_LIBEXECDIR)
 * Return: @buf
 */
char *cli_libexec(const char *name, char buf[static 4096]);

/**
 * cli_ssh_forget() - forget the remembered host key of VM @name (qvm reset and
 * reseed call it: the guest makes a new key)
 * Return: 0, or negative errno
 */
int cli_ssh_forget(const char *name);

/**
 * json_string() - write @s to @f as a JSON string literal (NULL as null)
 */
void json_string(FILE *f, const char *s);

/**
 * bus_connect() - connect to the system's systemd: /run/systemd/private as
 * root (unless $DBUS_SYSTEM_BUS_ADDRESS is set), else the system bus
 * @ret: the connection
 * Return: 0, or negative errno when there is no reachable systemd
 */
int bus_connect(sd_bus **ret);

/* What systemd says about one unit. */
struct unit_info {
	char *active_state;       /* active, inactive, failed, activating, ... */
	char *sub_state;
	char *status_text;        /* the service's STATUS=, may be "" */
	char *result;             /* the service's Result, e.g. "success", "exit-code" */
	char *load_state;
};

/**
 * unit_info_get() - load unit @unit and read its state
 * Return: 0, or negative errno (with @err filled when systemd said why)
 */
int unit_info_get(sd_bus *bus, const char *unit, struct unit_info *ret, sd_bus_error *err);

/** unit_info_clear() - free the strings of @i */
void unit_info_clear(struct unit_info *i);

/* One loaded unit as ListUnitsByPatterns reports it. */
struct unit_state {
	char *name;
	char *active_state;
	char *path;               /* its object path */
};

/**
 * bus_list_units() - the loaded units matching @pattern, in one bus call
 * (ListUnitsByPatterns), sorted by name for unit_state_find(); a unit systemd
 * has not loaded is not in the list (its state is inactive)
 * Return: 0 with @ret (free with unit_states_free()) and @n, or negative errno
 */
int bus_list_units(sd_bus *bus, const char *pattern, struct unit_state **ret, size_t *n);

/** unit_state_find() - the entry of @unit in a list from bus_list_units(), or NULL */
const struct unit_state *unit_state_find(const struct unit_state *s, size_t n, const char *unit);

/** unit_states_free() - free a list from bus_list_units() */
void unit_states_free(struct unit_state *s, size_t n);

/**
 * bus_get_status_texts() - StatusText of each unit at @paths (NULL entries
 * skipped), all requests sent before the first reply is read, so the cost is
 * one round trip, not one per unit
 * @texts: receives a strdup()ed text per path (NULL when unknown)
 * Return: 0, or negative errno
 */
int bus_get_status_texts(sd_bus *bus, char *const *paths, size_t n, char **texts);

/**
 * unit_is_running() - is the unit anything other than inactive or failed?
 * Return: true for active, activating, deactivating, reloading, ...
 */
bool unit_is_running(const struct unit_info *i);

/**
 * bus_daemon_reload() - ask systemd to reload its units (and rerun generators)
 * Return: 0, or negative errno (with @err filled)
 */
int bus_daemon_reload(sd_bus *bus, sd_bus_error *err);

/**
 * bus_run_job() - call @method (StartUnit, StopUnit, RestartUnit) on @unit
 * with mode "replace" and wait until its job is removed
 * @result: set to the job's result ("done", "failed", "canceled", ...)
 * Return: 0, or negative errno (with @err filled)
 */
int bus_run_job(sd_bus *bus, const char *method, const char *unit, char **result, sd_bus_error *err);

/**
 * journal_print_console() - print the console lines of VM @name from the journal
 * @name: VM name (field QVM_VM=)
 * @lines: print only the last @lines (0: all)
 * @follow: then wait for new lines until interrupted
 * Return: 0, or negative errno
 */
int journal_print_console(const char *name, unsigned lines, bool follow);
