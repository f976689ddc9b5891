/* test-log.c - unit tests of log_msg(): a message with newlines stays one record; %m names the error passed in */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <errno.h>

#include "log.h"

/* Run log_msg(@prio, "%s", @text) with stderr in a file; the output in @out. */
static void capture(int prio, const char *text, char *out, size_t size)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	log_msg(prio, 0, "%s", text);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, size - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

/* Under systemd ("<N>" prefixes) an LF, CR or other control character cannot start a forged record. */
static void test_newline_cannot_forge_a_record(void **state)
{
	char out[4096];

	setenv("JOURNAL_STREAM", "8:1", 1);
	capture(LOG_INFO, "disk /srv/a\n<0>EMERGENCY forged\rx\x1b[2J", out, sizeof(out));
	assert_string_equal(out, "<6>disk /srv/a\\x0a<0>EMERGENCY forged\\x0dx\\x1b[2J\n");
	unsetenv("JOURNAL_STREAM");
	capture(LOG_ERR, "a\nb", out, sizeof(out));
	assert_string_equal(out, "qvm: a\\x0ab\n");
}

/* log_error_errno(E, "%m") names E even when errno holds another error, returns -E and keeps errno. */
static void test_errno_argument_names_m(void **state)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO), r;
	char out[512];
	size_t n;

	unsetenv("JOURNAL_STREAM");
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	errno = ENOENT;
	r = log_error_errno(-EBADMSG, "netlink: %m");
	assert_int_equal(errno, ENOENT);
	assert_int_equal(r, -EBADMSG);
	r = log_error_errno(EINVAL, "plain %s", "message");
	assert_int_equal(r, -EINVAL);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	assert_non_null(strstr(out, strerror(EBADMSG)));
	assert_null(strstr(out, strerror(ENOENT)));
	assert_non_null(strstr(out, "qvm: plain message\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newline_cannot_forge_a_record),
		cmocka_unit_test(test_errno_argument_names_m),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
