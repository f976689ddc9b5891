/* seed.c - a VM's NoCloud seed: inputs through credentials, instance generation, atomic seed.iso */
#include "seed.h"
#include "basic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cloudinit.h"
#include "credential.h"
#include "iso.h"
#include "macro.h"
#include "strv.h"

#define KEYS_FILE_MAX (64 * 1024)   /* an authorized_keys file is a few KiB */

#define SEED_LABEL "cidata"
#define SEED_FILE_MAX (16u << 20)    /* refuse to put more than 16 MiB of one file into a seed */

/* Read all of @fd (closed afterwards; -1: open() failed) into a C string; NUL bytes are refused. */
static int read_fd(int fd, char **ret)
{
	_cleanup_close_ int cfd = fd;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc = 0;

	if (fd < 0)
		return negative_errno();

	for (;;) {
		ssize_t n;

		if (alloc - size < 4096) {
			char *p;

			alloc = alloc ? alloc * 2 : 8192;
			if (alloc > SEED_FILE_MAX + 8192)
				return -EFBIG;
			p = realloc(buf, alloc);
			if (!p)
				return -ENOMEM;
			buf = p;
		}
		n = read(cfd, buf + size, alloc - size - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	buf[size] = '\0';
	if (strlen(buf) != size)
		return -EBADMSG;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Read the admin's file @path, as credential @cred under systemd. */
static int read_input(const char *cred, const char *path, char **ret)
{
	int fd = credential_open(cred, path);

	if (fd < 0)
		return fd;
	return read_fd(fd, ret);
}

/*
 * Whether the key file at @path may be used: not a symlink (it could point at
 * /etc/shadow), a regular file, owned by root or the user running this. A
 * path the sandbox hides (ProtectHome=) cannot be checked here; its content
 * still has to parse as ssh public keys, line by line.
 * Return: 0, -ELOOP (symlink), -EINVAL (not a regular file), -EPERM (owner), other -errno
 */
static int key_file_trusted(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT || errno == EACCES ? 0 : negative_errno();
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_uid != 0 && st.st_uid != getuid())
		return -EPERM;
	if (st.st_size > KEYS_FILE_MAX)
		return -EFBIG;
	return 0;
}

/* The keys of every ssh-authorized-keys-file; on failure *@failed names the file (and line). */
static int read_key_files(const struct vm_config *c, char ***keys, const char **failed)
{
	static char where[4200];
	size_t i = 0;

	STRV_FOREACH(path, c->ci_ssh_authorized_keys_files) {
		_cleanup_free_ char *text = NULL;
		unsigned bad_line = 0;
		char cred[64];
		int r;

		snprintf(cred, sizeof(cred), CRED_SSH_KEYS_FMT, i++);
		r = key_file_trusted(*path);
		if (r >= 0)
			r = read_input(cred, *path, &text);
		if (r >= 0 && strlen(text) > KEYS_FILE_MAX)
			r = -EFBIG;
		if (r >= 0)
			r = cloudinit_parse_keys_file(text, keys, &bad_line);
		if (r < 0) {
			snprintf(where, sizeof(where), "%s%s", *path,
				 r == -ELOOP ? " (a symlink; name the file itself)" :
				 r == -EPERM ? " (owned by neither root nor this user)" :
				 r == -EFBIG ? " (larger than 64 KiB)" : "");
			if (r == -EBADMSG)
				snprintf(where, sizeof(where), "%s line %u (not an ssh public key: expected 'TYPE BASE64 [comment]')",
					 *path, bad_line);
			*failed = where;
			return r;
		}
	}
	return 0;
}

/* The hash in password-hash-file (one line, no control characters), or NULL without one. */
static int read_password_hash(const struct vm_config *c, char **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t n;
	int r;

	*ret = NULL;
	if (!c->ci_password_hash_file)
		return 0;
	r = read_input(CRED_PASSWORD_HASH, c->ci_password_hash_file, &text);
	if (r < 0)
		return r;
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return -EBADMSG; /* one line: the crypt(3) hash */
	if (n == 0)
		return -EBADMSG;
	*ret = TAKE_PTR(text);
	return 0;
}

/* Fill @d from the INI; the part of seed_docs_build() that may fail half-way. */
static int build(const struct vm_config *c, unsigned generation, struct seed_docs *d,
		 const char **failed)
{
	_cleanup_strv_free_ char **keys = NULL;
	_cleanup_free_ char *vendor_file = NULL;
	int r;

	r = cloudinit_meta_data(c, generation, &d->meta_data);
	if (r < 0)
		return r;
	if (c->ci_user_data) {
		r = read_input(CRED_USER_DATA, c->ci_user_data, &d->user_data);
		if (r < 0) {
			*failed = c->ci_user_data;
			return r;
		}
	} else {
		_cleanup_free_ char *hash = NULL;
		struct vm_config with_hash = *c; /* shallow: only ci_password_hash differs, nothing is freed */

		r = read_key_files(c, &keys, failed);
		if (r < 0)
			return r;
		r = read_password_hash(c, &hash);
		if (r < 0) {
			*failed = c->ci_password_hash_file;
			return r;
		}
		if (hash)
			with_hash.ci_password_hash = hash;
		r = cloudinit_user_data(&with_hash, keys, &d->user_data);
		if (r < 0)
			return r;
	}
	if (c->ci_vendor_data) {
		r = read_input(CRED_VENDOR_DATA, c->ci_vendor_data, &vendor_file);
		if (r < 0) {
			*failed = c->ci_vendor_data;
			return r;
		}
	}
	r = cloudinit_vendor_data(vendor_file, &d->vendor_data);
	if (r < 0)
		return r;
	if (c->ci_network_config) {
		r = read_input(CRED_NETWORK_CONFIG, c->ci_network_config, &d->network_config);
		if (r < 0)
			*failed = c->ci_network_config;
		return r;
	}
	return cloudinit_network_config(c, &d->network_config);
}

int seed_docs_build(const struct vm_config *c, unsigned generation, struct seed_docs *ret,
		    const char **failed)
{
	struct seed_docs d = { 0 };
	int r;

	*failed = NULL;
	r = build(c, generation, &d, failed);
	if (r < 0) {
		seed_docs_done(&d);
		return r;
	}
	*ret = d;
	return 0;
}

void seed_docs_done(struct seed_docs *d)
{
	free(d->meta_data);
	free(d->user_data);
	free(d->vendor_data);
	free(d->network_config);
	*d = (struct seed_docs){ 0 };
}

/* mkdir -p @path, the last component mode 0700 (it holds the seed's private data). */
static int mkdir_private(const char *path)
{
	int r = mkdir_parents(path, 0, 0755);

	if (r < 0)
		return r;
	return mkdir(path, 0700) < 0 && errno != EEXIST ? negative_errno() : 0;
}

/* The directory part of @path, "." for none. */
static const char *dir_of(const char *path, char buf[static 4200])
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return ".";
	snprintf(buf, 4200, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return buf;
}

/*
 * Remove temporary files ".BASE.XXXXXX" beside @path that a killed run left
 * behind; a minute's age tells them from one another run is writing now.
 */
static void remove_orphans(const char *path)
{
	char dir_path[4200], prefix[300];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	DIR *d = opendir(dir_of(path, dir_path));
	struct dirent *e;
	struct stat st;

	snprintf(prefix, sizeof(prefix), ".%s.", base);
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strlen(e->d_name) == strlen(prefix) + 6 &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < time(NULL) - 60)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

/* Open a new temporary file (mode 0600) beside @path; its name goes to @tmp. */
static int open_temp(const char *path, char tmp[static 4200])
{
	const char *slash = strrchr(path, '/');
	char dir_path[4200];
	struct stat dir;
	int fd;

	if (slash)
		snprintf(tmp, 4200, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	else
		snprintf(tmp, 4200, ".%s.XXXXXX", path);
	remove_orphans(path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	/*
	 * Run by root (qvm reseed) in a state dir that belongs to the qvm user: hand the file
	 * to the dir's owner, or the service, which runs as qvm, could not read it next time.
	 */
	if (geteuid() == 0 && stat(dir_of(path, dir_path), &dir) == 0 && dir.st_uid != 0 &&
	    fchown(fd, dir.st_uid, dir.st_gid) < 0) {
		int r = negative_errno();

		close(fd);
		unlink(tmp);
		return r;
	}
	if (fchmod(fd, 0600) < 0) {
		int r = negative_errno();

		close(fd);
		unlink(tmp);
		return r;
	}
	return fd;
}

/* Make the data written to @fd durable, close it and rename @tmp to @path; @tmp is removed on failure. */
static int commit_temp(int fd, const char *tmp, const char *path, int r)
{
	if (r >= 0 && fsync(fd) < 0)
		r = negative_errno();
	if (close(fd) < 0 && r >= 0)
		r = negative_errno();
	if (r >= 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0)
		unlink(tmp);
	return r;
}

/* Replace @path with @text atomically, mode 0600. */
static int write_text_atomic(const char *path, const char *text)
{
	char tmp[4200];
	int fd = open_temp(path, tmp);

	if (fd < 0)
		return fd;
	return commit_temp(fd, tmp, path, write_all(fd, text, strlen(text)));
}

int seed_generation(const char *state_dir, bool bump, unsigned *ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	char buf[32];
	unsigned long gen = 1;
	int r;

	if (asprintf(&path, "%s/seed.generation", state_dir) < 0)
		return -ENOMEM;
	r = mkdir_private(state_dir);
	if (r < 0)
		return r;
	r = read_fd(open(path, O_RDONLY | O_CLOEXEC), &text);
	if (r >= 0) {
		char *end;

		errno = 0;
		gen = strtoul(text, &end, 10);
		if (errno || end == text || (*end && *end != '\n') || gen == 0 || gen >= 1000000000)
			return -EBADMSG;
	} else if (r != -ENOENT) {
		return r;
	}
	if (bump)
		gen++;
	if (r == -ENOENT || bump) {
		snprintf(buf, sizeof(buf), "%lu\n", gen);
		r = write_text_atomic(path, buf);
		if (r < 0)
			return r;
	}
	*ret = (unsigned)gen;
	return 0;
}

/*
 * Every document, each framed by its name and length, as one string: what
 * seed.iso was made from. It is kept beside the ISO and compared byte for
 * byte; the documents are a few KiB, and an exact copy needs no hash (linking
 * libcrypto alone would double qvm-seed's run time, see bench/bench-seed.py).
 */
static char *docs_serialize(const struct seed_docs *d)
{
	const struct { const char *name; const char *text; } parts[] = {
		{ "meta-data", d->meta_data }, { "user-data", d->user_data },
		{ "vendor-data", d->vendor_data }, { "network-config", d->network_config },
	};
	char *data = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&data, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		if (parts[i].text)
			fprintf(f, "%s %zu\n%s\n", parts[i].name, strlen(parts[i].text), parts[i].text);
		else
			fprintf(f, "%s -\n", parts[i].name);
	}
	if (fclose(f) != 0) {
		free(data);
		return NULL;
	}
	return data;
}

/* Does @iso_path exist with the record @inputs beside it? */
static bool up_to_date(const char *iso_path, const char *record_path, const char *inputs)
{
	_cleanup_free_ char *old = NULL;
	struct stat st;

	if (stat(iso_path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return false;
	if (read_fd(open(record_path, O_RDONLY | O_CLOEXEC), &old) < 0)
		return false;
	return strcmp(old, inputs) == 0;
}

int seed_write(const char *iso_path, const struct seed_docs *d)
{
	const char *names[] = { "meta-data", "user-data", "vendor-data", "network-config" };
	const char *texts[] = { d->meta_data, d->user_data, d->vendor_data, d->network_config };
	struct iso_entry files[4];
	_cleanup_free_ char *record_path = NULL, *inputs = docs_serialize(d);
	char tmp[4200];
	size_t n = 0;
	int fd, r;

	if (!inputs || asprintf(&record_path, "%s.inputs", iso_path) < 0)
		return -ENOMEM;
	if (up_to_date(iso_path, record_path, inputs)) {
		remove_orphans(iso_path); /* a run killed after its renames may have left older ones */
		remove_orphans(record_path);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (texts[i])
			files[n++] = (struct iso_entry){ names[i], texts[i], strlen(texts[i]) };
	fd = open_temp(iso_path, tmp);
	if (fd < 0)
		return fd;
	r = commit_temp(fd, tmp, iso_path, iso_volume_write(fd, SEED_LABEL, files, n));
	if (r < 0)
		return r;
	r = write_text_atomic(record_path, inputs);
	return r < 0 ? r : 1;
}

int seed_write_documents(const char *dir, const struct seed_docs *d)
{
	const char *names[] = { "meta-data", "user-data", "vendor-data", "network-config" };
	const char *texts[] = { d->meta_data, d->user_data, d->vendor_data, d->network_config };
	int r = mkdir_private(dir);

	for (size_t i = 0; i < ELEMENTSOF(names) && r >= 0; i++) {
		_cleanup_free_ char *path = NULL;

		if (!texts[i])
			continue;
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
			return -ENOMEM;
		r = write_text_atomic(path, texts[i]);
	}
	return r;
}
