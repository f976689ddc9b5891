/* console.h - the guest's serial console turned into clean journal lines */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_LINE_MAX 2048
#define CONSOLE_ESCAPE_MAX 256    /* an unterminated escape gives up after this many bytes */

/* Called with one clean line: valid UTF-8, no control characters, no escapes. */
typedef void (*console_line_fn)(const char *line, void *userdata);

/* The filter's state between chunks of console output. */
struct console_filter {
	char line[CONSOLE_LINE_MAX + 4];
	size_t len;
	int esc;                  /* enum esc_state in console.c */
	size_t esc_len;           /* bytes in the current escape sequence */
	unsigned char utf8[4];    /* an incomplete UTF-8 sequence */
	size_t utf8_len, utf8_need;
	console_line_fn emit;
	void *userdata;
};

/** console_filter_init() - an empty filter that hands lines to @emit */
void console_filter_init(struct console_filter *f, console_line_fn emit, void *userdata);

/**
 * console_filter_feed() - take @n bytes of raw console output: CR dropped, ANSI
 * CSI/OSC escapes and other control characters removed (an escape ends at
 * the latest at LF or after CONSOLE_ESCAPE_MAX bytes), invalid UTF-8
 * replaced by U+FFFD, a line emitted at each LF (long lines are split)
 * Return: nothing
 */
void console_filter_feed(struct console_filter *f, const char *data, size_t n);

/**
 * console_filter_flush() - emit a pending partial line (a login prompt, say)
 * Return: true when a line was emitted
 */
bool console_filter_flush(struct console_filter *f);

/**
 * journal_send_line() - send @line to the journal as MESSAGE= with the fields
 * SYSLOG_IDENTIFIER=@ident and QVM_VM=@vm, over a non-blocking socket so a
 * stalled journal never blocks the caller (the guest)
 * Return: 0, -EAGAIN when the journal is not keeping up (the line is dropped),
 * or another negative errno
 */
int journal_send_line(const char *ident, const char *vm, int priority, const char *line);
