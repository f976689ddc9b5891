/* unitgen.c - rendering a VM's systemd drop-in and writing generator output */
#include "unitgen.h"
#include "basic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "credential.h"
#include "macro.h"
#include "paths.h"
#include "sandbox.h"
#include "strv.h"
#include "values.h"

/* Growing text buffer backed by open_memstream(). */
struct text {
	char *data;
	size_t size;
	FILE *f;
};

/*
 * Escape @s for a unit file value: '%' specifiers doubled, no trailing
 * backslash. A control character would end the line (CR does, for systemd)
 * or smuggle in bytes, and there is no escape for it in these directives: the
 * config parser rejects them, and this refuses them again.
 * Return: 0, or -EINVAL if @s holds a control character.
 */
static int put_escaped(FILE *f, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -EINVAL;
	while (n > 0 && s[n - 1] == '\\')
		n--;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%')
			fputc('%', f);
		fputc(s[i], f);
	}
	return 0;
}

/*
 * One item of a systemd.exec path list (ReadWritePaths=): quoted, so a blank
 * does not split it; '"' and '\\' backslash-escaped, '%' doubled; @prefix
 * ("-" or "") goes inside the quotes, where systemd looks for it.
 * Return: 0, or -EINVAL if @path holds a control character.
 */
static int put_quoted_path(FILE *f, const char *prefix, const char *path)
{
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	fprintf(f, "\"%s", prefix);
	for (const char *p = path; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		else if (*p == '%')
			fputc('%', f);
		fputc(*p, f);
	}
	fputc('"', f);
	return 0;
}

/* Write "After=" and "Requires=" lines for the [vm] ordering keys (names are validated; escaped anyway). */
static int put_ordering(FILE *f, const struct vm_config *c)
{
	char unit[256];
	int r = 0;

	STRV_FOREACH(s, c->requires) {
		vm_unit_name(*s, unit);
		fputs("Requires=", f);
		r |= put_escaped(f, unit);
		fputs("\nAfter=", f);
		r |= put_escaped(f, unit);
		fputc('\n', f);
	}
	STRV_FOREACH(s, c->after) {
		fputs("After=", f);
		r |= put_escaped(f, vm_unit_name(*s, unit));
		fputc('\n', f);
	}
	return r ? -EINVAL : 0;
}

/* TimeoutStopSec=: the guest's shutdown-timeout plus time to quit, kill and clean up. */
static uint64_t stop_timeout(const struct vm_config *c)
{
	const uint64_t margin = 15 * USEC_PER_SEC;

	return c->shutdown_timeout > UINT64_MAX - margin ? UINT64_MAX : c->shutdown_timeout + margin;
}

/* LoadCredential= for files helpers must read but may not be allowed to. */
static int put_credentials(FILE *f, const struct vm_config *c)
{
	const struct { const char *name; const char *path; } files[] = {
		{ CRED_USER_DATA, c->ci_user_data },
		{ CRED_VENDOR_DATA, c->ci_vendor_data },
		{ CRED_NETWORK_CONFIG, c->ci_network_config },
		{ CRED_PASSWORD_HASH, c->ci_password_hash_file },
	};
	size_t i = 0;
	int r = 0;

	STRV_FOREACH(path, c->ci_ssh_authorized_keys_files) {
		fprintf(f, "LoadCredential=" CRED_SSH_KEYS_FMT ":", i++);
		r |= put_escaped(f, *path);
		fputc('\n', f);
	}
	for (i = 0; i < ELEMENTSOF(files); i++)
		if (files[i].path) {
			fprintf(f, "LoadCredential=%s:", files[i].name);
			r |= put_escaped(f, files[i].path);
			fputc('\n', f);
		}
	return r ? -EINVAL : 0;
}

/*
 * ReadWritePaths= for disks outside the state dir (ProtectSystem=strict hides
 * the rest): the disk file itself, never its directory ("/x.qcow2" must not
 * open all of "/"). "-": a data disk that does not exist yet is skipped.
 */
