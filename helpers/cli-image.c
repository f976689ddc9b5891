/* cli-image.c - qvm image list|refresh|prune, qvm reset and qvm reseed: thin layers over qvm-image and qvm-seed */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "paths.h"
#include "image.h"
#include "strv.h"
#include "values.h"

/* The image cache, CACHE/images, by the same rule the helpers use. */
static char *images_dir(char buf[static 4096])
{
	struct vm_config dummy = { .name = (char *)"-" };
	struct vm_paths p;

	if (vm_paths_get(&dummy, &p) < 0)
		return NULL;
	snprintf(buf, 4096, "%.4080s/images", p.cache_dir);
	return buf;
}

/* Collect what configured VMs use: overlay backing files and the cache names of their sources. */
static int collect_references(char ***backing, char ***sources)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = config_list_names(config_dir(), &names);

	if (r < 0 && r != -ENOENT)
		return r;
	STRV_FOREACH(name, names) {
		_cleanup_diag_list_ struct diag_list diags = { 0 };
		_cleanup_config_free_ struct vm_config *c = NULL;
		struct vm_paths p;
		char back[4096], cached[256];

		if (config_load(config_dir(), *name, &c, &diags) < 0 || vm_paths_get(c, &p) < 0)
			continue;
		if (qcow2_backing_file(p.disk, back) == 0 && back[0] && strv_push(backing, back) < 0)
			return -ENOMEM;
		if (c->image_source && image_cache_name(c->image_source, cached) == 0 &&
		    strv_push(sources, cached) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Is cache file @dir/@file referenced by a VM? */
static bool referenced(const char *dir, const char *file, char *const *backing, char *const *sources)
{
	char path[8192];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	STRV_FOREACH(b, backing)
		if (strcmp(*b, path) == 0 || strcmp(*b, file) == 0)
			return true;
	return strv_contains(sources, file);
}

/* Remove the SOURCE.latest links (qvm-image's pointers to a source's newest base) whose base is gone. */
static void drop_dangling_latest(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 7 && strcmp(de->d_name + n - 7, ".latest") == 0 &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
		    fstatat(dirfd(d), de->d_name, &st, 0) < 0 && errno == ENOENT)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* List (and with @prune, delete) the verified images in the cache. */
static int image_walk(bool prune, bool dry_run)
{
	_cleanup_strv_free_ char **backing = NULL, **sources = NULL;
	char dir[4096];
	struct dirent *de;
	unsigned removed = 0;
	DIR *d;
	int r;

	if (!images_dir(dir))
		return cli_error("cache path too long");
	r = collect_references(&backing, &sources);
	if (r < 0)
		return cli_error("cannot read the configs: %s", strerror(-r));
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? (printf("%s: no cached images\n", dir), QVM_EXIT_OK)
				       : cli_error("cannot open %s: %m", dir);
	if (!prune)
		printf("%-60s %8s %-16s %s\n", "IMAGE", "SIZE", "CACHED", "USED");
	while ((de = readdir(d))) {
		struct stat st;
		char size[32], when[32], record[512];
		bool used;

		/* Verified images are regular files of mode 0444; partial downloads are left alone. */
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || (st.st_mode & 0777) != 0444)
			continue;
		used = referenced(dir, de->d_name, backing, sources);
		if (!prune) {
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&st.st_mtime));
			printf("%-60s %8s %-16s %s\n", de->d_name, format_size(size, sizeof(size), (uint64_t)st.st_size),
			       when, used ? "yes" : "no");
			continue;
		}
		if (used)
			continue;
		printf("%s %s/%s\n", dry_run ? "would remove" : "removing", dir, de->d_name);
		if (!dry_run && unlinkat(dirfd(d), de->d_name, 0) < 0) {
			fprintf(stderr, "qvm: cannot remove %s/%s: %m\n", dir, de->d_name);
			continue;
		}
		removed++;
		if (!dry_run && snprintf(record, sizeof(record), "%s.verified", de->d_name) < (int)sizeof(record))
			(void)unlinkat(dirfd(d), record, 0);  /* qvm-image's verified record, if any */
	}
	closedir(d);
	if (prune && !dry_run)
		drop_dangling_latest(dir);
	if (prune)
		printf("%u image%s %s\n", removed, removed == 1 ? "" : "s", dry_run ? "to remove" : "removed");
	return QVM_EXIT_OK;
}

