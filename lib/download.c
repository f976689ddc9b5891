/* download.c - libcurl downloads: small files into memory, images into a cache dir (resumable, hashed, atomic) */
#include "download.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

#define MAX_ATTEMPTS 5
#define WRITEBACK_CHUNK (8 << 20)

/*
 * libcurl, loaded by the first transfer rather than linked: qvm-image runs three
 * times at every VM start (--fetch, --grant, the disk), nearly always with nothing
 * to download, and linking libcurl with its ~30 libraries cost each run ~20 ms of
 * CPU in the dynamic loader before main() (bench/bench-prequemu.py).
 */
static struct {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode (*easy_perform)(CURL *);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
} lc;

/* Load libcurl once. Return: 0, or -ELIBACC with why in @error. */
static int curl_load(char *error, size_t size)
{
	static void *lib;
	const char *missing = NULL;

	if (lib)
		return 0;
	lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(error, size, "cannot load libcurl: %s (apt-get install libcurl4)", dlerror());
		return -ELIBACC;
	}
#define LOAD(field, symbol) \
	if (!missing && !(*(void **)&lc.field = dlsym(lib, symbol))) \
		missing = symbol
	LOAD(easy_init, "curl_easy_init");
	LOAD(easy_setopt, "curl_easy_setopt");
	LOAD(easy_getinfo, "curl_easy_getinfo");
	LOAD(easy_perform, "curl_easy_perform");
	LOAD(easy_cleanup, "curl_easy_cleanup");
	LOAD(easy_strerror, "curl_easy_strerror");
#undef LOAD
	if (missing) {
		snprintf(error, size, "libcurl.so.4 has no %s", missing);
		dlclose(lib);
		lib = NULL;
		return -ELIBACC;
	}
	return 0;
}

/* One transfer into a file (or memory), hashed as it goes. */
struct transfer {
	CURL *curl;
	int fd;                      /* target file, or -1 for memory */
	char *mem;
	size_t mem_len, mem_max;
	struct hasher *hasher;
	const char *algo;
	uint64_t offset;             /* bytes already in the file when this attempt started */
	uint64_t received;           /* bytes received in this attempt */
	uint64_t flushed;            /* bytes handed to writeback so far */
	int write_errno;             /* why a write failed (ENOSPC, ...) */
	bool checked_status;
	download_progress_fn progress;
	void *userdata;
};

/* Drop what the partial file holds and start it again from byte 0. */
static int restart_from_zero(struct transfer *t)
{
	if (ftruncate(t->fd, 0) < 0 || lseek(t->fd, 0, SEEK_SET) < 0)
		return -errno;
	t->offset = 0;
	t->flushed = 0;
	hasher_free(t->hasher);
	t->hasher = NULL;
	return hasher_new(t->algo, &t->hasher);
}

/* The first bytes of a response: restart from zero when the server ignored our Range. */
static int check_resume(struct transfer *t)
{
	long code = 0;

	t->checked_status = true;
	lc.easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	if (t->offset == 0 || code == 206 || code == 0)
		return 0;
	return restart_from_zero(t);    /* a 200 to a Range request: the whole file again */
}

/*
 * Whether a failed attempt was the server refusing to resume: libcurl's
 * CURLE_RANGE_ERROR (a 200 without Content-Range) or HTTP 416 (the partial is
 * not a prefix of what it serves now). Then the partial is useless: restarting
 * from zero is the only way on, and keeping it would fail every later start.
 */
static bool resume_refused(struct transfer *t, CURLcode rc)
{
	long code = 0;

	lc.easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	return t->offset > 0 && (rc == CURLE_RANGE_ERROR || (rc == CURLE_HTTP_RETURNED_ERROR && code == 416));
}

/* libcurl write callback: into the file (hashing) or into memory. */
static size_t on_data(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n, done = 0;

	if (t->fd < 0) {
		if (t->mem_len + len > t->mem_max)
			return 0;
		memcpy(t->mem + t->mem_len, data, len);
		t->mem_len += len;
		return len;
	}
	if (!t->checked_status && check_resume(t) < 0)
		return 0;
	while (done < len) {
		ssize_t w = write(t->fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			t->write_errno = errno;
			return 0;
		}
		done += (size_t)w;
	}
	if (hasher_update(t->hasher, data, len) < 0)
		return 0;
	t->received += len;
	/* start writeback as we go, so the fsync before the rename has little left to do */
	if (t->offset + t->received - t->flushed >= WRITEBACK_CHUNK) {
		sync_file_range(t->fd, (off64_t)t->flushed, (off64_t)(t->offset + t->received - t->flushed),
				SYNC_FILE_RANGE_WRITE);
		t->flushed = t->offset + t->received;
	}
	return len;
}

