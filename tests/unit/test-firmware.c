/* test-firmware.c - unit tests of QEMU firmware descriptor lookup: search path, override, hiding, features, arch */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware.h"
#include "macro.h"
#include "strv.h"

/* Load the fixture directories @a, @b, @c (NULL ends the list early) into @l. */
static void load(struct firmware_list *l, const char *a, const char *b, const char *c)
{
	const char *names[] = { a, b, c };
	_cleanup_strv_free_ char **dirs = NULL;
	char path[4096];

	for (size_t i = 0; i < ELEMENTSOF(names) && names[i]; i++) {
		snprintf(path, sizeof(path), "%s/tests/unit/firmware/%s", getenv("QVM_SOURCE_ROOT"), names[i]);
		assert_int_equal(strv_push(&dirs, path), 0);
	}
	assert_int_equal(firmware_load(dirs, l), 0);
}

/* The code file chosen for @arch/@machine, or "" when none is. */
static const char *code(const struct firmware_list *l, const char *arch, const char *machine)
{
	const struct firmware_desc *fw = firmware_find_uefi(l, arch, machine);

	return fw ? fw->code : "";
}

/* The general dir alone: Secure Boot, SMM and memory-mapped descriptors are passed over; by name, 45 wins. */
static void test_share_only(void **state)
{
	struct firmware_list l;

	load(&l, "share", NULL, NULL);
	assert_int_equal(l.n, 5); /* 30-broken.json is not JSON and README is not *.json */
	assert_string_equal(l.items[0].name, "20-x86_64-memory.json");
	assert_false(l.items[0].plain_uefi);
	assert_string_equal(l.items[1].name, "40-x86_64-secure.json");
	assert_false(l.items[1].plain_uefi);
	assert_string_equal(code(&l, "x86_64", "pc-q35-7.2"), "/share/OVMF_CODE.old.fd");
	assert_string_equal(firmware_find_uefi(&l, "x86_64", "q35")->vars, "/share/OVMF_VARS.old.fd");
	assert_string_equal(code(&l, "aarch64", "virt"), "/share/AAVMF_CODE.fd");
	firmware_list_free(&l);
}

/* /etc replaces a name from /usr/share, and an empty file there hides it. */
static void test_etc_overrides_and_hides(void **state)
{
	struct firmware_list l;

	load(&l, "share", "etc", NULL);
	assert_int_equal(l.n, 4);
	assert_string_equal(code(&l, "aarch64", "virt-7.2"), "/etc/AAVMF_CODE,x.fd");
	assert_string_equal(code(&l, "x86_64", "q35"), "/share/OVMF_CODE.fd");
	firmware_list_free(&l);
}

/* The user's dir is the most specific; its names sort in among the others. */
static void test_user_most_specific(void **state)
{
	struct firmware_list l;

	load(&l, "share", "etc", "user");
	assert_int_equal(l.n, 5);
	assert_string_equal(l.items[0].name, "10-riscv64-combined.json");
	assert_string_equal(code(&l, "x86_64", "q35"), "/user/OVMF_CODE.fd");
	assert_string_equal(firmware_find_uefi(&l, "x86_64", "q35")->vars, "/user/OVMF_VARS.fd");
	assert_string_equal(code(&l, "aarch64", "virt"), "/etc/AAVMF_CODE,x.fd");
	/* order matters: the other way round, share's files win, and etc's empty file no longer hides 45 */
	firmware_list_free(&l);
	load(&l, "user", "etc", "share");
	assert_string_equal(code(&l, "x86_64", "q35"), "/share/OVMF_CODE.old.fd");
	assert_string_equal(code(&l, "aarch64", "virt"), "/share/AAVMF_CODE.fd");
	firmware_list_free(&l);
}

/* Only a target naming the arch and a machine glob covering the machine (or its alias) matches. */
static void test_arch_and_machine(void **state)
{
	struct firmware_list l;

	load(&l, "share", "etc", "user");
	assert_string_equal(code(&l, "aarch64", "q35"), "");
	assert_string_equal(code(&l, "arm", "virt"), "");
	assert_string_equal(code(&l, "x86_64", "pc"), "");       /* 45 had pc-i440fx-*, and it is hidden */
	assert_string_equal(code(&l, "riscv64", "virt"), "");    /* code and vars in one image */
	firmware_list_free(&l);
	load(&l, "share", NULL, NULL);
	assert_string_equal(code(&l, "x86_64", "pc"), "/share/OVMF_CODE.old.fd");
	assert_string_equal(code(&l, "i386", "q35"), "");
	firmware_list_free(&l);
}

/* A directory that does not exist adds nothing; no directories at all, no descriptors. */
static void test_missing_dirs(void **state)
{
	char *none[] = { "/nonexistent/qvm/firmware", NULL };
	struct firmware_list l;

	assert_int_equal(firmware_load(none, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(firmware_find_uefi(&l, "x86_64", "q35"));
	assert_string_equal(l.dirs[0], none[0]);
	firmware_list_free(&l);
}

/* The spec's three dirs, $XDG_CONFIG_HOME else $HOME/.config; QVM_FIRMWARE_DIR replaces them. */
static void test_search_path(void **state)
{
	_cleanup_strv_free_ char **a = NULL, **b = NULL, **c = NULL, **d = NULL;

	unsetenv("QVM_FIRMWARE_DIR");
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	assert_int_equal(firmware_search_path(&a), 0);
	assert_int_equal(strv_length(a), 3);
	assert_string_equal(a[0], "/usr/share/qemu/firmware");
	assert_string_equal(a[1], "/etc/qemu/firmware");
	assert_string_equal(a[2], "/xdg/qemu/firmware");
	setenv("XDG_CONFIG_HOME", "relative", 1); /* invalid: the default applies */
	setenv("HOME", "/home/u", 1);
	assert_int_equal(firmware_search_path(&b), 0);
	assert_string_equal(b[2], "/home/u/.config/qemu/firmware");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	assert_int_equal(firmware_search_path(&c), 0);
	assert_int_equal(strv_length(c), 2);
	setenv("QVM_FIRMWARE_DIR", "/a::/b", 1);
	assert_int_equal(firmware_search_path(&d), 0);
	unsetenv("QVM_FIRMWARE_DIR");
	assert_int_equal(strv_length(d), 2);
	assert_string_equal(d[0], "/a");
	assert_string_equal(d[1], "/b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_only),
		cmocka_unit_test(test_etc_overrides_and_hides),
		cmocka_unit_test(test_user_most_specific),
		cmocka_unit_test(test_arch_and_machine),
		cmocka_unit_test(test_missing_dirs),
		cmocka_unit_test(test_search_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
