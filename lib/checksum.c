/* checksum.c - expected image checksums: "ALGO:HEX" specs, SHA256SUMS/SHA512SUMS files, streaming hashes (libcrypto) */
#include "checksum.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

struct hasher {
	EVP_MD_CTX *ctx;
	char algo[8];
};

/* The hex length of @algo's digest, or 0 for an unknown algorithm. */
static size_t algo_hex_length(const char *algo)
{
	return strcmp(algo, "sha256") == 0 ? 64 : strcmp(algo, "sha512") == 0 ? 128 : 0;
}

/* Whether @s (length @n) is all hex digits. */
static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Copy @n hex digits of @s into @ret->hex in lower case. */
static void set_hex(struct checksum *ret, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ret->hex[i] = (char)tolower((unsigned char)s[i]);
	ret->hex[n] = '\0';
}

int checksum_parse(const char *spec, struct checksum *ret)
{
	const char *colon = strchr(spec, ':');
	size_t algo_len = colon ? (size_t)(colon - spec) : 0, n;

	if (!colon || algo_len >= sizeof(ret->algo))
		return -EINVAL;
	memcpy(ret->algo, spec, algo_len);
	ret->algo[algo_len] = '\0';
	n = algo_hex_length(ret->algo);
	if (n == 0 || strlen(colon + 1) != n || !all_hex(colon + 1, n))
		return -EINVAL;
	set_hex(ret, colon + 1, n);
	return 0;
}

int checksums_find(const char *text, const char *file_name, struct checksum *ret, unsigned *bad_line)
{
	unsigned line = 0;
	bool found = false;

	for (const char *p = text; *p;) {
		const char *end = strchrnul(p, '\n'), *name;
		size_t hex_len = strspn(p, "0123456789abcdefABCDEF"), name_len;

		line++;
		if (end == p || (end == p + 1 && *p == '\r')) {
			p = *end ? end + 1 : end;
			continue;
		}
		name = p + hex_len + 2;
		if ((hex_len != 64 && hex_len != 128) || name > end || p[hex_len] != ' ' ||
		    (p[hex_len + 1] != ' ' && p[hex_len + 1] != '*')) {
			*bad_line = line;
			return -EBADMSG;
		}
		name_len = (size_t)(end - name) - (end[-1] == '\r');
		if (!found && name_len == strlen(file_name) && memcmp(name, file_name, name_len) == 0) {
			snprintf(ret->algo, sizeof(ret->algo), "%s", hex_len == 64 ? "sha256" : "sha512");
			set_hex(ret, p, hex_len);
			found = true;
		}
		p = *end ? end + 1 : end;
	}
	return found ? 0 : -ENOENT;
}

int hasher_new(const char *algo, struct hasher **ret)
{
	const EVP_MD *md = strcmp(algo, "sha256") == 0 ? EVP_sha256() : strcmp(algo, "sha512") == 0 ? EVP_sha512() : NULL;
	struct hasher *h;

	if (!md)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
		hasher_free(h);
		return -ENOMEM;
	}
	snprintf(h->algo, sizeof(h->algo), "%s", algo);
	*ret = h;
	return 0;
}

int hasher_update(struct hasher *h, const void *data, size_t n)
{
	return EVP_DigestUpdate(h->ctx, data, n) == 1 ? 0 : -EIO;
}

int hasher_final(struct hasher *h, struct checksum *ret)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1)
		return -EIO;
	snprintf(ret->algo, sizeof(ret->algo), "%s", h->algo);
	for (unsigned i = 0; i < n; i++)
		snprintf(ret->hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

struct hasher *hasher_free(struct hasher *h)
{
	if (h) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
	}
	return NULL;
}

int hash_file(const char *path, const char *algo, struct checksum *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct hasher *h = NULL;
	static char buf[1 << 20];
	ssize_t n;
	int r;

	if (fd < 0)
		return -errno;
	r = hasher_new(algo, &h);
	if (r < 0)
		return r;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if ((r = hasher_update(h, buf, (size_t)n)) < 0)
			break;
	if (n < 0)
		r = -errno;
	if (r >= 0)
		r = hasher_final(h, ret);
	hasher_free(h);
	return r;
}
