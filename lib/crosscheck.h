/* crosscheck.h - problems that only show across VMs: port and tap clashes, ordering cycles, missing VMs */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"

/*
 * The set of VMs checked together. @configs are the VMs whose configs loaded;
 * @known_names are all VM names that exist (including ones whose config is
 * broken, so that a reference to them is not reported as missing); @report[i]
 * says whether problems that involve configs[i] are reported (VMs loaded only
 * as context, e.g. siblings of a checked file, are not).
 */
struct crosscheck_set {
	const struct vm_config *const *configs;
	size_t n;
	char *const *known_names;
	const bool *report;       /* NULL: report everything */
};

/**
 * crosscheck_ports() - find host ports forwarded by two VMs at once
 * @set: the VMs
 * @errors: each clash is appended, at the path of the later VM
 *
 * Two forwards clash when they use the same protocol and host port and their
 * host addresses are equal or one of them is a wildcard (0.0.0.0, ::).
 * VMs with mode = none forward nothing.
 * Return: number of clashes found, or -ENOMEM
 */
int crosscheck_ports(const struct crosscheck_set *set, struct diag_list *errors);

/**
 * crosscheck_taps() - find tap-mode VMs whose names map to one tap device
 * @set: the VMs
 * @errors: each clash is appended at the later VM's "mode = tap" line, naming
 *          the earlier VM and its line
 * @clashing: NULL, or one flag per VM, set for the later VM of each clash
 *            (the generator does not generate it)
 * Return: number of clashes found, or -ENOMEM
 */
int crosscheck_taps(const struct crosscheck_set *set, struct diag_list *errors, bool *clashing);

/**
 * crosscheck_cycles() - find ordering cycles through after= and requires=
 * @set: the VMs; only edges between VMs in @set are followed
 * @errors: each cycle is appended once, as "a -> b -> a", at the path of
 *          the VM where it was found
 * Return: number of cycles found, or -ENOMEM
 */
int crosscheck_cycles(const struct crosscheck_set *set, struct diag_list *errors);

/**
 * crosscheck_references() - find after=/requires= names of VMs that do not exist
 * @set: the VMs
 * @errors: a requires= on a missing VM is an error (the unit would fail to start)
 * @warnings: an after= on a missing VM is a warning (ordering on a unit that is
 *            never started is harmless, but is most likely a typo)
 *
 * A name counts as a VM when it has no unit suffix, or when it is written as
 * qvm@NAME.service; other unit names are not checked.
 * Return: number of problems found, or -ENOMEM
 */
int crosscheck_references(const struct crosscheck_set *set, struct diag_list *errors,
			  struct diag_list *warnings);

/**
 * vm_ref_name() - the VM a name in after=/requires= refers to
 * @ref: "NAME" or "qvm@NAME.service" or another unit name
 * @buf: output
 * Return: @buf holding the VM name, or NULL when @ref names another unit
 */
char *vm_ref_name(const char *ref, char buf[static 256]);

/**
 * crosscheck_secrets() - warn when @c's password hash can be read by other users:
 * password-hash in a world-readable INI, or a password-hash-file open to group or others
 * Return: number of warnings appended to @warnings, or -ENOMEM
 */
int crosscheck_secrets(const struct vm_config *c, struct diag_list *warnings);
