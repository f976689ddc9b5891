/* unitgen.c - rendering a VM's systemd drop-in and writing generator output */
#include "unitgen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "credential.h"
#include "macro.h"
#include "strv.h"
#include "values.h"

/* Growing text buffer backed by open_memstream(). */
struct text {
	char *data;
	size_t size;
	FILE *f;
};

/* Escape @s for a unit file value: '%' specifiers doubled, no trailing backslash. */
static void put_escaped(FILE *f, const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '\\')
		n--;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%')
			fputc('%', f);
		fputc(s[i], f);
	}
}

/* Write "After=" and "Requires=" lines for the [vm] ordering keys. */
static void put_ordering(FILE *f, const struct vm_config *c)
{
	char unit[256];

	STRV_FOREACH(s, c->requires) {
		vm_unit_name(*s, unit);
		fprintf(f, "Requires=%s\nAfter=%s\n", unit, unit);
	}
	STRV_FOREACH(s, c->after)
		fprintf(f, "After=%s\n", vm_unit_name(*s, unit));
}

/*
 * Port forwards in tap mode. The host reaches a tap-mode guest at its own
 * address on the bridge, but ssh = PORT must work as in user mode: on
 * 127.0.0.1:PORT. DNAT to a loopback address needs route_localnet, which is
 * unsafe, so forwards are done in userspace: for each forward the generator
 * writes a socket unit listening on the host address (127.0.0.1 unless
 * listen= or the forward names another) and a systemd-socket-proxyd service
 * it activates, which connects to the guest's address = on the guest port.
 * systemd binds the port (a clash fails the VM's start with "Address already
 * in use"), the proxy runs with DynamicUser= and no privileges, nothing is
 * left running or bound when the VM stops (PartOf=), and there is no
 * firewall state to clean up. The launcher stays out of the data path.
 * systemd-socket-proxyd is TCP only, so tap mode has no udp forwards.
 */

/* Should VM @c get forwarder units? */
static bool wants_forwarders(const struct vm_config *c)
{
	return c->net_mode == NET_TAP && c->net_address && (c->net_ssh > 0 || c->net_forwards);
}

char *unitgen_forward_unit(const struct vm_config *c, const struct forward *fw, size_t i, char buf[static 256])
{
	size_t again = 0;

	for (size_t j = 0; j < i; j++)
		if (fw[j].host_port == fw[i].host_port)
			again++;
	if (again)
		snprintf(buf, 256, "qvm-%s-fwd-%d-%zu", c->name, fw[i].host_port, again + 1);
	else
		snprintf(buf, 256, "qvm-%s-fwd-%d", c->name, fw[i].host_port);
	return buf;
}

/* "ADDR:PORT" or "[ADDR6]:PORT" for @addr (a prefix "/N" is dropped). */
static void put_endpoint(FILE *f, const char *addr, int port)
{
	int len = (int)strcspn(addr, "/");

	if (memchr(addr, ':', (size_t)len))
		fprintf(f, "[%.*s]:%d", len, addr, port);
	else
		fprintf(f, "%.*s:%d", len, addr, port);
}

