/* console.c - the guest's serial console turned into clean journal lines */
#include "console.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"

enum esc_state {
	ESC_NONE,
	ESC_START,                /* after ESC */
	ESC_CSI,                  /* ESC [ ... until a final byte 0x40-0x7e */
	ESC_STRING,               /* ESC ] / P / X / ^ / _ ... until BEL or ESC \ */
	ESC_STRING_ESC,           /* ESC inside a string: a \ ends it */
};

void console_filter_init(struct console_filter *f, console_line_fn emit, void *userdata)
{
	*f = (struct console_filter){ .emit = emit, .userdata = userdata };
}

bool console_filter_flush(struct console_filter *f)
{
	if (f->len == 0)
		return false;
	f->line[f->len] = '\0';
	f->emit(f->line, f->userdata);
	f->len = 0;
	return true;
}

/* Append bytes that are known to be valid UTF-8, splitting overlong lines. */
static void put_bytes(struct console_filter *f, const unsigned char *b, size_t n)
{
	if (f->len + n > CONSOLE_LINE_MAX)
		console_filter_flush(f);
	memcpy(f->line + f->len, b, n);
	f->len += n;
}

/* Drop an unfinished UTF-8 sequence as one U+FFFD. */
static void utf8_abort(struct console_filter *f)
{
	if (f->utf8_need) {
		put_bytes(f, (const unsigned char *)"\xef\xbf\xbd", 3);
		f->utf8_need = f->utf8_len = 0;
	}
}

/* How many bytes a UTF-8 sequence starting with @c has (0: invalid lead byte). */
static size_t utf8_length(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
}

/* Whether a complete sequence is a well-formed scalar value (no overlongs, surrogates, > U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return false;
	if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
		return false;
	return true;
}

/* Feed one printable byte (>= 0x20, not DEL) through UTF-8 validation. */
static void put_text_byte(struct console_filter *f, unsigned char c)
{
	if (f->utf8_need) {
		if ((c & 0xc0) == 0x80) {
			f->utf8[f->utf8_len++] = c;
			if (f->utf8_len == f->utf8_need) {
				if (utf8_valid(f->utf8, f->utf8_len))
					put_bytes(f, f->utf8, f->utf8_len);
				else
					put_bytes(f, (const unsigned char *)"\xef\xbf\xbd", 3);
				f->utf8_need = f->utf8_len = 0;
			}
			return;
		}
		utf8_abort(f);
	}
	switch (utf8_length(c)) {
	case 1:
		put_bytes(f, &c, 1);
		break;
	case 0:
		put_bytes(f, (const unsigned char *)"\xef\xbf\xbd", 3);
		break;
	default:
		f->utf8[0] = c;
		f->utf8_len = 1;
		f->utf8_need = utf8_length(c);
	}
}

/*
 * Advance the escape-sequence state machine; true when @c was consumed by it.
 * A guest that never terminates an ESC ] string must not swallow the lines
 * after it (the ready mark among them): an LF always ends a sequence and is
 * kept, and a sequence longer than CONSOLE_ESCAPE_MAX is abandoned.
 */
static bool escape_step(struct console_filter *f, unsigned char c)
{
	if (f->esc != ESC_NONE && (c == '\n' || ++f->esc_len > CONSOLE_ESCAPE_MAX)) {
		f->esc = ESC_NONE;
		if (c != 0x1b)
			return false;   /* the LF, or the byte past the limit, is text again */
	}
	switch (f->esc) {
	case ESC_START:
		f->esc = c == '[' ? ESC_CSI : strchr("]PX^_", c) && c ? ESC_STRING : ESC_NONE;
		return true;
	case ESC_CSI:
		if (c >= 0x40 && c <= 0x7e)
			f->esc = ESC_NONE;
		return true;
	case ESC_STRING:
		if (c == 0x07)
			f->esc = ESC_NONE;
		else if (c == 0x1b)
			f->esc = ESC_STRING_ESC;
		return true;
	case ESC_STRING_ESC:
		f->esc = c == '\\' ? ESC_NONE : ESC_STRING;
		return true;
	default:
		if (c != 0x1b)
			return false;
		utf8_abort(f);
		f->esc = ESC_START;
		f->esc_len = 0;
		return true;
	}
}

void console_filter_feed(struct console_filter *f, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];

		if (escape_step(f, c))
			continue;
		if (c == '\n') {
			utf8_abort(f);
			f->line[f->len] = '\0';
			f->emit(f->line, f->userdata);
			f->len = 0;
		} else if (c == '\t') {
			utf8_abort(f);
			put_bytes(f, (const unsigned char *)" ", 1);
		} else if (c >= 0x20 && c != 0x7f) {
			put_text_byte(f, c);
		} else {
			utf8_abort(f); /* CR, BEL, backspace and other controls are dropped */
		}
	}
}

/* The journal's native socket, opened non-blocking on first use. */
static int journal_fd(void)
{
	static int fd = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };

	if (fd >= 0)
		return fd;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		fd = -1;
		return r;
	}
	return fd;
}

int journal_send_line(const char *ident, const char *vm, int priority, const char *line)
{
	char head[256];
	int fd = journal_fd(), n;

	if (fd < 0)
		return fd;
	/* the native protocol: FIELD=value lines; a filtered line holds no newline */
	n = snprintf(head, sizeof(head), "PRIORITY=%d\nSYSLOG_IDENTIFIER=%s\nQVM_VM=%s\nMESSAGE=", priority, ident,
		     vm);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	struct iovec iov[] = {
		{ head, (size_t)n },
		{ (void *)line, strlen(line) },
		{ (void *)"\n", 1 },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = ELEMENTSOF(iov) };

	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}