static int put_writable_paths(FILE *f, const struct vm_config *c)
{
	int r = 0;

	if (c->image_disk) {
		fputs("ReadWritePaths=", f);
		r |= put_quoted_path(f, "", c->image_disk);
		fputc('\n', f);
	}
	for (size_t i = 0; i < c->n_disks; i++)
		if (c->disks[i].path) {
			fputs("ReadWritePaths=", f);
			r |= put_quoted_path(f, "-", c->disks[i].path);
			fputc('\n', f);
		}
	return r ? -EINVAL : 0;
}

/* Is @path below a directory ProtectHome=yes makes inaccessible? */
static bool under_protected_home(const char *path)
{
	static const char *const dirs[] = { "/home/", "/root/", "/run/user/" };

	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
			return true;
	return false;
}

/*
 * Grant exactly the shared directories of @mode to a unit whose sandbox hides
 * them: BindPaths= (BindReadOnlyPaths= for a readonly share) binds each at its
 * own path, quoted (inside quotes systemd does not split at ':' or blanks);
 * *@home is set when one lies under /home, /root or /run/user (the caller
 * then writes ProtectHome=tmpfs).
 * Return: 0, or -EINVAL for a control character.
 */
static int put_share_binds(FILE *f, const struct vm_config *c, enum share_mode mode, bool *home)
{
	int r = 0;

	for (size_t i = 0; i < c->n_shares; i++) {
		const struct share_config *s = &c->shares[i];

		if (s->mode != mode)
			continue;
		fputs(s->readonly ? "BindReadOnlyPaths=" : "BindPaths=", f);
		r |= put_quoted_path(f, "", s->path);
		fputc('\n', f);
		*home = *home || under_protected_home(s->path);
	}
	return r ? -EINVAL : 0;
}

/* Where sandbox binds are written, and whether one lies under ProtectHome='s dirs. */
struct bind_out {
	FILE *f;
	bool home;
};

/* One sandbox_for_each_bind() file: "-" so a missing file is the helper's error, not systemd's. */
static int put_sandbox_bind(const char *path, bool writable, void *userdata)
{
	struct bind_out *o = userdata;
	int r;

	fputs(writable ? "BindPaths=" : "BindReadOnlyPaths=", o->f);
	r = put_quoted_path(o->f, "-", path);
	fputc('\n', o->f);
	o->home = o->home || under_protected_home(path);
	return r;
}

/*
 * The binds that show the sandbox-hidden files of the VM (sandbox.h) and its
 * 9p shares; ProtectHome=tmpfs instead of yes when one lies under /home, /root
 * or /run/user, so it is reached through an empty tmpfs, not an inaccessible dir.
 * Return: 0, or -EINVAL for a control character.
 */
static int put_binds(FILE *f, const struct vm_config *c)
{
	struct bind_out o = { f, false };
	int r = put_share_binds(f, c, SHARE_9P, &o.home);

	if (sandbox_for_each_bind(c, put_sandbox_bind, &o) < 0)
		r = -EINVAL;
	if (o.home)
		fputs("ProtectHome=tmpfs\n", f);
	return r;
}

/* qvm-virtiofsd@NAME.service.d/50-qvm.conf: the virtiofs shares' directories, nothing else. */
static int write_virtiofsd_dropin(const char *dest, const struct vm_config *c)
{
	_cleanup_free_ char *data = NULL, *rel = NULL;
	size_t size;
	int r = 0;
	FILE *f;

	if (!config_has_share_mode(c, SHARE_VIRTIOFS))
		return 0;
	f = open_memstream(&data, &size);
	if (!f)
		return -ENOMEM;
	fputs(GENERATOR_HEADER, f);
	fprintf(f, "[Unit]\nSourcePath=");
	r |= put_escaped(f, c->path);
	fprintf(f, "\n\n[Service]\n");
	bool home = false;

	r |= put_share_binds(f, c, SHARE_VIRTIOFS, &home);
	if (home)
		fputs("ProtectHome=tmpfs\n", f);
	if (fclose(f) != 0)
		return -ENOMEM;
	if (r)
		return -EINVAL;
	if (asprintf(&rel, "qvm-virtiofsd@%s.service.d/50-qvm.conf", c->name) < 0)
		return -ENOMEM;
	return write_file_exclusive(dest, rel, data);
}

