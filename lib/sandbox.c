/* sandbox.c - files of a VM that qvm@.service's sandbox hides, and the binds that show them */
#include "sandbox.h"

#include <string.h>

#include "config-internal.h"
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

/* @fn for key @k's value @path when the sandbox hides it. */
static int visit(const struct key_def *k, const char *path, sandbox_bind_fn fn, void *userdata)
{
	if (!path || path[0] != '/' || !sandbox_hides(path) ||
	    key_in(k, credential_keys, ELEMENTSOF(credential_keys)))
		return 0;
	return fn(path, key_in(k, writable_keys, ELEMENTSOF(writable_keys)), userdata);
}

int sandbox_for_each_bind(const struct vm_config *c, sandbox_bind_fn fn, void *userdata)
{
	size_t n;
	const struct key_def *keys = config_keys(&n);
	const char *source = c->image_source;
	int r = 0;

	if (source && strncmp(source, "file://", 7) == 0)
		source += 7;
	if (source && source[0] == '/' && sandbox_hides(source))
		r = fn(source, false, userdata);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (keys[i].type != KEY_PATH)
			continue;
		if (strcmp(keys[i].section, "disk") == 0) {
			for (size_t d = 0; r == 0 && d < c->n_disks; d++)
				r = visit(&keys[i], *(char *const *)((const char *)&c->disks[d] + keys[i].offset), fn, userdata);
		} else if (config_is_instance_kind(keys[i].section)) {
			/* [share:NAME] dirs are bound by the generator's share code; a new kind of
			 * named section needs its own case here, for its own struct. */
			continue;
		} else {
			r = visit(&keys[i], *(char *const *)((const char *)c + keys[i].offset), fn, userdata);
		}
	}
	return r;
}
