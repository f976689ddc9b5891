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

/**
 * sandbox_put_binds() - write BindReadOnlyPaths=/BindPaths= for the VM's hidden files
 * @f: the drop-in being written
 * @c: a valid config
 *
 * Every KEY_PATH key of the key table (so every path key added later too), the [disk:NAME]
 * paths and a local [image] source are looked at; those sandbox_hides() are bound into the
 * service at the same place: read-only, or writable for [image] disk and the directory of a
 * [disk:NAME] path. The cloud-init files reach the helpers as credentials and need no bind.
 * A '-' prefix makes a file missing at start the helper's "missing" error, not systemd's.
 * Return: nothing; the values are escaped for a unit file (specifiers, separators, quotes)
 */
void sandbox_put_binds(FILE *f, const struct vm_config *c);
