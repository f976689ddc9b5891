/* checksum.h - expected image checksums: "ALGO:HEX" specs, SHA256SUMS/SHA512SUMS files, streaming hashes */
#pragma once

#include <stddef.h>

#define CHECKSUM_HEX_MAX 129

/* An expected or computed digest. */
struct checksum {
	char algo[8];                 /* "sha256" or "sha512" */
	char hex[CHECKSUM_HEX_MAX];   /* lower-case hex */
};

/**
 * checksum_parse() - parse "sha256:HEX" or "sha512:HEX" (hex of the right length)
 * Return: 0, or -EINVAL
 */
int checksum_parse(const char *spec, struct checksum *ret);

/**
 * checksums_find() - find @file_name in the text of a SHA256SUMS/SHA512SUMS file
 * Lines are "HEX  NAME" or "HEX *NAME"; blank lines are ignored; any other line
 * is an error. The algorithm follows from the hex length.
 * @bad_line: set to the 1-based line of a malformed line
 * Return: 0, -ENOENT when the name is not listed, -EBADMSG for a malformed line
 */
int checksums_find(const char *text, const char *file_name, struct checksum *ret, unsigned *bad_line);

struct hasher;

/** hasher_new() - a streaming hash for @algo ("sha256" or "sha512"). Return: 0, -EINVAL, -ENOMEM */
int hasher_new(const char *algo, struct hasher **ret);

/** hasher_update() - feed @n bytes. Return: 0 or -EIO */
int hasher_update(struct hasher *h, const void *data, size_t n);

/** hasher_final() - the digest as lower-case hex in @ret (algo filled in). Return: 0 or -EIO */
int hasher_final(struct hasher *h, struct checksum *ret);

/** hasher_free() - free @h. Return: NULL */
struct hasher *hasher_free(struct hasher *h);

/**
 * hash_file() - hash the file at @path with @algo
 * Return: 0, or negative errno
 */
int hash_file(const char *path, const char *algo, struct checksum *ret);
