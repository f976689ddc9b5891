/* test-qemu-argv.c - unit tests of the QEMU argv helpers: comma escaping, disk format detection, host probe */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qemu_argv.h"
#include "strv.h"

/* Every comma is doubled; nothing else changes. */
static void test_escape(void **state)
{
	static const char *const cases[][2] = {
		{ "", "" },
		{ "/plain/path.qcow2", "/plain/path.qcow2" },
		{ "a,b", "a,,b" },
		{ ",,", ",,,," },
		{ "/srv/x,file=/etc/shadow", "/srv/x,,file=/etc/shadow" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = qemu_opt_escape(cases[i][0]);

		assert_non_null(got);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
}

/* Write @len bytes of @data to a new temp file; return its path (static buffer). */
static const char *temp_file(const void *data, size_t len)
{
	static char path[] = "/tmp/qvm-test-fmt-XXXXXX";
	int fd;

	strcpy(path, "/tmp/qvm-test-fmt-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* A qcow2 header is detected; anything else is raw; a missing file is NULL. */
static void test_disk_format(void **state)
{
	const char *p;

	p = temp_file("QFI\xfb\0\0\0\3", 8);
	assert_string_equal(qemu_disk_format(p), "qcow2");
	unlink(p);
	p = temp_file("\xeb\x63\x90 boot sector", 16);
	assert_string_equal(qemu_disk_format(p), "raw");
	unlink(p);
	p = temp_file("", 0);
	assert_string_equal(qemu_disk_format(p), "raw");
	unlink(p);
	assert_null(qemu_disk_format("/nonexistent/qvm/disk"));
}

/* The probe names a known arch and reads the descriptors of QVM_FIRMWARE_DIR's search path. */
static void test_probe(void **state)
{
	_cleanup_qemu_host_ struct qemu_host h = { 0 };
	char dirs[8192];

	snprintf(dirs, sizeof(dirs), "%s/tests/unit/firmware/share:%s/tests/unit/firmware/etc",
		 getenv("QVM_SOURCE_ROOT"), getenv("QVM_SOURCE_ROOT"));
	setenv("QVM_FIRMWARE_DIR", dirs, 1);
	assert_int_equal(qemu_host_probe(&h), 0);
	unsetenv("QVM_FIRMWARE_DIR");
	assert_int_equal(h.qmp_listen_fd, -1);
	assert_non_null(h.host_arch);
	assert_int_equal(strv_length(h.firmware.dirs), 2);
	/* 20-memory, 40-secure, 50, 60 from share (45 hidden, 30 not JSON); 60 replaced by etc's */
	assert_int_equal(h.firmware.n, 4);
	assert_string_equal(firmware_find_uefi(&h.firmware, "aarch64", "virt")->code, "/etc/AAVMF_CODE,x.fd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_disk_format),
		cmocka_unit_test(test_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
