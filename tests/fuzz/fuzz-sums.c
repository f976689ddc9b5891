/* fuzz-sums.c - libFuzzer: SHA*SUMS text and checksum specs; a found digest must be well-formed */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A digest the parser returns: a known algorithm and lower-case hex of its length. */
static void check_digest(const struct checksum *c)
{
	size_t n = strlen(c->hex);

	if (!((strcmp(c->algo, "sha256") == 0 && n == 64) || (strcmp(c->algo, "sha512") == 0 && n == 128)))
		abort();
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)c->hex[i]) || isupper((unsigned char)c->hex[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first line of the input is the file name looked up, the rest the SUMS text. */
	char *text = malloc(size + 1), *nl;
	const char *name = "debian-12-genericcloud-amd64.qcow2";
	struct checksum c;
	unsigned bad = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	nl = strchr(text, '\n');
	if (nl && nl - text < 256) {
		*nl = '\0';
		name = text;
	}
	if (checksums_find(nl && name == text ? nl + 1 : text, name, &c, &bad) == 0)
		check_digest(&c);
	if (checksum_parse(text, &c) == 0)
		check_digest(&c);
	free(text);
	return 0;
}
