/* test-share.c - cmocka tests of [share:NAME]: parsing, diagnostics, escaping for virtiofsd and QEMU, descriptors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "fixture.h"
#include "qemu_argv.h"
#include "share.h"
#include "strv.h"

static void test_defaults(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = {};

	assert_int_equal(fixture_load("ok", BOOTABLE "[share:src]\npath = /srv/src\n[share:ro]\npath = /srv/ro\n"
				    "readonly = yes\nmode = 9p\nmount = /opt/ro\nguest-uid = 1001\n", &c, &d), 0);
	assert_int_equal(c->n_shares, 2);
	assert_string_equal(c->shares[0].name, "src");
	assert_string_equal(c->shares[0].mount, "/mnt/src");
	assert_false(c->shares[0].readonly);
	assert_int_equal(c->shares[0].mode, SHARE_VIRTIOFS);
	assert_int_equal(c->shares[0].guest_uid, 1000);
	assert_int_equal(c->shares[0].guest_gid, 1000);
	assert_string_equal(c->shares[1].mount, "/opt/ro");
	assert_true(c->shares[1].readonly);
	assert_int_equal(c->shares[1].mode, SHARE_9P);
	assert_int_equal(c->shares[1].guest_uid, 1001);
	assert_true(config_has_share_mode(c, SHARE_9P));
	assert_true(config_has_share_mode(c, SHARE_VIRTIOFS));
}

static void test_diagnostics(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = {};

	assert_int_equal(fixture_load("bad", BOOTABLE
			      "[share:a]\npath = /srv/a\n"                  /* 3 */
			      "[share:b]\npath = /srv/a/b\n"                /* 5: nested */
			      "[share:a]\nreadonly = yes\n"                 /* 7: repeated tag */
			      "[share:c]\npath = /srv/c\x01x\n"             /* 9: control character */
			      "[share:d]\npath = /srv/d\nmount = /mnt/a b\n" /* 11: blank in mount */
			      "[share:this-name-is-longer-than-31-chars]\n"  /* 14 */
			      "[share:e]\nmode = nfs\n",                    /* 15, 16 */
			      &c, &d), -EINVAL);
	assert_true(has_diag(&d, 5, "nested with [share:a]"));
	assert_true(has_diag(&d, 7, "share tag 'a' is repeated"));
	assert_true(has_diag(&d, 10, "control character 0x01"));
	assert_true(has_diag(&d, 11, "without blanks"));
	assert_true(has_diag(&d, 14, "at most 31 characters"));
	assert_true(has_diag(&d, 16, "expected one of virtiofs, 9p"));
	assert_true(has_diag(&d, 15, "[share:e] needs path"));
}

static void test_host_checks(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = {}, host = {};
	char ini[8192];

	mkdir(strcat(strcpy(ini, fixture_dir), "/dir"), 0755);
	fixture_write("file", "x");
	snprintf(ini, sizeof(ini), BOOTABLE "[share:ok]\npath = %s/dir\n[share:gone]\npath = %s/gone\n"
		 "[share:file]\npath = %s/file\n", fixture_dir, fixture_dir, fixture_dir);
	assert_int_equal(fixture_load("host", ini, &c, &d), 0);
	assert_int_equal(config_check_shares_on_host(c, &host), 2);
	assert_true(has_diag(&host, 5, "no such directory"));
	assert_true(has_diag(&host, 7, "is not a directory"));
}

static void test_fuse_escape(void **state)
{
	_cleanup_free_ char *e = fuse_opt_escape("/srv/a,b\\c");
	_cleanup_strv_free_ char **argv = NULL;
	struct share_config s = { .name = "x", .path = "/srv/one,two" };

	assert_string_equal(e, "/srv/a\\,b\\\\c");
	assert_int_equal(virtiofsd_argv(&s, "/usr/lib/qemu/virtiofsd", 3, "namespace", &argv), 0);
	assert_string_equal(argv[0], "/usr/lib/qemu/virtiofsd");
	assert_string_equal(argv[1], "--fd=3");
	assert_string_equal(argv[3], "source=/srv/one\\,two");
	assert_true(strv_contains(argv, "sandbox=namespace"));
}

static void test_sandbox_mode(void **state)
{
	fixture_write("mountinfo-host", "22 1 0:21 / /proc rw - proc proc rw\n"
				     "23 1 0:22 / /sys rw - sysfs sysfs rw\n");
	fixture_write("mountinfo-nspawn", "22 1 0:21 / /proc rw - proc proc rw\n"
				       "30 22 0:21 /sys /proc/sys ro - proc proc rw\n");
	assert_string_equal(share_sandbox_mode(strcat(strcpy((char[4096]){ 0 }, fixture_dir), "/mountinfo-host")),
			    "namespace");
	assert_string_equal(share_sandbox_mode(strcat(strcpy((char[4096]){ 0 }, fixture_dir), "/mountinfo-nspawn")),
			    "chroot");
}

static void test_qemu_escape(void **state)
{
	_cleanup_free_ char *e = qemu_opt_escape("/srv/a,b,,c");

	assert_string_equal(e, "/srv/a,,b,,,,c");
}

static void test_descriptors(void **state)
{
	char dirs[8192], binary[4096];

	snprintf(dirs, sizeof(dirs), "%s/usr:%s/etc", fixture_dir, fixture_dir);
	mkdir(strcat(strcpy(binary, fixture_dir), "/usr"), 0755);
	mkdir(strcat(strcpy(binary, fixture_dir), "/etc"), 0755);
	assert_int_equal(virtiofsd_find(dirs, binary), -ENOENT);
	fixture_write("usr/40-gpu.json", "{\"type\": \"gpu\", \"binary\": \"/usr/bin/gpu\"}");
	fixture_write("usr/50-fs.json", "{\"type\": \"fs\", \"binary\": \"/usr/lib/qemu/virtiofsd\"}");
	fixture_write("usr/60-fs.json", "{\"type\": \"fs\", \"binary\": \"/usr/libexec/virtiofsd\"}");
	assert_int_equal(virtiofsd_find(dirs, binary), 0);
	assert_string_equal(binary, "/usr/lib/qemu/virtiofsd");
	/* /etc hides the same name in /usr/share */
	fixture_write("etc/50-fs.json", "{\"type\": \"fs\", \"binary\": \"/opt/virtiofsd\"}");
	assert_int_equal(virtiofsd_find(dirs, binary), 0);
	assert_string_equal(binary, "/opt/virtiofsd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_diagnostics),
		cmocka_unit_test(test_host_checks),
		cmocka_unit_test(test_fuse_escape),
		cmocka_unit_test(test_qemu_escape),
		cmocka_unit_test(test_sandbox_mode),
		cmocka_unit_test(test_descriptors),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
