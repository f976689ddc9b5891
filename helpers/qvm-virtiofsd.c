/* qvm-virtiofsd - main process of qvm-virtiofsd@NAME.service: one virtiofsd per virtiofs share of VM NAME */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "helper.h"
#include "config.h"
#include "log.h"
#include "paths.h"
#include "share.h"
#include "strv.h"

#define VIRTIOFSD_FD 3

static void usage(FILE *f)
{
	fputs("Usage: qvm-virtiofsd NAME\n"
	      "Serve the [share:NAME] sections with mode = virtiofs of /etc/qvm/NAME.ini: one virtiofsd\n"
	      "per share, listening on /run/qvm/NAME/share-SHARE.sock for the VM's QEMU, each running as\n"
	      "the shared directory's owner in a user namespace of its own (see qvm-virtiofsd(8)).\n"
	      "Runs as root in qvm-virtiofsd@NAME.service, which starts before qvm@NAME.service and\n"
	      "stops with it. Exit status: 0 when every virtiofsd ended cleanly, 1 on failure,\n"
	      "2 on a usage or configuration error.\n", f);
}

/* The uid and gid the VM's QEMU runs as (the User= of qvm@.service). */
static int vm_user(uid_t *uid, gid_t *gid)
{
	const char *name = getenv("QVM_VM_USER") ?: "qvm";
	struct passwd *pw = getpwnam(name);

	if (!pw)
		return log_error("no user %s: the VM's QEMU runs as it (sysusers.d/qvm.conf)", name), -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* A listening socket at @path for QEMU: owned by the VM's user, mode 0600. */
static int listen_for_qemu(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* chmod before chown: once it is the VM user's, root without CAP_FOWNER may not chmod it */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || chown(path, uid, gid) < 0 ||
	    listen(fd, 1) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* In the child: become the share's owner in a user namespace, put the socket on fd 3, exec virtiofsd. */
__attribute__((noreturn)) static void exec_virtiofsd(const struct share_config *s, const struct share_identity *id,
						     char **argv, int sock, pid_t parent)
{
	const char *step = "";
	sigset_t none;
	int r = share_enter_identity(s, id, &step);

	if (r < 0) {
		fprintf(stderr, "qvm-virtiofsd: [share:%s]: %s failed: %s\n", s->name, step, strerror(-r));
		_exit(1);
	}
	/* after the identity change, which clears it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sock == VIRTIOFSD_FD ? fcntl(sock, F_SETFD, 0) < 0 : dup2(sock, VIRTIOFSD_FD) < 0)
		_exit(1);
	execv(argv[0], argv);
	fprintf(stderr, "qvm-virtiofsd: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Start the virtiofsd of share @s; its pid goes to @pid. */
static int start_share(const struct vm_paths *p, const struct share_config *s, const char *binary, uid_t vm_uid,
		       gid_t vm_gid, pid_t *pid)
{
	_cleanup_diag_list_ struct diag_list diags = {};
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_close_ int sock = -1;
	struct share_identity id;
	char path[4096];
	pid_t parent = getpid();
	int r;

	r = share_identity_get(s, &id, &diags);
	log_diags(LOG_ERR, &diags, NULL);
	if (r < 0)
		return r;
	if ((r = vm_share_socket(p, s->name, path)) < 0 ||
	    (r = virtiofsd_argv(s, binary, VIRTIOFSD_FD, share_sandbox_mode("/proc/self/mountinfo"), &argv)) < 0)
		return log_error_errno(r, "[share:%s]: %m", s->name);
	sock = listen_for_qemu(path, vm_uid, vm_gid);
	if (sock < 0)
		return log_error_errno(sock, "cannot listen on %s: %m", path);
	*pid = fork();
	if (*pid < 0)
		return log_error_errno(errno, "fork: %m");
	if (*pid == 0)
		exec_virtiofsd(s, &id, argv, sock, parent);
	log_info("[share:%s] %s%s: virtiofsd %d as uid %u gid %u (guest %lld:%lld), %s, socket %s", s->name,
		 s->path, s->readonly ? " (read-only)" : "", (int)*pid, (unsigned)id.uid, (unsigned)id.gid,
		 (long long)s->guest_uid, (long long)s->guest_gid, argv[strv_length(argv) - 1], path);
	return 0;
}

/* Wait for the children; SIGTERM is passed on. Return: 0 when all ended cleanly. */
static int supervise(const struct vm_config *c, pid_t *pids)
{
	sigset_t mask;
	int failed = 0, left = 0;

	for (size_t i = 0; i < c->n_shares; i++)
		left += pids[i] > 0;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	while (left > 0) {
		siginfo_t si;
		int status;
		pid_t pid;

		if (sigwaitinfo(&mask, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			for (size_t i = 0; i < c->n_shares; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (size_t i = 0; i < c->n_shares; i++)
				if (pids[i] == pid) {
					bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

					failed += !ok;
					left--;
					pids[i] = 0;
					if (ok)
						log_info("[share:%s] virtiofsd ended", c->shares[i].name);
					else
						log_error("[share:%s] virtiofsd failed (%s %d)", c->shares[i].name,
							  WIFEXITED(status) ? "exit status" : "signal",
							  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
				}
	}
	return failed ? -EIO : 0;
}

/*
 * Remove the sockets of @c's virtiofs shares. The runtime dir is the VM user's (@uid:@gid):
 * root without CAP_DAC_OVERRIDE takes it back for the unlinks, then returns it.
 */
static void remove_sockets(const struct vm_config *c, const struct vm_paths *p, uid_t uid, gid_t gid)
{
	char path[4096];
	bool taken = chown(p->runtime_dir, 0, gid) == 0;

	for (size_t i = 0; i < c->n_shares; i++)
		if (c->shares[i].mode == SHARE_VIRTIOFS && vm_share_socket(p, c->shares[i].name, path) == 0)
			unlink(path);
	if (taken && chown(p->runtime_dir, uid, gid) < 0)
		log_msg(LOG_WARNING, errno, "cannot give %s back to the VM's user: %m", p->runtime_dir);
}

/* Start every virtiofsd of @c, report READY=1, supervise. Return: the exit status. */
static int serve(const struct vm_config *c)
{
	_cleanup_free_ pid_t *pids = calloc(c->n_shares + 1, sizeof(pid_t));
	const char *dirs = getenv("QVM_VHOST_USER_DIRS") ?: VHOST_USER_DIRS;
	struct vm_paths p;
	char binary[4096];
	sigset_t mask;
	uid_t uid;
	gid_t gid;
	int r = 0;

	if (!pids || vm_paths_get(c, &p) < 0 || vm_user(&uid, &gid) < 0)
		return 1;
	if (virtiofsd_find(dirs, binary) < 0)
		return log_error("no virtiofsd: no vhost-user descriptor of type \"fs\" in %s (install qemu-system-common, or virtiofsd)",
				 dirs), 1;
	/* Root's while the sockets are made (the unit has no CAP_DAC_OVERRIDE), then the VM's. */
	if (mkdir_p(p.runtime_dir, 0750) < 0 || chown(p.runtime_dir, 0, gid) < 0)
		return log_error_errno(errno, "cannot create %s: %m", p.runtime_dir), 1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	for (size_t i = 0; i < c->n_shares && r >= 0; i++)
		if (c->shares[i].mode == SHARE_VIRTIOFS)
			r = start_share(&p, &c->shares[i], binary, uid, gid, &pids[i]);
	if (r >= 0 && chown(p.runtime_dir, uid, gid) < 0)
		r = log_error_errno(errno, "cannot give %s to the VM's user: %m", p.runtime_dir);
	if (r >= 0)
		sd_notifyf(0, "READY=1\nSTATUS=serving the virtiofs shares of VM %s", c->name);
	else
		for (size_t i = 0; i < c->n_shares; i++)
			if (pids[i] > 0)
				kill(pids[i], SIGTERM);
	r = supervise(c, pids) < 0 || r < 0;
	remove_sockets(c, &p, uid, gid);
	return r;
}

int main(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	int r = helper_start(argc, argv, "qvm-virtiofsd", usage, &c);

	if (r != HELPER_CONTINUE)
		return r;
	if (!config_has_share_mode(c, SHARE_VIRTIOFS)) {
		sd_notify(0, "READY=1\nSTATUS=no virtiofs shares");
		log_info("VM %s has no [share:NAME] with mode = virtiofs", c->name);
		return 0;
	}
	return serve(c);
}
