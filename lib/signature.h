/* signature.h - OpenPGP signatures of checksum files, checked with gpgv */
#pragma once

#include <stddef.h>

/**
 * signature_verify() - check that detached OpenPGP signature @sig (@sig_len
 * bytes) is a good signature of @data (@data_len bytes) by a key in @keyring,
 * with gpgv(1); both go through files in a private temporary directory
 * @error: gpgv's own message when it refuses
 * Return: 0 for a good signature; -EBADMSG when gpgv refuses; negative errno
 */
int signature_verify(const char *keyring, const char *data, size_t data_len, const char *sig, size_t sig_len,
		     char *error, size_t error_size);
