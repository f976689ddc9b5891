/* prepare.c - what a VM needs on disk before its QEMU starts: the cached base, its overlay, data disks, the seed */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "basic.h"
#include "checksum.h"
#include "config.h"
#include "download.h"
#include "image.h"
#include "log.h"
#include "paths.h"
#include "prepare.h"
#include "seed.h"
#include "signature.h"
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

/* Read local file @path (at most SUMS_MAX bytes) into a new NUL-terminated buffer of @len bytes. */
static int read_local_file(const char *path, char **ret, size_t *len, char *error, size_t error_size)
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
	*len = n;
	return 0;
}

/* Fetch @where (an absolute path or a URL) into a new buffer. */
static int fetch_small(const char *where, char **ret, size_t *len, char *error, size_t error_size)
{
	if (where[0] == '/')
		return read_local_file(where, ret, len, error, error_size);
	if (strncmp(where, "file://", 7) == 0)
		return read_local_file(where + 7, ret, len, error, error_size);
	return download_data(where, SUMS_MAX, ret, len, error, error_size);
}

/* With checksums-keyring =: the checksums file @sums must carry a good signature by a key in it. */
static int check_signature(const struct vm_config *c, const char *sums, size_t sums_len)
{
	_cleanup_free_ char *sig = NULL, *default_url = NULL;
	const char *where = c->image_checksums_signature;
	char error[2048] = "";
	size_t sig_len = 0;
	int r;

	if (!c->image_checksums_keyring)
		return 0;
	if (!where) {
		if (asprintf(&default_url, "%s.sign", c->image_checksums) < 0)
			return -ENOMEM;
		where = default_url;
	}
	r = fetch_small(where, &sig, &sig_len, error, sizeof(error));
	if (r < 0)
		return log_error_errno(r, "cannot fetch the signature %s of checksums = %s: %s", where, c->image_checksums,
				 error);
	r = signature_verify(c->image_checksums_keyring, sums, sums_len, sig, sig_len, error, sizeof(error));
	if (r == -ENOENT)
		return log_error_errno(r, "checksums-keyring = %s needs gpgv (apt install gpgv)", c->image_checksums_keyring);
	if (r < 0)
		return log_error_errno(-EBADMSG, "%s: checksums = %s has no good signature by a key in %s; refusing it. gpgv: %s",
				 c->path, c->image_checksums, c->image_checksums_keyring, error);
	log_info("checksums = %s: good signature (keyring %s)", c->image_checksums, c->image_checksums_keyring);
	return 0;
}

/* The expected checksum of @c's source: checksum =, or its line in checksums = (signed, with a keyring). */
static int expected_checksum(const struct vm_config *c, struct checksum *ret)
{
	_cleanup_free_ char *sums = NULL;
	const char *file = strrchr(c->image_source, '/') ? strrchr(c->image_source, '/') + 1 : c->image_source;
	char error[512] = "";
	unsigned bad_line = 0;
	size_t len = 0;
	int r;

	if (c->image_checksum)
		return checksum_parse(c->image_checksum, ret) < 0
			       ? log_error("%s: checksum = %s: expected sha256:HEX or sha512:HEX", c->path, c->image_checksum),
			       -EINVAL : 0;
	if (strncmp(c->image_checksums, "http://", 7) == 0 && !c->image_checksums_keyring)
		return log_error_errno(-EPERM, "%s: checksums = %s over plain http is refused: use https, checksum = sha512:HEX, "
				 "or checksums-keyring =", c->path, c->image_checksums);
	r = fetch_small(c->image_checksums, &sums, &len, error, sizeof(error));
	if (r < 0)
		return log_error_errno(r, "cannot fetch checksums = %s: %s", c->image_checksums, error);
	r = check_signature(c, sums, len);
	if (r < 0)
		return r;
	if (strlen(sums) != len)
		return log_error_errno(-EINVAL, "checksums = %s holds a NUL byte: not a SHA256SUMS/SHA512SUMS file", c->image_checksums),
		       -EBADMSG;
	r = checksums_find(sums, file, ret, &bad_line);
	if (r == -EBADMSG)
		return log_error_errno(r, "%s line %u: not a \"HEX  FILE\" line of a SHA256SUMS/SHA512SUMS file",
				 c->image_checksums, bad_line);
	if (r < 0)
		return log_error_errno(r, "%s does not list %s", c->image_checksums, file);
	return 0;
}

