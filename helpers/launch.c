/* launch.c - qvm-launch's work: QEMU as a supervised child, readiness, graceful stop, the console in the journal */
#include "launch.h"
#include "basic.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "bootslot.h"
#include "console.h"
#include "log.h"
#include "paths.h"
#include "qemu_argv.h"
#include "qmp.h"
#include "strv.h"

#define MAX_CONSOLE_CLIENTS 4
#define QMP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define CONSOLE_IDLE_FLUSH_USEC (200 * 1000)
/* ready = ssh: while not ready, a probe every 250 ms, and one on a console line at most every 100 ms
 * (sshd's start is usually announced there); none once ready. Up to MAX_SSH_PROBES in flight: with
 * user-mode networking every connect succeeds at once and a probe stays silent while the guest's
 * network is down (QEMU retries its SYN only every 6-12 s), so a silent probe makes way for a new
 * one after SSH_PROBE_GIVE_UP_USEC, except the oldest one, which a slow sshd answers in the end. */
#define SSH_PROBE_INTERVAL_USEC (250 * 1000)
#define SSH_PROBE_CONSOLE_GAP_USEC (100 * 1000)
#define SSH_PROBE_GIVE_UP_USEC (2 * USEC_PER_SEC)
#define MAX_SSH_PROBES 4
#define READY_TIMER_ACCURACY_USEC (10 * 1000)
#define READY_TICK_USEC (1 * USEC_PER_SEC)
#define EXTEND_INTERVAL_USEC (5 * USEC_PER_SEC)
#define BOOT_SLOT_POLL_USEC (500 * 1000)
#define QUIT_GRACE_USEC (3 * USEC_PER_SEC)
#define QEMU_QMP_FD 3
#define QEMU_MONITOR_FD 4

struct launcher;

/* One ssh banner probe in flight (fd -1: a free slot). */
struct ssh_probe {
	struct launcher *l;
	int fd;
	sd_event_source *source;
	uint64_t started;            /* CLOCK_MONOTONIC usec */
};

/* One attached `qvm console` (or socat) client. */
struct console_client {
	int fd;
	sd_event_source *source;
};

/* Everything the supervisor tracks for one VM. */
struct launcher {
	const struct vm_config *c;
	struct vm_paths paths;
	struct qemu_choice choice;
	char ident[128];             /* SYSLOG_IDENTIFIER of console lines */
	char ssh_host[64];
	int ssh_port;
	bool use_journal;

	sd_event *event;
	pid_t qemu_pid;
	int console_fd;              /* our end of QEMU's stdin/stdout */
	sd_event_source *console_source, *flush_timer, *ready_timer, *stop_timer;
	struct console_filter filter;
	int console_listen_fd;
	struct console_client clients[MAX_CONSOLE_CLIENTS];
	uint64_t dropped_journal, dropped_clients, dropped_reported;

	struct qmp *qmp;
	sd_event_source *qmp_source;

	struct ssh_probe probes[MAX_SSH_PROBES];
	uint64_t last_probe;         /* when the last probe started */

	int boot_slot_fd;            /* the locked boot slot (boot-limit) until ready, or -1 */
	uint64_t ready_deadline;     /* CLOCK_MONOTONIC usec */
	uint64_t last_extend;        /* when EXTEND_TIMEOUT_USEC was last sent */
	bool ready, stopping, guest_shutdown;
	bool installing;             /* booted from [boot] cdrom first: the install boot */
	sd_event_source *eject_source;
	bool failed;                 /* QEMU is being killed because something went wrong */
	int stop_stage;              /* 1 powerdown sent, 2 quit sent, 3 SIGKILL sent */
};

/* Monotonic now, in usec. */
static uint64_t now_usec(struct launcher *l)
{
	uint64_t t = 0;

	sd_event_now(l->event, CLOCK_MONOTONIC, &t);
	return t;
}

/* "tcg" or "kvm". */
static const char *accel_name(const struct launcher *l)
{
	return l->choice.kvm ? "kvm" : "tcg";
}

/* Tell systemd the current state in words. */
static void status(struct launcher *l, const char *fmt, ...) _printf_(2, 3);
static void status(struct launcher *l, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", text);
}

/* The words after "running (tcg)" that say how to reach the guest. */
static void reach_text(const struct launcher *l, char *buf, size_t size)
{
	if (l->ssh_port)
		snprintf(buf, size, ", ssh on %s:%d", l->ssh_host, l->ssh_port);
	else
		buf[0] = '\0';
}

/* Give the boot slot (boot-limit) back: this VM no longer counts as booting. */
static void release_boot_slot(struct launcher *l)
{
	if (l->boot_slot_fd >= 0)
		close(l->boot_slot_fd);
	l->boot_slot_fd = -1;
}

