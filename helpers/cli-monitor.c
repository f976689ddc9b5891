/* cli-monitor.c - qvm monitor NAME [HMP COMMAND] and qvm qmp NAME: the VM's second QMP monitor, for people and scripts */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic.h"
#include "cli.h"
#include "paths.h"
#include "qmp.h"

#define MONITOR_TIMEOUT_USEC (60 * USEC_PER_SEC)
#define QMP_DRAIN_TIMEOUT_MS 60000

/* A connected stream socket to the VM's monitor socket, or negative errno. */
static int monitor_connect_fd(const struct vm_config *c, char path[static 4096])
{
	struct vm_paths paths;

	if (vm_paths_get(c, &paths) < 0)
		return -ENAMETOOLONG;
	snprintf(path, 4096, "%s", paths.monitor_socket);
	return connect_unix(paths.monitor_socket);
}

int cli_monitor_open(const struct vm_config *c, qmp_event_fn on_event, void *userdata, struct qmp **ret)
{
	char path[4096];
	int fd = monitor_connect_fd(c, path), r;

	if (fd < 0)
		return fd;
	r = qmp_new(fd, on_event, userdata, ret);
	if (r < 0)
		return close(fd), r;
	r = qmp_handshake(*ret, 10 * USEC_PER_SEC);
	if (r < 0)
		*ret = qmp_free(*ret);
	return r;
}

int cli_monitor_error(const char *name, int r)
{
	if (r == -ENOENT || r == -ECONNREFUSED)
		return cli_error("VM %s is not running (its monitor socket does not answer); start it with qvm start %s",
				 name, name);
	if (r == -EACCES || r == -EPERM)
		return cli_error("permission denied on VM %s's monitor: it is for root, and for the group named by "
				 "[qemu] monitor-group", name);
	return cli_error("VM %s's monitor: %s", name, strerror(-r));
}

/* Run one HMP command line and print its output. */
static int hmp_run(struct qmp *q, const char *line)
{
	_cleanup_json_ json_object *args = json_object_new_object(), *out = NULL;
	char err[512] = "";
	int r;

	json_object_object_add(args, "command-line", json_object_new_string(line));
	r = qmp_command(q, "human-monitor-command", args, MONITOR_TIMEOUT_USEC, &out, err, sizeof(err));
	if (r < 0)
		return cli_error("%s: %s", line, r == -EREMOTEIO ? err : strerror(-r));
	fputs(json_object_get_string(out), stdout);
	fflush(stdout);
	return QVM_EXIT_OK;
}

/* The interactive prompt: one HMP command per line until EOF or "exit". */
static int hmp_prompt(struct qmp *q, const char *name)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	bool tty = isatty(STDIN_FILENO);
	ssize_t n;

	if (tty)
		printf("qvm monitor %s: QEMU's human monitor (HMP). 'help' lists commands; Ctrl-D or 'exit' leaves.\n",
		       name);
	for (;;) {
		if (tty) {
			printf("(%s) ", name);
			fflush(stdout);
		}
		n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "exit") == 0)
			break;
		if (line[strspn(line, " \t")] != '\0')
			hmp_run(q, line);
	}
	if (tty)
		putchar('\n');
	return QVM_EXIT_OK;
}

/* Join argv[0..argc) with blanks into a new string. */
static char *join_words(int argc, char *argv[])
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	for (int i = 0; s && i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static void monitor_help(void)
{
	printf("Usage: qvm monitor NAME [HMP COMMAND...]\n\n"
	       "Run QEMU human monitor (HMP) commands on the running VM, for example\n"
	       "'qvm monitor NAME info block'. Without a command: an interactive prompt\n"
	       "(Ctrl-D or 'exit' leaves). The VM's monitor is its own QMP socket\n"
	       "/run/qvm/NAME/monitor.sock: root only, or the group of [qemu] monitor-group.\n\n"
	       "  -h, --help   show this help\n");
}

int cli_monitor(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_qmp_free_ struct qmp *q = NULL;
	_cleanup_free_ char *line = NULL;
	int o, r;

	while ((o = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
		switch (o) {
		case 'h':
			monitor_help();
			return QVM_EXIT_OK;
		default:
			return cli_usage_error(argv[0], "bad option");
		}
	if (optind >= argc)
		return cli_usage_error(argv[0], "missing VM NAME");
	r = cli_load_vm(argv[optind], &c);
	if (r != QVM_EXIT_OK)
		return r;
	r = cli_monitor_open(c, NULL, NULL, &q);
	if (r < 0)
		return cli_monitor_error(c->name, r);
	if (optind + 1 == argc)
		return hmp_prompt(q, c->name);
	line = join_words(argc - optind - 1, argv + optind + 1);
	return line ? hmp_run(q, line) : cli_error("out of memory");
}

/* Count the complete replies ("return" or "error" lines) in @buf[0..@n), carrying a partial line in @partial. */
static unsigned count_replies(const char *buf, size_t n, char *partial, size_t *plen, size_t pcap)
{
	unsigned replies = 0;

	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (*plen < pcap - 1)
				partial[(*plen)++] = buf[i];
			continue;
		}
		partial[*plen] = '\0';
		if (strstr(partial, "\"return\"") || strstr(partial, "\"error\""))
			replies++;
		*plen = 0;
	}
	return replies;
}

/* Relay stdin to the monitor and the monitor to stdout; after stdin's EOF, wait for the replies still owed. */
static int qmp_relay(int fd)
{
	static char partial[65536];
	char buf[65536];
	unsigned sent = 0, replied = 0;
	size_t plen = 0;
	bool in_open = true;

	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = STDIN_FILENO, .events = POLLIN } };
		int k = poll(p, in_open ? 2 : 1, in_open ? -1 : QMP_DRAIN_TIMEOUT_MS);
		ssize_t n;

		if (k < 0)
			return cli_error("poll: %m");
		if (k == 0)
			return cli_error("QEMU did not answer %u command(s) within %ds", sent - replied,
					 QMP_DRAIN_TIMEOUT_MS / 1000);
		if (p[0].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				return in_open || replied < sent ? cli_error("the monitor closed the connection") : 0;
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0)
				return QVM_EXIT_FAILURE;
			replied += count_replies(buf, (size_t)n, partial, &plen, sizeof(partial));
		}
		if (in_open && p[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
			} else {
				for (ssize_t i = 0; i < n; i++)
					sent += buf[i] == '\n';
				if (write(fd, buf, (size_t)n) != n)
					return cli_error("the monitor closed the connection");
			}
		}
		if (!in_open && replied >= sent)
			return QVM_EXIT_OK;
	}
}

static void qmp_help(void)
{
	printf("Usage: qvm qmp NAME\n\n"
	       "Raw QMP for scripts: QEMU's greeting and every reply and event go to stdout,\n"
	       "stdin goes to QEMU, one JSON command per line; send {\"execute\":\"qmp_capabilities\"}\n"
	       "first. After stdin ends, qvm waits for the replies still owed, then exits.\n"
	       "The launcher's own QMP connection is separate: its events keep flowing.\n\n"
	       "  -h, --help   show this help\n");
}

int cli_qmp(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_close_ int fd = -1;
	char path[4096];
	int r;

	r = cli_parse_vm(argc, argv, qmp_help, &c);
	if (r != QVM_EXIT_OK || !c)
		return r;
	fd = monitor_connect_fd(c, path);
	if (fd < 0)
		return cli_monitor_error(c->name, fd);
	return qmp_relay(fd);
}
