/* image.c - the base image cache and the VM's disks: cache names, verified records, qcow2 headers, qemu-img */
#include "image.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"

int image_cache_name(const char *source, char buf[static 256])
{
	const char *base = strrchr(source, '/');
	uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */

	base = base ? base + 1 : source;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	for (const char *s = source; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	snprintf(buf, 256, "%016llx-%.200s", (unsigned long long)h, base);
	return 0;
}

/* The record's path: "@path.verified". */
static int record_path(const char *path, char buf[static 4096])
{
	return snprintf(buf, 4096, "%s.verified", path) >= 4096 ? -ENAMETOOLONG : 0;
}

int image_record_read(const char *path, struct checksum *ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	char rec[4096], spec[200];
	unsigned long long size, mtime, ino;

	if (record_path(path, rec) < 0)
		return -ENAMETOOLONG;
	f = fopen(rec, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%199s %llu %llu %llu", spec, &size, &mtime, &ino) != 4 || checksum_parse(spec, ret) < 0)
		return -EBADMSG;
	return 0;
}

int image_record_check(const char *path, const struct checksum *expected)
{
	_cleanup_fclose_ FILE *f = NULL;
	char rec[4096], spec[200], want[200];
	unsigned long long size, mtime, ino;
	struct stat st;

	if (record_path(path, rec) < 0 || stat(path, &st) < 0 || !(f = fopen(rec, "re")))
		return 0;
	if (fscanf(f, "%199s %llu %llu %llu", spec, &size, &mtime, &ino) != 4)
		return 0;
	snprintf(want, sizeof(want), "%s:%s", expected->algo, expected->hex);
	return strcmp(spec, want) == 0 && size == (unsigned long long)st.st_size &&
	       mtime == (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st.st_mtim.tv_nsec &&
	       ino == (unsigned long long)st.st_ino;
}

int image_record_write(const char *path, const struct checksum *sum)
{
	_cleanup_fclose_ FILE *f = NULL;
	char rec[4096], tmp[4200];
	struct stat st;

	if (record_path(path, rec) < 0 || stat(path, &st) < 0)
		return -errno ?: -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", rec);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s:%s %llu %llu %llu\n", sum->algo, sum->hex, (unsigned long long)st.st_size,
		(unsigned long long)st.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st.st_mtim.tv_nsec,
		(unsigned long long)st.st_ino);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0 || rename(tmp, rec) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return 0;
}

int qcow2_backing_file(const char *path, char buf[static 4096])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char h[20];
	uint64_t off;
	uint32_t len;

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4) != 0)
		return -EMEDIUMTYPE;
	memcpy(&off, h + 8, 8);
	memcpy(&len, h + 16, 4);
	off = be64toh(off);
	len = be32toh(len);
	if (off == 0 || len == 0)
		return 0;
	if (len >= 4096 || pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		return -EBADMSG;
	buf[len] = '\0';
	return 0;
}

