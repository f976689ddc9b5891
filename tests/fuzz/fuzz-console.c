/* fuzz-console.c - libFuzzer: raw serial console bytes through the journal filter; every line clean */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is @s of @n bytes well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF)? */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3
			: c >= 0xf0 && c < 0xf5 ? 4 : 0;

		if (!len || i + len > n)
			return 0;
		for (unsigned k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		if ((len == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0))) ||
		    (len == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))))
			return 0;
		i += len;
	}
	return 1;
}

/* The oracle: a line for the journal has no control character, is valid UTF-8 and not too long. */
static void check_line(const char *line, void *userdata)
{
	size_t n = strlen(line);

	if (n > CONSOLE_LINE_MAX || !utf8_ok((const unsigned char *)line, n))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			abort();
	if (strcmp(line, "QVM-AFTER") == 0)
		(*(size_t *)userdata)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char mark[] = "\nQVM-AFTER\n";
	struct console_filter f;
	size_t lines = 0, half = size / 2;

	/* fed in two chunks, as reads split it; then a line that must come through whatever came before
	   (an unterminated escape or UTF-8 sequence must not swallow it: the ready mark is such a line) */
	console_filter_init(&f, check_line, &lines);
	console_filter_feed(&f, (const char *)data, half);
	console_filter_feed(&f, (const char *)data + half, size - half);
	console_filter_feed(&f, mark, sizeof(mark) - 1);
	(void)console_filter_flush(&f);
	if (lines == 0)
		abort();
	return 0;
}
