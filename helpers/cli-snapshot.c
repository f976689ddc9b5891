/* cli-snapshot.c - qvm snapshot NAME create|list|revert|delete [SNAP]: qcow2 internal snapshots, offline or live */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "image.h"
#include "strv.h"
#include "values.h"

#define SNAP_MAX 256
#define JOB_TIMEOUT_USEC (30 * 60 * USEC_PER_SEC)
#define JOB_ID "qvm-snapshot"

/* One snapshot as qvm shows it: the same name on one or more disks. */
struct snap {
	char name[128];
	int64_t date;             /* seconds since the epoch (the newest of its disks) */
	uint64_t vm_state;        /* bytes of RAM state; 0 = disk-only (taken offline) */
	char disks[512];          /* "system,data" */
	size_t n_disks;
};

/* Everything one snapshot command works on. */
struct snap_ctx {
	struct vm_config *c;
	struct vm_disk disks[VM_DISKS_MAX];
	size_t n;                 /* the disks that take part (qvm-made, not ephemeral) */
	struct snap snaps[SNAP_MAX];
	size_t n_snaps;
	struct qmp *q;            /* the monitor, when the VM runs */
	char nodes[VM_DISKS_MAX][64]; /* live: each disk's block node name */
	char job_status[32];      /* live: the last JOB_STATUS_CHANGE of our job */
};

/* Add @disk's snapshots (a qemu-img / QMP "snapshots" array, may be NULL) to the list. */
static void collect(struct snap_ctx *x, const char *disk, json_object *arr)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i), *v;
		const char *name = json_object_object_get_ex(s, "name", &v) ? json_object_get_string(v) : "";
		struct snap *p = NULL;

		for (size_t k = 0; k < x->n_snaps && !p; k++)
			if (strcmp(x->snaps[k].name, name) == 0)
				p = &x->snaps[k];
		if (!p && x->n_snaps == SNAP_MAX)
			continue;
		if (!p) {
			p = &x->snaps[x->n_snaps++];
			*p = (struct snap){ 0 };
			snprintf(p->name, sizeof(p->name), "%s", name);
		}
		if (json_object_object_get_ex(s, "date-sec", &v) && json_object_get_int64(v) > p->date)
			p->date = json_object_get_int64(v);
		if (json_object_object_get_ex(s, "vm-state-size", &v))
			p->vm_state += (uint64_t)json_object_get_int64(v);
		snprintf(p->disks + strlen(p->disks), sizeof(p->disks) - strlen(p->disks), "%s%s", p->n_disks ? "," : "",
			 disk);
		p->n_disks++;
	}
}

/* Read the snapshots of every disk taking part: from the monitor, or with qemu-img info. */
static int load_snapshots(struct snap_ctx *x)
{
	_cleanup_json_ json_object *blocks = NULL;
	char err[1024] = "";
	int r;

	x->n_snaps = 0;
	if (!x->q) {
		for (size_t i = 0; i < x->n; i++) {
			_cleanup_json_ json_object *info = NULL;
			json_object *arr = NULL;

			r = qemu_img_info_json(x->disks[i].path, &info, err, sizeof(err));
			if (r < 0)
				return cli_error("cannot read disk %s: %s", x->disks[i].path, err), r;
			json_object_object_get_ex(info, "snapshots", &arr);
			collect(x, x->disks[i].name, arr);
		}
		return 0;
	}
	r = qmp_command(x->q, "query-block", NULL, 30 * USEC_PER_SEC, &blocks, err, sizeof(err));
	if (r < 0)
		return cli_error("query-block: %s", r == -EREMOTEIO ? err : strerror(-r)), r;
	for (size_t i = 0; i < x->n; i++) {
		x->nodes[i][0] = '\0';
		for (size_t k = 0; k < json_object_array_length(blocks); k++) {
			json_object *b = json_object_array_get_idx(blocks, k), *v, *ins, *img, *arr = NULL;

			if (!json_object_object_get_ex(b, "device", &v) ||
			    strcmp(json_object_get_string(v), x->disks[i].device) != 0 ||
			    !json_object_object_get_ex(b, "inserted", &ins))
				continue;
			if (json_object_object_get_ex(ins, "node-name", &v))
				snprintf(x->nodes[i], sizeof(x->nodes[i]), "%s", json_object_get_string(v));
			if (json_object_object_get_ex(ins, "image", &img))
				json_object_object_get_ex(img, "snapshots", &arr);
			collect(x, x->disks[i].name, arr);
		}
		if (!x->nodes[i][0])
			return cli_error("the running VM has no drive %s (disk %s)", x->disks[i].device, x->disks[i].name),
			       -ENODEV;
	}
	return 0;
}

