/* fuzz-qmp.c - libFuzzer: what QEMU's monitor could send, through the QMP client's handshake and event loop */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Events must arrive with a name (a string), never NULL. */
static void on_event(const char *event, json_object *payload, void *userdata)
{
	if (!event)
		abort();
	(*(size_t *)userdata) += strlen(event);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp *q = NULL;
	size_t seen = 0;
	int sv[2];

	if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	/* the whole "monitor output" is queued, then the monitor hangs up */
	if (write(sv[1], data, size) != (ssize_t)size || shutdown(sv[1], SHUT_WR) < 0 ||
	    qmp_new(sv[0], on_event, &seen, &q) < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	if (qmp_handshake(q, 100000) == 0) {
		(void)qmp_command(q, "query-status", NULL, 100000, NULL, NULL, 0);
		for (int i = 0; i < 64 && qmp_process(q) == 0; i++)
			;
	}
	qmp_free(q);
	close(sv[1]);
	return 0;
}
