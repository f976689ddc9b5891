/* cli-disk.c - qvm disk grow NAME [DISK] SIZE, and the list of a VM's disks that disk and snapshot share */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "image.h"
#include "paths.h"
#include "values.h"

#define GROW_TIMEOUT_USEC (60 * USEC_PER_SEC)

int vm_disks_get(const struct vm_config *c, struct vm_disk disks[static VM_DISKS_MAX], size_t *n)
{
	struct vm_paths paths;

	*n = 0;
	if (vm_paths_get(c, &paths) < 0)
		return -ENAMETOOLONG;
	if (config_has_system_disk(c))
		disks[(*n)++] = (struct vm_disk){
			.name = "system", .device = "disk0", .key = "[image] size", .size = c->image_size,
			.qvm_made = !c->image_disk || c->ephemeral, .ephemeral = c->ephemeral, .raw = false,
		};
	if (*n)
		snprintf(disks[0].path, sizeof(disks[0].path), "%s", paths.disk);
	for (size_t i = 0; i < c->n_disks && *n < VM_DISKS_MAX; i++) {
		struct vm_disk *d = &disks[(*n)++];

		*d = (struct vm_disk){ .name = c->disks[i].name, .size = c->disks[i].size, .qvm_made = true,
				       .ephemeral = c->disks[i].ephemeral,
				       .raw = !c->disks[i].ephemeral && c->disks[i].format == DISK_RAW };
		snprintf(d->device, sizeof(d->device), "data%u", (unsigned)i);
		snprintf(d->key, sizeof(d->key), "[disk:%.60s] size", c->disks[i].name);
		if (vm_disk_path(&paths, &c->disks[i], d->path) < 0)
			return -ENAMETOOLONG;
	}
	if (!c->image_disk || c->ephemeral)
		return 0;
	/* [image] disk = the administrator's own disk: its format decides whether it can hold snapshots */
	{
		char format[32], error[512];
		uint64_t vsize;

		disks[0].raw = qemu_img_info(disks[0].path, format, &vsize, error, sizeof(error)) == 0 &&
			       strcmp(format, "qcow2") != 0;
	}
	return 0;
}

/* The disk named @name ("system" when NULL) among @disks, or NULL. */
static struct vm_disk *disk_find(struct vm_disk *disks, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(disks[i].name, name ?: "system") == 0)
			return &disks[i];
	return NULL;
}

