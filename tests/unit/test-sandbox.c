/* test-sandbox.c - cmocka tests of the binds that show sandbox-hidden files to qvm@.service */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "credential.h"
#include "fixture.h"
#include "sandbox.h"
#include "unitgen.h"

static const struct unitgen_paths paths = { "/usr/libexec/qvm", "/usr/lib/systemd/system", "", "/proxyd" };

/* Load VM "vm" from @text; assert it loads. Return: the config. */
static struct vm_config *load(const char *text)
{
	struct diag_list d = { 0 };
	struct vm_config *c = NULL;

	if (fixture_load("vm", text, &c, &d) < 0)
		diag_print(&d, stderr, "");
	diag_list_clear(&d);
	assert_non_null(c);
	return c;
}

static char *dropin(const char *text)
{
	struct vm_config *c = load(text);
	char *out = NULL;

	assert_int_equal(unitgen_dropin(c, &paths, &out), 0);
	config_free(c);
	return out;
}

static void test_hides(void **state)
{
	assert_true(sandbox_hides("/tmp/x"));
	assert_true(sandbox_hides("/var/tmp"));
	assert_true(sandbox_hides("/home/u/a.qcow2"));
	assert_true(sandbox_hides("/root/.ssh/id.pub"));
	assert_true(sandbox_hides("/run/user/1000/k"));
	assert_false(sandbox_hides("/tmpfoo/x"));
	assert_false(sandbox_hides("/var/lib/qvm/images/a.qcow2"));
	assert_false(sandbox_hides("/srv/k"));
}

/* Every hidden path key gets its bind; visible paths and credential files get none. */
static void test_binds(void **state)
{
	char *d = dropin("[image]\nsource = /home/u/base.qcow2\n"
			 "[boot]\nkernel = /tmp/k\ninitrd = /srv/initrd\ncdrom = /root/install.iso\n"
			 "[disk:data]\nsize = 1G\npath = /var/tmp/disks/data.qcow2\n"
			 "[cloud-init]\nuser-data = /root/user-data\n");

	assert_non_null(strstr(d, "BindReadOnlyPaths=\"-/home/u/base.qcow2\"\n"));
	assert_non_null(strstr(d, "BindReadOnlyPaths=\"-/tmp/k\"\n"));
	assert_non_null(strstr(d, "BindReadOnlyPaths=\"-/root/install.iso\"\n"));
	assert_non_null(strstr(d, "BindPaths=\"-/var/tmp/disks/data.qcow2\"\n"));
	assert_non_null(strstr(d, "ProtectHome=tmpfs\n"));
	assert_null(strstr(d, "/srv/initrd\""));
	assert_null(strstr(d, "Paths=\"-/root/user-data"));
	assert_non_null(strstr(d, "LoadCredential=" CRED_USER_DATA ":/root/user-data\n"));
	free(d);
	d = dropin("[image]\ndisk = /var/tmp/vm.raw\n");
	assert_non_null(strstr(d, "BindPaths=\"-/var/tmp/vm.raw\"\n"));
	assert_null(strstr(d, "ProtectHome="));
	free(d);
	d = dropin("[image]\nsource = file:///var/tmp/b.qcow2\n");
	assert_non_null(strstr(d, "BindReadOnlyPaths=\"-/var/tmp/b.qcow2\"\n"));
	free(d);
	d = dropin("[image]\nsource = /var/lib/qvm/images/b.qcow2\n");
	assert_null(strstr(d, "Bind"));
	free(d);
}

/* Blanks, ':' and commas stay inside the quotes; '"' and '\\' are escaped, '%' doubled. */
static void test_escaping(void **state)
{
	char *d = dropin("[boot]\nkernel = /tmp/a b:c%d\\e\"f'g,h\n");

	assert_non_null(strstr(d, "BindReadOnlyPaths=\"-/tmp/a b:c%%d\\\\e\\\"f'g,h\"\n"));
	free(d);
}

/* A control character in a path is a config error, so it never reaches a unit file. */
static void test_control_character(void **state)
{
	struct diag_list d = { 0 };
	struct vm_config *c = NULL;

	assert_int_equal(fixture_load("cc", "[boot]\nkernel = /tmp/a\x01" "b\n", &c, &d), -EINVAL);
	assert_true(d.n > 0 && strstr(d.items[0].message, "control character") && d.items[0].line == 2);
	diag_list_clear(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hides),
		cmocka_unit_test(test_binds),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_control_character),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