/*
 * Port forwards in tap mode. QEMU's user-mode hostfwd does not exist there, and
 * DNAT from 127.0.0.1 would need route_localnet (unsafe). So each TCP forward
 * becomes a socket unit listening on the host address (127.0.0.1 unless
 * listen= or the forward says otherwise) and a socket-activated
 * systemd-socket-proxyd to GUEST-ADDRESS:PORT under DynamicUser=: no root, no
 * firewall rules, stopped with the VM (PartOf=). UDP forwards exist only in
 * user mode; in tap mode the guest is reachable on its address anyway.
 */

/*
 * The forwarder's sandbox: socket-proxyd only accepts on the socket it is
 * handed and connects to the guest, so it gets no capabilities, devices,
 * namespaces or privileged system calls, and may talk to the guest's address
 * only (the accepted connection is the socket unit's, not filtered here).
 */
#define FORWARD_SANDBOX                                                                                   \
	"DynamicUser=yes\nPrivateTmp=yes\nProtectSystem=strict\nProtectHome=yes\nNoNewPrivileges=yes\n"       \
	"CapabilityBoundingSet=\nPrivateDevices=yes\nPrivateUsers=yes\nPrivateIPC=yes\nPrivateMounts=yes\n"     \
	"ProtectProc=invisible\nProcSubset=pid\nProtectKernelTunables=yes\nProtectKernelModules=yes\n"         \
	"ProtectKernelLogs=yes\nProtectControlGroups=yes\nProtectClock=yes\nProtectHostname=yes\n"            \
	"RestrictNamespaces=yes\nRestrictRealtime=yes\nLockPersonality=yes\nMemoryDenyWriteExecute=yes\n"     \
	"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\nSystemCallArchitectures=native\n"                   \
	"SystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\nUMask=0077\n"            \
	"IPAddressDeny=any\n"

/* The unit name stem of forward @f of VM @name: "qvm-fwd-NAME-PORT". */
static void forward_unit(const char *name, const struct forward *f, char buf[static 128])
{
	snprintf(buf, 128, "qvm-fwd-%s-%d", name, f->host_port);
}

/* The guest's address in tap mode, without its prefix. */
static void guest_address(const struct vm_config *c, char buf[static 64])
{
	snprintf(buf, 64, "%.*s", (int)strcspn(c->net_address, "/"), c->net_address);
}

/* The TCP forwards a tap-mode VM gets socket-proxyd units for (none otherwise). */
static int tap_forwards(const struct vm_config *c, struct forward **ret, size_t *n)
{
	*ret = NULL;
	*n = 0;
	if (c->net_mode != NET_TAP || !c->net_address)
		return 0;
	return config_forwards(c, ret, n);
}