/* Requires=/After= on the VM's forward sockets, so a port that cannot be bound fails the start. */
static void put_forward_deps(FILE *f, const struct vm_config *c)
{
	_cleanup_free_ struct forward *fw = NULL;
	char unit[256];
	size_t n;

	if (!wants_forwarders(c) || config_forwards(c, &fw, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		unitgen_forward_unit(c, fw, i, unit);
		fprintf(f, "Requires=%s.socket\nAfter=%s.socket\n", unit, unit);
	}
}

/* Render the .socket (@service false) or .service of forward @fw of VM @c. */
static int render_forward(const struct vm_config *c, const struct forward *fw, bool service,
			  const struct unitgen_paths *paths, char **ret)
{
	_cleanup_free_ char *data = NULL;
	size_t size;
	FILE *f = open_memstream(&data, &size);

	if (!f)
		return -ENOMEM;
	fputs(GENERATOR_HEADER, f);
	fprintf(f, "[Unit]\nDescription=qvm port forward tcp ");
	put_endpoint(f, fw->host_addr, fw->host_port);
	fprintf(f, " to VM %s ", c->name);
	put_endpoint(f, c->net_address, fw->guest_port);
	fputs("\nSourcePath=", f);
	put_escaped(f, c->path);
	fprintf(f, "\nPartOf=qvm@%s.service\n", c->name);
	if (!service) {
		fputs("\n[Socket]\nListenStream=", f);
		put_endpoint(f, fw->host_addr, fw->host_port);
		/* The host address may be one that qvm-net adds only later (qvmbr0's). */
		fputs("\nFreeBind=yes\nNoDelay=yes\n", f);
	} else {
		fputs("\n[Service]\nExecStart=", f);
		put_escaped(f, paths->socket_proxyd);
		fputc(' ', f);
		put_endpoint(f, c->net_address, fw->guest_port);
		fputs("\nDynamicUser=yes\nPrivateTmp=yes\nPrivateDevices=yes\nProtectSystem=strict\n"
		      "ProtectHome=yes\nNoNewPrivileges=yes\nCapabilityBoundingSet=\n"
		      "RestrictAddressFamilies=AF_INET AF_INET6\nProtectKernelTunables=yes\n"
		      "ProtectKernelModules=yes\nProtectControlGroups=yes\n", f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(data);
	return 0;
}

/* Write the socket and service units of every forward of tap-mode VM @c. */
static int write_forwarders(const char *dest, const struct vm_config *c, const struct unitgen_paths *paths)
{
	_cleanup_free_ struct forward *fw = NULL;
	size_t n;
	int r;

	if (!wants_forwarders(c))
		return 0;
	r = config_forwards(c, &fw, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		for (int service = 0; service <= 1; service++) {
			_cleanup_free_ char *text = NULL, *rel = NULL;
			char unit[256];

			r = render_forward(c, &fw[i], service, paths, &text);
			if (r < 0)
				return r;
			if (asprintf(&rel, "%s.%s", unitgen_forward_unit(c, fw, i, unit),
				     service ? "service" : "socket") < 0)
				return -ENOMEM;
			r = write_file_exclusive(dest, rel, text);
			if (r < 0)
				return r;
		}
	return 0;
}

/* TimeoutStopSec=: the guest's shutdown-timeout plus time to quit, kill and clean up. */
static uint64_t stop_timeout(const struct vm_config *c)
{
	const uint64_t margin = 15 * USEC_PER_SEC;

	return c->shutdown_timeout > UINT64_MAX - margin ? UINT64_MAX : c->shutdown_timeout + margin;
}

/* LoadCredential= for files helpers must read but may not be allowed to. */
static void put_credentials(FILE *f, const struct vm_config *c)
{
	const struct { const char *name; const char *path; } files[] = {
		{ CRED_USER_DATA, c->ci_user_data },
		{ CRED_VENDOR_DATA, c->ci_vendor_data },
		{ CRED_NETWORK_CONFIG, c->ci_network_config },
	};
	size_t i = 0;

	STRV_FOREACH(path, c->ci_ssh_authorized_keys_files) {
		fprintf(f, "LoadCredential=" CRED_SSH_KEYS_FMT ":", i++);
		put_escaped(f, *path);
		fputc('\n', f);
	}
	for (i = 0; i < ELEMENTSOF(files); i++)
		if (files[i].path) {
			fprintf(f, "LoadCredential=%s:", files[i].name);
			put_escaped(f, files[i].path);
			fputc('\n', f);
		}
}

/* ReadWritePaths= for disks outside the state dir (ProtectSystem=strict hides the rest). */
static void put_writable_paths(FILE *f, const struct vm_config *c)
{
	if (c->image_disk) {
		fputs("ReadWritePaths=", f);
		put_escaped(f, c->image_disk);
		fputc('\n', f);
	}
	for (size_t i = 0; i < c->n_disks; i++) {
		const char *path = c->disks[i].path;
		const char *slash = path ? strrchr(path, '/') : NULL;

		if (!slash)
			continue;
		/* The disk may not exist yet: its directory must be writable, and may be missing. */
		fprintf(f, "ReadWritePaths=-%.*s\n", slash == path ? 1 : (int)(slash - path), path);
	}
}

int unitgen_dropin(const struct vm_config *c, const struct unitgen_paths *paths, char **ret)
{
	_cleanup_free_ char *data = NULL;
	char span[32];
	size_t size;
	FILE *f = open_memstream(&data, &size);

	if (!f)
		return -ENOMEM;
	fputs(GENERATOR_HEADER, f);
	fprintf(f, "[Unit]\nSourcePath=");
	put_escaped(f, c->path);
	fprintf(f, "\nDescription=");
	put_escaped(f, c->description);
	fputc('\n', f);
	put_ordering(f, c);
	put_forward_deps(f, c);

	fprintf(f, "\n[Service]\n");
	fprintf(f, "TimeoutStartSec=%s\n", format_duration(span, sizeof(span), c->start_timeout));
	fprintf(f, "TimeoutStopSec=%s\n", format_duration(span, sizeof(span), stop_timeout(c)));
	fprintf(f, "Restart=%s\n", config_enum_name("vm", "restart", c->restart));
	if (c->net_mode == NET_TAP)
		fprintf(f, "ExecStartPre=+%s/qvm-net up %%i\n", paths->libexecdir);
	if (config_uses_image(c))
		fprintf(f, "ExecStartPre=%s/qvm-image %%i\n", paths->libexecdir);
	if (c->has_cloud_init)
		fprintf(f, "ExecStartPre=%s/qvm-seed %%i\n", paths->libexecdir);
	if (c->net_mode == NET_TAP)
		fprintf(f, "ExecStopPost=+%s/qvm-net down %%i\n", paths->libexecdir);
	put_credentials(f, c);
	put_writable_paths(f, c);
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(data);
	return 0;
}

/* Create the directories of @rel below @dir (never @dir itself or anything above it). */
static int mkdir_parents(const char *dir, const char *rel)
{
	_cleanup_free_ char *path = NULL;
	size_t skip = strlen(dir) + 1;

	if (asprintf(&path, "%s/%s", dir, rel) < 0)
		return -ENOMEM;
	for (char *p = strchr(path + skip, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return negative_errno();
		*p = '/';
	}
	return 0;
}

int write_file_exclusive(const char *dir, const char *rel, const char *content)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r;

	if (asprintf(&path, "%s/%s", dir, rel) < 0)
		return -ENOMEM;
	r = mkdir_parents(dir, rel);
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
	r = mkdir_parents(dir, rel);
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
	if (r < 0)
		return r;
	r = write_forwarders(dest, c, paths);
	if (r < 0)
		return r;
	return c->autostart ? write_autostart(dest, c, paths) : 0;
}
