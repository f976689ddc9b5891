/* download.h - libcurl downloads: small files into memory, images into a cache dir (resumable, hashed, atomic) */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "checksum.h"

/* Progress of a download: @done of @total bytes (total 0 = unknown). */
typedef void (*download_progress_fn)(uint64_t done, uint64_t total, void *userdata);

/**
 * download_text() - fetch @url (at most @max bytes) into a new NUL-terminated string
 * @error: filled with what went wrong ("HTTP 404", "cannot resolve host ...")
 * Return: 0, or negative errno (-EIO for an HTTP or connection error)
 */
int download_text(const char *url, size_t max, char **ret, char *error, size_t error_size);

/**
 * download_data() - download_text() that also says how many bytes came (binary data)
 * Return: 0, or negative errno
 */
int download_data(const char *url, size_t max, char **ret, size_t *ret_len, char *error, size_t error_size);

/**
 * download_image() - download @url as @dir/@name, verified against @expected
 *
 * Bytes go to @dir/.@name.partial, hashed as they arrive; an interrupted
 * transfer resumes with a Range request (also in a later run), and the whole
 * file is hashed either way; a server that refuses the Range (200 without
 * Content-Range, or 416) gets the file again from byte 0. The partial file is
 * flock()ed: a second download of the same name waits, then uses the first
 * one's verified result. Only a verified file is renamed to @name (mode
 * 0444) after fsync, and the dir is fsynced too.
 * @transferred: if not NULL, the number of bytes actually received
 * Return: 0; -EBADMSG on a checksum mismatch (the partial file is deleted);
 * -ENOSPC; -EIO for HTTP/connection errors; @error says which
 */
int download_image(const char *url, const char *dir, const char *name, const struct checksum *expected,
		   download_progress_fn progress, void *userdata, uint64_t *transferred, char *error,
		   size_t error_size);