/* gdb-wait: QEMU is paused before the first instruction; ready at once, and say where the stub is. */
static void mark_ready_for_gdb(struct launcher *l)
{
	char where[4096];

	qemu_gdb_address(l->c, &l->paths, where, sizeof(where));
	l->ready = true;
	release_boot_slot(l);
	log_info("paused before the first instruction (gdb-wait = yes): waiting for gdb on %s", where);
	sd_notifyf(0, "READY=1\nSTATUS=waiting for gdb on %s", where);
}

static void probes_close_all(struct launcher *l);
static void probe_next(struct launcher *l);

/* The guest is ready: READY=1 once, with a STATUS= that says how to reach it. */
static void mark_ready(struct launcher *l, const char *why)
{
	char reach[128];

	if (l->ready)
		return;
	l->ready = true;
	l->ready_timer = sd_event_source_disable_unref(l->ready_timer);
	probes_close_all(l);
	reach_text(l, reach, sizeof(reach));
	log_info("guest is ready (%s) after %.1fs", why,
		 (double)(now_usec(l) - (l->ready_deadline - l->c->start_timeout)) / USEC_PER_SEC);
	release_boot_slot(l);   /* after the line above: the log shows the hand-over in order */
	sd_notifyf(0, "READY=1\nSTATUS=running (%s)%s", accel_name(l), reach);
}

/* One clean console line: to the journal (or stdout outside systemd); watch for the cloud-init mark. */
static void console_line(const char *line, void *userdata)
{
	struct launcher *l = userdata;

	if (!l->use_journal)
		printf("%s\n", line);
	else if (journal_send_line(l->ident, l->c->name, LOG_INFO, line) < 0)
		l->dropped_journal += strlen(line) + 1;
	if (l->c->ready == READY_CLOUD_INIT && strstr(line, QVM_CLOUD_INIT_DONE_MARK))
		mark_ready(l, "cloud-init finished");
	if (l->c->ready == READY_SSH && !l->ready && now_usec(l) >= l->last_probe + SSH_PROBE_CONSOLE_GAP_USEC)
		probe_next(l); /* the guest shows progress: sshd may have just started */
}

/* Copy raw console output to every attached client, dropping (and counting) what would block. */
static void console_to_clients(struct launcher *l, const char *buf, size_t n)
{
	for (int i = 0; i < MAX_CONSOLE_CLIENTS; i++) {
		ssize_t w;

		if (l->clients[i].fd < 0)
			continue;
		w = send(l->clients[i].fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < (ssize_t)n)
			l->dropped_clients += n - (size_t)(w > 0 ? w : 0);
	}
}

/* Log dropped console output once in a while, so the loss is visible. */
static void report_drops(struct launcher *l)
{
	uint64_t total = l->dropped_journal + l->dropped_clients;

	if (total == l->dropped_reported)
		return;
	log_warning("console: dropped %llu bytes so far (journal not keeping up: %llu, console clients: %llu)",
		    (unsigned long long)total, (unsigned long long)l->dropped_journal,
		    (unsigned long long)l->dropped_clients);
	l->dropped_reported = total;
}

/* Idle timer: flush a partial line such as a login prompt. */
static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct launcher *l = userdata;

	console_filter_flush(&l->filter);
	report_drops(l);
	return 0;
}

/* Read whatever QEMU wrote to the console; 0 at EOF. */
static ssize_t console_drain_once(struct launcher *l)
{
	char buf[65536];
	ssize_t n = read(l->console_fd, buf, sizeof(buf));

	if (n > 0) {
		console_filter_feed(&l->filter, buf, (size_t)n);
		console_to_clients(l, buf, (size_t)n);
	}
	return n;
}

/* Console output from the guest. */
static int on_console(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct launcher *l = userdata;
	ssize_t n = console_drain_once(l);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		l->console_source = sd_event_source_disable_unref(l->console_source);
		return 0;
	}
	sd_event_source_set_time_relative(l->flush_timer, CONSOLE_IDLE_FLUSH_USEC);
	sd_event_source_set_enabled(l->flush_timer, SD_EVENT_ONESHOT);
	return 0;
}

static void client_close(struct launcher *l, int i)
{
	l->clients[i].source = sd_event_source_disable_unref(l->clients[i].source);
	close(l->clients[i].fd);
	l->clients[i].fd = -1;
}

/* Keystrokes from a console client go to the guest's serial port. */
static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct launcher *l = userdata;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		if (write(l->console_fd, buf, (size_t)n) < n)
			log_warning("console: guest not reading its serial port, dropped input");
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	for (int i = 0; i < MAX_CONSOLE_CLIENTS; i++)
		if (l->clients[i].fd == fd)
			client_close(l, i);
	return 0;
}