/* As root, become the user qvm (if it exists), so that files are created with the unit's owner. */
static int become_qvm(void)
{
	struct passwd *pw;

	if (geteuid() != 0 || !(pw = getpwnam("qvm")))
		return 0;
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return negative_errno();
	return 0;
}

/*
 * exec libexec helper @helper with @arg and VM @name; as the user qvm (the owner
 * of the image cache) when @as_qvm. Return: only on failure.
 */
static int exec_helper(const char *helper, const char *arg, const char *name, bool as_qvm)
{
	char path[4096];
	char *argv[] = { (char *)helper, (char *)arg, (char *)name, NULL };

	if (as_qvm && become_qvm() < 0)
		return cli_error("cannot become user qvm: %m");
	fflush(stdout);
	execv(cli_libexec(helper, path), argv);
	return cli_error("cannot run %s: %m", path);
}

static void image_help(void)
{
	printf("Usage: qvm image list\n"
	       "       qvm image refresh NAME\n"
	       "       qvm image prune [--dry-run]\n\n"
	       "The cache of verified base images, CACHE/images (/var/cache/qvm/images,\n"
	       "$QVM_CACHE_DIR/images).\n\n"
	       "  list      the cached images, their size, and whether a configured VM uses them\n"
	       "  refresh   download VM NAME's base image again and verify it (qvm-image --refresh)\n"
	       "  prune     remove the images that no configured VM uses; an image under an\n"
	       "            existing VM disk (its qcow2 backing file) is never removed\n\n"
	       "  -n, --dry-run   prune: only say what would be removed\n"
	       "  -h, --help      show this help\n");
}

int cli_image(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_config_free_ struct vm_config *c = NULL;
	bool dry_run = false;
	const char *verb, *name;
	int o, r;

	while ((o = getopt_long(argc, argv, "nh", options, NULL)) >= 0)
		switch (o) {
		case 'n':
			dry_run = true;
			break;
		case 'h':
			image_help();
			return QVM_EXIT_OK;
		default:
			return cli_usage_error("image", "bad option");
		}
	if (optind >= argc)
		return cli_usage_error("image", "missing list, refresh or prune");
	verb = argv[optind++];
	if ((strcmp(verb, "list") == 0 || strcmp(verb, "prune") == 0) && optind < argc)
		return cli_usage_error("image", "unexpected argument '%s'", argv[optind]);
	if (strcmp(verb, "list") == 0)
		return image_walk(false, false);
	if (strcmp(verb, "prune") == 0)
		return image_walk(true, dry_run);
	if (strcmp(verb, "refresh") != 0)
		return cli_usage_error("image", "unknown action '%s'", verb);
	r = cli_one_name("image refresh", argc - optind, argv + optind, &name);
	if (r == QVM_EXIT_OK)
		r = cli_load_vm(name, &c);
	if (r != QVM_EXIT_OK)
		return r;
	if (!c->image_source)
		return cli_usage_error("image", "VM %s has no [image] source to refresh", name);
	return exec_helper("qvm-image", "--refresh", name, true);
}

/* Refuse when qvm@NAME is running (or when that cannot be known, unless @force). */
static int require_stopped(const char *cmd, const char *name, bool force)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	struct unit_info u = { 0 };
	sd_bus *bus = NULL;
	char unit[256];
	int r = bus_connect(&bus);

	if (r >= 0)
		r = unit_info_get(bus, vm_unit_name(name, unit), &u, &err);
	sd_bus_flush_close_unref(bus);
	if (r < 0 && !force)
		return cli_error("cannot ask systemd whether qvm@%s is running (%s); stop it and use --force",
				 name, sd_bus_error_is_set(&err) ? err.message : strerror(-r));
	r = r >= 0 && unit_is_running(&u) ? cli_error("qvm@%s is %s: stop it first (qvm stop %s)", name,
						      u.active_state, name)
					 : QVM_EXIT_OK;
	unit_info_clear(&u);
	(void)cmd;
	return r;
}