/*
 * The image cache (man:qvm-security(7)). A verified base is stored under a
 * name made of its checksum, "ALGO-HEX-FILE", and is never rewritten: a new
 * upstream version is a new file, so an overlay's backing file keeps its bytes
 * until qvm reset. "SOURCE-NAME.latest" (SOURCE-NAME from image_cache_name())
 * is a symlink to the base that new overlays of that source get; a refresh
 * only moves that symlink. Only the user qvm (qvm-fetch@.service) writes the
 * cache, and no VM runs as qvm, so a base is hashed once, when downloaded, and
 * trusted by its name afterwards: there is no size+mtime+inode record to fool.
 */

/* The content-addressed name of the base with checksum @sum, downloaded from @source. */
static int content_name(const struct checksum *sum, const char *source, char buf[static 256])
{
	const char *file = strrchr(source, '/') ? strrchr(source, '/') + 1 : source;

	return snprintf(buf, 256, "%s-%s-%.80s", sum->algo, sum->hex, file) >= 256 ? -ENAMETOOLONG : 0;
}

/* Point "@images/@pointer" at base @content (a relative symlink, replaced atomically). */
static int set_latest(const char *images, const char *pointer, const char *content)
{
	char link_path[4096], tmp[4200];

	if (snprintf(link_path, sizeof(link_path), "%s/%s", images, pointer) >= (int)sizeof(link_path))
		return -ENAMETOOLONG;
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", images, pointer) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	if (symlink(content, tmp) < 0 || rename(tmp, link_path) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return 0;
}