/* Record @size for @d as a drop-in NAME.ini.d/90-qvm-disk-size-DISK.conf, so the config and the disk agree. */
static int record_size(const struct vm_config *c, const struct vm_disk *d, uint64_t size, char path[static 4096])
{
	char dir[4096], tmp[4200], text[32];
	_cleanup_fclose_ FILE *f = NULL;
	bool system = strcmp(d->device, "disk0") == 0;

	snprintf(dir, sizeof(dir), "%s/%s.ini.d", config_dir(), c->name);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (snprintf(path, 4096, "%s/90-qvm-disk-size-%s.conf", dir, d->name) >= 4096 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "# Written by qvm disk grow: the size disk %s was grown to (qvm never shrinks a disk).\n"
		"[%s%s]\nsize = %s\n", d->name, system ? "image" : "disk:", system ? "" : d->name,
		format_size(text, sizeof(text), size));
	if (fflush(f) != 0 || fsync(fileno(f)) < 0 || rename(tmp, path) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return 0;
}

/* The current size of @device from query-block, or negative errno. */
static int live_disk_size(struct qmp *q, const char *device, uint64_t *ret)
{
	_cleanup_json_ json_object *blocks = NULL;
	char err[512];
	int r = qmp_command(q, "query-block", NULL, GROW_TIMEOUT_USEC, &blocks, err, sizeof(err));

	if (r < 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(blocks); i++) {
		json_object *b = json_object_array_get_idx(blocks, i), *v, *inserted, *image;

		if (json_object_object_get_ex(b, "device", &v) && strcmp(json_object_get_string(v), device) == 0 &&
		    json_object_object_get_ex(b, "inserted", &inserted) &&
		    json_object_object_get_ex(inserted, "image", &image) &&
		    json_object_object_get_ex(image, "virtual-size", &v)) {
			*ret = (uint64_t)json_object_get_int64(v);
			return 0;
		}
	}
	return -ENODEV;
}

/* Grow @d of the running VM through block_resize. */
static int grow_live(struct qmp *q, const struct vm_disk *d, uint64_t size)
{
	_cleanup_json_ json_object *args = json_object_new_object();
	char err[512] = "";
	int r;

	json_object_object_add(args, "device", json_object_new_string(d->device));
	json_object_object_add(args, "size", json_object_new_int64((int64_t)size));
	r = qmp_command(q, "block_resize", args, GROW_TIMEOUT_USEC, NULL, err, sizeof(err));
	if (r < 0)
		return cli_error("block_resize %s: %s", d->device, r == -EREMOTEIO ? err : strerror(-r));
	return QVM_EXIT_OK;
}

/* qvm disk grow NAME [DISK] SIZE, with the operands in @argv. */
static int disk_grow(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_qmp_free_ struct qmp *q = NULL;
	struct vm_disk disks[VM_DISKS_MAX], *d;
	char have_text[32], want_text[32], format[32], error[1024] = "", record[4096];
	uint64_t want, have = 0;
	size_t n;
	int r;

	if (argc < 2 || argc > 3)
		return cli_usage_error("disk", "usage: qvm disk grow NAME [DISK] SIZE");
	if (parse_size(argv[argc - 1], &want) < 0 || want == 0)
		return cli_usage_error("disk", "'%s' is not a size (like 20G, 512M)", argv[argc - 1]);
	r = cli_load_vm(argv[0], &c);
	if (r != QVM_EXIT_OK)
		return r;
	if (vm_disks_get(c, disks, &n) < 0)
		return cli_error("paths too long");
	d = disk_find(disks, n, argc == 3 ? argv[1] : NULL);
	if (!d)
		return cli_usage_error("disk", "VM %s has no disk '%s' (its disks: system for the VM's own disk, "
					       "or a [disk:NAME] name)", c->name, argc == 3 ? argv[1] : "system");
	r = cli_monitor_open(c, NULL, NULL, &q);
	if (r == 0)
		r = live_disk_size(q, d->device, &have);
	else if (r == -ENOENT || r == -ECONNREFUSED)
		r = access(d->path, F_OK) == 0 ? qemu_img_info(d->path, format, &have, error, sizeof(error)) : 0;
	else
		return cli_monitor_error(c->name, r);
	if (r < 0)
		return cli_error("cannot read the size of disk %s: %s", d->name, error[0] ? error : strerror(-r));
	format_size(have_text, sizeof(have_text), have);
	format_size(want_text, sizeof(want_text), want);
	if (want < have)
		return cli_error("disk %s is %s; %s is smaller, and qvm never shrinks a disk", d->name, have_text, want_text);
	if (want == have)
		return printf("disk %s of %s is already %s\n", d->name, c->name, have_text), QVM_EXIT_OK;
	if (q)
		r = grow_live(q, d, want);
	else if (have && !d->ephemeral)
		r = qemu_img_resize(d->path, format, want, error, sizeof(error)) < 0
			    ? cli_error("qemu-img resize %s: %s", d->path, error) : QVM_EXIT_OK;
	if (r != QVM_EXIT_OK)
		return r;
	r = record_size(c, d, want, record);
	if (r < 0)
		return cli_error("disk %s grown to %s, but the size could not be recorded in %s: %s; set %s = %s",
				 d->name, want_text, record, strerror(-r), d->key, want_text);
	printf("disk %s of %s: %s -> %s%s (recorded in %s)\n", d->name, c->name, have ? have_text : "(not created yet)",
	       want_text, q ? ", live" : "", record);
	return QVM_EXIT_OK;
}

int cli_disk(int argc, char *argv[])
{
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("Usage: qvm disk grow NAME [DISK] SIZE\n\n"
		       "Grow a disk of VM NAME to SIZE (like 20G): DISK is a [disk:DISK] name, or\n"
		       "'system' (the default) for the VM's own disk. A running VM's disk grows live\n"
		       "(QMP block_resize; the guest sees the new size at once), a stopped VM's with\n"
		       "qemu-img resize. The size is recorded in /etc/qvm/NAME.ini.d/90-qvm-disk-size-DISK.conf,\n"
		       "so later starts keep it. A disk never shrinks: a smaller SIZE is an error.\n\n"
		       "  -h, --help   show this help\n");
		return QVM_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "grow") != 0)
		return cli_usage_error("disk", "expected 'grow'");
	return disk_grow(argc - 2, argv + 2);
}