/* libcurl progress callback: report bytes of the whole file. */
static int on_progress(void *userdata, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
	struct transfer *t = userdata;

	if (t->progress)
		t->progress(t->offset + (uint64_t)now, total ? t->offset + (uint64_t)total : 0, t->userdata);
	return 0;
}

/* A curl handle set up for @url with qvm's options. */
static CURL *curl_for(const char *url, struct transfer *t, char errbuf[static CURL_ERROR_SIZE])
{
	CURL *c = lc.easy_init();

	if (!c)
		return NULL;
	lc.easy_setopt(c, CURLOPT_URL, url);
	lc.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	/* an https transfer never continues over plain http (M6) */
	lc.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, strncmp(url, "https://", 8) == 0 ? "https" : "http,https");
	lc.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	lc.easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	lc.easy_setopt(c, CURLOPT_USERAGENT, "qvm");
	lc.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	lc.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L); /* stalled for a minute: give up, resume later */
	lc.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	lc.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	lc.easy_setopt(c, CURLOPT_WRITEDATA, t);
	lc.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	lc.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (t->progress) {
		lc.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		lc.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		lc.easy_setopt(c, CURLOPT_XFERINFODATA, t);
	}
	t->curl = c;
	return c;
}

/* Describe a failed transfer in @error; the errno that fits it. */
static int describe_failure(struct transfer *t, CURLcode rc, const char *url, const char *errbuf, char *error,
			    size_t size)
{
	long code = 0;

	lc.easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	if (t->write_errno) {
		snprintf(error, size, "cannot write the download: %s", strerror(t->write_errno));
		return -t->write_errno;
	}
	if (rc == CURLE_HTTP_RETURNED_ERROR)
		snprintf(error, size, "HTTP %ld from %s", code, url);
	else if (rc == CURLE_COULDNT_RESOLVE_HOST)
		snprintf(error, size, "cannot resolve the host of %s (DNS): %s", url, errbuf[0] ? errbuf : lc.easy_strerror(rc));
	else
		snprintf(error, size, "%s: %s", url, errbuf[0] ? errbuf : lc.easy_strerror(rc));
	return -EIO;
}

int download_text(const char *url, size_t max, char **ret, char *error, size_t error_size)
{
	size_t len;

	return download_data(url, max, ret, &len, error, error_size);
}

int download_data(const char *url, size_t max, char **ret, size_t *ret_len, char *error, size_t error_size)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct transfer t = { .fd = -1, .mem_max = max };
	CURLcode rc;
	int r = curl_load(error, error_size);

	if (r < 0)
		return r;
	t.mem = malloc(max + 1);
	if (!t.mem || !curl_for(url, &t, errbuf)) {
		free(t.mem);
		return -ENOMEM;
	}
	rc = lc.easy_perform(t.curl);
	if (rc != CURLE_OK && rc == CURLE_WRITE_ERROR) {
		snprintf(error, error_size, "%s is larger than %zu bytes", url, max);
		r = -EFBIG;
	} else if (rc != CURLE_OK) {
		r = describe_failure(&t, rc, url, errbuf, error, error_size);
	}
	lc.easy_cleanup(t.curl);
	if (r < 0) {
		free(t.mem);
		return r;
	}
	t.mem[t.mem_len] = '\0';
	*ret = t.mem;
	*ret_len = t.mem_len;
	return 0;
}

/* Hash what an earlier, interrupted run left in the partial file, and position at its end. */
static int resume_partial(struct transfer *t)
{
	char buf[1 << 16];
	ssize_t n;

	while ((n = read(t->fd, buf, sizeof(buf))) > 0) {
		if (hasher_update(t->hasher, buf, (size_t)n) < 0)
			return -EIO;
		t->offset += (uint64_t)n;
	}
	return n < 0 ? -errno : 0;
}

/* fsync the directory @dir, so a rename in it is durable. */
static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 || fsync(fd) < 0 ? -errno : 0;
}