/* The snapshot named @name, or NULL. */
static struct snap *snap_find(struct snap_ctx *x, const char *name)
{
	for (size_t i = 0; i < x->n_snaps; i++)
		if (strcmp(x->snaps[i].name, name) == 0)
			return &x->snaps[i];
	return NULL;
}

/* qvm snapshot NAME list */
static int snap_list(struct snap_ctx *x)
{
	char date[64], size[32];

	printf("%-24s %-20s %10s  %s\n", "NAME", "DATE", "VM-STATE", "DISKS");
	for (size_t i = 0; i < x->n_snaps; i++) {
		time_t t = (time_t)x->snaps[i].date;
		struct tm tm;

		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		snprintf(size, sizeof(size), "%.1fM", (double)x->snaps[i].vm_state / (1024.0 * 1024.0));
		printf("%-24s %-20s %10s  %s\n", x->snaps[i].name, date, x->snaps[i].vm_state ? size : "-",
		       x->snaps[i].disks);
	}
	return QVM_EXIT_OK;
}

/* Run one qemu-img snapshot @op with @tag on disk @i; print qemu-img's message when @loud. */
static int img_snap(struct snap_ctx *x, size_t i, char op, const char *tag, bool loud)
{
	char err[1024] = "";
	int r = qemu_img_snapshot(x->disks[i].path, op, tag, err, sizeof(err));

	if (r < 0 && loud)
		cli_error("qemu-img snapshot -%c %s %s: %s", op, tag, x->disks[i].path, err);
	return r;
}

/* Offline: @op with @tag on every disk; when one fails, undo with @undo_op on those done (0: no undo). */
static int img_snap_all(struct snap_ctx *x, char op, const char *tag, char undo_op, const char *undo_tag)
{
	for (size_t i = 0; i < x->n; i++) {
		if (img_snap(x, i, op, tag, true) >= 0)
			continue;
		for (size_t k = 0; undo_op && k < i; k++)
			if (img_snap(x, k, undo_op, undo_tag, true) < 0)
				cli_error("could not undo on %s; check it with qemu-img snapshot -l", x->disks[k].path);
		return -EIO;
	}
	return 0;
}

/* Offline revert: save the present state as a temporary snapshot, apply, and on failure go back to it. */
static int img_revert(struct snap_ctx *x, const char *tag)
{
	char undo[64];
	int r;

	snprintf(undo, sizeof(undo), "qvm-undo-%ld", (long)getpid());
	if (img_snap_all(x, 'c', undo, 'd', undo) < 0)
		return -EIO;
	r = img_snap_all(x, 'a', tag, 'a', undo);
	for (size_t i = 0; i < x->n; i++)
		img_snap(x, i, 'd', undo, true);
	return r;
}

/* JOB_STATUS_CHANGE of our job: remember its status. */
static void on_event(const char *event, json_object *data, void *userdata)
{
	struct snap_ctx *x = userdata;
	json_object *id, *status;

	if (strcmp(event, "JOB_STATUS_CHANGE") == 0 && json_object_object_get_ex(data, "id", &id) &&
	    strcmp(json_object_get_string(id), JOB_ID) == 0 && json_object_object_get_ex(data, "status", &status))
		snprintf(x->job_status, sizeof(x->job_status), "%s", json_object_get_string(status));
}

