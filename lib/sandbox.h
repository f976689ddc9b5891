/* sandbox.h - files of a VM that qvm@.service's sandbox hides, and the binds that show them */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

/**
 * sandbox_hides() - does qvm@.service's sandbox hide @path from the helpers and QEMU?
 * PrivateTmp=yes hides /tmp and /var/tmp; ProtectHome=yes hides /home, /root and /run/user.
 * Return: true for a path at or below one of those
 */
bool sandbox_hides(const char *path);

/* Called for each file to bind: @path, and whether the VM writes it. */
typedef int (*sandbox_bind_fn)(const char *path, bool writable, void *userdata);

/**
 * sandbox_for_each_bind() - call @fn for every file of the VM that sandbox_hides()
 * @c: a valid config
 *
 * Every KEY_PATH key of the key table (so every path key added later too), the [disk:NAME]
 * paths and a local [image] source are looked at. Writable: [image] disk and [disk:NAME]
 * path; the rest read-only. The cloud-init files reach the helpers as credentials
 * (LoadCredential=, read by systemd outside the sandbox) and are skipped.
 * Return: 0, or the first non-zero return of @fn
 */
int sandbox_for_each_bind(const struct vm_config *c, sandbox_bind_fn fn, void *userdata);
