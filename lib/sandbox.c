/* sandbox.c - files of a VM that qvm@.service's sandbox hides, and the binds that show them */
#include "sandbox.h"

#include <string.h>

#include "macro.h"

/* Keys whose files systemd reads as root and passes as credentials (LoadCredential=). */
static const char *const credential_keys[][2] = {
	{ "cloud-init", "user-data" },
	{ "cloud-init", "vendor-data" },
	{ "cloud-init", "network-config" },
};

/* Keys whose files the VM writes. */
static const char *const writable_keys[][2] = {
	{ "image", "disk" },
	{ "disk", "path" },
};

bool sandbox_hides(const char *path)
{
	static const char *const hidden[] = { "/tmp", "/var/tmp", "/home", "/root", "/run/user" };

	for (size_t i = 0; i < ELEMENTSOF(hidden); i++) {
		size_t n = strlen(hidden[i]);

		if (strncmp(path, hidden[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

/* Is key @k one of the @n pairs in @keys? */
static bool key_in(const struct key_def *k, const char *const keys[][2], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(k->section, keys[i][0]) == 0 && strcmp(k->name, keys[i][1]) == 0)
			return true;
	return false;
}

/* Write @path as one BindPaths= source:dest item: '%' doubled; blanks, ':', quotes and '\' escaped. */
static void put_bind_path(FILE *f, const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p == '%')
			fputc('%', f);
		else if (strchr(" \t:\\\"'", *p))
			fputc('\\', f);
		fputc(*p, f);
	}
}

/* "BindPaths=-PATH:PATH" (or BindReadOnlyPaths=) when the sandbox hides @path. */
static void put_bind(FILE *f, const char *path, size_t len, bool writable)
{
	char buf[4096];

	if (len >= sizeof(buf))
		return;
	memcpy(buf, path, len);
	buf[len] = '\0';
	if (!sandbox_hides(buf))
		return;
	fprintf(f, "%s=-", writable ? "BindPaths" : "BindReadOnlyPaths");
	put_bind_path(f, buf);
	fputc(':', f);
	put_bind_path(f, buf);
	fputc('\n', f);
}

/* The bind of key @k's value @path: the file, or for a data disk its directory (it may not exist yet). */
static void put_key_bind(FILE *f, const struct key_def *k, const char *path)
{
	bool writable = key_in(k, writable_keys, ELEMENTSOF(writable_keys));
	const char *slash;

	if (!path || path[0] != '/' || key_in(k, credential_keys, ELEMENTSOF(credential_keys)))
		return;
	slash = strrchr(path, '/');
	if (strcmp(k->section, "disk") == 0)
		put_bind(f, path, slash == path ? 1 : (size_t)(slash - path), true);
	else
		put_bind(f, path, strlen(path), writable);
}

void sandbox_put_binds(FILE *f, const struct vm_config *c)
{
	size_t n;
	const struct key_def *keys = config_keys(&n);
	const char *source = c->image_source;

	if (source && strncmp(source, "file://", 7) == 0)
		source += 7;
	if (source && source[0] == '/')
		put_bind(f, source, strlen(source), false);
	for (size_t i = 0; i < n; i++) {
		if (keys[i].type != KEY_PATH)
			continue;
		if (strcmp(keys[i].section, "disk") == 0) {
			for (size_t d = 0; d < c->n_disks; d++)
				if (c->disks[d].path)
					put_key_bind(f, &keys[i], *(char *const *)((const char *)&c->disks[d] + keys[i].offset));
		} else {
			put_key_bind(f, &keys[i], *(char *const *)((const char *)c + keys[i].offset));
		}
	}
}