/* Shared option parsing of reset and reseed. Return: -1 to go on, else the exit status. */
static int parse_vm_cmd(int argc, char *argv[], void (*help)(void), bool *force, const char **name)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int o, r;

	while ((o = getopt_long(argc, argv, "fh", options, NULL)) >= 0)
		switch (o) {
		case 'f':
			*force = true;
			break;
		case 'h':
			help();
			return QVM_EXIT_OK;
		default:
			return cli_usage_error(argv[0], "bad option");
		}
	r = cli_one_name(argv[0], argc - optind, argv + optind, name);
	return r == QVM_EXIT_OK ? -1 : r;
}

static void reset_help(void)
{
	printf("Usage: qvm reset [--force] NAME\n\n"
	       "Discard VM NAME's system disk, the copy-on-write overlay over its base image\n"
	       "(qvm-image --reset): the next start begins from the pristine image, and\n"
	       "cloud-init runs again. Data disks ([disk:NAME]) are kept. Refused while\n"
	       "qvm@NAME is running. The remembered ssh host key is forgotten.\n\n"
	       "  -f, --force   go ahead when systemd cannot be asked whether the VM runs\n"
	       "  -h, --help    show this help\n");
}

int cli_reset(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	const char *name;
	bool force = false;
	int r = parse_vm_cmd(argc, argv, reset_help, &force, &name);

	if (r >= 0)
		return r;
	r = cli_load_vm(name, &c);
	if (r == QVM_EXIT_OK && c->image_disk)
		r = cli_usage_error("reset", "VM %s uses [image] disk = %s directly; qvm never discards it",
				    name, c->image_disk);
	if (r == QVM_EXIT_OK)
		r = require_stopped("reset", name, force);
	if (r != QVM_EXIT_OK)
		return r;
	(void)cli_ssh_forget(name);
	return exec_helper("qvm-image", "--reset", name, false); /* the state dir is the VM's own */
}

static void reseed_help(void)
{
	printf("Usage: qvm reseed NAME\n\n"
	       "Write VM NAME's cloud-init seed again with a new instance-id (qvm-seed\n"
	       "--reseed): on its next boot cloud-init in the guest runs its first-boot\n"
	       "modules again (users, keys, host keys). The remembered ssh host key is\n"
	       "forgotten. Run as root, so that files named in [cloud-init] can be read.\n\n"
	       "  -h, --help   show this help\n");
}

/* Give the seed files qvm-seed wrote as root to the owner of the state dir. */
static void chown_seed(const struct vm_config *c)
{
	struct vm_paths p;
	struct stat st;
	char gen[4200];

	if (vm_paths_get(c, &p) < 0 || stat(p.state_dir, &st) < 0)
		return;
	snprintf(gen, sizeof(gen), "%s/seed.generation", p.state_dir);
	(void)lchown(gen, st.st_uid, st.st_gid);
	(void)lchown(p.seed, st.st_uid, st.st_gid);
}

int cli_reseed(int argc, char *argv[])
{
	_cleanup_config_free_ struct vm_config *c = NULL;
	const char *name;
	bool force = false;
	char path[4096];
	int status, r = parse_vm_cmd(argc, argv, reseed_help, &force, &name);
	pid_t pid;

	if (r >= 0)
		return r;
	r = cli_load_vm(name, &c);
	if (r != QVM_EXIT_OK)
		return r;
	if (!c->has_cloud_init)
		return cli_usage_error("reseed", "VM %s has no [cloud-init] section", name);
	(void)cli_ssh_forget(name);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return cli_error("fork: %m");
	if (pid == 0) {
		char *args[] = { (char *)"qvm-seed", (char *)"--reseed", (char *)name, NULL };

		execv(cli_libexec("qvm-seed", path), args);
		fprintf(stderr, "qvm: cannot run %s: %m\n", path);
		_exit(QVM_EXIT_FAILURE);
	}
	if (waitpid(pid, &status, 0) < 0)
		return cli_error("waitpid: %m");
	chown_seed(c);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cli_error("qvm-seed --reseed %s failed", name);
	printf("New seed for %s; cloud-init runs again on its next boot.\n", name);
	return QVM_EXIT_OK;
}
