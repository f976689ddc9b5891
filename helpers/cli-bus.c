/* cli-bus.c - talking to systemd over sd-bus for qvm: unit state, jobs, daemon-reload */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

int bus_connect(sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r;

	/*
	 * As root, systemd's private socket works even without a D-Bus daemon (as systemctl
	 * does); an explicit $DBUS_SYSTEM_BUS_ADDRESS wins (tests use it to keep away from systemd).
	 */
	if (geteuid() == 0 && !getenv("DBUS_SYSTEM_BUS_ADDRESS") && access("/run/systemd/private", F_OK) == 0) {
		r = sd_bus_new(&bus);
		if (r < 0)
			return r;
		r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
		if (r >= 0)
			r = sd_bus_start(bus);
		if (r >= 0) {
			*ret = bus;
			return 0;
		}
		sd_bus_unref(bus);
	}
	return sd_bus_open_system(ret);
}

void unit_info_clear(struct unit_info *i)
{
	free(i->active_state);
	free(i->sub_state);
	free(i->status_text);
	free(i->result);
	free(i->load_state);
	*i = (struct unit_info){ 0 };
}

int unit_info_get(sd_bus *bus, const char *unit, struct unit_info *ret, sd_bus_error *err)
{
	sd_bus_message *reply = NULL;
	const char *path;
	struct unit_info i = { 0 };
	int r;

	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", err, &reply, "s", unit);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "o", &path);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, SD_DEST, path, SD_DEST ".Unit", "ActiveState", err,
					       &i.active_state);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, SD_DEST, path, SD_DEST ".Unit", "SubState", err, &i.sub_state);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, SD_DEST, path, SD_DEST ".Unit", "LoadState", err, &i.load_state);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, SD_DEST, path, SD_DEST ".Service", "StatusText", err,
					       &i.status_text);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, SD_DEST, path, SD_DEST ".Service", "Result", err, &i.result);
	sd_bus_message_unref(reply);
	if (r < 0) {
		unit_info_clear(&i);
		return r;
	}
	*ret = i;
	return 0;
}

bool unit_is_running(const struct unit_info *i)
{
	return !streq_ptr(i->active_state, "inactive") && !streq_ptr(i->active_state, "failed");
}

int bus_daemon_reload(sd_bus *bus, sd_bus_error *err)
{
	(void)sd_bus_set_allow_interactive_authorization(bus, true);
	return sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Reload", err, NULL, NULL);
}

/* What bus_run_job() waits for. */
struct job_wait {
	char *job;                /* object path of our job, once known */
	char *result;             /* set when its JobRemoved arrived */
};

/* JobRemoved handler: note the result when it is our job. */
static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct job_wait *w = userdata;
	const char *path, *unit, *result;
	uint32_t id;

	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->job && !w->result && strcmp(path, w->job) == 0)
		w->result = strdup(result);
	return 0;
}

int bus_run_job(sd_bus *bus, const char *method, const char *unit, char **result, sd_bus_error *err)
{
	struct job_wait w = { 0 };
	sd_bus_message *reply = NULL;
	sd_bus_slot *slot = NULL;
	const char *job;
	int r;

	/* Let polkit ask a non-root user for a password, as systemctl does. */
	(void)sd_bus_set_allow_interactive_authorization(bus, true);
	/* Subscribe, so that systemd sends JobRemoved at all; the match is set before the call. */
	r = sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, &w);
	if (r >= 0)
		r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", err, NULL, NULL);
	if (r >= 0)
		r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, err, &reply, "ss", unit,
				       "replace");
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &job);
	if (r >= 0 && !(w.job = strdup(job)))
		r = -ENOMEM;
	/* Signals that arrived while we waited for the reply are queued; process them now. */
	while (r >= 0 && !w.result) {
		r = sd_bus_process(bus, NULL);
		if (r == 0)
			r = sd_bus_wait(bus, UINT64_MAX);
	}
	sd_bus_message_unref(reply);
	sd_bus_slot_unref(slot);
	free(w.job);
	if (r < 0 && r != -EINTR) {
		free(w.result);
		return r;
	}
	if (!w.result)
		return r < 0 ? r : -ENOMEM;
	*result = w.result;
	return 0;
}
