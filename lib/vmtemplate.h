/* vmtemplate.h - the commented NAME.ini that qvm new writes, and the image presets it knows */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* What qvm new puts into a new VM's INI file. */
struct vm_template {
	const char *name;
	const char *label;        /* human description of the image, for comments */
	const char *source;       /* [image] source: URL or absolute path */
	const char *checksum;     /* ALGO:HEX, or NULL */
	const char *checksums;    /* URL of SHA256SUMS/SHA512SUMS, or NULL */
	const char *keyring;      /* checksums-keyring, or NULL */
	const char *keyring_package; /* the package that ships it, for the comment */
	const char *signature;    /* checksums-signature, or NULL */
	bool keyring_present;     /* written active; else commented out, with the package to install */
	const char *user;         /* [cloud-init] user */
	const char *ssh_key_file; /* public key file, or NULL */
	int ssh_port;             /* host port forwarded to the guest's 22 */
};

/* A cloud image qvm new knows by a short name. */
struct image_preset {
	const char *id;           /* "debian-12" */
	const char *label;
	const char *source;
	const char *checksums;
	const char *keyring;      /* OpenPGP keyring that signs the checksums */
	const char *keyring_package; /* the Debian package that ships it */
	const char *signature;    /* URL of the signature, or NULL for checksums + ".sign" */
};

/**
 * image_preset_find() - look up a preset image by @id for the Debian arch @darch
 * @id: "debian-12" or "ubuntu-24.04"
 * @darch: "amd64" or "arm64"
 * @ret: filled with static strings
 * Return: 0, -ENOENT for an unknown id, -EOPNOTSUPP for an unsupported arch
 */
int image_preset_find(const char *id, const char *darch, struct image_preset *ret);

/**
 * image_preset_ids() - the ids image_preset_find() knows
 * Return: NULL-terminated static list
 */
const char *const *image_preset_ids(void);

/**
 * debian_arch() - the Debian name of QEMU arch @arch ("x86_64" -> "amd64")
 * Return: static string, or NULL when no preset image exists for it
 */
const char *debian_arch(const char *arch);

/**
 * vm_template_render() - the text of a commented, working NAME.ini
 * @t: what to put in; strings must not contain newlines
 * @ret: new string the caller frees
 * Return: 0, -EINVAL for a value that cannot be written into an INI line, -ENOMEM
 */
int vm_template_render(const struct vm_template *t, char **ret);

/**
 * ssh_port_pick() - the first TCP port from @first up that no VM forwards
 * @configs: the existing VMs
 * @n: how many
 * @first: where to start (2222)
 * Return: the port, -EADDRINUSE when none is free below 65536, -ENOMEM
 */
int ssh_port_pick(const struct vm_config *const *configs, size_t n, int first);