/* Run qemu-img with @argv; its stdout into @out (may be NULL), its stderr into @error. */
static int run_qemu_img(char *const argv[], char *out, size_t out_size, char *error, size_t error_size)
{
	int po[2], pe[2], status;
	size_t n_out = 0, n_err = 0;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(pe, O_CLOEXEC) < 0)
		return close(po[0]), close(po[1]), -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	for (ssize_t k; out && (k = read(po[0], out + n_out, out_size - 1 - n_out)) > 0;)
		n_out += (size_t)k;
	for (ssize_t k; (k = read(pe[0], error + n_err, error_size - 1 - n_err)) > 0;)
		n_err += (size_t)k;
	close(po[0]);
	close(pe[0]);
	if (out)
		out[n_out] = '\0';
	error[n_err] = '\0';
	while (n_err > 0 && error[n_err - 1] == '\n')
		error[--n_err] = '\0';
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int qemu_img_info_json(const char *path, struct json_object **ret, char *error, size_t error_size)
{
	char *argv[] = { (char *)"qemu-img", (char *)"info", (char *)"-U", (char *)"--output=json", (char *)"--",
			 (char *)path, NULL };
	_cleanup_free_ char *out = malloc(1 << 20);
	json_object *j;
	int r;

	if (!out)
		return -ENOMEM;
	r = run_qemu_img(argv, out, 1 << 20, error, error_size);
	if (r < 0)
		return r;
	j = json_tokener_parse(out);
	if (!j || !json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		snprintf(error, error_size, "qemu-img info %s: unexpected output", path);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

int qemu_img_info(const char *path, char format[static 32], uint64_t *virtual_size, char *error, size_t error_size)
{
	json_object *j = NULL, *v;
	int r = qemu_img_info_json(path, &j, error, error_size);

	if (r < 0)
		return r;
	if (!json_object_object_get_ex(j, "format", &v)) {
		json_object_put(j);
		snprintf(error, error_size, "qemu-img info %s: no format", path);
		return -EBADMSG;
	}
	snprintf(format, 32, "%s", json_object_get_string(v));
	*virtual_size = json_object_object_get_ex(j, "virtual-size", &v) ? (uint64_t)json_object_get_int64(v) : 0;
	json_object_put(j);
	return 0;
}

int qemu_img_resize(const char *path, const char *format, uint64_t size, char *error, size_t error_size)
{
	char size_arg[32];
	char *argv[] = { (char *)"qemu-img", (char *)"resize", (char *)"-q", (char *)"-f", (char *)format,
			 (char *)"--", (char *)path, size_arg, NULL };

	snprintf(size_arg, sizeof(size_arg), "%llu", (unsigned long long)size);
	return run_qemu_img(argv, NULL, 0, error, error_size);
}

int qemu_img_snapshot(const char *path, char op, const char *tag, char *error, size_t error_size)
{
	char flag[3] = { '-', op, '\0' };
	char *argv[] = { (char *)"qemu-img", (char *)"snapshot", (char *)"-q", flag, (char *)tag, (char *)"--",
			 (char *)path, NULL };

	if (!strchr("cad", op))
		return -EINVAL;
	return run_qemu_img(argv, NULL, 0, error, error_size);
}

static int fsync_path(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 || fsync(fd) < 0 ? -errno : 0;
}

/* fsync the directory that holds @path, so a new name in it is durable. */
static int fsync_parent(const char *path)
{
	char dir[4200];
	const char *slash = strrchr(path, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
	return fsync_path(dir);
}

int qemu_img_create(const char *path, const char *format, const char *backing, const char *backing_format,
		    uint64_t size, char *error, size_t error_size)
{
	char tmp[4200], size_arg[32];
	char *argv[16];
	size_t n = 0;
	int r;

	if (access(path, F_OK) == 0)
		return -EEXIST;
	snprintf(tmp, sizeof(tmp), "%s.creating", path);
	unlink(tmp);
	argv[n++] = (char *)"qemu-img";
	argv[n++] = (char *)"create";
	argv[n++] = (char *)"-q";
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)format;
	if (backing) {
		argv[n++] = (char *)"-F";
		argv[n++] = (char *)backing_format;
		argv[n++] = (char *)"-b";
		argv[n++] = (char *)backing;
	}
	argv[n++] = (char *)"--";
	argv[n++] = tmp;
	if (size) {
		snprintf(size_arg, sizeof(size_arg), "%llu", (unsigned long long)size);
		argv[n++] = size_arg;
	}
	argv[n] = NULL;
	r = run_qemu_img(argv, NULL, 0, error, error_size);
	if (r >= 0)
		r = fsync_path(tmp);    /* durable before it gets its name: a crash never leaves a torn disk */
	if (r >= 0 && link(tmp, path) < 0) /* link, not rename: never replace a file that appeared meanwhile */
		r = -errno;
	unlink(tmp);
	if (r >= 0)
		r = fsync_parent(path);
	return r;
}