/* Live: start job @command (snapshot-save/-load/-delete) for @tag on every disk, wait, report its error. */
static int run_job(struct snap_ctx *x, const char *command, const char *tag)
{
	_cleanup_json_ json_object *args = json_object_new_object(), *devices = json_object_new_array(), *jobs = NULL;
	char err[1024] = "";
	struct timespec start;
	int r;

	for (size_t i = 0; i < x->n; i++)
		json_object_array_add(devices, json_object_new_string(x->nodes[i]));
	json_object_object_add(args, "job-id", json_object_new_string(JOB_ID));
	json_object_object_add(args, "tag", json_object_new_string(tag));
	if (strcmp(command, "snapshot-delete") != 0)
		json_object_object_add(args, "vmstate", json_object_new_string(x->nodes[0]));
	json_object_object_add(args, "devices", json_object_get(devices));
	x->job_status[0] = '\0';
	r = qmp_command(x->q, command, args, 30 * USEC_PER_SEC, NULL, err, sizeof(err));
	if (r < 0)
		return cli_error("%s: %s", command, r == -EREMOTEIO ? err : strerror(-r)), r;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (strcmp(x->job_status, "concluded") != 0) {
		struct pollfd p = { .fd = qmp_fd(x->q), .events = POLLIN };

		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			return -errno;
		if (qmp_process(x->q) < 0)
			return cli_error("%s: the VM went away", command), -ECONNRESET;
	}
	r = qmp_command(x->q, "query-jobs", NULL, 30 * USEC_PER_SEC, &jobs, NULL, 0);
	for (size_t i = 0; r >= 0 && i < json_object_array_length(jobs); i++) {
		json_object *j = json_object_array_get_idx(jobs, i), *v;

		if (json_object_object_get_ex(j, "id", &v) && strcmp(json_object_get_string(v), JOB_ID) == 0 &&
		    json_object_object_get_ex(j, "error", &v))
			snprintf(err, sizeof(err), "%s", json_object_get_string(v));
	}
	{
		_cleanup_json_ json_object *dismiss = json_object_new_object();

		json_object_object_add(dismiss, "id", json_object_new_string(JOB_ID));
		qmp_command(x->q, "job-dismiss", dismiss, 30 * USEC_PER_SEC, NULL, NULL, 0);
	}
	if (err[0])
		return cli_error("%s %s: %s", command, tag, err), -EIO;
	return 0;
}

/* Live revert leaves the VM running in the snapshot's state (QEMU resumes it; make sure). */
static void resume(struct snap_ctx *x)
{
	_cleanup_json_ json_object *st = NULL;
	json_object *running;

	if (qmp_command(x->q, "query-status", NULL, 30 * USEC_PER_SEC, &st, NULL, 0) >= 0 &&
	    json_object_object_get_ex(st, "running", &running) && !json_object_get_boolean(running))
		qmp_command(x->q, "cont", NULL, 30 * USEC_PER_SEC, NULL, NULL, 0);
}

/* Check @tag is a name qvm accepts for a snapshot. */
static bool tag_valid(const char *tag)
{
	size_t n = strlen(tag);

	if (n == 0 || n >= 120 || strncmp(tag, "qvm-undo-", 9) == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(tag[i] >= 'a' && tag[i] <= 'z') && !(tag[i] >= 'A' && tag[i] <= 'Z') &&
		    !(tag[i] >= '0' && tag[i] <= '9') && !strchr("_.:-", tag[i]))
			return false;
	return tag[0] != '-' && !(tag[0] >= '0' && tag[0] <= '9'); /* a number would be taken for a snapshot id */
}

/* create, revert or delete @tag, live or offline. */
static int snap_change(struct snap_ctx *x, const char *op, const char *tag)
{
	struct snap *s = snap_find(x, tag);
	const char *mode = x->q ? "live" : "offline";

	if (strcmp(op, "create") == 0) {
		if (s)
			return cli_error("snapshot %s of %s already exists (disks %s)", tag, x->c->name, s->disks);
		if (x->q ? run_job(x, "snapshot-save", tag) < 0 : img_snap_all(x, 'c', tag, 'd', tag) < 0)
			return cli_error("snapshot %s not created; the disks are as they were", tag);
		printf("created snapshot %s of %s (%s: %s)\n", tag, x->c->name, mode,
		       x->q ? "disks and RAM state" : "disks");
		return QVM_EXIT_OK;
	}
	if (!s)
		return cli_error("VM %s has no snapshot %s; see qvm snapshot %s list", x->c->name, tag, x->c->name);
	if (s->n_disks != x->n)
		return cli_error("snapshot %s is on disks %s only, not on all of %s's disks; qvm leaves it alone "
				 "(qemu-img snapshot works on single disks)", tag, s->disks, x->c->name);
	if (strcmp(op, "revert") == 0) {
		if (x->q && s->vm_state == 0)
			return cli_error("snapshot %s has no RAM state (it was taken while %s was stopped): reverting to "
					 "it needs the VM stopped; run qvm stop %s first", tag, x->c->name, x->c->name);
		if (x->q ? run_job(x, "snapshot-load", tag) < 0 : img_revert(x, tag) < 0)
			return cli_error("revert to %s failed; the disks are as they were", tag);
		if (x->q)
			resume(x);
		printf("reverted %s to snapshot %s (%s)\n", x->c->name, tag, x->q ? "live; it runs on from there" : "offline");
		return QVM_EXIT_OK;
	}
	if (x->q ? run_job(x, "snapshot-delete", tag) < 0 : img_snap_all(x, 'd', tag, 0, NULL) < 0)
		return QVM_EXIT_FAILURE;
	printf("deleted snapshot %s of %s\n", tag, x->c->name);
	return QVM_EXIT_OK;
}