/* The base "@images/@pointer" points at, when both exist; its path in @base. */
static int read_latest(const char *images, const char *pointer, char base[static 4096])
{
	char link_path[4096], target[256];
	struct stat st;
	ssize_t n;

	if (snprintf(link_path, sizeof(link_path), "%s/%s", images, pointer) >= (int)sizeof(link_path))
		return -ENAMETOOLONG;
	n = readlink(link_path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (strchr(target, '/') || target[0] == '.')
		return -EBADMSG; /* qvm writes only plain names into the cache */
	if (snprintf(base, 4096, "%s/%s", images, target) >= 4096)
		return -ENAMETOOLONG;
	if (stat(base, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	return 0;
}

/* Make sure the base image from URL @c->image_source is in the cache, verified; its path in @base. */
static int ensure_cached(const struct vm_config *c, const char *images, bool refresh, char base[static 4096])
{
	char source_name[256], pointer[300], name[256], error[1024] = "";
	struct checksum want;
	struct progress p = { .notify = getenv("NOTIFY_SOCKET") != NULL, .tty = isatty(STDERR_FILENO) };
	uint64_t got = 0;
	int r;

	if (image_cache_name(c->image_source, source_name) < 0)
		return log_error_errno(EINVAL, "%s: source = %s has no file name", c->path, c->image_source);
	snprintf(pointer, sizeof(pointer), "%s.latest", source_name);
	if (c->image_checksum) {
		if (checksum_parse(c->image_checksum, &want) < 0)
			return log_error("%s: checksum = %s: expected sha256:HEX or sha512:HEX", c->path,
					 c->image_checksum);
	} else if (!refresh && read_latest(images, pointer, base) == 0) {
		return 0; /* checksums = is fetched again only on refresh: a warm start transfers nothing */
	} else {
		r = expected_checksum(c, &want);
		if (r < 0)
			return r;
	}
	r = content_name(&want, c->image_source, name);
	if (r < 0 || snprintf(base, 4096, "%s/%s", images, name) >= 4096)
		return -ENAMETOOLONG;
	if (access(base, F_OK) == 0) { /* this very version is cached already */
		r = set_latest(images, pointer, name);
		if (r < 0 && r != -EROFS && r != -EACCES) /* a VM may not write the cache, and need not */
			return log_error_errno(r, "cannot update %s/%s: %m", images, pointer);
		return 0;
	}
	p.what = name;
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	sd_notifyf(0, "STATUS=downloading %s", c->image_source);
	log_info("downloading %s into %s", c->image_source, images);
	r = download_image(c->image_source, images, name, &want, on_progress, &p, &got, error, sizeof(error));
	if (p.tty)
		fputc('\n', stderr);
	if (r < 0)
		return log_error_errno(r, "download failed: %s", error);
	log_info("downloaded and verified %s as %s (%.0f MiB in %.1fs)", c->image_source, name, got / MIB,
		 since(&p.start));
	r = set_latest(images, pointer, name);
	return r < 0 ? log_error_errno(r, "cannot update %s/%s: %m", images, pointer) : 0;
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
		return log_error_errno(r, "cannot create the VM's disk %s: %s", disk, error);
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

/* Fetch (and verify) @c's base image into the cache, when its source is a download; its path in @base. */
static int fetch(const struct vm_config *c, const struct vm_paths *paths, bool refresh, char base[static 4096])
{
	char images[4096];

	if (snprintf(images, sizeof(images), "%s/images", paths->cache_dir) >= (int)sizeof(images))
		return -ENAMETOOLONG;
	if (access(images, W_OK) < 0 || refresh) {
		if (mkdir_p(paths->cache_dir, 0755) < 0 && errno != EROFS && errno != EACCES)
			return log_error_errno(errno, "cannot create %s: %m", paths->cache_dir);
		if (mkdir(images, 0755) < 0 && errno != EEXIST && errno != EROFS && errno != EACCES)
			return log_error_errno(errno, "cannot create %s: %m", images);
	}
	return ensure_cached(c, images, refresh, base);
}

int vm_prepare_disks(const struct vm_config *c, enum prepare_mode mode)
{
	struct vm_paths paths;
	char base[4096] = "";
	bool download = config_downloads_image(c);
	int r;

	if (vm_paths_get(c, &paths) < 0)
		return -ENAMETOOLONG;
	if (mode != PREPARE_START)
		return download ? fetch(c, &paths, mode == PREPARE_REFRESH, base) : 0;
	if (!config_uses_image(c))
		return 0;
	if (mkdir_p(paths.state_dir, 0700) < 0)
		return log_error_errno(errno, "cannot create %s: %m", paths.state_dir);
	if (c->image_disk && access(c->image_disk, R_OK | W_OK) < 0)
		return log_error_errno(errno, "%s: disk = %s: %m", c->path, c->image_disk);
	/* An ephemeral disk is made anew at every start, so its base is looked up every time. */
	if (c->image_source && !c->image_disk && (c->ephemeral || access(paths.disk, F_OK) < 0)) {
		r = download ? fetch(c, &paths, false, base) : check_local_source(c, base);
		if (r < 0)
			return r;
	}
	if (c->image_source && !c->image_disk && !c->ephemeral) {
		r = ensure_overlay(c, paths.disk, base);
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


int vm_prepare_seed(const struct vm_config *c, bool reseed, const char *documents_dir)
{
	struct vm_paths paths;
	struct seed_docs docs = { 0 };
	const char *failed = NULL;
	unsigned gen;
	int r;

	if (!c->has_cloud_init)
		return 0;
	r = vm_paths_get(c, &paths);
	if (r < 0)
		return log_error_errno(r, "VM %s: paths too long", c->name);
	r = seed_generation(paths.state_dir, reseed, &gen);
	if (r < 0)
		return log_error_errno(r, "VM %s: cannot read or write %s/seed.generation: %m", c->name,
				       paths.state_dir);
	r = seed_docs_build(c, gen, &docs, &failed);
	if (r < 0) {
		if (failed)
			return log_error_errno(r, "VM %s: cannot read %s: %m", c->name, failed);
		return log_error_errno(r, "VM %s: cannot write the seed documents: %s", c->name,
				       r == -EINVAL ? "a [cloud-init] value is not valid UTF-8 text" : strerror(-r));
	}
	if (documents_dir) {
		r = seed_write_documents(documents_dir, &docs);
		if (r < 0)
			log_error_errno(r, "VM %s: cannot write documents to %s: %m", c->name, documents_dir);
	} else {
		r = seed_write(paths.seed, &docs);
		if (r < 0)
			log_error_errno(r, "VM %s: cannot write %s: %m", c->name, paths.seed);
		else
			log_info("VM %s: %s %s (instance-id qvm-%s-%u)", c->name, paths.seed,
				 r > 0 ? "written" : "up to date", c->name, gen);
	}
	seed_docs_done(&docs);
	return r < 0 ? r : 0;
}
