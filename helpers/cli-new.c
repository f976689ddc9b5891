/* cli-new.c - qvm new NAME: write a commented, working /etc/qvm/NAME.ini, validate it, daemon-reload */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "basic.h"
#include "strv.h"
#include "vmtemplate.h"

/* Options of qvm new. */
struct new_opts {
	const char *image, *ssh_key, *checksum, *checksums, *user;
	bool no_reload;
};

/* Is @s a URL the image helper downloads? */
static bool is_url(const char *s)
{
	return url_kind(s) != URL_NONE;
}

/* Fill the image part of @t from --image. Return: QVM_EXIT_* */
static int pick_image(const struct new_opts *o, struct vm_template *t, char abs[static 4096])
{
	struct image_preset p;
	struct utsname u;
	int r;

	if (uname(&u) < 0)
		return cli_error("uname: %m");
	r = image_preset_find(o->image, debian_arch(u.machine), &p);
	if (r == -EOPNOTSUPP)
		return cli_usage_error("new", "no %s image for %s: give --image PATH or URL", o->image, u.machine);
	if (r == 0) {
		t->source = p.source, t->checksums = p.checksums, t->label = p.label;
		t->keyring = p.keyring, t->keyring_package = p.keyring_package, t->signature = p.signature;
		t->keyring_present = p.keyring && access(p.keyring, R_OK) == 0;
		return QVM_EXIT_OK;
	}
	t->checksum = o->checksum, t->checksums = o->checksums;
	if (is_url(o->image)) {
		if (strncmp(o->image, "file:", 5) != 0 && !o->checksum && !o->checksums)
			return cli_usage_error("new", "a downloaded image must be verified: give --checksum "
						      "sha512:HEX or --checksums URL");
		t->source = o->image;
		return QVM_EXIT_OK;
	}
	if (!strchr(o->image, '/') && access(o->image, F_OK) < 0)
		return cli_usage_error("new", "unknown image '%s': use debian-12, ubuntu-24.04, a PATH or a URL",
				       o->image);
	if (!realpath(o->image, abs))
		return cli_usage_error("new", "image %s: %m", o->image);
	t->source = abs;
	return QVM_EXIT_OK;
}

/* The user to create in the guest: --user, else $SUDO_USER, else "dev". */
static const char *pick_user(const struct new_opts *o)
{
	const char *s = getenv("SUDO_USER");

	if (o->user)
		return o->user;
	if (s && *s && strcmp(s, "root") != 0 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s) &&
	    s[0] >= 'a' && s[0] <= 'z')
		return s;
	return "dev";
}

/* The public key file: --ssh-key, else the first ~/.ssh/id_*.pub of the (sudo) user. */
static int pick_key(const struct new_opts *o, struct vm_template *t, char abs[static 4096])
{
	static const char *const keys[] = { "id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub" };
	const char *sudo_user = getenv("SUDO_USER"), *home = getenv("HOME");
	struct passwd *pw = sudo_user && *sudo_user ? getpwnam(sudo_user) : NULL;
	char path[4096];

	if (o->ssh_key) {
		if (!realpath(o->ssh_key, abs))
			return cli_usage_error("new", "ssh key %s: %m", o->ssh_key);
		if (!endswith(o->ssh_key, ".pub"))
			return cli_usage_error("new", "%s: give the public key (*.pub)", o->ssh_key);
		t->ssh_key_file = abs;
		return QVM_EXIT_OK;
	}
	if (pw)
		home = pw->pw_dir;
	for (size_t i = 0; home && i < ELEMENTSOF(keys); i++) {
		snprintf(path, sizeof(path), "%s/.ssh/%s", home, keys[i]);
		if (access(path, R_OK) == 0) {
			snprintf(abs, 4096, "%s", path);
			t->ssh_key_file = abs;
			break;
		}
	}
	return QVM_EXIT_OK;
}

/* The first free ssh port from 2222, given the VMs already configured. Return: port or <0. */
static int pick_port(void)
{
	_cleanup_strv_free_ char **names = NULL;
	struct vm_config *configs[1024];
	size_t n = 0;
	int r;

	r = config_list_names(config_dir(), &names);
	if (r < 0 && r != -ENOENT)
		return r;
	STRV_FOREACH(name, names) {
		_cleanup_diag_list_ struct diag_list diags = { 0 };

		if (n < ELEMENTSOF(configs) && config_load(config_dir(), *name, &configs[n], &diags) >= 0)
			n++;
	}
	r = ssh_port_pick((const struct vm_config *const *)configs, n, 2222);
	for (size_t i = 0; i < n; i++)
		config_free(configs[i]);
	return r;
}

/* Create @path exclusively with @text. Return: 0, or negative errno (-EEXIST: already there). */
static int write_new_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	if (fd < 0)
		return negative_errno();
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		int r = errno ? -errno : -EIO;

		unlink(path);
		return r;
	}
	return 0;
}

