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

/* The probe names a known arch and honours QVM_FIRMWARE_DIR. */
static void test_probe(void **state)
{
	struct qemu_host h;

	setenv("QVM_FIRMWARE_DIR", "/tmp/fw", 1);
	assert_int_equal(qemu_host_probe(&h), 0);
	assert_string_equal(h.firmware_dir, "/tmp/fw");
	assert_int_equal(h.qmp_listen_fd, -1);
	assert_non_null(h.host_arch);
	unsetenv("QVM_FIRMWARE_DIR");
	assert_int_equal(qemu_host_probe(&h), 0);
	assert_string_equal(h.firmware_dir, "/usr/share/qemu/firmware");
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
