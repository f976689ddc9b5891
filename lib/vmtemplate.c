/* vmtemplate.c - render the commented NAME.ini of qvm new; preset cloud images; free ssh port */
#include "vmtemplate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

/* Official cloud images: the source URL is head + Debian arch name (amd64, arm64) + tail. */
static const struct {
	const char *id, *label, *head, *tail, *checksums;
	const char *keyring, *keyring_package, *signature; /* the SUMS' OpenPGP signature (M6) */
} presets[] = {
	{ "debian-12", "Debian 12 (bookworm) generic cloud image",
	  "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-", ".qcow2",
	  "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS",
	  "/usr/share/keyrings/debian-role-keys.gpg", "debian-keyring", NULL },
	{ "ubuntu-24.04", "Ubuntu 24.04 LTS (noble) server cloud image",
	  "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-", ".img",
	  "https://cloud-images.ubuntu.com/noble/current/SHA256SUMS",
	  "/usr/share/keyrings/ubuntu-cloudimage-keyring.gpg", "ubuntu-keyring",
	  "https://cloud-images.ubuntu.com/noble/current/SHA256SUMS.gpg" },
};

const char *const *image_preset_ids(void)
{
	static const char *const ids[] = { "debian-12", "ubuntu-24.04", NULL };

	return ids;
}

const char *debian_arch(const char *arch)
{
	if (strcmp(arch, "x86_64") == 0)
		return "amd64";
	if (strcmp(arch, "aarch64") == 0)
		return "arm64";
	return NULL;
}

int image_preset_find(const char *id, const char *darch, struct image_preset *ret)
{
	/* Built once per arch: the formatted URLs must outlive the call. */
	static char source[ELEMENTSOF(presets)][2][256];

	for (size_t i = 0; i < ELEMENTSOF(presets); i++) {
		int a;

		if (strcmp(presets[i].id, id) != 0)
			continue;
		if (!darch || (strcmp(darch, "amd64") != 0 && strcmp(darch, "arm64") != 0))
			return -EOPNOTSUPP;
		a = strcmp(darch, "arm64") == 0;
		snprintf(source[i][a], sizeof(source[i][a]), "%s%s%s", presets[i].head, darch,
			 presets[i].tail);
		*ret = (struct image_preset){ presets[i].id, presets[i].label, source[i][a], presets[i].checksums,
					      presets[i].keyring, presets[i].keyring_package, presets[i].signature };
		return 0;
	}
	return -ENOENT;
}

/* Can @s be written as an INI value and read back unchanged? */
static bool ini_value_ok(const char *s)
{
	return !s || (!strpbrk(s, "\n\r") && !strstr(s, " ;") && !strstr(s, "\t;") && strlen(s) < 190);
}

static void put_vm_image(FILE *f, const struct vm_template *t)
{
	fprintf(f, "# /etc/qvm/%s.ini - written by qvm new; every key is in qvm.ini(5).\n"
		"# Start it with: systemctl start qvm@%s   (or: qvm start %s)\n\n", t->name, t->name, t->name);
	fprintf(f, "[vm]\n"
		"description = %s\n"
		"# Start the VM at boot:\n"
		"autostart = no\n"
		"# auto uses KVM when /dev/kvm works, else TCG (slow, but works anywhere):\n"
		"accel = auto\n"
		"cpus = 2\n"
		"memory = 2G\n"
		"# systemctl start returns once the guest's sshd answers:\n"
		"ready = ssh\n"
		"# ACPI power-off first; forced off after this long:\n"
		"shutdown-timeout = 90s\n\n", t->label ? t->label : t->name);
	fprintf(f, "[image]\n# The base image, downloaded once into /var/cache/qvm and verified;\n"
		"# the VM writes only to its own copy-on-write disk in /var/lib/qvm/%s.\n"
		"source = %s\n", t->name, t->source);
	if (t->checksums)
		fprintf(f, "checksums = %s\n", t->checksums);
	if (t->keyring && t->keyring_present)
		fprintf(f, "# The checksums must carry a good OpenPGP signature by a key in:\n"
			"checksums-keyring = %s\n", t->keyring);
	else if (t->keyring)
		fprintf(f, "# Check the checksums' OpenPGP signature: apt install %s, then uncomment:\n"
			"#checksums-keyring = %s\n", t->keyring_package ? t->keyring_package : "its keyring", t->keyring);
	if (t->keyring && t->signature)
		fprintf(f, "%schecksums-signature = %s\n", t->keyring_present ? "" : "#", t->signature);
	if (t->checksum)
		fprintf(f, "checksum = %s\n", t->checksum);
	fprintf(f, "# The VM's own disk grows to this size:\nsize = 20G\n\n");
}

/* Write the [cloud-init] and [network] sections. */
static void put_cloud_init_network(FILE *f, const struct vm_template *t)
{
	fprintf(f, "[cloud-init]\n"
		"# cloud-init creates this user, with passwordless sudo, on first boot:\n"
		"user = %s\n", t->user);
	if (t->ssh_key_file)
		fprintf(f, "# Read by systemd at every start; keep the file in place:\n"
			"ssh-authorized-keys-file = %s\n", t->ssh_key_file);
	else
		fprintf(f, "# No public key was found: add one, or you cannot log in.\n"
			"#ssh-authorized-key = ssh-ed25519 AAAA... you@host\n");
	fprintf(f, "#packages = git, htop\n\n");
	fprintf(f, "[network]\n"
		"# User-mode networking; host 127.0.0.1:%d reaches the guest's port 22:\n"
		"mode = user\n"
		"ssh = %d\n"
		"# Log in with: qvm ssh %s   (ssh -p %d %s@127.0.0.1)\n"
		"#forward = tcp:8080:80\n", t->ssh_port, t->ssh_port, t->name, t->ssh_port, t->user);
}

int vm_template_render(const struct vm_template *t, char **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!t->name || !t->source || !t->user || t->ssh_port < 1 || t->ssh_port > 65535)
		return -EINVAL;
	if (!ini_value_ok(t->label) || !ini_value_ok(t->source) || !ini_value_ok(t->checksum) ||
	    !ini_value_ok(t->checksums) || !ini_value_ok(t->user) || !ini_value_ok(t->ssh_key_file))
		return -EINVAL;
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	put_vm_image(f, t);
	put_cloud_init_network(f, t);
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(text);
	return 0;
}

int ssh_port_pick(const struct vm_config *const *configs, size_t n, int first)
{
	for (int port = first; port < 65536; port++) {
		bool used = false;

		for (size_t i = 0; i < n && !used; i++) {
			_cleanup_free_ struct forward *fw = NULL;
			size_t nfw = 0;
			int r = config_forwards(configs[i], &fw, &nfw);

			if (r == -ENOMEM)
				return r;
			for (size_t k = 0; r >= 0 && k < nfw; k++)
				used = used || (fw[k].proto == FORWARD_TCP && fw[k].host_port == port);
		}
		if (!used)
			return port;
	}
	return -EADDRINUSE;
}
