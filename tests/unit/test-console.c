/* test-console.c - unit tests of the console filter: lines, CR, escapes, UTF-8, splitting, flushing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "console.h"

static char lines[16][CONSOLE_LINE_MAX + 4];
static int n_lines;

/* Collect emitted lines. */
static void collect(const char *line, void *userdata)
{
	assert_true(n_lines < 16);
	strcpy(lines[n_lines++], line);
}

/* Feed @s into a fresh filter. */
static struct console_filter *feed(const char *s, size_t n)
{
	static struct console_filter f;

	n_lines = 0;
	console_filter_init(&f, collect, NULL);
	console_filter_feed(&f, s, n);
	return &f;
}

/* CR LF ends a line once; CR alone is dropped; tabs become spaces. */
static void test_lines(void **state)
{
	feed("one\r\ntwo\r\r\n\tthree\n", 19);
	assert_int_equal(n_lines, 3);
	assert_string_equal(lines[0], "one");
	assert_string_equal(lines[1], "two");
	assert_string_equal(lines[2], " three");
}

/* CSI colour codes, cursor queries, OSC titles and lone ESCs vanish; text around them stays. */
static void test_escapes(void **state)
{
	const char s[] = "\x1b[0;32m OK \x1b[0m] Started\x1b[6n x\x1b]0;title\x07y\x1b]2;t\x1b\\z\x1b" "c!\n";

	feed(s, sizeof(s) - 1);
	assert_int_equal(n_lines, 1);
	assert_string_equal(lines[0], " OK ] Started xyz!");
}

/* Valid UTF-8 passes (also split across feeds); invalid bytes, overlongs and surrogates become U+FFFD. */
static void test_utf8(void **state)
{
	struct console_filter *f = feed("gr\xc3", 3);

	console_filter_feed(f, "\xbc\xc3\x9f \xe2\x9c\x93\n", 8);
	assert_string_equal(lines[0], "gr\xc3\xbc\xc3\x9f \xe2\x9c\x93");
	feed("a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x9c" "e\n", 14);
	assert_string_equal(lines[0], "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xef\xbf\xbd" "e");
}

/* Control characters cannot reach the journal; a fake "<3>" priority is plain text. */
static void test_controls_and_forgery(void **state)
{
	feed("<3>PRIORITY=0\bX\x07\x7f\x01Y\n", 20);
	assert_string_equal(lines[0], "<3>PRIORITY=0XY");
}

/* A partial line (login prompt) comes out on flush; a very long line is split, never lost. */
static void test_flush_and_long_lines(void **state)
{
	static char big[CONSOLE_LINE_MAX * 2 + 10];
	struct console_filter *f = feed("debian login: ", 14);

	assert_int_equal(n_lines, 0);
	assert_true(console_filter_flush(f));
	assert_string_equal(lines[0], "debian login: ");
	assert_false(console_filter_flush(f));

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 2] = '\n';
	feed(big, sizeof(big) - 1);
	assert_int_equal(n_lines, 3);
	assert_int_equal(strlen(lines[0]) + strlen(lines[1]) + strlen(lines[2]), sizeof(big) - 2);
}

/* An unterminated ESC ] (or CSI) ends at LF, so the lines after it (the ready mark) still arrive; a huge one is cut. */
static void test_unterminated_escape(void **state)
{
	char big[600];
	const char s[] = "before\x1b]0;title never ends\nQVM-READY\n\x1b[12;\nnext\n";

	feed(s, sizeof(s) - 1);
	assert_int_equal(n_lines, 4);
	assert_string_equal(lines[0], "before");
	assert_string_equal(lines[1], "QVM-READY");
	assert_string_equal(lines[2], "");
	assert_string_equal(lines[3], "next");

	memcpy(big, "\x1b]", 2);
	memset(big + 2, 'a', 400);
	memcpy(big + 402, "visible\n", 8);
	feed(big, 410);
	assert_int_equal(n_lines, 1);
	assert_true(strlen(lines[0]) < 400 && strstr(lines[0], "visible"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_controls_and_forgery),
		cmocka_unit_test(test_flush_and_long_lines),
		cmocka_unit_test(test_unterminated_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
