/* test-man-keys.c - the built qvm.ini(5) documents every key of the table once, in its section, and no other; the template holds no key entries of its own */
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

static char *man_text;       /* the page the build wrote */
static char *template_text;  /* man/qvm.ini.5.in */

/* Read the whole file $@root_var/@rel. */
static char *read_all(const char *root_var, const char *rel)
{
	char path[4096];
	char *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", getenv(root_var), rel);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	if (text && fread(text, 1, (size_t)n, f) != (size_t)n)
		free(text), text = NULL;
	fclose(f);
	return text;
}

static int setup(void **state)
{
	man_text = read_all("QVM_BUILD_ROOT", "man/qvm.ini.5");
	template_text = read_all("QVM_SOURCE_ROOT", "man/qvm.ini.5.in");
	return man_text && template_text ? 0 : -1;
}

static int teardown(void **state)
{
	free(man_text);
	free(template_text);
	return 0;
}

/* The text of @text's ".SH "[section]..." block, up to the next .SH (a new string). */
static char *block_of(const char *text, const char *section)
{
	char heading[64];
	const char *start, *end;

	snprintf(heading, sizeof(heading), ".SH \"[%s", section);
	start = strstr(text, heading);
	if (!start)
		return NULL;
	end = strstr(start + 1, "\n.SH ");
	return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* The block of @section in the built page. */
static char *section_block(const char *section)
{
	return block_of(man_text, section);
}

/* Is there exactly one ".TP\n.B @key\n" entry in @block? */
static bool documents(const char *block, const char *key)
{
	char entry[128];
	const char *first;

	snprintf(entry, sizeof(entry), ".TP\n.B %s\n", key);
	first = strstr(block, entry);
	return first && !strstr(first + 1, entry);
}

static void test_every_key_documented(void **state)
{
	size_t n, missing = 0;
	const struct key_def *keys = config_keys(&n);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *block = section_block(keys[i].section);

		if (!block || !documents(block, keys[i].name)) {
			fprintf(stderr, "qvm.ini.5: [%s] %s is not documented exactly once\n", keys[i].section,
				keys[i].name);
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
				fprintf(stderr, "qvm.ini.5: [%s] %s is documented but not in the key table\n",
					sections[s], key);
				stale++;
			}
		}
	}
	assert_int_equal(stale, 0);
}

/* Every row carries its man page text. */
static void test_every_row_has_doc(void **state)
{
	size_t n;
	const struct key_def *keys = config_keys(&n);

	for (size_t i = 0; i < n; i++) {
		if (!keys[i].doc || !*keys[i].doc)
			fprintf(stderr, "lib/config-keys.c: [%s] %s has no .doc\n", keys[i].section, keys[i].name);
		assert_true(keys[i].doc && *keys[i].doc);
	}
}

/* A key is documented in its .doc, never by hand in the template's key sections. */
static void test_template_has_no_key_entries(void **state)
{
	const char *const *sections = config_sections();

	for (size_t s = 0; sections[s]; s++) {
		_cleanup_free_ char *block = block_of(template_text, sections[s]);

		assert_non_null(block);
		if (strstr(block, ".TP\n.B "))
			fprintf(stderr, "man/qvm.ini.5.in: [%s] has a hand-written key entry; "
				"put the text in the key's .doc in lib/config-keys.c\n", sections[s]);
		assert_null(strstr(block, ".TP\n.B "));
		assert_non_null(strstr(block, "@KEYS "));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_documented),
		cmocka_unit_test(test_no_stale_keys),
		cmocka_unit_test(test_every_row_has_doc),
		cmocka_unit_test(test_template_has_no_key_entries),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
