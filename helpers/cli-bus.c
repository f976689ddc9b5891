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

/* qsort/bsearch order of struct unit_state: by name. */
static int unit_state_cmp(const void *a, const void *b)
{
	return strcmp(((const struct unit_state *)a)->name, ((const struct unit_state *)b)->name);
}

void unit_states_free(struct unit_state *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].name);
		free(s[i].active_state);
		free(s[i].path);
	}
	free(s);
}

/* Append one "(ssssssouso)" entry of a ListUnits reply to @s (capacity grown as needed). */
static int unit_state_read(sd_bus_message *reply, struct unit_state **s, size_t *n, size_t *cap)
{
	const char *name, *desc, *load, *active, *sub, *following, *path, *job_type, *job_path;
	uint32_t job_id;
	struct unit_state *grown;
	int r;

	r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load, &active, &sub, &following, &path,
				&job_id, &job_type, &job_path);
	if (r <= 0)
		return r;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		grown = realloc(*s, *cap * sizeof(**s));
		if (!grown)
			return -ENOMEM;
		*s = grown;
	}
	(*s)[*n] = (struct unit_state){ strdup(name), strdup(active), strdup(path) };
	if (!(*s)[*n].name || !(*s)[*n].active_state || !(*s)[*n].path) {
		unit_states_free(&(*s)[*n], 0);
		return -ENOMEM;
	}
	(*n)++;
	return 1;
}

int bus_list_units(sd_bus *bus, const char *pattern, struct unit_state **ret, size_t *ret_n)
{
	sd_bus_message *m = NULL, *reply = NULL;
	struct unit_state *s = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "ListUnitsByPatterns");
	if (r >= 0)
		r = sd_bus_message_append_strv(m, NULL);
	if (r >= 0)
		r = sd_bus_message_append(m, "as", 1, pattern);
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, NULL, &reply);
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
	while (r > 0)
		r = unit_state_read(reply, &s, &n, &cap);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	if (r < 0) {
		unit_states_free(s, n);
		return r;
	}
	if (n)
		qsort(s, n, sizeof(*s), unit_state_cmp);
	*ret = s;
	*ret_n = n;
	return 0;
}

const struct unit_state *unit_state_find(const struct unit_state *s, size_t n, const char *unit)
{
	struct unit_state key = { .name = (char *)unit };

	return n ? bsearch(&key, s, n, sizeof(*s), unit_state_cmp) : NULL;
}

/* One StatusText request in flight: where its answer goes, and the count of those still out. */
struct status_request {
	char **text;
	size_t *left;
};

/* Reply handler of one StatusText Get: store the text (none on an error reply), count it in. */
static int on_status_text(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct status_request *req = userdata;
	const char *t;

	(void)err;
	if (!sd_bus_message_is_method_error(m, NULL) && sd_bus_message_read(m, "v", "s", &t) > 0)
		*req->text = strdup(t);
	(*req->left)--;
	return 0;
}

int bus_get_status_texts(sd_bus *bus, char *const *paths, size_t n, char **texts)
{
	_cleanup_free_ struct status_request *reqs = calloc(n + 1, sizeof(*reqs));
	size_t left = 0;
	int r = reqs ? 0 : -ENOMEM;

	for (size_t i = 0; r >= 0 && i < n; i++) {
		texts[i] = NULL;
		if (!paths[i])
			continue;
		reqs[i] = (struct status_request){ &texts[i], &left };
		/* a floating slot: the bus keeps the request until its reply has been handled */
		r = sd_bus_call_method_async(bus, NULL, SD_DEST, paths[i], "org.freedesktop.DBus.Properties", "Get",
					     on_status_text, &reqs[i], "ss", SD_DEST ".Service", "StatusText");
		left += r >= 0;
	}
	while (left > 0) {
		int p = sd_bus_process(bus, NULL);

		if (p < 0)
			return p;
		if (p == 0 && (p = sd_bus_wait(bus, UINT64_MAX)) < 0 && p != -EINTR)
			return p;
	}
	return r;
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
