/* qvm-image - before a VM starts: its base image downloaded, verified and cached; its overlay and data disks made */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "checksum.h"
#include "basic.h"
#include "config.h"
#include "download.h"
#include "image.h"
#include "log.h"
#include "paths.h"
#include "values.h"

#define MIB (1024.0 * 1024.0)
#define SUMS_MAX (4 * 1024 * 1024)

/* Progress reporting state: STATUS= under systemd, a bar on a terminal. */
struct progress {
	const char *what;
	struct timespec start, last;
	bool tty, notify;
};

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Download progress: at most every 0.5 s, STATUS= + EXTEND_TIMEOUT_USEC= or a terminal bar. */
static void on_progress(uint64_t done, uint64_t total, void *userdata)
{
	struct progress *p = userdata;
	double rate = (double)done / MIB / (since(&p->start) > 0.01 ? since(&p->start) : 0.01);
	char text[256];

	if (since(&p->last) < 0.5)
		return;
	clock_gettime(CLOCK_MONOTONIC, &p->last);
	if (total)
		snprintf(text, sizeof(text), "downloading %s: %.0f/%.0f MiB, %.0f MiB/s", p->what, done / MIB,
			 total / MIB, rate);
	else
		snprintf(text, sizeof(text), "downloading %s: %.0f MiB, %.0f MiB/s", p->what, done / MIB, rate);
	if (p->notify) /* a long download must not hit the start timeout */
		sd_notifyf(0, "STATUS=%s\nEXTEND_TIMEOUT_USEC=%llu", text, 60ULL * 1000000);
	if (p->tty) {
		int width = 30, filled = total ? (int)((double)done / (double)total * width) : 0;

		fprintf(stderr, "\r[%.*s%*s] %s", filled, "##############################", width - filled, "", text);
	}
}

