/* fixture.c - a temporary config dir for the config unit tests, INIs written into it, diagnostics searched */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"

char fixture_dir[] = "/tmp/qvm-test-XXXXXX";

int fixture_setup(void **state)
{
	strcpy(fixture_dir, "/tmp/qvm-test-XXXXXX");
	assert_non_null(mkdtemp(fixture_dir));
	return 0;
}

/* nftw callback: remove one entry. */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

int fixture_teardown(void **state)
{
	return nftw(fixture_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fixture_write(const char *rel, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, rel);
	for (char *p = strchr(path + strlen(fixture_dir) + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

int fixture_load(const char *name, const char *text, struct vm_config **c, struct diag_list *d)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "%s.ini", name);
	fixture_write(rel, text);
	return config_load(fixture_dir, name, c, d);
}

bool has_diag(const struct diag_list *d, unsigned line, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if ((line == 0 || d->items[i].line == line) && strstr(d->items[i].message, needle))
			return true;
	diag_print(d, stderr, "");
	return false;
}