/* Run attempts until the file is complete, resuming after a dropped connection. */
static int transfer_all(struct transfer *t, const char *url, uint64_t *transferred, char *error, size_t size)
{
	char errbuf[CURL_ERROR_SIZE];
	CURLcode rc = CURLE_OK;
	int r = curl_load(error, size);

	if (r < 0)
		return r;
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		errbuf[0] = '\0';
		t->received = 0;
		t->checked_status = false;
		if (!curl_for(url, t, errbuf))
			return -ENOMEM;
		lc.easy_setopt(t->curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)t->offset);
		rc = lc.easy_perform(t->curl);
		*transferred += t->received;
		if (rc == CURLE_OK) {
			lc.easy_cleanup(t->curl);
			return 0;
		}
		if (resume_refused(t, rc)) {
			r = restart_from_zero(t);
			lc.easy_cleanup(t->curl);
			if (r < 0)
				return r;
			continue;
		}
		/* a connection that dropped after some progress is resumed at once; anything else is final */
		if (t->write_errno || t->received == 0 ||
		    (rc != CURLE_PARTIAL_FILE && rc != CURLE_RECV_ERROR && rc != CURLE_OPERATION_TIMEDOUT &&
		     rc != CURLE_GOT_NOTHING))
			break;
		t->offset += t->received;
		lc.easy_cleanup(t->curl);
	}
	r = describe_failure(t, rc, url, errbuf, error, size);
	lc.easy_cleanup(t->curl);
	return r;
}

/* Whether @path exists and hashes to @expected. */
static bool file_matches(const char *path, const struct checksum *expected)
{
	struct checksum got;

	return hash_file(path, expected->algo, &got) == 0 && strcmp(got.hex, expected->hex) == 0;
}

/*
 * Open the partial file @partial and take its lock: two VMs starting on one
 * source at once must not write one file together. Whoever waited re-checks
 * that the path still names the file it locked: the holder renames it to
 * @final when done (or deletes it after a mismatch).
 * Return: the fd; -EEXIST when the holder finished @final (verified against
 * @expected) while we waited; or a negative errno
 */
static int open_partial_locked(const char *partial, const char *final, const struct checksum *expected)
{
	for (;;) {
		_cleanup_close_ int fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		struct stat locked, now;

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &locked) < 0)
			return -errno;
		if (stat(partial, &now) == 0 && now.st_ino == locked.st_ino && now.st_dev == locked.st_dev)
			return TAKE_FD(fd);
		if (file_matches(final, expected))
			return -EEXIST;
	}
}

int download_image(const char *url, const char *dir, const char *name, const struct checksum *expected,
		   download_progress_fn progress, void *userdata, uint64_t *transferred, char *error,
		   size_t error_size)
{
	struct transfer t = { .algo = expected->algo, .progress = progress, .userdata = userdata };
	char partial[4096], final[4096];
	struct checksum got;
	uint64_t dummy = 0;
	int r;

	if (!transferred)
		transferred = &dummy;
	*transferred = 0;
	if (snprintf(partial, sizeof(partial), "%s/.%s.partial", dir, name) >= (int)sizeof(partial) ||
	    snprintf(final, sizeof(final), "%s/%s", dir, name) >= (int)sizeof(final))
		return -ENAMETOOLONG;
	t.fd = open_partial_locked(partial, final, expected);
	if (t.fd == -EEXIST)
		return 0;    /* another qvm-image finished this very download while we waited */
	if (t.fd < 0) {
		snprintf(error, error_size, "cannot create %s: %s", partial, strerror(-t.fd));
		return t.fd;
	}
	r = hasher_new(expected->algo, &t.hasher);
	if (r >= 0)
		r = resume_partial(&t);
	if (r >= 0)
		r = transfer_all(&t, url, transferred, error, error_size);
	if (r >= 0 && fsync(t.fd) < 0) {
		r = -errno;
		snprintf(error, error_size, "cannot write %s: %s", partial, strerror(errno));
	}
	if (r >= 0 && (r = hasher_final(t.hasher, &got)) >= 0 && strcmp(got.hex, expected->hex) != 0) {
		snprintf(error, error_size, "checksum mismatch for %s: expected %s:%s, got %s:%s", url, expected->algo,
			 expected->hex, got.algo, got.hex);
		unlink(partial); /* a wrong file is never kept, not even to resume */
		r = -EBADMSG;
	}
	if (r == -ENOSPC || r == -EDQUOT)
		unlink(partial); /* it cannot be resumed into a full disk, and it would keep the disk full */
	hasher_free(t.hasher);
	close(t.fd);
	if (r < 0)
		return r;
	if (chmod(partial, 0444) < 0 || rename(partial, final) < 0) {
		snprintf(error, error_size, "cannot move %s into place: %s", final, strerror(errno));
		return -errno;
	}
	return fsync_dir(dir);
}