/* Read a local checksums file (at most SUMS_MAX bytes) into a new string. */
static int read_text_file(const char *path, char **ret, char *error, size_t error_size)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *text = malloc(SUMS_MAX + 1);
	size_t n;

	if (!f || !text) {
		snprintf(error, error_size, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = fread(text, 1, SUMS_MAX, f);
	if (ferror(f) || !feof(f)) {
		snprintf(error, error_size, "%s: unreadable or larger than %d bytes", path, SUMS_MAX);
		return -EIO;
	}
	text[n] = '\0';
	*ret = TAKE_PTR(text);
	return 0;
}

/* The expected checksum of @c's source: checksum =, or its line in checksums =. */
static int expected_checksum(const struct vm_config *c, struct checksum *ret)
{
	_cleanup_free_ char *sums = NULL;
	const char *file = strrchr(c->image_source, '/') ? strrchr(c->image_source, '/') + 1 : c->image_source;
	char error[512] = "";
	unsigned bad_line = 0;
	int r;

	if (c->image_checksum)
		return checksum_parse(c->image_checksum, ret) < 0
			       ? log_error("%s: checksum = %s: expected sha256:HEX or sha512:HEX", c->path, c->image_checksum),
			       -EINVAL : 0;
	if (c->image_checksums[0] == '/')
		r = read_text_file(c->image_checksums, &sums, error, sizeof(error));
	else
		r = download_text(c->image_checksums, SUMS_MAX, &sums, error, sizeof(error));
	if (r < 0)
		return log_error_errno(r, "cannot fetch checksums = %s: %s", c->image_checksums, error);
	r = checksums_find(sums, file, ret, &bad_line);
	if (r == -EBADMSG)
		return log_error_errno(r, "%s line %u: not a \"HEX  FILE\" line of a SHA256SUMS/SHA512SUMS file",
				 c->image_checksums, bad_line);
	if (r < 0)
		return log_error_errno(r, "%s does not list %s", c->image_checksums, file);
	return 0;
}

/* Make sure the base image from URL @c->image_source is in the cache, verified; its path in @base. */
static int ensure_cached(const struct vm_config *c, const char *images, bool refresh, char base[static 4096])
{
	char name[256], error[1024] = "";
	struct checksum want, have;
	struct progress p = { .notify = getenv("NOTIFY_SOCKET") != NULL, .tty = isatty(STDERR_FILENO) };
	uint64_t got = 0;
	int r;

	if (image_cache_name(c->image_source, name) < 0)
		return log_error_errno(EINVAL, "%s: source = %s has no file name", c->path, c->image_source);
	if (snprintf(base, 4096, "%s/%s", images, name) >= 4096)
		return -ENAMETOOLONG;
	/* a cached image is trusted while its verified record matches (size, mtime, inode): no re-hash */
	if (!refresh && access(base, F_OK) == 0 && c->image_checksum && checksum_parse(c->image_checksum, &want) == 0 &&
	    image_record_check(base, &want))
		return 0;
	if (!refresh && access(base, F_OK) == 0 && !c->image_checksum && image_record_read(base, &have) == 0 &&
	    image_record_check(base, &have))
		return 0; /* checksums = is fetched again only on refresh: a warm start transfers nothing */
	r = expected_checksum(c, &want);
	if (r < 0)
		return r;
	if (!refresh && access(base, F_OK) == 0) {
		r = hash_file(base, want.algo, &have);
		if (r >= 0 && strcmp(have.hex, want.hex) == 0)
			return image_record_write(base, &want);
		log_info("cached %s does not match the expected checksum; downloading it again", name);
	}
	p.what = name;
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	sd_notifyf(0, "STATUS=downloading %s", name);
	log_info("downloading %s into %s", c->image_source, images);
	if (refresh)
		unlink(base);
	r = download_image(c->image_source, images, name, &want, on_progress, &p, &got, error, sizeof(error));
	if (p.tty)
		fputc('\n', stderr);
	if (r < 0)
		return log_error_errno(r, "download failed: %s", error);
	log_info("downloaded and verified %s (%.0f MiB in %.1fs)", name, got / MIB, since(&p.start));
	return image_record_write(base, &want);
}

/* A local source file: used in place (never written); verified when a checksum is configured. */
static int check_local_source(const struct vm_config *c, char base[static 4096])
{
	struct checksum want, have;
	int r;

	snprintf(base, 4096, "%s", url_local_path(c->image_source));
	if (access(base, R_OK) < 0 && errno == ENOENT)
		return log_error_errno(ENOENT, "%s: the source image %s is missing; the VM's disk is left as it is", c->path, base);
	if (access(base, R_OK) < 0)
		return log_error_errno(errno, "%s: source %s: %m", c->path, base);
	if (!c->image_checksum && !c->image_checksums)
		return 0;
	r = expected_checksum(c, &want);    /* checksum =, or the file's line in checksums = */
	if (r < 0)
		return r;
	r = hash_file(base, want.algo, &have);
	if (r < 0)
		return log_error_errno(r, "cannot read %s: %m", base);
	if (strcmp(have.hex, want.hex) != 0)
		return log_error_errno(EBADMSG, "checksum mismatch for %s: expected %s:%s, got %s:%s; refusing to boot", base,
				 want.algo, want.hex, have.algo, have.hex);
	return 0;
}

/* Grow disk @path to @want bytes when the config asks for more; a smaller @want is an error naming both. */
static int grow_disk(const struct vm_config *c, const char *path, const char *key, uint64_t want)
{
	char format[32], error[1024] = "", have_text[32], want_text[32];
	uint64_t have = 0;
	int r;

	if (want == 0)
		return 0;
	r = qemu_img_info(path, format, &have, error, sizeof(error));
	if (r < 0)
		return log_error_errno(r, "cannot read disk %s: %s", path, error);
	format_size(have_text, sizeof(have_text), have);
	format_size(want_text, sizeof(want_text), want);
	if (want < have)
		return log_error_errno(ERANGE, "%s: %s = %s is smaller than the disk %s (%s); qvm never shrinks a disk: set %s "
				 "to %s or more", c->path, key, want_text, path, have_text, key, have_text);
	if (want == have)
		return 0;
	r = qemu_img_resize(path, format, want, error, sizeof(error));
	if (r < 0)
		return log_error_errno(r, "cannot grow %s from %s to %s: %s", path, have_text, want_text, error);
	log_info("grew %s from %s to %s (%s); the guest sees the new size at this boot", path, have_text,
		 want_text, key);
	return 0;
}

/* The VM's own disk: an existing overlay is checked and reused, else a new one over @base. */
static int ensure_overlay(const struct vm_config *c, const char *disk, const char *base)
{
	char backing[4096], format[32], error[1024] = "";
	uint64_t vsize = 0;
	int r;

	if (access(disk, F_OK) == 0) {
		r = qcow2_backing_file(disk, backing);
		if (r < 0)
			return log_error_errno(r, "cannot read the VM's disk %s: %m", disk);
		if (backing[0] && access(backing, R_OK) < 0)
			return log_error_errno(ENOENT, "the base image %s of disk %s is missing; the disk holds the VM's data, so qvm "
					 "will not re-create it. Restore the base, or discard the disk with qvm reset %s",
					 backing, disk, c->name);
		return grow_disk(c, disk, "[image] size", c->image_size);
	}
	r = qemu_img_info(base, format, &vsize, error, sizeof(error));
	if (r < 0)
		return log_error_errno(r, "cannot read base image %s: %s", base, error);
	if (c->image_size && c->image_size < vsize) {
		char have_text[32], want_text[32];

		return log_error_errno(ERANGE, "%s: [image] size = %s is smaller than the base image %s (%s); qvm "
				       "never shrinks a disk: set size to %s or more, or leave it out", c->path,
				       format_size(want_text, sizeof(want_text), c->image_size), base,
				       format_size(have_text, sizeof(have_text), vsize), have_text);
	}
	r = qemu_img_create(disk, "qcow2", base, format, c->image_size > vsize ? c->image_size : 0, error,
			    sizeof(error));
	if (r < 0 && r != -EEXIST)
		return log_error_errno(r, "cannot create the VM's disk %s: %s", disk, error);
	log_info("created %s: a qcow2 overlay over %s (%s)%s", disk, base, format,
		 c->image_size > vsize ? ", grown to [image] size" : "");
	return 0;
}

/* A fresh throwaway qcow2 overlay @overlay over @base (any earlier one is discarded), @size bytes or 0. */
static int make_ephemeral(const char *overlay, const char *base, uint64_t size)
{
	char format[32], error[1024] = "";
	uint64_t vsize = 0;
	int r;

	r = qemu_img_info(base, format, &vsize, error, sizeof(error));
	if (r < 0)
		return log_error_errno(r, "cannot read %s: %s", base, error);
	if (unlink(overlay) < 0 && errno != ENOENT)
		return log_error_errno(errno, "cannot remove the old throwaway overlay %s: %m", overlay);
	r = qemu_img_create(overlay, "qcow2", base, format, size > vsize ? size : 0, error, sizeof(error));
	if (r < 0)
		return log_error_errno(r, "cannot create the throwaway overlay %s: %s", overlay, error);
	log_info("created throwaway overlay %s over %s; it is discarded at stop", overlay, base);
	return 0;
}

/* Extra [disk:NAME] disks: created once, never overwritten; an ephemeral one gets a fresh overlay. */
/* A blank system disk of [image] size for an install from [boot] cdrom: created once, never overwritten. */
static int ensure_blank_disk(const struct vm_config *c, const char *disk)
{
	char error[1024] = "";
	int r;

	if (access(disk, F_OK) == 0)
		return 0;
	r = qemu_img_create(disk, "qcow2", NULL, NULL, c->image_size, error, sizeof(error));
	if (r < 0 && r != -EEXIST)
		return log_error("cannot create the VM's disk %s: %s", disk, error), r;
	log_info("created %s: a blank %llu MiB qcow2 disk to install on from %s", disk,
		 (unsigned long long)(c->image_size >> 20), c->boot_cdrom);
	return 0;
}

/* Extra [disk:NAME] disks: created once, never overwritten. */
static int ensure_data_disks(const struct vm_config *c, const struct vm_paths *paths)
{
	char path[4096], error[1024] = "";
	int r;

	for (size_t i = 0; i < c->n_disks; i++) {
		const struct disk_config *d = &c->disks[i];
		const char *format = disk_format_to_string(d->format);

		if (vm_disk_store_path(paths, d, path) < 0)
			return -ENAMETOOLONG;
		if (access(path, F_OK) == 0) {
			char key[128];

			snprintf(key, sizeof(key), "[disk:%s] size", d->name);
			r = grow_disk(c, path, key, d->size);
			if (r < 0)
				return r;
			continue;
		}
		if (!d->size)
			return log_error_errno(ENOENT, "%s: [disk:%s] %s does not exist and has no size to create it with", c->path,
					 d->name, path);
		r = qemu_img_create(path, format, NULL, NULL, d->size, error, sizeof(error));
		if (r < 0 && r != -EEXIST)
			return log_error_errno(r, "cannot create disk %s: %s", path, error);
		log_info("created data disk %s (%s)", path, format);
	}
	for (size_t i = 0; i < c->n_disks; i++) {
		char overlay[4096];

		if (!c->disks[i].ephemeral)
			continue;
		if (vm_disk_store_path(paths, &c->disks[i], path) < 0 || vm_disk_path(paths, &c->disks[i], overlay) < 0)
			return -ENAMETOOLONG;
		if (mkdir_p(paths->runtime_dir, 0750) < 0)
			return log_error_errno(errno, "cannot create %s: %m", paths->runtime_dir);
		r = make_ephemeral(overlay, path, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Whether @source is a URL that has to be downloaded (file:// is copied into the cache too). */
static bool source_is_download(const char *source)
{
	return url_kind(source) == URL_HTTP;
}

/* Prepare every disk of @c. */
static int prepare(const struct vm_config *c, bool refresh)
{
	struct vm_paths paths;
	char images[4096], base[4096];
	int r;

	if (vm_paths_get(c, &paths) < 0)
		return -ENAMETOOLONG;
	if (mkdir_p(paths.state_dir, 0750) < 0)
		return log_error_errno(errno, "cannot create %s: %m", paths.state_dir);
	if (c->image_disk && access(c->image_disk, R_OK | W_OK) < 0)
		return log_error_errno(errno, "%s: disk = %s: %m", c->path, c->image_disk);
	if (c->image_source && !c->image_disk) {
		if (source_is_download(c->image_source)) {
			if (snprintf(images, sizeof(images), "%s/images", paths.cache_dir) >= (int)sizeof(images))
				return -ENAMETOOLONG;
			if (mkdir_p(paths.cache_dir, 0750) < 0)
				return log_error_errno(errno, "cannot create %s: %m", paths.cache_dir);
			if (mkdir(images, 0755) < 0 && errno != EEXIST)
				return log_error_errno(errno, "cannot create %s: %m", images);
			r = ensure_cached(c, images, refresh, base);
		} else {
			r = check_local_source(c, base);
		}
		if (r < 0)
			return r;
		r = c->ephemeral ? 0 : ensure_overlay(c, paths.disk, base);
		if (r < 0)
			return r;
	}
	if (c->ephemeral && (c->image_source || c->image_disk)) {
		if (mkdir_p(paths.runtime_dir, 0750) < 0)
			return log_error_errno(errno, "cannot create %s: %m", paths.runtime_dir);
		r = make_ephemeral(paths.disk, c->image_disk ?: base, c->image_size);
		if (r < 0)
			return r;
	}
	if (config_blank_disk(c)) {
		r = ensure_blank_disk(c, paths.disk);
		if (r < 0)
			return r;
	}
	sd_notify(0, "STATUS=disks ready");
	return ensure_data_disks(c, &paths);
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
	fputs("Usage: qvm-image [--refresh | --reset] NAME\n"
	      "Prepare the disks of the VM in /etc/qvm/NAME.ini before it starts (ExecStartPre=):\n"
	      "download and verify its base image into the cache once, create its qcow2 overlay and\n"
	      "its [disk:NAME] data disks. Existing disks are never overwritten.\n\n"
	      "  --refresh  download the base image again and verify it (qvm image refresh)\n"
	      "  --reset    discard the VM's overlay; data disks stay (qvm reset)\n"
	      "  --help     show this help\n"
	      "Exit status: 0 ready, 1 failure, 2 usage or configuration error.\n", f);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "refresh", no_argument, NULL, 'f' }, { "reset", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },    {}
	};
	_cleanup_config_free_ struct vm_config *c = NULL;
	bool refresh = false, do_reset = false;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
		switch (o) {
		case 'f': refresh = true; break;
		case 'r': do_reset = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	if (optind + 1 != argc || (refresh && do_reset)) {
		usage(stderr);
		return 2;
	}
	log_setup("qvm-image", 0);
	r = helper_load_vm(argv[optind], &c);
	if (r != HELPER_EXIT_OK)
		return r;
	if (!do_reset && !config_uses_image(c)) {
		log_info("VM %s has no [image] source or disk and no [disk:NAME]: nothing to do", c->name);
		return 0;
	}
	r = do_reset ? reset(c) : prepare(c, refresh);
	return r < 0 ? 1 : 0;
}
