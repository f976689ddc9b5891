/* config-validate.c - checks across keys, value formats the table cannot check alone, and derived defaults */
#include "config-internal.h"
#include "basic.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "machine.h"
#include "strv.h"
#include "values.h"

/* Where to point a problem about @section/@key: the key, else its section, else line 1. */
static struct location where(struct parse_state *st, const char *section, const char *key)
{
	const struct key_def *k = key ? config_find_key(section, key) : NULL;

	if (k && st->key_where[config_key_index(k)].line)
		return st->key_where[config_key_index(k)];
	for (size_t i = 0; config_sections()[i]; i++)
		if (strcmp(config_sections()[i], section) == 0 && st->section_where[i].line)
			return st->section_where[i];
	return (struct location){ st->config->path, 1 };
}

/* Record a problem at a remembered location. */

/* Is @s an IPv4 or IPv6 address? */
bool config_ip_valid(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Is @s "ADDRESS/PREFIX" with a prefix that fits the address family? */
static bool cidr_valid(const char *s)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	int64_t prefix;
	unsigned char buf[16];

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || parse_int(slash + 1, &prefix) < 0)
		return false;
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
	if (inet_pton(AF_INET, addr, buf) == 1)
		return prefix >= 1 && prefix <= 32;
	return inet_pton(AF_INET6, addr, buf) == 1 && prefix >= 1 && prefix <= 128;
}

/* Is @s a unicast MAC address written as six colon-separated hex pairs? */
static bool mac_valid(const char *s)
{
	unsigned b[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return false;
	return (b[0] & 1) == 0;
}

/* Is @s a checksum spec "sha256:<64 hex>" or "sha512:<128 hex>"? */
static bool checksum_valid(const char *s)
{
	size_t want;
	const char *hex;

	if (strncmp(s, "sha256:", 7) == 0)
		want = 64;
	else if (strncmp(s, "sha512:", 7) == 0)
		want = 128;
	else
		return false;
	hex = s + 7;
	if (strlen(hex) != want)
		return false;
	for (; *hex; hex++)
		if (!isxdigit((unsigned char)*hex))
			return false;
	return true;
}

/* Is @s an absolute path or a URL with a scheme qvm can fetch? */
static bool source_valid(const char *s)
{
	return s[0] == '/' || url_kind(s) != URL_NONE;
}

/* Is @s a URL that needs a network download (and so a checksum)? */
static bool source_is_remote(const char *s)
{
	return url_kind(s) == URL_HTTP;
}

/* Is @s a unit name systemd accepts: [A-Za-z0-9:_.\\@-], a non-empty stem, under 256 bytes? */
static bool unit_name_valid(const char *s)
{
	const char *dot = strrchr(s, '.');

	if (!dot || dot == s || strlen(s) >= 256)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(":-_.\\@", *s))
			return false;
	return true;
}

/* Is @s a usable Linux user name? */
static bool user_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("_-", s[i]))
			return false;
	return true;
}