/* A new console client. */
static int on_console_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct launcher *l = userdata;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return 0;
	for (int i = 0; i < MAX_CONSOLE_CLIENTS; i++)
		if (l->clients[i].fd < 0) {
			l->clients[i].fd = cfd;
			if (sd_event_add_io(l->event, &l->clients[i].source, cfd, EPOLLIN, on_client, l) < 0)
				client_close(l, i);
			return 0;
		}
	dprintf(cfd, "qvm: too many console clients (%d)\r\n", MAX_CONSOLE_CLIENTS);
	close(cfd);
	return 0;
}

/* Deferred from the RESET event: take the installer CD out, so the reboot comes up from the disk. */
static int on_eject(sd_event_source *s, void *userdata)
{
	struct launcher *l = userdata;
	char err[256] = "";
	json_object *args = json_object_new_object();

	l->eject_source = sd_event_source_disable_unref(l->eject_source);
	json_object_object_add(args, "device", json_object_new_string("cdrom0"));
	json_object_object_add(args, "force", json_object_new_boolean(1));
	if (qmp_command(l->qmp, "eject", args, QMP_TIMEOUT_USEC, NULL, err, sizeof(err)) < 0)
		log_warning("cannot eject the installer CD: %s", err);
	json_object_put(args);
	return 0;
}

/* The guest rebooted or powered off by itself after booting the CD: the install is over, the disk boots from now on. */
static void end_install(struct launcher *l, bool reboot)
{
	int fd;

	if (!l->installing || l->stopping) /* a stop during the install is no end of it */
		return;
	l->installing = false;
	fd = open(l->paths.installed, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		log_warning("cannot record the end of the install in %s: %m", l->paths.installed);
	else
		close(fd);
	log_info("install boot over: the guest %s after booting %s; it boots from its disk from now on (qvm reset reinstalls)",
		 reboot ? "rebooted" : "powered off", l->c->boot_cdrom);
	if (reboot && !l->eject_source)
		sd_event_add_defer(l->event, &l->eject_source, on_eject, l);
}

/* QMP events: log what matters to an administrator. */
static void on_qmp_event(const char *event, json_object *data, void *userdata)
{
	struct launcher *l = userdata;
	json_object *v;

	if (strcmp(event, "SHUTDOWN") == 0) {
		bool guest = json_object_object_get_ex(data, "guest", &v) && json_object_get_boolean(v);

		l->guest_shutdown = guest;
		if (guest)
			end_install(l, false);
		log_info("guest %s (%s)", guest ? "shut down" : "stopped by the host",
			 json_object_object_get_ex(data, "reason", &v) ? json_object_get_string(v) : "?");
	} else if (strcmp(event, "RESET") == 0) {
		log_info("guest reset (reboot); it stays in this unit");
		end_install(l, true);
	} else if (strcmp(event, "RESUME") == 0 && l->c->qemu_gdb_wait) {
		char reach[128];

		reach_text(l, reach, sizeof(reach));
		log_info("the debugger let the guest run");
		status(l, "running (%s)%s", accel_name(l), reach);
	} else if (strcmp(event, "GUEST_PANICKED") == 0) {
		log_error("guest kernel panicked");
	}
}

/* QMP socket readable: events (or QEMU going away). */
static int on_qmp(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct launcher *l = userdata;

	if (qmp_process(l->qmp) < 0)
		l->qmp_source = sd_event_source_disable_unref(l->qmp_source);
	return 0;
}

/* Run a QMP command, logging a failure. */
static int qmp_run(struct launcher *l, const char *command)
{
	char err[256] = "";
	int r = qmp_command(l->qmp, command, NULL, QMP_TIMEOUT_USEC, NULL, err, sizeof(err));

	if (r < 0)
		log_warning("QMP %s failed: %s", command, r == -EREMOTEIO ? err : strerror(-r));
	return r;
}

/* Stop timer: the next, harder step of the shutdown sequence. */
static int on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct launcher *l = userdata;

	if (l->stop_stage == 1) {
		log_warning("guest did not power off within %llus of the ACPI power button; quitting QEMU",
			    (unsigned long long)(l->c->shutdown_timeout / USEC_PER_SEC));
		status(l, "stopping: guest ignored ACPI, quitting QEMU");
		l->stop_stage = 2;
		qmp_run(l, "quit");
		sd_event_source_set_time_relative(s, QUIT_GRACE_USEC);
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	} else if (l->stop_stage == 2) {
		log_warning("QEMU did not quit within %llus; killing it", (unsigned long long)(QUIT_GRACE_USEC / USEC_PER_SEC));
		l->stop_stage = 3;
		kill(l->qemu_pid, SIGKILL);
	}
	return 0;
}

