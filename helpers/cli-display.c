/* cli-display.c - qvm display NAME: where a VM's VNC screen listens and how to reach it, also through ssh */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "paths.h"

static void help(void)
{
	printf("Usage: qvm display NAME\n\n"
	       "Print how to reach the screen of a VM with display = vnc: its VNC server\n"
	       "listens only on the unix socket /run/qvm/NAME/vnc.sock (or on 127.0.0.1 with\n"
	       "vnc-port), so a viewer connects on this host, or from another machine through\n"
	       "an ssh tunnel (ssh -L).\n\n"
	       "Exit status: 0 printed, 1 the VM has no display, 2 usage or configuration error.\n\n"
	       "  -h, --help    show this help\n");
}

/* Print the connection instructions for VM @c, whose VNC server is at @p's socket or 127.0.0.1:vnc_port. */
static void print_display(const struct vm_config *c, const struct vm_paths *p)
{
	char host[256] = "HOST";
	struct stat st;
	bool sock = c->vnc_port == 0;
	int local = sock ? 5900 : (int)c->vnc_port;

	gethostname(host, sizeof(host) - 1);
	if (sock)
		printf("VM %s: VNC on the unix socket %s (root and the qvm user can connect)%s\n", c->name,
		       p->vnc_socket, stat(p->vnc_socket, &st) == 0 ? "" : "; the VM is not running now");
	else
		printf("VM %s: VNC on 127.0.0.1:%d (display :%d)\n", c->name, local, local - 5900);
	if (sock)
		printf("\nOn this host:\n  vncviewer %s\n", p->vnc_socket);
	else
		printf("\nOn this host:\n  vncviewer 127.0.0.1::%d\n", local);
	printf("\nFrom another machine, through ssh:\n");
	if (sock)
		printf("  ssh -N -L %d:%s root@%s\n", local, p->vnc_socket, host);
	else
		printf("  ssh -N -L %d:127.0.0.1:%d root@%s\n", local, local, host);
	printf("  vncviewer localhost::%d\n", local);
}

int cli_display(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	struct vm_paths paths;
	int r;

	r = cli_parse_vm(argc, argv, help, &c);
	if (r != QVM_EXIT_OK || !c)
		return r;
	if (c->display != DISPLAY_VNC) {
		fprintf(stderr, "qvm: VM %s has no display: set [vm] display = vnc in %s\n", c->name, c->path);
		return QVM_EXIT_FAILURE;
	}
	if (vm_paths_get(c, &paths) < 0)
		return cli_error("VM %s: paths too long", c->name);
	print_display(c, &paths);
	return QVM_EXIT_OK;
}
