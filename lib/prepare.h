/* prepare.h - what a VM needs on disk before its QEMU starts (run by qvm-launch; qvm-image and qvm-seed by hand) */
#pragma once

#include <stdbool.h>

#include "config.h"

enum prepare_mode {
	PREPARE_START,    /* everything for a start: base (cached and verified), overlay, data disks */
	PREPARE_FETCH,    /* only the base image into the cache (qvm-fetch@NAME.service) */
	PREPARE_REFRESH,  /* fetch the checksums again; a new version becomes a new cached base */
};

/**
 * vm_prepare_disks() - make the disks of VM @c ready; existing disks are never overwritten
 * @c: the VM's config
 * @mode: what to do, see enum prepare_mode
 *
 * A VM without [image] source or disk and without [disk:NAME] has nothing to do.
 * Errors are logged with the INI's path and key.
 * Return: 0, or negative errno
 */
int vm_prepare_disks(const struct vm_config *c, enum prepare_mode mode);

/**
 * vm_prepare_seed() - write the NoCloud seed STATE/seed.iso of VM @c when its contents changed
 * @c: the VM's config; without [cloud-init] nothing is written or removed
 * @reseed: raise the instance generation first (qvm reseed)
 * @documents_dir: when set, write the documents as files there instead of the image
 *
 * Errors are logged.
 * Return: 0, or negative errno
 */
int vm_prepare_seed(const struct vm_config *c, bool reseed, const char *documents_dir);
