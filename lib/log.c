/* log.c - logging for the mains: stderr, or /dev/kmsg for the generator */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"

static const char *log_ident = "qvm";
static int kmsg_fd = -1;

void log_setup(const char *ident, int use_kmsg)
{
	log_ident = ident;
	if (use_kmsg && kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

/* Write one record to /dev/kmsg with a single write(): dprintf() writes nothing there,
 * because glibc gives up when lseek() on the device fails with EINVAL. */
static void kmsg_write(int prio, const char *msg)
{
	char line[2200];
	int n = snprintf(line, sizeof(line), "<%d>%s[%d]: %s\n", prio, log_ident, (int)getpid(), msg);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(kmsg_fd, line, n);
}

/*
 * Write @in into @out (of @size) with control characters as \xNN, so that a
 * message quoting a file name or guest output stays one record: an LF would
 * start a new "<N>" line for the journal or kmsg, at a priority of its choosing.
 */
static void escape_controls(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 5 < size; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

int log_msg(int prio, int error, const char *fmt, ...)
{
	char raw[2048], msg[2048];
	va_list ap;
	int saved = errno;

	/* %m names @error, not whatever errno an unrelated call left behind (sd-event and
	 * netlink return errors without setting errno), as systemd's log.c does. */
	if (error)
		errno = error;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape_controls(raw, msg, sizeof(msg));
	if (kmsg_fd >= 0)
		kmsg_write(prio, msg);
	else if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>%s\n", prio, msg);
	else
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	errno = saved;
	return error ? -error : 0;
}

void log_diags(int prio, const struct diag_list *l, const char *suffix)
{
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *s = diag_format(&l->items[i]);

		log_msg(prio, 0, "%s%s", s ? s : l->items[i].message, suffix ? suffix : "");
	}
}
