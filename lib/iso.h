/* iso.h - writing a small ISO9660 volume (Rock Ridge + Joliet) from files held in memory */
#pragma once

#include <stddef.h>

/* One file in the root directory of the volume. */
struct iso_entry {
	const char *name;         /* e.g. "user-data"; kept as is in Rock Ridge and Joliet */
	const void *data;
	size_t size;
};

/**
 * iso_volume_write() - write an ISO9660 image with @n files in its root to @fd
 * @fd: writable file descriptor, positioned at the start of an empty file
 * @volume_id: the volume id, e.g. "cidata" (at most 32 characters)
 * @files: the files
 * @n: their number
 * Return: 0, -EINVAL for bad names, -ENOMEM, -EIO when the writer fails, or
 * the negative errno of a failed write(2)
 */
int iso_volume_write(int fd, const char *volume_id, const struct iso_entry *files, size_t n);
