/* portcheck.h - find host ports that two VMs both forward (generator, qvm check) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"

/**
 * forwards_clash() - can forwards @a and @b not both be bound on the host at once?
 * Same protocol and port, and the same address, or one of them a wildcard
 * (0.0.0.0 clashes with IPv4 addresses, :: with every address, as Linux binds
 * IPv6 wildcards dual-stack by default).
 * Return: true when they clash
 */
bool forwards_clash(const struct forward *a, const struct forward *b);

/**
 * forwards_find_clashes() - every pair of VMs whose forwards clash
 * @vms: configs; NULL entries (VMs that failed to load) are skipped
 * @n: number of entries in @vms
 * @diags: for each clash, one diagnostic in each of the two VMs' files
 *         (line 0: the config model keeps no line per forward entry)
 * Return: the number of clashing pairs of forwards (>= 0), or -ENOMEM
 */
int forwards_find_clashes(struct vm_config *const *vms, size_t n, struct diag_list *diags);
