/* test-config.c - cmocka tests of the config model: value types, diagnostics, drop-ins */
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
#include "strv.h"
#include "values.h"

/* Print diagnostics, to make failures readable. */
static void dump(const struct diag_list *d)
{
	diag_print(d, stderr, "");
}

static void test_bool(void **state)
{
	bool b;
	const char *yes[] = { "yes", "true", "on", "1", "YES", "True" };
	const char *no[] = { "no", "false", "off", "0", "No" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
	assert_int_equal(parse_bool("", &b), -EINVAL);
}

static void test_int(void **state)
{
	int64_t v;

	assert_int_equal(parse_int("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_int("-3", &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(parse_int("4x", &v), -EINVAL);
	assert_int_equal(parse_int(" 4", &v), -EINVAL);
	assert_int_equal(parse_int("99999999999999999999", &v), -ERANGE);
}

static void test_size(void **state)
{
	uint64_t v;

	assert_int_equal(parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(parse_size("1536MiB", &v), 0);
	assert_int_equal(v, 1536ULL << 20);
	assert_int_equal(parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(parse_size("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(parse_size("2X", &v), -EINVAL);
	assert_int_equal(parse_size("G", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999T", &v), -ERANGE);
}

static void test_duration(void **state)
{
	uint64_t v;
	char buf[32];

	assert_int_equal(parse_duration("90s", &v), 0);
	assert_int_equal(v, 90 * USEC_PER_SEC);
	assert_int_equal(parse_duration("90", &v), 0);
	assert_int_equal(v, 90 * USEC_PER_SEC);
	assert_int_equal(parse_duration("5min", &v), 0);
	assert_int_equal(v, 300 * USEC_PER_SEC);
	assert_int_equal(parse_duration("1h 30min", &v), 0);
	assert_int_equal(v, 5400 * USEC_PER_SEC);
	assert_int_equal(parse_duration("500ms", &v), 0);
	assert_int_equal(v, 500000);
	assert_int_equal(parse_duration("infinity", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_duration("5 parsecs", &v), -EINVAL);
	assert_int_equal(parse_duration("", &v), -EINVAL);
	assert_string_equal(format_duration(buf, sizeof(buf), 105 * USEC_PER_SEC), "1min 45s");
	assert_string_equal(format_duration(buf, sizeof(buf), 5400 * USEC_PER_SEC), "1h 30min");
	assert_string_equal(format_duration(buf, sizeof(buf), 1500000), "1s 500ms");
}

static void test_defaults(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("plain", BOOTABLE, &c, &d), 0);
	assert_string_equal(c->name, "plain");
	assert_int_equal(c->cpus, 2);
	assert_true(c->memory == 1ULL << 30);
	assert_int_equal(c->accel, ACCEL_AUTO);
	assert_int_equal(c->net_mode, NET_USER);
	assert_true(c->shutdown_timeout == 90 * USEC_PER_SEC);
	assert_int_equal(c->ready, READY_STARTED);
	assert_false(c->autostart);
	assert_false(c->has_cloud_init);
	assert_string_equal(c->description, "QEMU virtual machine plain");
	assert_string_equal(c->net_listen, "127.0.0.1");
	assert_non_null(c->arch);
}

static void test_all_types(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	int r = fixture_load("typed",
		     "[vm]\n"
		     "description = a: \"quoted\" box\n"
		     "autostart = on\n"
		     "cpus = 4\n"
		     "memory = 3G\n"
		     "accel = tcg\n"
		     "shutdown-timeout = 2min 5s\n"
		     "after = a, b.target\n"
		     "after = c\n"
		     "[image]\n"
		     "disk = /srv/disk.img\n"
		     "[disk:data]\n"
		     "size = 50G\n"
		     "format = raw\n"
		     "[network]\n"
		     "ssh = 2222\n"
		     "forward = tcp:8080:80, udp:127.0.0.2:53:53\n"
		     "[cloud-init]\n"
		     "packages = git, htop\n"
		     "packages = vim\n",
		     &c, &d);
	dump(&d);
	assert_int_equal(r, 0);
	assert_string_equal(c->description, "a: \"quoted\" box");
	assert_true(c->autostart);
	assert_int_equal(c->cpus, 4);
	assert_true(c->memory == 3ULL << 30);
	assert_int_equal(c->accel, ACCEL_TCG);
	assert_true(c->shutdown_timeout == 125 * USEC_PER_SEC);
	assert_int_equal(strv_length(c->after), 3);
	assert_string_equal(c->after[1], "b.target");
	assert_string_equal(c->image_disk, "/srv/disk.img");
	assert_int_equal(c->n_disks, 1);
	assert_string_equal(c->disks[0].name, "data");
	assert_true(c->disks[0].size == 50ULL << 30);
	assert_int_equal(c->disks[0].format, DISK_RAW);
	assert_int_equal(c->net_ssh, 2222);
	assert_int_equal(c->ready, READY_SSH); /* default follows the ssh endpoint */
	assert_int_equal(strv_length(c->ci_packages), 3);
	assert_true(c->has_cloud_init);
	assert_string_equal(c->ci_hostname, "typed");
}

static void test_unknown_section(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("sec", BOOTABLE "[netwrk]\nmode = user\n[frobnicate]\nx = 1\n", &c, &d), -EINVAL);
	dump(&d);
	assert_true(has_diag(&d, 3, "unknown section [netwrk]; did you mean [network]?"));
	assert_true(has_diag(&d, 5, "unknown section [frobnicate]"));
	/* keys inside a rejected section are not reported again */
	assert_int_equal(d.n, 2);
	assert_null(c);
}

static void test_unknown_key_suggestion(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("key", BOOTABLE "[vm]\nmemroy = 2G\nzzzz = 1\nssh = 22\n", &c, &d), -EINVAL);
	dump(&d);
	assert_true(has_diag(&d, 4, "unknown key 'memroy' in [vm]; did you mean 'memory'?"));
	assert_true(has_diag(&d, 5, "unknown key 'zzzz' in [vm]"));
	assert_true(has_diag(&d, 6, "it belongs in [network]"));
	assert_int_equal(d.n, 3);
}

static void test_bad_values(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("bad", BOOTABLE
			      "[vm]\n"
			      "autostart = maybe\n"
			      "cpus = many\n"
			      "memory = lots\n"
			      "shutdown-timeout = soon\n"
			      "accel = turbo\n"
			      "cpus = 0\n"
			      "[boot]\n"
			      "cdrom = relative.iso\n",
			      &c, &d), -EINVAL);
	dump(&d);
	assert_true(has_diag(&d, 4, "use yes/no, true/false, on/off or 1/0"));
	assert_true(has_diag(&d, 5, "expected an integer from 1 to 1024"));
	assert_true(has_diag(&d, 6, "optional K, M, G or T suffix"));
	assert_true(has_diag(&d, 7, "90s, 5min"));
	assert_true(has_diag(&d, 8, "expected one of auto, kvm, tcg"));
	assert_true(has_diag(&d, 11, "absolute path"));
}

static void test_memory_hint(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("mem", BOOTABLE "[vm]\nmemory = 2048\n", &c, &d), -EINVAL);
	assert_true(has_diag(&d, 4, "did you mean 2048M?"));
}

static void test_duplicate_scalar(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("dup", BOOTABLE "[vm]\nmemory = 1G\ncpus = 1\nmemory = 2G\n", &c, &d), -EINVAL);
	dump(&d);
	assert_true(has_diag(&d, 6, "memory is already set on line 4"));
	assert_int_equal(d.n, 1);
}

static void test_long_value(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };
	char key[701], text[2048];

	/* A 700-character value (like an RSA key) must arrive whole. */
	memcpy(key, "ssh-rsa ", 8);
	for (int i = 8; i < 690; i++)
		key[i] = (char)('A' + i % 26);
	memcpy(key + 690, " user@host", 10);
	key[700] = '\0';
	snprintf(text, sizeof(text), BOOTABLE "[cloud-init]\nssh-authorized-key = %s\nuser = dev\n", key);
	assert_int_equal(fixture_load("long", text, &c, &d), 0);
	assert_int_equal(strv_length(c->ci_ssh_authorized_keys), 1);
	assert_int_equal(strlen(c->ci_ssh_authorized_keys[0]), 700);
	assert_string_equal(c->ci_ssh_authorized_keys[0], key);
	assert_string_equal(c->ci_user, "dev"); /* the line after the long one still parses */
}

static void test_long_line_unreadable(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };
	char text[1024] = BOOTABLE "[vm]\n";

	/* A long line without a readable key is an error, never truncated silently. */
	memset(text + strlen(text), 'x', 400);
	strcat(text, " = 1\ncpus = 1\n");
	assert_int_equal(fixture_load("longkey", text, &c, &d), -EINVAL);
	dump(&d);
	assert_true(has_diag(&d, 4, "too long"));
	assert_int_equal(d.n, 1);
}

static void test_long_section(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };
	char text[256];

	snprintf(text, sizeof(text), BOOTABLE "[disk:%s]\nsize = 1G\n",
		 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcde"); /* 60 chars with "disk:" */
	assert_int_equal(fixture_load("longsec", text, &c, &d), -EINVAL);
	dump(&d);
	assert_true(has_diag(&d, 3, "is too long (60 characters, at most 49)"));
	assert_int_equal(d.n, 1);
}

static void test_missing_required(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("empty", "[vm]\ncpus = 1\n", &c, &d), -EINVAL);
	dump(&d);
	assert_true(has_diag(&d, 0, "nothing to boot"));
	diag_list_clear(&d);
	assert_int_equal(fixture_load("tap", BOOTABLE "[network]\nmode = tap\n", &c, &d), -EINVAL);
	assert_true(has_diag(&d, 4, "mode = tap needs bridge"));
	diag_list_clear(&d);
	assert_int_equal(fixture_load("remote", "[image]\nsource = https://example.org/a.qcow2\n", &c, &d), -EINVAL);
	assert_true(has_diag(&d, 2, "must be verified"));
}

static void test_syntax_and_all_reported(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("syntax", "cpus = 2\n[vm\n[vm]\njust words\n" BOOTABLE "[vm]\naccel = x\n", &c, &d),
			 -EINVAL);
	dump(&d);
	assert_true(has_diag(&d, 1, "outside any section"));
	assert_true(has_diag(&d, 2, "missing its closing ']'"));
	assert_true(has_diag(&d, 4, "expected 'key = value' or '[section]'"));
	assert_true(has_diag(&d, 8, "expected one of"));
	for (size_t i = 0; i < d.n; i++)
		assert_string_equal(d.items[i].path + strlen(d.items[i].path) - 10, "syntax.ini");
}

