/* qvm-image - a VM's base image fetched into the cache, its disks prepared or reset, or handed to its uid (--grant) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "bootslot.h"
#include "config.h"
#include "image.h"
#include "log.h"
#include "paths.h"
#include "prepare.h"

/* Give the file at @path to @uid:@gid (never following a symlink); -ENOENT when missing. */
static int grant_file(const char *path, uid_t uid, gid_t gid)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EMEDIUMTYPE;
	return fchown(fd, uid, gid) < 0 ? -errno : 0;
}

/*
 * The virtiofs sockets qvm-virtiofsd@NAME.service made before this unit's uid
 * existed: to that uid, so that QEMU can connect (never through a symlink).
 */
static int grant_share_sockets(const struct vm_config *c, uid_t uid, gid_t gid)
{
	struct vm_paths paths;
	char path[4096];

	if (vm_paths_get(c, &paths) < 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < c->n_shares; i++) {
		struct stat st;

		if (c->shares[i].mode != SHARE_VIRTIOFS || vm_share_socket(&paths, c->shares[i].name, path) < 0)
			continue;
		if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue; /* qvm-launch reports a missing socket */
		if (lchown(path, uid, gid) < 0)
			return log_error_errno(errno, "cannot give %s to the VM's user: %m", path);
	}
	return 0;
}

/* The boot-limit slot files this VM's launcher may lock (it cannot create them: its own uid). Return: 0. */
static int grant_boot_slots(const struct vm_config *c)
{
	int limit = c->boot_limit > 0 ? (int)c->boot_limit : boot_slot_default();
	char dir[4096];
	int r;

	if (boot_slot_dir(dir) < 0)
		return -ENAMETOOLONG;
	r = boot_slot_make(dir, limit);
	if (r < 0) /* not fatal: the launcher then boots without the limit, and says so */
		log_warning("cannot make the boot slots in %s: %s", dir, strerror(-r));
	return 0;
}

/*
 * As root (ExecStartPre=+): hand the disks that live outside the state directory
 * (disk =, [disk:*] path =) to the VM's own uid, the owner systemd gave
 * $STATE_DIRECTORY. Missing [disk:*] files are created first. Only paths from
 * /etc/qvm/NAME.ini are touched, and never through a symlink.
 */
static int grant(const struct vm_config *c)
{
	const char *state = getenv("STATE_DIRECTORY");
	char error[1024] = "";
	struct stat st;
	int r;

	if (!state || !*state || strchr(state, ':') || stat(state, &st) < 0)
		return log_error_errno(-EINVAL, "--grant runs as ExecStartPre=+ of qvm@%s.service ($STATE_DIRECTORY is not set)",
				 c->name);
	if (c->image_disk) {
		r = grant_file(c->image_disk, st.st_uid, st.st_gid);
		if (r < 0)
			return log_error_errno(r, "%s: disk = %s: %m", c->path, c->image_disk);
	}
	r = grant_share_sockets(c, st.st_uid, st.st_gid);
	if (r < 0)
		return r;
	r = grant_boot_slots(c);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct disk_config *d = &c->disks[i];

		if (!d->path)
			continue;
		if (access(d->path, F_OK) < 0 && d->size) {
			r = qemu_img_create(d->path, config_enum_name("disk", "format", d->format), NULL, NULL, d->size,
					    error, sizeof(error));
			if (r < 0 && r != -EEXIST)
				return log_error_errno(r, "cannot create disk %s: %s", d->path, error);
		}
		r = grant_file(d->path, st.st_uid, st.st_gid);
		if (r < 0 && r != -ENOENT)
			return log_error_errno(r, "%s: [disk:%s] path = %s: %m", c->path, d->name, d->path);
	}
	return 0;
}

/* Discard the VM's own overlay on purpose (qvm reset); data disks stay. */
static int reset(const struct vm_config *c)
{
	struct vm_paths paths;

	if (vm_paths_get(c, &paths) < 0)
		return -ENAMETOOLONG;
	if (c->image_disk && !c->ephemeral)
		return log_error_errno(EPERM, "%s: disk = %s is your own disk; qvm does not delete it", c->path, c->image_disk);
	if (unlink(paths.disk) < 0 && errno != ENOENT)
		return log_error_errno(errno, "cannot remove %s: %m", paths.disk);
	if (unlink(paths.installed) < 0 && errno != ENOENT)
		return log_error_errno(errno, "cannot remove %s: %m", paths.installed);
	log_info("discarded %s; the next start begins from the base image (data disks are kept)", paths.disk);
	return 0;
}

static void usage(FILE *f)
{
	fputs("Usage: qvm-image [--fetch | --refresh | --grant | --reset] NAME\n"
	      "Prepare the disks of the VM in /etc/qvm/NAME.ini before it starts (ExecStartPre=):\n"
	      "download and verify its base image into the cache once, create its qcow2 overlay and\n"
	      "its [disk:NAME] data disks. Existing disks are never overwritten.\n\n"
	      "  --fetch    only download and verify the base image into the cache\n"
	      "             (qvm-fetch@NAME.service, as the user qvm)\n"
	      "  --refresh  fetch the checksums again; a new version becomes a new cached file\n"
	      "             that only new overlays use (qvm image refresh)\n"
	      "  --grant    as root: give disks outside the state directory to the VM's uid\n"
	      "  --reset    discard the VM's overlay; data disks stay (qvm reset)\n"
	      "  --help     show this help\n"
	      "Exit status: 0 ready, 1 failure, 2 usage or configuration error.\n", f);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "refresh", no_argument, NULL, 'f' }, { "reset", no_argument, NULL, 'r' },
		{ "fetch", no_argument, NULL, 'F' },   { "grant", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },    {}
	};
	_cleanup_config_free_ struct vm_config *c = NULL;
	bool refresh = false, do_reset = false, fetch_only = false, do_grant = false;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
		switch (o) {
		case 'f': refresh = true; break;
		case 'r': do_reset = true; break;
		case 'F': fetch_only = true; break;
		case 'g': do_grant = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	if (optind + 1 != argc || refresh + do_reset + fetch_only + do_grant > 1) {
		usage(stderr);
		return 2;
	}
	log_setup("qvm-image", 0);
	r = helper_load_vm(argv[optind], &c);
	if (r != HELPER_EXIT_OK)
		return r;
	if (!do_reset && !do_grant && !config_uses_image(c)) {
		log_info("VM %s has no [image] source or disk and no [disk:NAME]: nothing to do", c->name);
		return 0;
	}
	if (do_reset)
		r = reset(c);
	else if (do_grant)
		r = grant(c);
	else
		r = vm_prepare_disks(c, fetch_only ? PREPARE_FETCH : refresh ? PREPARE_REFRESH : PREPARE_START);
	return r < 0 ? 1 : 0;
}
