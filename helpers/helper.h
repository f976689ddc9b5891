/* helper.h - the preamble the per-VM helpers share (qvm-image, qvm-seed, qvm-net, qvm-launch) */
#pragma once

#include <stdio.h>

#include "config.h"

/*
 * One exit-code rule for every helper: 0 done (also "nothing to do for this
 * VM"), 1 the work failed, 2 a usage error or a configuration that does not
 * load. The unit's ExecStartPre= lines fail the start on any non-zero code.
 */
enum {
	HELPER_EXIT_OK = 0,
	HELPER_EXIT_FAILURE = 1,
	HELPER_EXIT_CONFIG = 2,
	HELPER_CONTINUE = -1,     /* helper_start(): go on with the loaded VM */
};

/**
 * helper_load_vm() - load VM @name for a helper, logging every problem
 * @name: the VM name from the command line
 * @ret: the config on success
 * Return: HELPER_EXIT_OK, or HELPER_EXIT_CONFIG after logging why
 */
int helper_load_vm(const char *name, struct vm_config **ret);

/**
 * helper_start() - the whole preamble of a helper whose one operand is NAME:
 * --help prints @usage to stdout, any other command line prints it to stderr;
 * then it logs as @ident and loads the VM with helper_load_vm()
 * @ret: the config, when HELPER_CONTINUE is returned
 * Return: HELPER_CONTINUE, or the exit status to return at once (0 after --help)
 */
int helper_start(int argc, char *argv[], const char *ident, void (*usage)(FILE *f), struct vm_config **ret);