/* Load the new file back with the real parser; remove it when it does not load. */
static int validate(const char *name, const char *path)
{
	_cleanup_diag_list_ struct diag_list diags = { 0 };
	_cleanup_config_free_ struct vm_config *c = NULL;
	int r = config_load(config_dir(), name, &c, &diags);

	diag_print(&diags, stderr, "");
	if (r < 0) {
		unlink(path);
		return cli_error("the new config does not load (%s); removed %s", strerror(-r), path);
	}
	return QVM_EXIT_OK;
}

/* daemon-reload, so that the generator makes qvm@NAME.service; skip with a note without systemd. */
static void reload(const char *name)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL;
	int r = bus_connect(&bus);

	if (r >= 0)
		r = bus_daemon_reload(bus, &err);
	sd_bus_flush_close_unref(bus);
	if (r < 0)
		fprintf(stderr, "qvm: note: systemd not reachable (%s); run 'systemctl daemon-reload' yourself\n",
			sd_bus_error_is_set(&err) ? err.message : strerror(-r));
	else
		printf("Reloaded systemd: qvm@%s.service is ready to start.\n", name);
}

static void help(void)
{
	printf("Usage: qvm new NAME [--image IMAGE] [--ssh-key FILE] [OPTIONS]\n\n"
	       "Write a commented /etc/qvm/NAME.ini ($QVM_CONFIG_DIR) that works as it is:\n"
	       "an official cloud image verified against its SUMS file, a cloud-init user\n"
	       "with your public key, and ssh on the first free port from 2222. Refuses to\n"
	       "overwrite; validates the file; then runs systemctl daemon-reload.\n\n"
	       "  -i, --image=IMAGE      debian-12 (default), ubuntu-24.04, a PATH or a URL\n"
	       "      --checksum=A:HEX   checksum of an image URL (sha256:... or sha512:...)\n"
	       "      --checksums=URL    SHA256SUMS/SHA512SUMS file of an image URL\n"
	       "  -k, --ssh-key=FILE     public key to authorize (default: ~/.ssh/id_*.pub\n"
	       "                         of $SUDO_USER, else of $HOME)\n"
	       "  -u, --user=USER        user to create (default: $SUDO_USER, else dev)\n"
	       "      --no-reload        do not run daemon-reload\n"
	       "  -h, --help             show this help\n");
}

/* Parse the options of qvm new into @o. Return: -1 to go on, else the exit status. */
static int parse_opts(int argc, char *argv[], struct new_opts *o)
{
	static const struct option options[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "ssh-key", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "checksum", required_argument, NULL, 'C' },
		{ "checksums", required_argument, NULL, 'S' },
		{ "no-reload", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "i:k:u:h", options, NULL)) >= 0)
		switch (c) {
		case 'i': o->image = optarg; break;
		case 'k': o->ssh_key = optarg; break;
		case 'u': o->user = optarg; break;
		case 'C': o->checksum = optarg; break;
		case 'S': o->checksums = optarg; break;
		case 'R': o->no_reload = true; break;
		case 'h': help(); return QVM_EXIT_OK;
		default: return cli_usage_error("new", "bad option");
		}
	return -1;
}

int cli_new(int argc, char *argv[])
{
	struct new_opts o = { .image = "debian-12" };
	struct vm_template t = { 0 };
	_cleanup_free_ char *text = NULL;
	char image[4096], key[4096], path[4096];
	int r;

	r = parse_opts(argc, argv, &o);
	if (r >= 0)
		return r;
	r = cli_one_name("new", argc - optind, argv + optind, &t.name);
	if (r == QVM_EXIT_OK && !vm_name_valid(t.name))
		r = cli_usage_error("new", "'%s' is not a valid VM name: [A-Za-z0-9][A-Za-z0-9_.-]*", t.name);
	if (r == QVM_EXIT_OK)
		r = pick_image(&o, &t, image);
	if (r == QVM_EXIT_OK)
		r = pick_key(&o, &t, key);
	if (r != QVM_EXIT_OK)
		return r;
	t.user = pick_user(&o);
	t.ssh_port = pick_port();
	if (t.ssh_port < 0)
		return cli_error("no free ssh port: %s", strerror(-t.ssh_port));
	r = vm_template_render(&t, &text);
	if (r < 0)
		return cli_usage_error("new", "cannot write these values into an INI file: %s", strerror(-r));
	snprintf(path, sizeof(path), "%s/%s.ini", config_dir(), t.name);
	(void)mkdir(config_dir(), 0755);
	r = write_new_file(path, text);
	if (r == -EEXIST)
		return cli_error("%s exists already; not overwriting it", path);
	if (r < 0)
		return cli_error("cannot write %s: %s", path, strerror(-r));
	r = validate(t.name, path);
	if (r != QVM_EXIT_OK)
		return r;
	printf("Wrote %s (user %s, ssh port %d%s).\n", path, t.user, t.ssh_port,
	       t.ssh_key_file ? "" : ", NO ssh key: edit the file");
	if (!o.no_reload)
		reload(t.name);
	printf("Start it with: qvm start %s   Then: qvm ssh %s\n", t.name, t.name);
	return QVM_EXIT_OK;
}
