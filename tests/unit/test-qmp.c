/* test-qmp.c - unit tests of the QMP client against a fake peer on a socketpair */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "qmp.h"

#define SEC 1000000ULL

/* The fake QEMU: a script of lines to send, each after reading one request (or at once). */
struct peer {
	int fd;
	const char *const *script; /* "<" = read one request line; anything else is sent */
	char requests[8][512];
	int n_requests;
};

/* Read one line from @fd into @buf. */
static void read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
}

static void *peer_run(void *arg)
{
	struct peer *p = arg;

	for (const char *const *s = p->script; *s; s++) {
		if (strcmp(*s, "<") == 0)
			read_line(p->fd, p->requests[p->n_requests++], sizeof(p->requests[0]));
		else if (write(p->fd, *s, strlen(*s)) < 0)
			break;
	}
	return NULL;
}

static char events_seen[256];

/* Record event names in events_seen. */
static void on_event(const char *event, json_object *data, void *userdata)
{
	strcat(events_seen, event);
	strcat(events_seen, ";");
}

/* Start a client and a peer thread running @script. */
static struct qmp *start(struct peer *p, const char *const *script, pthread_t *t)
{
	int sv[2];
	struct qmp *q;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*p = (struct peer){ .fd = sv[1], .script = script };
	assert_int_equal(qmp_new(sv[0], on_event, NULL, &q), 0);
	events_seen[0] = '\0';
	assert_int_equal(pthread_create(t, NULL, peer_run, p), 0);
	return q;
}

/* Greeting, capabilities, then a command whose reply comes after two events. */
static void test_handshake_and_events_between(void **state)
{
	static const char *const script[] = {
		"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n",
		"<",
		"{\"return\": {}, \"id\": 1}\r\n",
		"<",
		"{\"event\": \"RESET\", \"data\": {}}\r\n{\"event\": \"POWERDOWN\"}\r\n",
		"{\"return\": {\"running\": true, \"status\": \"running\"}, \"id\": 2}\r\n",
		NULL,
	};
	struct peer p;
	pthread_t t;
	struct qmp *q = start(&p, script, &t);
	json_object *ret = NULL, *running;

	assert_int_equal(qmp_handshake(q, 5 * SEC), 0);
	assert_int_equal(qmp_command(q, "query-status", NULL, 5 * SEC, &ret, NULL, 0), 0);
	assert_true(json_object_object_get_ex(ret, "running", &running));
	assert_true(json_object_get_boolean(running));
	assert_string_equal(events_seen, "RESET;POWERDOWN;");
	pthread_join(t, NULL);
	assert_non_null(strstr(p.requests[0], "\"execute\":\"qmp_capabilities\""));
	assert_non_null(strstr(p.requests[1], "\"id\":2"));
	json_object_put(ret);
	close(p.fd);
	qmp_free(q);
}

/* An error reply gives -EREMOTEIO and QMP's description; a late reply to another id is skipped. */
static void test_error_reply(void **state)
{
	static const char *const script[] = {
		"<",
		"{\"return\": {}, \"id\": 99}\r\n",
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such device\"}, \"id\": 1}\r\n",
		NULL,
	};
	struct peer p;
	pthread_t t;
	struct qmp *q = start(&p, script, &t);
	char err[64] = "";

	assert_int_equal(qmp_command(q, "device_del", NULL, 5 * SEC, NULL, err, sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, "no such device");
	pthread_join(t, NULL);
	close(p.fd);
	qmp_free(q);
}

/* A peer that never answers times out; one that hangs up is -ECONNRESET; a bad greeting -EPROTO. */
static void test_timeout_hangup_bad_greeting(void **state)
{
	static const char *const silent[] = { "<", NULL };
	static const char *const bad[] = { "{\"hello\": 1}\r\n", NULL };
	struct peer p;
	pthread_t t;
	struct qmp *q = start(&p, silent, &t);

	assert_int_equal(qmp_command(q, "quit", NULL, SEC / 5, NULL, NULL, 0), -ETIMEDOUT);
	pthread_join(t, NULL);
	close(p.fd);
	assert_int_equal(qmp_process(q), -ECONNRESET);
	qmp_free(q);

	q = start(&p, bad, &t);
	pthread_join(t, NULL);
	assert_int_equal(qmp_handshake(q, SEC), -EPROTO);
	close(p.fd);
	qmp_free(q);
}

/* Play @script to a new client and let qmp_process() read three times. */
static void process_script(const char *const *script)
{
	struct peer p;
	pthread_t t;
	struct qmp *q = start(&p, script, &t);

	pthread_join(t, NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(qmp_process(q), 0);
	close(p.fd);
	qmp_free(q);
}

/* Events read by qmp_process() reach the callback, also when split across reads. */
static void test_process_split_event(void **state)
{
	static const char *const script[] = { "{\"event\": \"SHUT", "DOWN\", \"data\": {\"guest\": true}}\r\n", NULL };
	process_script(script);
	assert_string_equal(events_seen, "SHUTDOWN;");
}

/* An "event" that is not a string (null, a number, an object) is dropped; the next real one still arrives. */
static void test_event_not_a_string(void **state)
{
	static const char *const script[] = {
		"{\"event\": null}\r\n{\"event\": 7, \"data\": {}}\r\n{\"event\": {}}\r\n{\"event\": \"RESET\"}\r\n",
		NULL,
	};
	process_script(script);
	assert_string_equal(events_seen, "RESET;");
}

/* An event that arrives in the same read as a reply is dispatched when the command returns. */
static void test_event_after_reply_same_read(void **state)
{
	static const char *const script[] = {
		"<",
		"{\"return\": {}, \"id\": 1}\r\n{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}\r\n",
		NULL,
	};
	struct peer p;
	pthread_t t;
	struct qmp *q = start(&p, script, &t);

	assert_int_equal(qmp_command(q, "system_powerdown", NULL, 5 * SEC, NULL, NULL, 0), 0);
	assert_string_equal(events_seen, "SHUTDOWN;");
	pthread_join(t, NULL);
	close(p.fd);
	qmp_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_events_between),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_timeout_hangup_bad_greeting),
		cmocka_unit_test(test_process_split_event),
		cmocka_unit_test(test_event_after_reply_same_read),
		cmocka_unit_test(test_event_not_a_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
