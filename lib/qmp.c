/* qmp.c - a small client for QEMU's QMP: greeting, capabilities, commands with ids, events in between */
#include "qmp.h"
#include "basic.h"

#include <errno.h>
#include <sys/socket.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define QMP_MESSAGE_MAX (1024 * 1024)

struct qmp {
	int fd;
	char *buf;                /* bytes read but not yet parsed */
	size_t len, cap;
	uint64_t next_id;
	qmp_event_fn on_event;
	void *userdata;
};

int qmp_new(int fd, qmp_event_fn on_event, void *userdata, struct qmp **ret)
{
	struct qmp *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	*q = (struct qmp){ .fd = fd, .next_id = 1, .on_event = on_event, .userdata = userdata };
	*ret = q;
	return 0;
}

struct qmp *qmp_free(struct qmp *q)
{
	if (q) {
		if (q->fd >= 0)
			close(q->fd);
		free(q->buf);
		free(q);
	}
	return NULL;
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

/* Microseconds on the monotonic clock. */
static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Read once from the socket into the buffer, waiting until @deadline (0: do not wait). */
static int read_some(struct qmp *q, uint64_t deadline)
{
	struct pollfd p = { .fd = q->fd, .events = POLLIN };
	uint64_t now = now_usec();
	ssize_t n;
	int r;

	r = poll(&p, 1, deadline == 0 ? 0 : deadline > now ? (int)((deadline - now + 999) / 1000) : 0);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
	if (q->cap - q->len < 4096) {
		size_t cap = q->cap ? q->cap * 2 : 8192;
		char *grown;

		if (cap > QMP_MESSAGE_MAX)
			return -EPROTO;
		grown = realloc(q->buf, cap);
		if (!grown)
			return -ENOMEM;
		q->buf = grown;
		q->cap = cap;
	}
	n = read(q->fd, q->buf + q->len, q->cap - q->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	q->len += (size_t)n;
	return 0;
}

/* Take the next complete message (one line of JSON) from the buffer, or NULL. */
static json_object *next_message(struct qmp *q)
{
	char *nl;
	json_object *msg;

	while (q->len > 0 && (nl = memchr(q->buf, '\n', q->len))) {
		size_t line = (size_t)(nl - q->buf) + 1;

		*nl = '\0';
		msg = json_tokener_parse(q->buf);
		memmove(q->buf, nl + 1, q->len - line);
		q->len -= line;
		if (msg)
			return msg;
	}
	return NULL;
}

/* If @msg is an event, hand it to the callback and say so. */
static bool dispatch_event(struct qmp *q, json_object *msg)
{
	json_object *event, *data = NULL;

	if (!json_object_object_get_ex(msg, "event", &event))
		return false;
	if (!json_object_is_type(event, json_type_string))
		return true;    /* {"event": null} or a number: no event a callback can name; dropped */
	json_object_object_get_ex(msg, "data", &data);
	if (q->on_event)
		q->on_event(json_object_get_string(event), data, q->userdata);
	return true;
}

/* Wait for the next message that is not an event (events are dispatched on the way). */
static int wait_message(struct qmp *q, uint64_t deadline, json_object **ret)
{
	json_object *msg;
	int r;

	for (;;) {
		while ((msg = next_message(q))) {
			if (!dispatch_event(q, msg)) {
				*ret = msg;
				return 0;
			}
			json_object_put(msg);
		}
		r = read_some(q, deadline);
		if (r < 0)
			return r;
	}
}

/* Dispatch every complete message already buffered (stray replies to timed-out commands are dropped). */
static void dispatch_buffered(struct qmp *q)
{
	json_object *msg;

	while ((msg = next_message(q))) {
		dispatch_event(q, msg);
		json_object_put(msg);
	}
}

int qmp_process(struct qmp *q)
{
	int r = read_some(q, 0);

	dispatch_buffered(q); /* also what arrived with an earlier reply, and before EOF */
	return r < 0 && r != -EAGAIN ? r : 0;
}

int qmp_command(struct qmp *q, const char *command, json_object *args, uint64_t timeout_usec,
		json_object **ret_return, char *error, size_t error_size)
{
	uint64_t id = q->next_id++, deadline = now_usec() + timeout_usec;
	json_object *req = json_object_new_object(), *msg, *v, *desc;
	const char *text;
	int r;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "execute", json_object_new_string(command));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_int64((int64_t)id));
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	r = write_all(q->fd, text, strlen(text));
	if (r >= 0)
		r = write_all(q->fd, "\n", 1);
	json_object_put(req);
	if (r < 0)
		return r == -EPIPE ? -ECONNRESET : r;
	for (;;) {
		r = wait_message(q, deadline, &msg);
		if (r < 0)
			return r;
		if (json_object_object_get_ex(msg, "id", &v) && (uint64_t)json_object_get_int64(v) == id)
			break;
		json_object_put(msg); /* a late reply to an earlier command */
	}
	if (json_object_object_get_ex(msg, "return", &v)) {
		if (ret_return)
			*ret_return = json_object_get(v);
		r = 0;
	} else if (json_object_object_get_ex(msg, "error", &v)) {
		if (error)
			snprintf(error, error_size, "%s",
				 json_object_object_get_ex(v, "desc", &desc) ? json_object_get_string(desc) : "?");
		r = -EREMOTEIO;
	} else {
		r = -EPROTO;
	}
	json_object_put(msg);
	dispatch_buffered(q); /* events that came in the same read as the reply */
	return r;
}

int qmp_handshake(struct qmp *q, uint64_t timeout_usec)
{
	uint64_t deadline = now_usec() + timeout_usec;
	json_object *greeting;
	bool ok;
	int r;

	r = wait_message(q, deadline, &greeting);
	if (r < 0)
		return r;
	ok = json_object_object_get_ex(greeting, "QMP", NULL);
	json_object_put(greeting);
	if (!ok)
		return -EPROTO;
	return qmp_command(q, "qmp_capabilities", NULL, deadline > now_usec() ? deadline - now_usec() : 0, NULL,
			   NULL, 0);
}