/* Pick the disks that take part; refuse raw ones. */
static int pick_disks(struct snap_ctx *x)
{
	struct vm_disk all[VM_DISKS_MAX];
	size_t n;

	if (vm_disks_get(x->c, all, &n) < 0)
		return cli_error("paths too long");
	x->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (!all[i].qvm_made || all[i].ephemeral)
			continue;
		if (all[i].raw)
			return cli_error("disk %s of %s is raw (%s); a raw disk cannot hold snapshots: use format = qcow2",
					 all[i].name, x->c->name, all[i].path);
		x->disks[x->n++] = all[i];
	}
	if (x->n == 0)
		return cli_error("VM %s has no disk qvm made that could hold snapshots%s", x->c->name,
				 x->c->ephemeral ? " (it is ephemeral: its disk is thrown away at stop)" : "");
	return QVM_EXIT_OK;
}

static void help(void)
{
	printf("Usage: qvm snapshot NAME create|list|revert|delete [SNAP]\n\n"
	       "qcow2 internal snapshots of all of the VM's qvm-made disks at once (the system\n"
	       "disk and its [disk:NAME] disks; not ephemeral ones).\n"
	       "  Stopped VM: disk-only snapshots with qemu-img, all or nothing.\n"
	       "  Running VM: live, with the RAM state (QMP snapshot-save/snapshot-load); a\n"
	       "  revert resumes the VM in the snapshot's state.\n"
	       "list shows name, date, size of the RAM state ('-': none) and disks.\n\n"
	       "  -h, --help   show this help\n");
}

int cli_snapshot(int argc, char *argv[])
{
	static struct snap_ctx x;
	_cleanup_config_free_ struct vm_config *c = NULL;
	const char *op, *tag;
	int r;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return help(), QVM_EXIT_OK;
	if (argc < 3)
		return cli_usage_error("snapshot", "usage: qvm snapshot NAME create|list|revert|delete [SNAP]");
	op = argv[2];
	tag = argc > 3 ? argv[3] : NULL;
	if (!strv_contains((char *const[]){ "create", "list", "revert", "delete", NULL }, op))
		return cli_usage_error("snapshot", "unknown operation '%s': create, list, revert or delete", op);
	if (strcmp(op, "list") == 0 ? argc != 3 : argc != 4)
		return cli_usage_error("snapshot", strcmp(op, "list") == 0 ? "list takes no SNAP" : "%s needs SNAP", op);
	if (tag && !tag_valid(tag))
		return cli_usage_error("snapshot", "invalid snapshot name '%s': letters, digits, '_', '.', ':' and '-', "
				       "starting with a letter", tag);
	r = cli_load_vm(argv[1], &c);
	if (r != QVM_EXIT_OK)
		return r;
	x = (struct snap_ctx){ .c = c };
	r = pick_disks(&x);
	if (r != QVM_EXIT_OK)
		return r;
	r = cli_monitor_open(c, on_event, &x, &x.q);
	if (r < 0 && r != -ENOENT && r != -ECONNREFUSED)
		return cli_monitor_error(c->name, r);
	r = load_snapshots(&x) < 0 ? QVM_EXIT_FAILURE : strcmp(op, "list") == 0 ? snap_list(&x) : snap_change(&x, op, tag);
	x.q = qmp_free(x.q);
	return r;
}
