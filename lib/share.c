/* share.c - virtiofs shares: finding virtiofsd, its command line, and the identity it runs with */
#include "share.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "strv.h"

/* Keep only names ending in ".json". */
static int filter_json(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* The "binary" of descriptor @path when it is of type "fs", else false. */
static bool descriptor_fs_binary(const char *path, char ret[static 4096])
{
	json_object *d = json_object_from_file(path), *type, *binary;
	bool ok = false;

	if (d && json_object_object_get_ex(d, "type", &type) && strcmp(json_object_get_string(type), "fs") == 0 &&
	    json_object_object_get_ex(d, "binary", &binary) && json_object_get_string(binary)[0] == '/') {
		snprintf(ret, 4096, "%s", json_object_get_string(binary));
		ok = true;
	}
	json_object_put(d);
	return ok;
}

/* Collect "name\tdir" for every descriptor in @dir into @all, replacing same-named ones. */
static int collect_dir(const char *dir, char ***all)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, filter_json, alphasort), r = 0;

	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *entry = NULL;
		size_t len = strlen(names[i]->d_name);

		for (char **e = *all; r == 0 && e && *e; e++)
			if (strncmp(*e, names[i]->d_name, len) == 0 && (*e)[len] == '\t')
				(*e)[0] = '\0';       /* a later dir hides it */
		if (r == 0 && asprintf(&entry, "%s\t%s", names[i]->d_name, dir) < 0)
			r = -ENOMEM;
		if (r == 0)
			r = strv_push(all, entry);
		free(names[i]);
	}
	free(names);
	return r;
}

/* Order "name\tdir" entries by name. */
static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int virtiofsd_find(const char *dirs, char ret[static 4096])
{
	_cleanup_strv_free_ char **all = NULL;
	_cleanup_free_ char *copy = strdup(dirs);
	char *save = NULL, path[8192];
	int r;

	if (!copy)
		return -ENOMEM;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
		if ((r = collect_dir(d, &all)) < 0)
			return r;
	if (!all)
		return -ENOENT;
	qsort(all, strv_length(all), sizeof(char *), by_name);
	STRV_FOREACH(e, all) {
		char *tab = strchr(*e, '\t');

		if (!**e || !tab)
			continue;
		snprintf(path, sizeof(path), "%s/%.*s", tab + 1, (int)(tab - *e), *e);
		if (descriptor_fs_binary(path, ret))
			return 0;
	}
	return -ENOENT;
}

char *fuse_opt_escape(const char *s)
{
	char *ret = malloc(2 * strlen(s) + 1), *o = ret;

	if (!ret)
		return NULL;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return ret;
}

const char *share_sandbox_mode(const char *mountinfo)
{
	_cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
	char line[4096], point[4096];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strncmp(point, "/proc/", 6) == 0)
			return "chroot";
	return "namespace";
}

int virtiofsd_argv(const struct share_config *s, const char *binary, int fd, const char *sandbox, char ***ret)
{
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_free_ char *esc = fuse_opt_escape(s->path), *source = NULL, *fdarg = NULL, *sb = NULL;
	const char *const fixed[] = { "-o", "cache=auto", "-o", "no_posix_lock", "-o", "no_xattr", "-o" };

	if (!esc || asprintf(&source, "source=%s", esc) < 0 || asprintf(&fdarg, "--fd=%d", fd) < 0 ||
	    asprintf(&sb, "sandbox=%s", sandbox) < 0)
		return -ENOMEM;
	if (strv_push(&argv, binary) < 0 || strv_push(&argv, fdarg) < 0 || strv_push(&argv, "-o") < 0 ||
	    strv_push(&argv, source) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
		if (strv_push(&argv, fixed[i]) < 0)
			return -ENOMEM;
	if (strv_push(&argv, sb) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(argv);
	return 0;
}

int share_identity_get(const struct share_config *s, struct share_identity *ret, struct diag_list *diags)
{
	struct stat st;

	if (stat(s->path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		config_check_shares_on_host(&(struct vm_config){ .shares = (struct share_config *)s, .n_shares = 1 },
					    diags);
		return -EINVAL;
	}
	if (st.st_uid == 0 && !s->readonly)
		return diag_add(diags, s->file, s->line,
				"[share:%s] path %s is owned by root: a writable virtiofs share acts as its directory's owner on the host, so give it to a user (chown), or set readonly = yes",
				s->name, s->path), -EINVAL;
	ret->uid = st.st_uid;
	ret->gid = st.st_gid;
	return 0;
}

/* Write @text to /proc/self/@file. */
static int write_proc_self(const char *file, const char *text)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	return n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
}

/* The highest capability this kernel knows. */
static int last_cap(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f && fscanf(f, "%d", &n) != 1)
		n = CAP_LAST_CAP;
	return n;
}

/*
 * Keep every capability across the exec of (non-root) virtiofsd by making it
 * inheritable and ambient. They are capabilities in the new user namespace only:
 * they reach that namespace's own mount, pid and net namespaces and inodes owned
 * by the one mapped id, i.e. what the directory's owner may do anyway; virtiofsd
 * itself drops all but the few it uses once its sandbox stands.
 */
static int keep_caps_across_exec(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	int last = last_cap();

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	data[0].inheritable = data[0].permitted;
	data[1].inheritable = data[1].permitted;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	for (int cap = 0; cap <= last; cap++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return -errno;
	return 0;
}

int share_enter_identity(const struct share_config *s, const struct share_identity *id, const char **step)
{
	char map[64];
	int r;

	*step = "setgroups";
	if (setgroups(0, NULL) < 0)
		return -errno;
	*step = "setresgid";
	if (setresgid(id->gid, id->gid, id->gid) < 0)
		return -errno;
	*step = "setresuid";
	if (setresuid(id->uid, id->uid, id->uid) < 0)
		return -errno;
	/* changing ids made us undumpable, which makes /proc/self/ root's and its maps unwritable */
	*step = "PR_SET_DUMPABLE";
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return -errno;
	*step = "unshare(CLONE_NEWUSER)";
	if (unshare(CLONE_NEWUSER) < 0)
		return -errno;
	*step = "user namespace maps";
	snprintf(map, sizeof(map), "%lld %u 1\n", (long long)s->guest_uid, (unsigned)id->uid);
	if ((r = write_proc_self("uid_map", map)) < 0 || (r = write_proc_self("setgroups", "deny")) < 0)
		return r;
	snprintf(map, sizeof(map), "%lld %u 1\n", (long long)s->guest_gid, (unsigned)id->gid);
	if ((r = write_proc_self("gid_map", map)) < 0)
		return r;
	*step = "ambient capabilities";
	return keep_caps_across_exec();
}