static void test_continuation(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("cont", BOOTABLE "[cloud-init]\npackages = git\n  htop, vim\n", &c, &d), 0);
	assert_int_equal(strv_length(c->ci_packages), 3);
	c = config_free(c);
	assert_int_equal(fixture_load("cont2", BOOTABLE "[vm]\ndescription = one\n  two\n", &c, &d), -EINVAL);
	assert_true(has_diag(&d, 5, "indented line continues description"));
}

static void test_dropins(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	fixture_write("drop.ini.d/20-more.conf", "[vm]\nmemory = 4G\n[cloud-init]\npackages = vim\n");
	fixture_write("drop.ini.d/10-first.conf", "[vm]\nmemory = 3G\ncpus = 3\n");
	fixture_write("drop.ini.d/ignored.txt", "[vm]\ncpus = 9\n");
	assert_int_equal(fixture_load("drop", BOOTABLE "[vm]\nmemory = 1G\n[cloud-init]\npackages = git\n", &c, &d), 0);
	dump(&d);
	assert_true(c->memory == 4ULL << 30);   /* 20-more.conf wins: applied last */
	assert_int_equal(c->cpus, 3);
	assert_int_equal(strv_length(c->ci_packages), 2); /* lists append */
	assert_string_equal(c->ci_packages[1], "vim");
}

