/* cli-ssh.c - qvm ssh NAME [-- CMD...]: exec ssh with the VM's port, address, user and own known_hosts */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "basic.h"
#include "strv.h"

/**
 * known_hosts_path() - the per-VM known_hosts file of the invoking user:
 * ${XDG_CACHE_HOME:-$HOME/.cache}/qvm/known_hosts/NAME
 * Return: @buf, or NULL when there is no home
 */
static char *known_hosts_path(const char *name, char buf[static 4096])
{
	const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (cache && *cache == '/')
		snprintf(buf, 4096, "%s/qvm/known_hosts/%s", cache, name);
	else if (home && *home == '/')
		snprintf(buf, 4096, "%s/.cache/qvm/known_hosts/%s", home, name);
	else
		return NULL;
	return buf;
}

int cli_ssh_forget(const char *name)
{
	char path[4096];

	if (!known_hosts_path(name, path) || (unlink(path) < 0 && errno != ENOENT))
		return -errno;
	return 0;
}

static void help(void)
{
	printf("Usage: qvm ssh NAME [-- COMMAND [ARG...]]\n\n"
	       "Run ssh into the guest: to its ssh endpoint (127.0.0.1 and [network] ssh = PORT,\n"
	       "or the static address in tap mode), as [cloud-init] user.\n\n"
	       "Host keys: the first key a VM presents is accepted and remembered\n"
	       "(StrictHostKeyChecking=accept-new) in a known_hosts file of its own,\n"
	       "~/.cache/qvm/known_hosts/NAME, under the alias qvm-NAME; a changed key is\n"
	       "refused. qvm reset and qvm reseed forget it; so does --forget.\n\n"
	       "  -l, --user=USER   log in as USER instead\n"
	       "      --forget      forget the VM's remembered host key and exit\n"
	       "  -h, --help        show this help\n");
}

/* Build ssh's argv for @c, followed by @cmd. Return: 0, or -ENOMEM/-EINVAL. */
static int build_argv(const struct vm_config *c, const char *user, char *const *cmd, char ***ret)
{
	_cleanup_strv_free_ char **v = NULL;
	char host[64], opt_port[16], kh[4096], opt_kh[4200], opt_alias[128], dest[256];
	int port;

	if (!config_ssh_endpoint(c, host, &port))
		return -EINVAL;
	snprintf(opt_port, sizeof(opt_port), "%d", port);
	snprintf(opt_alias, sizeof(opt_alias), "HostKeyAlias=qvm-%s", c->name);
	snprintf(dest, sizeof(dest), "%s%s%s", user ? user : "", user ? "@" : "", host);
	if (strv_push(&v, "ssh") < 0 || strv_push(&v, "-p") < 0 || strv_push(&v, opt_port) < 0 ||
	    strv_push(&v, "-o") < 0 || strv_push(&v, "StrictHostKeyChecking=accept-new") < 0 ||
	    strv_push(&v, "-o") < 0 || strv_push(&v, opt_alias) < 0)
		return -ENOMEM;
	if (known_hosts_path(c->name, kh) && mkdir_parents(kh, 0, 0700) == 0) {
		snprintf(opt_kh, sizeof(opt_kh), "UserKnownHostsFile=%s", kh);
		if (strv_push(&v, "-o") < 0 || strv_push(&v, opt_kh) < 0)
			return -ENOMEM;
	}
	/* "--" before the destination: ssh then parses no options among COMMAND's words. */
	if (strv_push(&v, "--") < 0 || strv_push(&v, dest) < 0)
		return -ENOMEM;
	STRV_FOREACH(s, cmd)
		if (strv_push(&v, *s) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(v);
	return 0;
}

int cli_ssh(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "user", required_argument, NULL, 'l' },
		{ "forget", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_strv_free_ char **args = NULL;
	const char *user = NULL, *name;
	bool forget = false;
	int o, r;

	/* "+": stop at the first operand, so COMMAND's options stay COMMAND's. */
	while ((o = getopt_long(argc, argv, "+l:h", options, NULL)) >= 0)
		switch (o) {
		case 'l':
			user = optarg;
			break;
		case 'F':
			forget = true;
			break;
		case 'h':
			help();
			return QVM_EXIT_OK;
		default:
			return cli_usage_error("ssh", "bad option");
		}
	if (optind >= argc)
		return cli_usage_error("ssh", "missing VM NAME");
	name = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	r = cli_load_vm(name, &c);
	if (r != QVM_EXIT_OK)
		return r;
	if (forget)
		return cli_ssh_forget(name) < 0 ? cli_error("cannot forget the host key: %m") : QVM_EXIT_OK;
	r = build_argv(c, user ? user : c->ci_user, argv + optind, &args);
	if (r == -EINVAL)
		return cli_usage_error("ssh", "VM %s has no ssh endpoint: set [network] ssh = PORT", name);
	if (r < 0)
		return cli_error("out of memory");
	fflush(stdout);
	execvp("ssh", args);
	return cli_error("cannot run ssh: %m");
}