/* Wants= of the forward sockets, so they listen while the VM runs. */
static void put_forward_wants(FILE *f, const struct vm_config *c)
{
	_cleanup_free_ struct forward *fw = NULL;
	char unit[128];
	size_t n;

	if (tap_forwards(c, &fw, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (fw[i].proto == FORWARD_TCP) {
			forward_unit(c->name, &fw[i], unit);
			fprintf(f, "Wants=%s.socket\n", unit);
		}
}

/* Write the .socket and .service of one tap-mode forward. */
static int write_forward(const char *dest, const struct vm_config *c, const struct forward *fw,
			 const struct unitgen_paths *paths)
{
	_cleanup_free_ char *sock = NULL, *svc = NULL, *rel = NULL;
	char unit[128], guest[64];
	bool v6 = strchr(fw->host_addr, ':') != NULL;
	int r;

	forward_unit(c->name, fw, unit);
	guest_address(c, guest);
	if (asprintf(&sock, GENERATOR_HEADER "[Unit]\nDescription=Forward %s%s%s:%d to VM %s (%s:%d)\n"
		     "Documentation=man:qvm.ini(5)\nPartOf=qvm@%s.service\n\n[Socket]\nListenStream=%s%s%s:%d\n",
		     v6 ? "[" : "", fw->host_addr, v6 ? "]" : "", fw->host_port, c->name, guest, fw->guest_port,
		     c->name, v6 ? "[" : "", fw->host_addr, v6 ? "]" : "", fw->host_port) < 0 ||
	    asprintf(&svc, GENERATOR_HEADER "[Unit]\nDescription=Forwarder to VM %s (%s:%d)\n"
		     "Documentation=man:qvm.ini(5)\nRequires=%s.socket\nAfter=%s.socket\nPartOf=qvm@%s.service\n\n"
		     "[Service]\nExecStart=%s %s:%d\n" FORWARD_SANDBOX "IPAddressAllow=%s\n",
		     c->name, guest, fw->guest_port, unit, unit, c->name, paths->socket_proxyd, guest,
		     fw->guest_port, guest) < 0 ||
	    asprintf(&rel, "%s.socket", unit) < 0)
		return -ENOMEM;
	r = write_file_exclusive(dest, rel, sock);
	if (r < 0)
		return r;
	free(rel);
	if (asprintf(&rel, "%s.service", unit) < 0)
		return -ENOMEM;
	return write_file_exclusive(dest, rel, svc);
}

/* Socket-proxyd units for every TCP forward of a tap-mode VM. */
static int write_forwards(const char *dest, const struct vm_config *c, const struct unitgen_paths *paths)
{
	_cleanup_free_ struct forward *fw = NULL;
	size_t n;
	int r = tap_forwards(c, &fw, &n);

	for (size_t i = 0; r >= 0 && i < n; i++)
		if (fw[i].proto == FORWARD_TCP)
			r = write_forward(dest, c, &fw[i], paths);
	return r;
}

/*
 * "ExecStartPre=+LIBEXECDIR/qvm-net up NAME" for a tap-mode VM: only such a VM pays for
 * this root process at start (bench/bench-prequemu.py). Safe although chosen at reload:
 * an INI changed since then fails the digest check in the first helper, before it.
 * The name is a valid VM name (letters, digits, '_', '.', '-': nothing systemd reads
 * in a command line); a libexecdir holding anything else is refused.
 * Return: 0, or -EINVAL.
 */
static int put_net_up(FILE *f, const struct vm_config *c, const char *libexecdir)
{
	if (c->net_mode != NET_TAP)
		return 0;
	if (libexecdir[0] != '/' || strspn(libexecdir, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789/._+-") != strlen(libexecdir))
		return -EINVAL;
	fprintf(f, "ExecStartPre=+%s/qvm-net up %s\n", libexecdir, c->name);
	return 0;
}

int unitgen_dropin(const struct vm_config *c, const struct unitgen_paths *paths, char **ret)
{
	_cleanup_free_ char *data = NULL;
	char span[32], user[32];
	size_t size;
	int r = 0;
	FILE *f = open_memstream(&data, &size);

	if (!f)
		return -ENOMEM;
	fputs(GENERATOR_HEADER, f);
	fprintf(f, "[Unit]\nSourcePath=");
	r |= put_escaped(f, c->path);
	fprintf(f, "\nDescription=");
	r |= put_escaped(f, c->description);
	fputc('\n', f);
	r |= put_ordering(f, c);
	put_forward_wants(f, c);
	if (config_has_share_mode(c, SHARE_VIRTIOFS))
		fprintf(f, "Wants=qvm-virtiofsd@%%i.service\nAfter=qvm-virtiofsd@%%i.service\n");
	/* Only a VM whose base image is downloaded pulls its fetch unit: for any other VM it
	 * would be one more sandboxed unit started for nothing at every start (~130 ms here,
	 * bench/bench-prequemu.py). Wants=, not Requires=: when the fetch fails, the VM's own
	 * launcher still runs and says why it cannot start, in this unit's journal. */
	if (config_downloads_image(c))
		fprintf(f, "Wants=qvm-fetch@%%i.service\nAfter=qvm-fetch@%%i.service\n");

	fprintf(f, "\n[Service]\n");
	fprintf(f, "TimeoutStartSec=%s\n", format_duration(span, sizeof(span), c->start_timeout));
	fprintf(f, "TimeoutStopSec=%s\n", format_duration(span, sizeof(span), stop_timeout(c)));
	fprintf(f, "Restart=%s\n", restart_policy_to_string(c->restart));
	fprintf(f, "User=%s\n", vm_user_name(c->name, user));
	/* validated: a plain group name; see listen_monitor() in the launcher. To hand the socket
	 * to the group, the launcher needs chown() (in the template's ~@privileged) and the group
	 * must exist inside the unit (PrivateUsers= maps only the VM's own uid and gid), so this
	 * VM alone gets @chown back and gives up the user namespace. */
	if (c->qemu_monitor_group)
		fprintf(f, "SupplementaryGroups=%s\nRuntimeDirectoryMode=0751\nPrivateUsers=no\n"
			"SystemCallFilter=@chown\n", c->qemu_monitor_group);
	/* The helpers and the launcher decide from the INI whether they have work; the
	 * digest lets them notice an INI that changed since this drop-in was written. */
	if (c->digest[0])
		fprintf(f, "Environment=QVM_CONFIG_DIGEST=%s\n", c->digest);
	r |= put_net_up(f, c, paths->libexecdir);
	r |= put_credentials(f, c);
	r |= put_writable_paths(f, c);
	r |= put_binds(f, c);
	if (fclose(f) != 0)
		return -ENOMEM;
	if (r)
		return -EINVAL;
	*ret = TAKE_PTR(data);
	return 0;
}

int write_file_exclusive(const char *dir, const char *rel, const char *content)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r;

	if (asprintf(&path, "%s/%s", dir, rel) < 0)
		return -ENOMEM;
	r = mkdir_parents(path, strlen(dir), 0755);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return negative_errno();
	f = fdopen(fd, "w");
	if (!f) {
		r = negative_errno();
		close(fd);
		return r;
	}
	fputs(content, f);
	if (fflush(f) != 0 || ferror(f))
		return negative_errno();
	r = fclose(TAKE_PTR(f));
	return r == 0 ? 0 : negative_errno();
}

int symlink_in(const char *dir, const char *rel, const char *target)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (asprintf(&path, "%s/%s", dir, rel) < 0)
		return -ENOMEM;
	r = mkdir_parents(path, strlen(dir), 0755);
	if (r < 0)
		return r;
	if (symlink(target, path) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

/* Hang an autostart VM on machines.target and make sure that target is reached at boot. */
static int write_autostart(const char *dest, const struct vm_config *c, const struct unitgen_paths *paths)
{
	_cleanup_free_ char *machines = NULL, *rel = NULL, *tmpl = NULL, *probe = NULL;
	const char *wants = "machines.target.wants";
	int r;

	if (asprintf(&machines, "%s/machines.target", paths->unitdir) < 0 ||
	    asprintf(&probe, "%s%s", strempty(paths->root), machines) < 0 ||
	    asprintf(&tmpl, "%s/qvm@.service", paths->unitdir) < 0)
		return -ENOMEM;
	if (access(probe, F_OK) == 0) {
		/* machines.target is WantedBy=multi-user.target but may not be enabled. */
		r = symlink_in(dest, "multi-user.target.wants/machines.target", machines);
		if (r < 0)
			return r;
	} else {
		wants = "multi-user.target.wants";
	}
	if (asprintf(&rel, "%s/qvm@%s.service", wants, c->name) < 0)
		return -ENOMEM;
	return symlink_in(dest, rel, tmpl);
}

int unitgen_write_vm(const char *dest, const struct vm_config *c, const struct unitgen_paths *paths)
{
	_cleanup_free_ char *text = NULL, *rel = NULL;
	int r;

	r = unitgen_dropin(c, paths, &text);
	if (r < 0)
		return r;
	if (asprintf(&rel, "qvm@%s.service.d/50-qvm.conf", c->name) < 0)
		return -ENOMEM;
	r = write_file_exclusive(dest, rel, text);
	if (r >= 0)
		r = write_forwards(dest, c, paths);
	if (r >= 0)
		r = write_virtiofsd_dropin(dest, c);
	if (r < 0)
		return r;
	return c->autostart ? write_autostart(dest, c, paths) : 0;
}
