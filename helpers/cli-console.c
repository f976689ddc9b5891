/* cli-console.c - qvm console NAME: attach the terminal to the VM's console socket; Ctrl-] detaches */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "basic.h"
#include "paths.h"

#define ESCAPE_CHAR 0x1d  /* Ctrl-] */

static struct termios saved_termios;
static bool terminal_raw;
static volatile sig_atomic_t got_signal;

/* Put the terminal back as we found it; safe to call more than once. */
static void terminal_restore(void)
{
	if (terminal_raw) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
		terminal_raw = false;
	}
}

/* Signal handler: note the signal; the loop restores the terminal and leaves. */
static void on_signal(int sig)
{
	got_signal = sig;
}

/* Catch the signals that would otherwise leave the terminal raw. */
static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };  /* no SA_RESTART: poll() returns EINTR */
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Raw mode on stdin when it is a terminal. Return: 0, or negative errno. */
static int terminal_make_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO))
		return 0;
	if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return negative_errno();
	t = saved_termios;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0)
		return negative_errno();
	terminal_raw = true;
	atexit(terminal_restore);
	return 0;
}

/* Copy keyboard input to the guest. Return: 1 on the escape key or EOF, 0 to go on, <0 on error. */
static int pump_input(int sock)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	char *esc;
	int r;

	if (n < 0)
		return errno == EINTR ? 0 : negative_errno();
	if (n == 0)
		return 1;
	esc = memchr(buf, ESCAPE_CHAR, (size_t)n);
	r = write_all(sock, buf, esc ? (size_t)(esc - buf) : (size_t)n);
	return r < 0 ? r : esc != NULL;
}

/* Copy guest output to the terminal. Return: 1 when the console closed, 0 to go on, <0 on error. */
static int pump_output(int sock)
{
	char buf[4096];
	ssize_t n = read(sock, buf, sizeof(buf));
	int r;

	if (n < 0)
		return errno == EINTR ? 0 : negative_errno();
	if (n == 0)
		return 1;
	r = write_all(STDOUT_FILENO, buf, (size_t)n);
	return r < 0 ? r : 0;
}

/* Shuttle bytes until detach, hang-up or a signal. Return: 0 on detach, >0 closed, <0 error. */
static int console_loop(int sock)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
	int r = 0;

	while (r == 0 && !got_signal) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			r = pump_output(sock) > 0 ? 2 : 0;
		if (r == 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			r = pump_input(sock) > 0 ? 1 : 0;
	}
	return r == 1 ? 0 : r;
}

static void help(void)
{
	printf("Usage: qvm console NAME\n\n"
	       "Attach this terminal to the serial console of the running VM (the socket\n"
	       "console.sock in its runtime directory, /run/qvm/NAME). Logging of the console\n"
	       "to the journal goes on meanwhile. Press Ctrl-] to detach; the terminal is\n"
	       "restored on detach, on hang-up and on signals. Needs root. Detaching does not\n"
	       "log out of the guest: log out first.\n\n"
	       "  -h, --help   show this help\n");
}

int cli_console(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_close_ int sock = -1;
	struct vm_paths paths;
	const char *name;
	int r;

	r = cli_parse_vm(argc, argv, help, &c);
	if (r != QVM_EXIT_OK || !c)
		return r;
	name = c->name;
	if (vm_paths_get(c, &paths) < 0)
		return cli_error("%s: path too long", name);
	sock = connect_unix(paths.console_socket);
	if (sock < 0)
		return cli_error("cannot connect to %s: %s%s", paths.console_socket, strerror(-sock),
				 sock == -ENOENT || sock == -ECONNREFUSED ? " (is qvm@NAME running?)" : "");
	fprintf(stderr, "Connected to the console of %s. Press Ctrl-] to detach.\n", name);
	install_signals();
	r = terminal_make_raw();
	if (r >= 0)
		r = console_loop(sock);
	terminal_restore();
	if (got_signal)
		return cli_error("\ninterrupted by signal %d", (int)got_signal);
	if (r < 0)
		return cli_error("\nconsole: %s", strerror(-r));
	fprintf(stderr, "\n%s.\n", r > 0 ? "Console closed by the VM" : "Detached");
	return r > 0 ? QVM_EXIT_FAILURE : QVM_EXIT_OK;
}