static int connect_qmp(struct launcher *l);

/* Drop a dead QMP connection and connect again. */
static int reconnect_qmp(struct launcher *l)
{
	int r;

	log_info("QMP connection lost; connecting again");
	l->qmp_source = sd_event_source_disable_unref(l->qmp_source);
	l->qmp = qmp_free(l->qmp);
	r = connect_qmp(l);
	if (r < 0) {
		l->qmp = qmp_free(l->qmp);
		return r;
	}
	return sd_event_add_io(l->event, &l->qmp_source, qmp_fd(l->qmp), EPOLLIN, on_qmp, l);
}

/* Begin the graceful stop: STOPPING=1, ACPI power button, and a timer for what follows. */
static void begin_stop(struct launcher *l, const char *why)
{
	if (l->stopping)
		return;
	l->stopping = true;
	l->stop_stage = 1;
	sd_notify(0, "STOPPING=1");
	status(l, "stopping: ACPI power button pressed, waiting up to %llus",
	       (unsigned long long)(l->c->shutdown_timeout / USEC_PER_SEC));
	log_info("SIG%s: pressing the ACPI power button (system_powerdown), waiting up to %llus", why,
		 (unsigned long long)(l->c->shutdown_timeout / USEC_PER_SEC));
	if (!l->qmp || qmp_run(l, "system_powerdown") < 0) {
		/* QMP hung up (QEMU accepts a new client on its listener): the guest still gets ACPI. */
		if (reconnect_qmp(l) < 0 || qmp_run(l, "system_powerdown") < 0)
			l->stop_stage = 2, kill(l->qemu_pid, SIGTERM);
	}
	sd_event_add_time_relative(l->event, &l->stop_timer, CLOCK_MONOTONIC,
				   l->stop_stage == 1 ? l->c->shutdown_timeout : QUIT_GRACE_USEC, 0,
				   on_stop_timer, l);
}

/* SIGTERM/SIGINT from systemd or a terminal, SIGRTMIN+4 from machinectl poweroff. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct launcher *l = userdata;
	const char *name = sigabbrev_np((int)si->ssi_signo) ?: "RTMIN+4 (machinectl poweroff)";

	if (l->stopping)
		log_info("SIG%s received again; the stop is already under way", name);
	begin_stop(l, name);
	return 0;
}

/* QEMU exited: drain the last console output, say why, and leave the loop with the right status. */
static int on_qemu_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	struct launcher *l = userdata;
	int code = 1;

	while (l->console_source && console_drain_once(l) > 0)
		;
	console_filter_flush(&l->filter);
	for (int i = 0; l->qmp_source && i < 64 && qmp_process(l->qmp) == 0; i++)
		; /* the last events (SHUTDOWN) before QEMU's exit; ends at EOF */
	report_drops(l);
	if (l->failed) {
		log_error("QEMU stopped (%s %d)", si->si_code == CLD_EXITED ? "exit status" : "signal", si->si_status);
	} else if (si->si_code == CLD_EXITED && si->si_status == 0) {
		log_info("QEMU exited: %s", l->stopping ? "VM stopped" : "the guest powered off");
		code = 0;
	} else if (l->stopping && l->stop_stage == 3) {
		log_warning("QEMU killed after the stop timeout");
		code = 0;
	} else if (si->si_code == CLD_EXITED) {
		log_error("QEMU failed with exit status %d (its error is above)", si->si_status);
	} else {
		log_error("QEMU crashed: killed by signal %s", strsignal(si->si_status));
	}
	if (!l->ready && code == 0 && !l->stopping)
		code = 1, log_error("the guest powered off before it became ready");
	sd_event_exit(l->event, code);
	return 0;
}