/* Is @s a hostname: dot-separated labels of letters, digits and '-'? */
static bool hostname_valid(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* The architectures qvm knows defaults for. */
/* Check [vm] values the table cannot check alone. */
static void validate_vm(struct parse_state *st)
{
	struct vm_config *c = st->config;
	char *const *lists[] = { c->after, c->requires };

	if (c->arch && !arch_find(c->arch))
		PROBLEM_AT(st, where(st, "vm", "arch"), "unknown arch '%s': expected one of %s", c->arch, arch_list());
	for (size_t i = 0; i < ELEMENTSOF(lists); i++)
		STRV_FOREACH(s, lists[i]) {
			char unit[256];

			vm_unit_name(*s, unit);
			if (strcmp(unit, *s) != 0 ? !vm_name_valid(*s) : !unit_name_valid(*s))
				PROBLEM_AT(st, where(st, "vm", i ? "requires" : "after"),
					   "'%s' is neither a VM name nor a unit name (letters, digits and \":-_.\\@\" only)", *s);
			else if (strcmp(*s, c->name) == 0)
				PROBLEM_AT(st, where(st, "vm", i ? "requires" : "after"),
					   "VM %s cannot wait for itself", *s);
		}
	if (c->ready == READY_CLOUD_INIT && !c->has_cloud_init)
		PROBLEM_AT(st, where(st, "vm", "ready"), "ready = cloud-init needs a [cloud-init] section");
	if (c->qemu_monitor_group && !user_name_valid(c->qemu_monitor_group))
		PROBLEM_AT(st, where(st, "qemu", "monitor-group"),
			   "invalid group name '%s': at most 32 lower-case letters, digits, '_' and '-', starting with a "
			   "letter or '_'", c->qemu_monitor_group);
}

/* Check [image], [disk:NAME] and [boot]: there must be something to boot. */
static void validate_storage(struct parse_state *st)
{
	struct vm_config *c = st->config;

	if (!c->image_source && !c->image_disk && !c->boot_kernel && !c->boot_cdrom)
		PROBLEM_AT(st, where(st, "image", NULL),
			   "nothing to boot: set [image] source or disk, or [boot] kernel or cdrom");
	if (c->image_source && c->image_disk)
		PROBLEM_AT(st, where(st, "image", "disk"), "source and disk exclude each other: choose one");
	if (c->image_checksum && c->image_checksums)
		PROBLEM_AT(st, where(st, "image", "checksums"), "checksum and checksums exclude each other: choose one");
	if (c->image_checksum && !checksum_valid(c->image_checksum))
		PROBLEM_AT(st, where(st, "image", "checksum"),
			   "invalid checksum '%.40s': expected sha256:<64 hex digits> or sha512:<128 hex digits>",
			   c->image_checksum);
	if (c->image_source && !source_valid(c->image_source))
		PROBLEM_AT(st, where(st, "image", "source"),
			   "invalid source '%s': expected an https://, http:// or file:/// URL, or an absolute path",
			   c->image_source);
	else if (c->image_source && source_is_remote(c->image_source) && !c->image_checksum && !c->image_checksums)
		PROBLEM_AT(st, where(st, "image", "source"),
			   "a downloaded image must be verified: add checksum = sha512:HEX or checksums = URL");
	if (c->image_checksums && !c->image_checksum && strncmp(c->image_checksums, "http://", 7) == 0 &&
	    !c->image_checksums_keyring)
		PROBLEM_AT(st, where(st, "image", "checksums"),
			   "checksums over plain http can be rewritten on the way: use https, pin checksum = sha512:HEX, "
			   "or verify a signature with checksums-keyring = /path/keyring.gpg");
	if ((c->image_checksums_keyring || c->image_checksums_signature) && !c->image_checksums)
		PROBLEM_AT(st, where(st, "image", c->image_checksums_keyring ? "checksums-keyring" : "checksums-signature"),
			   "checksums-keyring and checksums-signature need checksums = URL");
	if (c->image_checksums_signature && !c->image_checksums_keyring)
		PROBLEM_AT(st, where(st, "image", "checksums-signature"),
			   "checksums-signature needs checksums-keyring = /path/keyring.gpg to check it against");
	if ((c->image_checksum || c->image_checksums || (c->image_size && !c->boot_cdrom)) && !c->image_source &&
	    !c->image_disk)
		PROBLEM_AT(st, where(st, "image", NULL),
			   "[image] needs source (or disk); a blank disk to install on needs size and [boot] cdrom");
	for (size_t i = 0; i < c->n_disks; i++)
		if (!c->disks[i].size && !c->disks[i].path)
			PROBLEM_AT(st, ((struct location){ c->disks[i].file, c->disks[i].line }),
				   "[disk:%s] needs size (or path of an existing disk)", c->disks[i].name);
	if ((c->boot_initrd || c->boot_append || c->boot_dtb) && !c->boot_kernel)
		PROBLEM_AT(st, where(st, "boot", c->boot_initrd ? "initrd" : c->boot_append ? "append" : "dtb"),
			   "initrd, append and dtb need kernel");
}

/* Is @s a gdb stub address qvm accepts: PORT, 127.0.0.1:PORT, localhost:PORT, [::1]:PORT (tcp: prefix optional), or unix? */
static bool gdb_address_valid(const char *s)
{
	static const char *const hosts[] = { "127.0.0.1:", "localhost:", "[::1]:" };
	const char *port = s;
	char *end;
	long v;

	if (strcmp(s, "unix") == 0)
		return true;
	if (strncmp(port, "tcp:", 4) == 0)
		port += 4;
	for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
		if (strncmp(port, hosts[i], strlen(hosts[i])) == 0)
			port += strlen(hosts[i]);
	errno = 0;
	v = strtol(port, &end, 10);
	return *port && !*end && errno == 0 && v > 0 && v <= 65535;
}

/* Is @s a NIC model name QEMU can take as a property value: [a-z0-9][a-z0-9_-]*, short? */
static bool nic_model_valid(const char *s)
{
	if (!*s || strlen(s) > 32 || !isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/* Check [vm] display and machine, [network] model and [qemu]: what QEMU would refuse, said before it runs. */
static void validate_devices(struct parse_state *st)
{
	struct vm_config *c = st->config;
	const char *owner = c->machine ? qemu_machine_arch(c->machine) : NULL;
	const char *arch = c->arch ? c->arch : arch_host();

	if (c->vnc_port && c->display != DISPLAY_VNC)
		PROBLEM_AT(st, where(st, "vm", "vnc-port"), "vnc-port needs display = vnc");
	if (c->vnc_port && c->vnc_port < 5900)
		PROBLEM_AT(st, where(st, "vm", "vnc-port"), "vnc-port = %lld: VNC ports start at 5900",
			   (long long)c->vnc_port);
	if (owner && !qemu_machine_fits(c->machine, arch))
		PROBLEM_AT(st, where(st, "vm", "machine"),
			   "machine %s is an %s machine; qemu-system-%s does not have it (set arch = %s, or another machine)",
			   c->machine, owner, arch, owner);
	if (c->net_model && !nic_model_valid(c->net_model))
		PROBLEM_AT(st, where(st, "network", "model"),
			   "invalid NIC model '%s': expected a name such as virtio, e1000, rtl8139, usb-net or smc91c111",
			   c->net_model);
	if (c->qemu_gdb && !gdb_address_valid(c->qemu_gdb))
		PROBLEM_AT(st, where(st, "qemu", "gdb"),
			   "invalid gdb '%s': the stub gives full control of the guest, so it listens only on loopback: PORT, 127.0.0.1:PORT, [::1]:PORT, or unix",
			   c->qemu_gdb);
	if (c->qemu_icount && c->accel == ACCEL_KVM)
		PROBLEM_AT(st, where(st, "qemu", "icount"),
			   "icount works only with TCG (QEMU refuses -icount with KVM): set accel = tcg (or auto, which then picks tcg)");
}

static void validate_cloud_init(struct parse_state *st)
{
	struct vm_config *c = st->config;

	if (c->ci_user && !user_name_valid(c->ci_user))
		PROBLEM_AT(st, where(st, "cloud-init", "user"),
			   "invalid user name '%s': use lower-case letters, digits, '_' and '-', at most 32", c->ci_user);
	if (c->ci_hostname && !hostname_valid(c->ci_hostname))
		PROBLEM_AT(st, where(st, "cloud-init", "hostname"),
			   "invalid hostname '%s': use letters, digits, '-' and '.'", c->ci_hostname);
	if (c->ci_password_hash && c->ci_password_hash_file)
		PROBLEM_AT(st, where(st, "cloud-init", "password-hash-file"),
			   "password-hash and password-hash-file exclude each other: choose one");
	if (c->ci_user_data && (c->ci_user || c->ci_ssh_authorized_keys || c->ci_ssh_authorized_keys_files ||
				c->ci_password_hash || c->ci_password_hash_file || c->ci_packages || c->ci_timezone))
		PROBLEM_AT(st, where(st, "cloud-init", "user-data"),
			   "user-data is used verbatim, so user, ssh keys, password-hash, packages and timezone cannot be added to it; put them in your user-data file");
	STRV_FOREACH(f, c->ci_ssh_authorized_keys_files)
		if ((*f)[0] != '/')
			PROBLEM_AT(st, where(st, "cloud-init", "ssh-authorized-keys-file"),
				   "ssh-authorized-keys-file = %s: expected an absolute path", *f);
		else if (config_path_problem(*f))
			PROBLEM_AT(st, where(st, "cloud-init", "ssh-authorized-keys-file"),
				   "ssh-authorized-keys-file = %s: %s", *f, config_path_problem(*f));
	STRV_FOREACH(k, c->ci_ssh_authorized_keys)
		if (!strstr(*k, "ssh-") && !strstr(*k, "ecdsa-") && !strstr(*k, "sk-"))
			PROBLEM_AT(st, where(st, "cloud-init", "ssh-authorized-key"),
				   "'%.30s...' does not look like an ssh public key (ssh-ed25519 AAAA... comment)", *k);
}

/* Check [network] values. */
static void validate_network(struct parse_state *st)
{
	struct vm_config *c = st->config;
	_cleanup_free_ struct forward *fw = NULL;
	size_t n = 0;

	if (c->net_mode == NET_TAP && !c->net_bridge)
		PROBLEM_AT(st, where(st, "network", "mode"), "mode = tap needs bridge = NAME (qvmbr0 is qvm's own)");
	if (c->net_mode == NET_TAP) { /* for crosscheck_taps(), which runs after the parse */
		struct location at = where(st, "network", "mode");

		free(c->net_mode_file);
		c->net_mode_file = at.path ? strdup(at.path) : NULL;
		c->net_mode_line = at.line;
	}
	if (c->net_mode != NET_TAP && (c->net_bridge || c->net_address || c->net_gateway || c->net_dns))
		PROBLEM_AT(st, where(st, "network", c->net_bridge ? "bridge" : "address"),
			   "bridge, address, gateway and dns need mode = tap");
	if (c->net_mode == NET_NONE && (c->net_ssh || c->net_forwards))
		PROBLEM_AT(st, where(st, "network", c->net_ssh ? "ssh" : "forward"),
			   "mode = none has no network to forward ports to");
	if (c->net_bridge && !config_name_valid(c->net_bridge, 15))
		PROBLEM_AT(st, where(st, "network", "bridge"),
			   "invalid bridge name '%s': at most 15 letters, digits, '_', '.' and '-'", c->net_bridge);
	if (c->net_address && !cidr_valid(c->net_address))
		PROBLEM_AT(st, where(st, "network", "address"),
			   "invalid address '%s': expected ADDRESS/PREFIX, for example 10.88.0.10/24", c->net_address);
	if (c->net_gateway && !config_ip_valid(c->net_gateway))
		PROBLEM_AT(st, where(st, "network", "gateway"), "invalid gateway '%s': expected an IP address", c->net_gateway);
	STRV_FOREACH(d, c->net_dns)
		if (!config_ip_valid(*d))
			PROBLEM_AT(st, where(st, "network", "dns"), "invalid dns server '%s': expected an IP address", *d);
	if (c->net_listen && !config_ip_valid(c->net_listen))
		PROBLEM_AT(st, where(st, "network", "listen"), "invalid listen address '%s': expected an IP address",
			   c->net_listen);
	if (c->net_mac && !mac_valid(c->net_mac))
		PROBLEM_AT(st, where(st, "network", "mac"),
			   "invalid mac '%s': expected six hex pairs such as 52:54:00:12:34:56, unicast", c->net_mac);
	STRV_FOREACH(f, c->net_forwards) {
		struct forward one;

		if (forward_parse(*f, &one) < 0)
			PROBLEM_AT(st, where(st, "network", "forward"),
				   "invalid forward '%s': expected [tcp|udp:][host-addr:]host-port:guest-port, for example tcp:8080:80",
				   *f);
	}
	if (config_forwards(c, &fw, &n) == 0)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (fw[i].host_port == fw[j].host_port && fw[i].proto == fw[j].proto &&
				    strcmp(fw[i].host_addr, fw[j].host_addr) == 0)
					PROBLEM_AT(st, where(st, "network", "forward"),
						   "host port %d is forwarded twice", fw[i].host_port);
	if (c->ready == READY_SSH) {
		char host[64];
		int port;

		if (!config_ssh_endpoint(c, host, &port))
			PROBLEM_AT(st, where(st, "vm", "ready"),
				   "ready = ssh needs [network] ssh = PORT (or a static address in tap mode)");
	}
}

/* Fill in defaults that depend on other keys or on the host. */
/* Is @inner the same directory as @outer or below it (both canonical)? */
static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* Does @s hold a control character (which no unit file, fstab or argv should carry)? */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Check one [share:NAME] alone (KEY_PATH already wants canonical absolute paths). */
static void validate_share(struct parse_state *st, const struct share_config *s)
{
	struct location at = { s->file, s->line };

	if (!s->path) {
		PROBLEM_AT(st, at, "[share:%s] needs path = the host directory to share", s->name);
		return;
	}
	if (strcmp(s->path, "/") == 0 || has_control(s->path))
		PROBLEM_AT(st, at, "[share:%s] path '%s': expected a directory below /, without control characters",
			   s->name, s->path);
	if (strcmp(s->mount, "/") == 0 || strpbrk(s->mount, " \t\\") || has_control(s->mount))
		PROBLEM_AT(st, at, "[share:%s] mount '%s': expected a guest directory below / without blanks or '\\'",
			   s->name, s->mount);
}

/* Check every [share:NAME], and the shares against each other: no nesting, no shared mount point. */
static void validate_shares(struct parse_state *st)
{
	struct vm_config *c = st->config;

	for (size_t i = 0; i < c->n_shares; i++) {
		const struct share_config *s = &c->shares[i];
		struct location at = { s->file, s->line };

		validate_share(st, s);
		for (size_t j = 0; j < i && s->path; j++) {
			const struct share_config *o = &c->shares[j];

			if (o->path && (path_within(s->path, o->path) || path_within(o->path, s->path)))
				PROBLEM_AT(st, at,
					   "[share:%s] path %s is nested with [share:%s] path %s: share the outer directory once",
					   s->name, s->path, o->name, o->path);
			if (strcmp(s->mount, o->mount) == 0)
				PROBLEM_AT(st, at, "[share:%s] mounts at %s like [share:%s]: give each share its own mount",
					   s->name, s->mount, o->name);
		}
	}
}

int config_apply_dynamic_defaults(struct parse_state *st)
{
	struct vm_config *c = st->config;
	char host[64];
	int port;

	if (!c->description && asprintf(&c->description, "QEMU virtual machine %s", c->name) < 0)
		return -ENOMEM;
	if (!c->arch && !(c->arch = strdup(arch_host())))
		return -ENOMEM;
	if (c->has_cloud_init && !c->ci_hostname && !(c->ci_hostname = strdup(c->name)))
		return -ENOMEM;
	for (size_t i = 0; i < c->n_shares; i++)
		if (!c->shares[i].mount && asprintf(&c->shares[i].mount, "/mnt/%s", c->shares[i].name) < 0)
			return -ENOMEM;
	if (!st->key_where[config_key_index(config_find_key("vm", "ready"))].line)
		c->ready = config_ssh_endpoint(c, host, &port) ? READY_SSH : READY_STARTED;
	return 0;
}

/* Run every whole-config check. */
void config_validate(struct parse_state *st)
{
	validate_vm(st);
	validate_storage(st);
	validate_shares(st);
	validate_cloud_init(st);
	validate_network(st);
	validate_devices(st);
}