static void test_dropin_error_location(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	fixture_write("dropbad.ini.d/50-x.conf", "\n[vm]\ncpu = host\ncpux = 1\n");
	assert_int_equal(fixture_load("dropbad", BOOTABLE, &c, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.items[0].path, "dropbad.ini.d/50-x.conf"));
	assert_int_equal(d.items[0].line, 4);
}

static void test_empty_resets(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	fixture_write("reset.ini.d/10.conf", "[vm]\nafter =\nafter = z\ncpus =\n");
	assert_int_equal(fixture_load("reset", BOOTABLE "[vm]\nafter = x, y\ncpus = 4\n", &c, &d), 0);
	assert_int_equal(strv_length(c->after), 1);
	assert_string_equal(c->after[0], "z");
}

static void test_names(void **state)
{
	char long_name[80];
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_true(vm_name_valid("debian"));
	assert_true(vm_name_valid("web-1.prod_x"));
	assert_false(vm_name_valid("-x"));
	assert_false(vm_name_valid("a b"));
	assert_false(vm_name_valid("a@b"));
	assert_false(vm_name_valid("ümlaut"));
	assert_false(vm_name_valid(""));
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_false(vm_name_valid(long_name));
	long_name[64] = '\0';
	assert_true(vm_name_valid(long_name));

	fixture_write("bad name.ini", BOOTABLE);
	assert_int_equal(config_load_file("/nonexistent/bad name.ini", &c, &d), -EINVAL);
	assert_true(has_diag(&d, 0, "invalid VM name 'bad name'"));
}

