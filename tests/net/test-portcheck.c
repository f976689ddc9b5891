/* test-portcheck.c - cmocka tests of host port clash detection between VMs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "portcheck.h"

static char tmpdir[] = "/tmp/qvm-test-portcheck-XXXXXX";

/* A forward from its config syntax, host address defaulted to 127.0.0.1 like config_forwards(). */
static struct forward fw(const char *s)
{
	struct forward f;

	assert_int_equal(forward_parse(s, &f), 0);
	if (!f.host_addr[0])
		strcpy(f.host_addr, "127.0.0.1");
	return f;
}

/* Does "a" clash with "b", and is the answer symmetric? */
static bool clash(const char *a, const char *b)
{
	struct forward x = fw(a), y = fw(b);
	bool r = forwards_clash(&x, &y);

	assert_int_equal(r, forwards_clash(&y, &x));
	return r;
}

static void test_clash_rules(void **state)
{
	(void)state;
	assert_true(clash("2222:22", "2222:80"));
	assert_true(clash("tcp:127.0.0.1:2222:22", "2222:22"));
	assert_false(clash("2222:22", "2223:22"));
	assert_false(clash("udp:2222:22", "tcp:2222:22"));
	assert_true(clash("udp:2222:22", "udp:2222:53"));
	assert_false(clash("127.0.0.2:2222:22", "127.0.0.1:2222:22"));
	assert_true(clash("0.0.0.0:2222:22", "127.0.0.2:2222:22"));
	assert_true(clash("[::]:2222:22", "127.0.0.1:2222:22"));
	assert_false(clash("0.0.0.0:2222:22", "[::1]:2222:22"));
	assert_true(clash("[::1]:2222:22", "[0::1]:2222:22"));
}

/* Write @text as tmpdir/@name.ini and load it. */
static struct vm_config *vm(const char *name, const char *text)
{
	struct diag_list d = { 0 };
	struct vm_config *c = NULL;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.ini", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[boot]\nkernel = /vmlinuz\n[network]\n%s", text);
	fclose(f);
	assert_int_equal(config_load(tmpdir, name, &c, &d), 0);
	diag_list_clear(&d);
	unlink(path);
	return c;
}

static void test_find_clashes(void **state)
{
	struct vm_config *vms[] = {
		vm("a", "ssh = 2222\n"),
		NULL, /* a VM that failed to load */
		vm("b", "ssh = 2223\nforward = 2222:80\n"),
		vm("c", "mode = none\n"),
		vm("d", "forward = udp:2222:53\nforward = 0.0.0.0:2223:22\n"),
	};
	struct diag_list d = { 0 };

	(void)state;
	/* a/b on tcp 127.0.0.1:2222, b/d on tcp 2223 (d's wildcard); udp 2222 is free. */
	assert_int_equal(forwards_find_clashes(vms, 5, &d), 2);
	assert_int_equal(d.n, 4);
	assert_non_null(strstr(d.items[0].path, "/a.ini"));
	assert_non_null(strstr(d.items[0].message, "tcp 127.0.0.1:2222"));
	assert_non_null(strstr(d.items[0].message, "VM b"));
	assert_non_null(strstr(d.items[1].path, "/b.ini"));
	assert_non_null(strstr(d.items[1].message, "VM a"));
	assert_non_null(strstr(d.items[3].path, "/d.ini"));
	assert_non_null(strstr(d.items[3].message, "tcp 0.0.0.0:2223"));
	diag_list_clear(&d);
	assert_int_equal(forwards_find_clashes(vms, 1, &d), 0);
	assert_int_equal(d.n, 0);
	for (size_t i = 0; i < 5; i++)
		config_free(vms[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clash_rules),
		cmocka_unit_test(test_find_clashes),
	};
	int r;

	if (!mkdtemp(tmpdir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return r;
}
