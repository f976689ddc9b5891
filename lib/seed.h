/* seed.h - a VM's NoCloud seed: gathering its inputs, its instance generation, writing seed.iso */
#pragma once

#include <stdbool.h>

#include "config.h"

/* The documents of one seed; NULL = not on the volume. */
struct seed_docs {
	char *meta_data;
	char *user_data;
	char *vendor_data;
	char *network_config;
};

/**
 * seed_docs_build() - every document of VM @c's seed
 * @c: config with [cloud-init]
 * @generation: instance generation (see seed_generation())
 * @ret: filled in; free with seed_docs_done()
 * @failed: on a file error, set to the path from the INI that could not be read
 *
 * Files the INI names (ssh key files, user-data, vendor-data, network-config)
 * are read through credential_open(): from $CREDENTIALS_DIRECTORY under
 * systemd, else from the path itself.
 * Return: 0, -EINVAL when a value cannot be written as YAML, or the negative
 * errno of a failed read (with *@failed set)
 */
int seed_docs_build(const struct vm_config *c, unsigned generation, struct seed_docs *ret,
		    const char **failed);

/**
 * seed_docs_done() - free the documents
 */
void seed_docs_done(struct seed_docs *d);

/**
 * seed_generation() - the VM's instance generation, kept in STATE/seed.generation
 * @state_dir: the VM's state directory (created if missing)
 * @bump: raise the generation by one first (qvm reseed)
 * @ret: the generation, >= 1
 *
 * A missing file means generation 1, which is then written down, so the
 * instance-id never changes unless @bump is given.
 * Return: 0, or negative errno
 */
int seed_generation(const char *state_dir, bool bump, unsigned *ret);

/**
 * seed_write() - write @d as a NoCloud volume (label cidata) to @iso_path
 * @iso_path: the seed image, e.g. STATE/seed.iso
 * @d: the documents
 *
 * The image is written to a temporary file in the same directory, mode 0600,
 * and renamed over @iso_path. A copy of the documents is kept in
 * @iso_path.inputs (also 0600); when it matches and @iso_path exists,
 * nothing is written.
 * Return: 1 when the image was (re)written, 0 when it was up to date, or negative errno
 */
int seed_write(const char *iso_path, const struct seed_docs *d);

/**
 * seed_write_documents() - write the documents as plain files into @dir (for review and tests)
 * Return: 0, or negative errno
 */
int seed_write_documents(const char *dir, const struct seed_docs *d);