static void test_forward_parse(void **state)
{
	struct forward f;

	assert_int_equal(forward_parse("8080:80", &f), 0);
	assert_int_equal(f.proto, FORWARD_TCP);
	assert_int_equal(f.host_port, 8080);
	assert_int_equal(f.guest_port, 80);
	assert_string_equal(f.host_addr, "");
	assert_int_equal(forward_parse("udp:0.0.0.0:5353:53", &f), 0);
	assert_int_equal(f.proto, FORWARD_UDP);
	assert_string_equal(f.host_addr, "0.0.0.0");
	assert_int_equal(forward_parse("tcp:[::1]:2200:22", &f), 0);
	assert_string_equal(f.host_addr, "::1");
	assert_int_equal(forward_parse("8080", &f), -EINVAL);
	assert_int_equal(forward_parse("tcp:host:1:2", &f), -EINVAL);
	assert_int_equal(forward_parse("70000:80", &f), -EINVAL);
}

static void test_unit_names(void **state)
{
	char buf[256];

	assert_string_equal(vm_unit_name("router", buf), "qvm@router.service");
	assert_string_equal(vm_unit_name("web.prod", buf), "qvm@web.prod.service");
	assert_string_equal(vm_unit_name("network-online.target", buf), "network-online.target");
	assert_string_equal(vm_unit_name("postgresql.service", buf), "postgresql.service");
}

/* "#" after a value is not a comment (ssh key comments may hold one); a bad value says how to comment. */
static void test_hash_after_value(void **state)
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_diag_list_ struct diag_list d = { 0 };

	assert_int_equal(fixture_load("hc", "[vm]\naccel = tcg   # KVM is broken here\nready = started ; fine\n"
				  "[boot]\nkernel = /k\n", &c, &d), -EINVAL);
	assert_true(has_diag(&d, 2, "invalid value 'tcg   # KVM is broken here' for accel"));
	assert_true(has_diag(&d, 2, "after a value use ' ; comment'"));
	assert_false(has_diag(&d, 3, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_unknown_key_suggestion),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_memory_hint),
		cmocka_unit_test(test_duplicate_scalar),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_long_line_unreadable),
		cmocka_unit_test(test_long_section),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_syntax_and_all_reported),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_dropins),
		cmocka_unit_test(test_dropin_error_location),
		cmocka_unit_test(test_empty_resets),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_forward_parse),
		cmocka_unit_test(test_unit_names),
		cmocka_unit_test(test_hash_after_value),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
