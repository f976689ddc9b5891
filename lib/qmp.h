/* qmp.h - a small client for QEMU's QMP: greeting, capabilities, commands with ids, events in between */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

/* Called for each QMP event, e.g. SHUTDOWN, RESET, POWERDOWN. */
typedef void (*qmp_event_fn)(const char *event, json_object *data, void *userdata);

struct qmp;

/**
 * qmp_new() - a client on the connected stream socket @fd, which it takes over
 * @on_event: called for every event, including those that arrive while a command waits
 * Return: 0 and *@ret, or -ENOMEM
 */
int qmp_new(int fd, qmp_event_fn on_event, void *userdata, struct qmp **ret);

/** qmp_free() - close the socket and free @q. Return: NULL */
struct qmp *qmp_free(struct qmp *q);

/** qmp_fd() - the socket, for an event loop to watch. Return: the fd */
int qmp_fd(const struct qmp *q);

/**
 * qmp_handshake() - read the greeting and negotiate capabilities
 * @timeout_usec: how long to wait for QEMU in all
 * Return: 0, -ETIMEDOUT, -ECONNRESET when QEMU went away, -EPROTO on a bad greeting
 */
int qmp_handshake(struct qmp *q, uint64_t timeout_usec);

/**
 * qmp_command() - run one command and wait for its reply (events are dispatched meanwhile)
 * @args: arguments object or NULL (not consumed)
 * @ret_return: if not NULL, the "return" value (caller puts it)
 * @error: if not NULL, filled with QMP's error description on -EREMOTEIO
 * Return: 0, -EREMOTEIO for a QMP error reply, -ETIMEDOUT, -ECONNRESET, -EPROTO
 */
int qmp_command(struct qmp *q, const char *command, json_object *args, uint64_t timeout_usec,
		json_object **ret_return, char *error, size_t error_size);

/**
 * qmp_process() - read what the socket has now and dispatch the events in it
 * Return: 0, or -ECONNRESET when QEMU closed the connection
 */
int qmp_process(struct qmp *q);

static inline void qmp_freep(struct qmp **q)
{
	qmp_free(*q);
}
#define _cleanup_qmp_free_ __attribute__((cleanup(qmp_freep)))

static inline void json_object_putp(json_object **j)
{
	json_object_put(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_object_putp)))