/* Close one ssh probe and free its slot. */
static void probe_close(struct ssh_probe *p)
{
	p->source = sd_event_source_disable_unref(p->source);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* Close every ssh probe in flight. */
static void probes_close_all(struct launcher *l)
{
	for (int i = 0; i < MAX_SSH_PROBES; i++)
		probe_close(&l->probes[i]);
}

/* A probe was refused: the way to the guest works, so the silent probes started before it
 * wait for a SYN that was lost (QEMU's retry is seconds away); close them, and it. */
static void probe_refused(struct ssh_probe *p)
{
	struct launcher *l = p->l;

	for (int i = 0; i < MAX_SSH_PROBES; i++)
		if (l->probes[i].fd >= 0 && l->probes[i].started < p->started)
			probe_close(&l->probes[i]);
	probe_close(p);
}

/* An ssh probe's socket is writable (connected or failed) or readable (the banner, or EOF). */
static int on_probe(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ssh_probe *p = userdata;
	char banner[64];
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	if (revents & EPOLLIN) {
		n = recv(fd, banner, sizeof(banner) - 1, MSG_DONTWAIT);
		if (n >= 4 && memcmp(banner, "SSH-", 4) == 0) {
			mark_ready(p->l, "ssh answers"); /* closes every probe, this one too */
			return 0;
		}
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			probe_refused(p);
		else
			probe_close(p);  /* not an sshd: try again later */
	} else if (revents & (EPOLLERR | EPOLLHUP) ||
		   getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		probe_refused(p);
	} else {
		sd_event_source_set_io_events(s, EPOLLIN); /* connected: wait for the banner */
	}
	return 0;
}

/* Start a non-blocking connect to the guest's ssh endpoint in the free slot @p. */
static void probe_start(struct launcher *l, struct ssh_probe *p)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai;
	char port[16];

	l->last_probe = now_usec(l);
	snprintf(port, sizeof(port), "%d", l->ssh_port);
	if (getaddrinfo(l->ssh_host, port, &hints, &ai) != 0)
		return;
	p->l = l;
	p->started = l->last_probe;
	p->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd >= 0 && connect(p->fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
		probe_close(p);
	freeaddrinfo(ai);
	if (p->fd >= 0 && sd_event_add_io(l->event, &p->source, p->fd, EPOLLOUT, on_probe, p) < 0)
		probe_close(p);
}

/* A free probe slot; or else the slot of the second-oldest probe when it has been silent past the
 * give-up time (the oldest one is kept, however long it takes: a slow sshd still gets its banner
 * through); or NULL. */
static struct ssh_probe *probe_slot(struct launcher *l)
{
	struct ssh_probe *oldest = NULL, *second = NULL;

	for (int i = 0; i < MAX_SSH_PROBES; i++) {
		struct ssh_probe *p = &l->probes[i];

		if (p->fd < 0)
			return p;
		if (!oldest || p->started < oldest->started)
			second = oldest, oldest = p;
		else if (!second || p->started < second->started)
			second = p;
	}
	if (!second || now_usec(l) < second->started + SSH_PROBE_GIVE_UP_USEC)
		return NULL;
	probe_close(second);
	return second;
}

/* ready = ssh, not ready yet: one more probe, if a slot is free or can be freed. */
static void probe_next(struct launcher *l)
{
	struct ssh_probe *p;

	if (l->c->ready != READY_SSH || l->ready || l->failed || l->stopping || !l->ssh_port)
		return;
	p = probe_slot(l);
	if (p)
		probe_start(l, p);
}

/* Until ready: probe ssh, keep systemd's start timeout ahead, give up at start-timeout. */
static int on_ready_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct launcher *l = userdata;
	uint64_t now = now_usec(l);

	if (now >= l->ready_deadline) {
		log_error("the guest did not become ready (ready = %s) within start-timeout (%llus)",
			  ready_mode_to_string(l->c->ready),
			  (unsigned long long)(l->c->start_timeout / USEC_PER_SEC));
		l->ready_timer = sd_event_source_disable_unref(l->ready_timer);
		sd_notify(0, "STATUS=failed: not ready within start-timeout");
		l->failed = true;
		probes_close_all(l);
		kill(l->qemu_pid, SIGKILL);
		return 0;
	}
	/* keep systemd from killing a slow first boot; our own deadline is the real one */
	if (now >= l->last_extend + EXTEND_INTERVAL_USEC) {
		sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu",
			   (unsigned long long)(l->ready_deadline - now + 2 * EXTEND_INTERVAL_USEC));
		l->last_extend = now;
	}
	probe_next(l);
	sd_event_source_set_time_relative(s, l->c->ready == READY_SSH ? SSH_PROBE_INTERVAL_USEC : READY_TICK_USEC);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

