/* paths.c - where a VM's files live, and names derived from the VM name */
#include "paths.h"
#include "basic.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Write "fmt..." into @buf of 4096 bytes; -ENAMETOOLONG if it does not fit. */
_printf_(2, 3) static int path_fmt(char buf[static 4096], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, 4096, fmt, ap);
	va_end(ap);
	return n < 0 || n >= 4096 ? -ENAMETOOLONG : 0;
}

/* $SYSTEMD_VAR if set, else $ROOT_VAR/NAME, else DEFAULT/NAME (NAME may be NULL). */
static int dir_from_env(char buf[static 4096], const char *systemd_var, const char *root_var,
			const char *def, const char *name)
{
	const char *e = getenv(systemd_var);
	const char *root = getenv(root_var);

	if (e && *e && !strchr(e, ':'))
		return path_fmt(buf, "%s", e);
	if (!root || !*root)
		root = def;
	return name ? path_fmt(buf, "%s/%s", root, name) : path_fmt(buf, "%s", root);
}

int vm_paths_get(const struct vm_config *c, struct vm_paths *p)
{
	int r = 0;

	r |= dir_from_env(p->state_dir, "STATE_DIRECTORY", "QVM_STATE_ROOT", "/var/lib/qvm", c->name);
	r |= dir_from_env(p->runtime_dir, "RUNTIME_DIRECTORY", "QVM_RUNTIME_ROOT", "/run/qvm", c->name);
	r |= dir_from_env(p->cache_dir, "CACHE_DIRECTORY", "QVM_CACHE_DIR", "/var/cache/qvm", NULL);
	if (c->ephemeral && (c->image_disk || c->image_source))
		r |= path_fmt(p->disk, "%s/disk.qcow2", p->runtime_dir);
	else if (c->image_disk)
		r |= path_fmt(p->disk, "%s", c->image_disk);
	else
		r |= path_fmt(p->disk, "%s/disk.qcow2", p->state_dir);
	r |= path_fmt(p->seed, "%s/seed.iso", p->state_dir);
	r |= path_fmt(p->efivars, "%s/efivars.fd", p->state_dir);
	r |= path_fmt(p->qmp_socket, "%s/qmp.sock", p->runtime_dir);
	r |= path_fmt(p->console_socket, "%s/console.sock", p->runtime_dir);
	r |= path_fmt(p->monitor_socket, "%s/monitor.sock", p->runtime_dir);
	r |= path_fmt(p->gdb_socket, "%s/gdb.sock", p->runtime_dir);
	r |= path_fmt(p->vnc_socket, "%s/vnc.sock", p->runtime_dir);
	r |= path_fmt(p->installed, "%s/installed", p->state_dir);
	return r ? -ENAMETOOLONG : 0;
}

int vm_disk_path(const struct vm_paths *p, const struct disk_config *d, char buf[static 4096])
{
	if (d->ephemeral)
		return path_fmt(buf, "%s/%s.ephemeral.qcow2", p->runtime_dir, d->name);
	return vm_disk_store_path(p, d, buf);
}

int vm_disk_store_path(const struct vm_paths *p, const struct disk_config *d, char buf[static 4096])
{
	if (d->path)
		return path_fmt(buf, "%s", d->path);
	return path_fmt(buf, "%s/%s.%s", p->state_dir, d->name,
			disk_format_to_string(d->format));
}

int vm_share_socket(const struct vm_paths *p, const char *name, char buf[static 4096])
{
	return path_fmt(buf, "%s/share-%s.sock", p->runtime_dir, name);
}

unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* FNV-1a 64 of @s. */
static uint64_t name_hash64(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

char *vm_tap_name(const char *name, char buf[static 16])
{
	uint64_t h = name_hash64(name);

	if (strlen(name) <= 10)
		snprintf(buf, 16, "qvm-%s", name);
	else
		snprintf(buf, 16, "qvm-%.3s%08x", name, (unsigned)((h ^ (h >> 32)) & 0xffffffffu));
	return buf;
}

char *vm_user_name(const char *name, char buf[static 32])
{
	uint64_t h = name_hash64(name);
	size_t n = strlen(name);
	bool plain = n <= 27;

	/* systemd's DynamicUser= wants [A-Za-z_][A-Za-z0-9_-]*, at most 31 characters */
	for (size_t i = 0; i < n; i++)
		plain = plain && (isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-');
	if (plain) {
		snprintf(buf, 32, "qvm-%s", name);
		return buf;
	}
	snprintf(buf, 32, "qvm-%.10s-%016llx", name, (unsigned long long)h);
	for (char *p = buf + 4; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			*p = '_';
	return buf;
}

char *vm_mac(const struct vm_config *c, char buf[static 18])
{
	unsigned h = name_hash(c->name);

	if (c->net_mac)
		snprintf(buf, 18, "%s", c->net_mac);
	else
		snprintf(buf, 18, "52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
	return buf;
}

