/* test-man-keys.c - every key in the key table is documented in its section of man/qvm.ini.5, and no other */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "macro.h"

static char *man_text;

/* Read the whole man page. */
static int setup(void **state)
{
	char path[4096];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/man/qvm.ini.5", getenv("QVM_SOURCE_ROOT"));
	f = fopen(path, "r");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	man_text = calloc(1, (size_t)n + 1);
	if (fread(man_text, 1, (size_t)n, f) != (size_t)n)
		return -1;
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	free(man_text);
	return 0;
}

/* The text of the ".SH "[section]..." block, up to the next .SH (a new string). */
static char *section_block(const char *section)
{
	char heading[64];
	const char *start, *end;

	snprintf(heading, sizeof(heading), ".SH \"[%s", section);
	start = strstr(man_text, heading);
	if (!start)
		return NULL;
	end = strstr(start + 1, "\n.SH ");
	return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* Is there a ".TP\n.B @key\n" entry in @block? */
static bool documents(const char *block, const char *key)
{
	char entry[128];

	snprintf(entry, sizeof(entry), ".TP\n.B %s\n", key);
	return strstr(block, entry) != NULL;
}

static void test_every_key_documented(void **state)
{
	size_t n, missing = 0;
	const struct key_def *keys = config_keys(&n);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *block = section_block(keys[i].section);

		if (!block || !documents(block, keys[i].name)) {
			fprintf(stderr, "man/qvm.ini.5: [%s] %s is not documented\n", keys[i].section, keys[i].name);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

static void test_no_stale_keys(void **state)
{
	const char *const *sections = config_sections();
	size_t n, stale = 0;
	const struct key_def *keys = config_keys(&n);

	for (size_t s = 0; sections[s]; s++) {
		_cleanup_free_ char *block = section_block(sections[s]);

		assert_non_null(block);
		for (const char *p = strstr(block, ".TP\n.B "); p; p = strstr(p + 1, ".TP\n.B ")) {
			char key[64];
			bool known = false;

			sscanf(p + 7, "%63s", key);
			for (size_t i = 0; i < n; i++)
				known |= strcmp(keys[i].section, sections[s]) == 0 && strcmp(keys[i].name, key) == 0;
			if (!known) {
				fprintf(stderr, "man/qvm.ini.5: [%s] %s is documented but not in the key table\n",
					sections[s], key);
				stale++;
			}
		}
	}
	assert_int_equal(stale, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_documented),
		cmocka_unit_test(test_no_stale_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