/* A listening unix socket at @path (a stale one is replaced), mode @mode. */
static int listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 || listen(fd, 4) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* Copy the UEFI vars template to the VM's own vars file, once. */
static int copy_efivars(const char *template, const char *target)
{
	_cleanup_close_ int in = -1, out = -1;
	char buf[65536];
	ssize_t n;

	if (access(target, F_OK) == 0)
		return 0;
	in = open(template, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return log_error_errno(errno, "cannot read UEFI vars template %s: %m", template);
	out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return log_error_errno(errno, "cannot create %s: %m", target);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return unlink(target), log_error_errno(errno, "cannot write %s: %m", target);
	return n < 0 ? log_error_errno(errno, "cannot read %s: %m", template) : 0;
}

/*
 * The administrator's monitor: a second QMP listener QEMU serves itself, so a
 * client there never sees or steals the launcher's replies and events. Mode
 * 0600 (root, and the VM's own user); with [qemu] monitor-group, 0660 and that
 * group (the generator adds the group to the unit's SupplementaryGroups=, so
 * the launcher may hand the socket to it). Return: the listening fd, or -1.
 */
static int listen_monitor(const struct launcher *l)
{
	_cleanup_close_ int fd = listen_unix(l->paths.monitor_socket, l->c->qemu_monitor_group ? 0660 : 0600);
	struct group *g;

	if (fd < 0) {
		log_warning("no monitor: cannot listen on %s: %s", l->paths.monitor_socket, strerror(-fd));
		return -1;
	}
	if (l->c->qemu_monitor_group) {
		g = getgrnam(l->c->qemu_monitor_group);
		if (!g || chown(l->paths.monitor_socket, (uid_t)-1, g->gr_gid) < 0) {
			log_warning("monitor-group = %s: %s; the monitor is for root only", l->c->qemu_monitor_group,
				    g ? strerror(errno) : "no such group");
			chmod(l->paths.monitor_socket, 0600);
		}
	}
	return TAKE_FD(fd);
}

/* In the child: QEMU's fds in place (stdin/stdout = console, 3 = QMP listener, 4 = monitor), then exec. */
__attribute__((noreturn)) static void exec_qemu(char **argv, int console_fd, int qmp_fd, int monitor_fd, pid_t parent)
{
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1); /* the launcher is already gone */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);   /* the launcher ignores it; QEMU chooses for itself */
	if (dup2(console_fd, STDIN_FILENO) < 0 || dup2(console_fd, STDOUT_FILENO) < 0 ||
	    dup2(qmp_fd, QEMU_QMP_FD) < 0 || (monitor_fd >= 0 && dup2(monitor_fd, QEMU_MONITOR_FD) < 0))
		_exit(1);
	execvp(argv[0], argv);
	fprintf(stderr, "qvm-launch: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Build the argv and fork QEMU with the console socketpair and the QMP listener. */
static int start_qemu(struct launcher *l, struct qemu_host *host)
{
	_cleanup_diag_list_ struct diag_list diags = {};
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_close_ int qmp_listen = -1, qmp_high = -1, child_high = -1, monitor_listen = -1, monitor_high = -1;
	int pair[2], r;
	pid_t parent = getpid();
	char missing[512];

	if (qemu_binary_check(l->c, missing, sizeof(missing)) < 0) {
		log_error("cannot start the VM: %s", missing);
		return -ENOENT;
	}
	qmp_listen = listen_unix(l->paths.qmp_socket, 0600);
	if (qmp_listen < 0)
		return log_error_errno(qmp_listen, "cannot listen on %s: %m", l->paths.qmp_socket);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return log_error_errno(errno, "socketpair: %m");
	l->console_fd = pair[0];
	/* above 10, so the dup2()s in the child cannot clobber one another */
	child_high = fcntl(pair[1], F_DUPFD_CLOEXEC, 10);
	qmp_high = fcntl(qmp_listen, F_DUPFD_CLOEXEC, 10);
	close(pair[1]);
	if (child_high < 0 || qmp_high < 0)
		return log_error_errno(errno, "fcntl: %m");
	host->qmp_listen_fd = QEMU_QMP_FD;
	monitor_listen = listen_monitor(l);
	if (monitor_listen >= 0 && (monitor_high = fcntl(monitor_listen, F_DUPFD_CLOEXEC, 10)) >= 0)
		host->monitor_listen_fd = QEMU_MONITOR_FD;
	r = qemu_argv_build(l->c, &l->paths, host, &argv, &l->choice, &diags);
	log_diags(LOG_ERR, &diags, NULL);
	if (r < 0)
		return r;
	if (l->choice.efivars_template[0] && copy_efivars(l->choice.efivars_template, l->paths.efivars) < 0)
		return -EIO;
	l->qemu_pid = fork();
	if (l->qemu_pid < 0)
		return log_error_errno(errno, "fork: %m");
	if (l->qemu_pid == 0)
		exec_qemu(argv, child_high, qmp_high, monitor_high, parent);
	return 0;
}

/* Connect to QEMU's QMP and negotiate; QEMU accepts once it has initialised. */
static int connect_qmp(struct launcher *l)
{
	int fd = connect_unix(l->paths.qmp_socket), r;

	if (fd < 0)
		return log_error_errno(fd, "cannot connect to QMP at %s: %m", l->paths.qmp_socket);
	r = qmp_new(fd, on_qmp_event, l, &l->qmp);
	if (r < 0)
		return close(fd), r;
	r = qmp_handshake(l->qmp, 60 * USEC_PER_SEC);
	if (r < 0)
		return log_error_errno(r, "QEMU did not answer on QMP: %s", r == -ECONNRESET ? "it exited" : strerror(-r));
	return 0;
}

/* Log how the accelerator was chosen. */
static void log_accel(const struct launcher *l, const struct qemu_host *host)
{
	if (l->choice.kvm)
		log_info("accelerator: kvm");
	else if (l->c->accel == ACCEL_TCG)
		log_info("accelerator: tcg (accel = tcg)");
	else
		log_info("accelerator: tcg (%s)", host->kvm_usable ? "KVM cannot run this arch" : "/dev/kvm is not usable");
}

/* Create the VM's state and runtime dirs when not running under systemd (which makes them). */
static int ensure_dirs(const struct launcher *l)
{
	const char *dirs[] = { l->paths.state_dir, l->paths.runtime_dir };

	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (mkdir_p(dirs[i], 0750) < 0)
			return log_error_errno(errno, "cannot create %s: %m", dirs[i]);
	return 0;
}

/* Wire QMP, console, signals, the child and the timers into the event loop. */
static int setup_loop(struct launcher *l)
{
	int r = 0;

	if (l->qmp)
		r = sd_event_add_io(l->event, &l->qmp_source, qmp_fd(l->qmp), EPOLLIN, on_qmp, l);
	r = r ?: sd_event_add_io(l->event, &l->console_source, l->console_fd, EPOLLIN, on_console, l);
	r = r ?: sd_event_add_time_relative(l->event, &l->flush_timer, CLOCK_MONOTONIC, CONSOLE_IDLE_FLUSH_USEC, 0,
					    on_flush_timer, l);
	r = r ?: sd_event_add_signal(l->event, NULL, SIGTERM, on_signal, l);
	r = r ?: sd_event_add_signal(l->event, NULL, SIGINT, on_signal, l);
	/* machinectl poweroff NAME: SIGRTMIN+4 to the machine's leader, which is us (qvm-machine) */
	r = r ?: sd_event_add_signal(l->event, NULL, SIGRTMIN + 4, on_signal, l);
	r = r ?: sd_event_add_child(l->event, NULL, l->qemu_pid, WEXITED, on_qemu_exit, l);
	if (r >= 0 && l->console_listen_fd >= 0)
		r = sd_event_add_io(l->event, NULL, l->console_listen_fd, EPOLLIN, on_console_accept, l);
	if (r >= 0 && l->c->ready != READY_STARTED && !l->c->qemu_gdb_wait && !l->failed)
		/* accuracy 10 ms: sd-event's default (0) lets a timer slip by up to 250 ms */
		r = sd_event_add_time_relative(l->event, &l->ready_timer, CLOCK_MONOTONIC, 0, READY_TIMER_ACCURACY_USEC,
					       on_ready_timer, l);
	if (r < 0)
		return log_error_errno(r, "event loop: %m");
	fcntl(l->console_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Remove the throwaway overlays (systemd removes the runtime dir anyway; this covers runs by hand). */
static void discard_ephemeral(const struct launcher *l)
{
	char path[4096];

	if (l->c->ephemeral)
		unlink(l->paths.disk);
	for (size_t i = 0; i < l->c->n_disks; i++)
		if (l->c->disks[i].ephemeral && vm_disk_path(&l->paths, &l->c->disks[i], path) == 0)
			unlink(path);
}

/* Announce the boot, and for ready = started, check QEMU runs and say so. */
static void announce_boot(struct launcher *l)
{
	json_object *st = NULL, *running;
	char reach[128];

	reach_text(l, reach, sizeof(reach));
	if (l->c->qemu_gdb_wait) {
		mark_ready_for_gdb(l);
		return;
	}
	if (l->c->ready == READY_STARTED) {
		if (qmp_command(l->qmp, "query-status", NULL, QMP_TIMEOUT_USEC, &st, NULL, 0) >= 0 &&
		    json_object_object_get_ex(st, "running", &running) && json_object_get_boolean(running))
			mark_ready(l, "QEMU is running");
		json_object_put(st);
		return;
	}
	if (l->c->ready == READY_SSH)
		status(l, "booting (%s), waiting for ssh on %s:%d", accel_name(l), l->ssh_host, l->ssh_port);
	else
		status(l, "booting (%s), waiting for cloud-init to finish%s", accel_name(l), reach);
}

/* Monotonic now in usec, without the event loop (it does not exist yet while waiting for a slot). */
static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * boot-limit: wait until fewer than the limit of VMs are booting on this host,
 * then hold a slot until ready. While waiting, keep systemd's start timeout
 * ahead (the VM's own start-timeout begins once it has its slot). A slot
 * directory we cannot use means no limit, with a warning. Return: 0.
 */
static int wait_boot_slot(struct launcher *l)
{
	int limit = l->c->boot_limit > 0 ? (int)l->c->boot_limit : boot_slot_default();
	uint64_t begin = mono_usec(), last_extend = 0;
	char dir[4096];
	int slot = -1, fd;

	if (boot_slot_dir(dir) < 0)
		return 0;
	while ((fd = boot_slot_try(dir, limit, &slot)) == -EAGAIN) {
		uint64_t now = mono_usec();

		if (last_extend == 0) {
			log_info("waiting for a boot slot: %d VMs are booting (boot-limit = %d)", limit, limit);
			sd_notifyf(0, "STATUS=waiting for a boot slot (%d VMs are booting)", limit);
		}
		if (now >= last_extend + EXTEND_INTERVAL_USEC) {
			sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu",
				   (unsigned long long)(l->c->start_timeout + 2 * EXTEND_INTERVAL_USEC));
			last_extend = now;
		}
		usleep(BOOT_SLOT_POLL_USEC);
	}
	if (fd < 0) {
		log_warning("no boot-limit: cannot use the boot slots in %s: %s", dir, strerror(-fd));
		return 0;
	}
	l->boot_slot_fd = fd;
	log_info("boot slot %d of %d taken after %.1fs", slot, limit, (double)(mono_usec() - begin) / USEC_PER_SEC);
	return 0;
}

int launch_vm(const struct vm_config *c)
{
	struct launcher l = { .c = c, .console_fd = -1, .console_listen_fd = -1, .boot_slot_fd = -1 };
	_cleanup_qemu_host_ struct qemu_host host = { 0 };
	sigset_t mask;
	int r;

	for (int i = 0; i < MAX_CONSOLE_CLIENTS; i++)
		l.clients[i].fd = -1;
	for (int i = 0; i < MAX_SSH_PROBES; i++)
		l.probes[i].fd = -1;
	signal(SIGPIPE, SIG_IGN);   /* a peer that hangs up (QMP, a console client) is an error return, not death */
	snprintf(l.ident, sizeof(l.ident), "qvm-console");
	l.use_journal = getenv("JOURNAL_STREAM") != NULL;
	if (!config_ssh_endpoint(c, l.ssh_host, &l.ssh_port))
		l.ssh_port = 0;
	if (vm_paths_get(c, &l.paths) < 0 || ensure_dirs(&l) < 0)
		return 1;
	if (qemu_host_probe(&host) < 0)
		return log_error("out of memory reading the firmware descriptors"), 1;
	host.installed = c->boot_cdrom && access(l.paths.installed, F_OK) == 0;
	l.installing = c->boot_cdrom && !host.installed;
	if (config_has_system_disk(c)) {
		r = vm_disk_format(c, &l.paths, &host.disk_format);
		if (r == -EBADMSG)
			return log_error("%s/disk.format is damaged: write qcow2 or raw into it, or set [image] disk-format",
					 l.paths.state_dir), 1;
		if (r < 0)
			return log_error_errno(r, "cannot learn the format of the VM's disk %s: %s", l.paths.disk,
					       strerror(-r)), 1;
	}
	wait_boot_slot(&l);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGRTMIN + 4);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (sd_event_default(&l.event) < 0)
		return 1;
	l.console_listen_fd = listen_unix(l.paths.console_socket, 0660);
	if (l.console_listen_fd < 0)
		log_warning("no interactive console: cannot listen on %s: %s", l.paths.console_socket,
			    strerror(-l.console_listen_fd));
	console_filter_init(&l.filter, console_line, &l);
	r = start_qemu(&l, &host);
	if (r < 0)
		return 1;
	log_accel(&l, &host);
	status(&l, "starting QEMU (%s)", accel_name(&l));
	l.ready_deadline = now_usec(&l) + c->start_timeout;
	if (connect_qmp(&l) < 0) {
		l.qmp = qmp_free(l.qmp);
		l.failed = true;
		kill(l.qemu_pid, SIGKILL); /* the exit handler reports what QEMU said */
	}
	if (setup_loop(&l) < 0) {
		kill(l.qemu_pid, SIGKILL);
		return 1;
	}
	if (!l.failed)
		announce_boot(&l);
	r = sd_event_loop(l.event);
	probes_close_all(&l);
	l.eject_source = sd_event_source_disable_unref(l.eject_source);
	qmp_free(l.qmp);
	unlink(l.paths.qmp_socket);
	unlink(l.paths.console_socket);
	unlink(l.paths.monitor_socket);
	discard_ephemeral(&l);
	release_boot_slot(&l);
	return r < 0 ? 1 : r;
}
