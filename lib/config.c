/* config.c - the key table, and INI parsing and validation driven by it */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "macro.h"
#include "strv.h"
#include "values.h"

/* ------------------------------------------------------------------------ */
/* The key table                                                            */
/* ------------------------------------------------------------------------ */

static const char *const accel_choices[] = { "auto", "kvm", "tcg", NULL };
static const char *const firmware_choices[] = { "auto", "bios", "uefi", NULL };
static const char *const ready_choices[] = { "started", "ssh", "cloud-init", NULL };
static const char *const restart_choices[] = { "no", "on-failure", "always", NULL };
static const char *const net_mode_choices[] = { "user", "tap", "none", NULL };
static const char *const disk_format_choices[] = { "qcow2", "raw", NULL };

#define VM(f) offsetof(struct vm_config, f)
#define DISK(f) offsetof(struct disk_config, f)
#define MIB INT64_C(1048576)

static const struct key_def key_table[] = {
	/* [vm] */
	{ "vm", "description", KEY_STRING, VM(description), NULL, NULL, 0, 0, 0,
	  "Free text shown in Description= and qvm list; default: \"QEMU virtual machine NAME\"." },
	{ "vm", "autostart", KEY_BOOL, VM(autostart), "no", NULL, 0, 0, 0,
	  "Start the VM at host boot (wanted by machines.target)." },
	{ "vm", "arch", KEY_STRING, VM(arch), NULL, NULL, 0, 0, 0,
	  "Guest architecture: x86_64, i386, aarch64, arm or riscv64 (runs qemu-system-ARCH); default: the host's." },
	{ "vm", "machine", KEY_STRING, VM(machine), NULL, NULL, 0, 0, 0,
	  "QEMU machine type; default: q35 on x86_64 and i386, virt elsewhere." },
	{ "vm", "accel", KEY_ENUM, VM(accel), "auto", accel_choices, 0, 0, 0,
	  "Accelerator: auto uses KVM when /dev/kvm is usable and TCG otherwise." },
	{ "vm", "cpu", KEY_STRING, VM(cpu), NULL, NULL, 0, 0, 0,
	  "QEMU CPU model; default: host with KVM, max with TCG." },
	{ "vm", "cpus", KEY_INT, VM(cpus), "2", NULL, 1, 1024, 0,
	  "Number of virtual CPUs." },
	{ "vm", "memory", KEY_SIZE, VM(memory), "1G", NULL, 16 * MIB, INT64_C(1) << 44, 0,
	  "Guest RAM, with a K, M, G or T suffix (a bare number is bytes)." },
	{ "vm", "firmware", KEY_ENUM, VM(firmware), "auto", firmware_choices, 0, 0, 0,
	  "bios (SeaBIOS) or uefi (OVMF/AAVMF from QEMU's firmware descriptors); auto: bios on x86, uefi elsewhere." },
	{ "vm", "after", KEY_LIST, VM(after), NULL, NULL, 0, 0, ',',
	  "VMs or units this VM starts after (a VM name means qvm@NAME.service)." },
	{ "vm", "requires", KEY_LIST, VM(requires), NULL, NULL, 0, 0, ',',
	  "VMs or units this VM needs: they start with it and it stops with them (implies after)." },
	{ "vm", "start-timeout", KEY_DURATION, VM(start_timeout), "5min", NULL, 0, 0, 0,
	  "How long preparing, booting and becoming ready may take in all (TimeoutStartSec=)." },
	{ "vm", "shutdown-timeout", KEY_DURATION, VM(shutdown_timeout), "90s", NULL, 0, 0, 0,
	  "How long the guest gets to power off after ACPI powerdown before it is forced off." },
	{ "vm", "ready", KEY_ENUM, VM(ready), NULL, ready_choices, 0, 0, 0,
	  "When systemctl start returns: started, ssh or cloud-init; default: ssh when the VM has an ssh endpoint, else started." },
	{ "vm", "restart", KEY_ENUM, VM(restart), "on-failure", restart_choices, 0, 0, 0,
	  "Restart= policy: a guest poweroff is a success, a QEMU crash a failure." },

	/* [image] */
	{ "image", "source", KEY_STRING, VM(image_source), NULL, NULL, 0, 0, 0,
	  "Base image: an https://, http:// or file:// URL, or an absolute path; it is never written to." },
	{ "image", "checksum", KEY_STRING, VM(image_checksum), NULL, NULL, 0, 0, 0,
	  "Expected checksum of the base image: sha256:HEX or sha512:HEX." },
	{ "image", "checksums", KEY_STRING, VM(image_checksums), NULL, NULL, 0, 0, 0,
	  "URL or path of a SHA256SUMS or SHA512SUMS file that lists the image's file name." },
	{ "image", "size", KEY_SIZE, VM(image_size), NULL, NULL, MIB, 0, 0,
	  "Size the VM's own copy-on-write disk grows to; default: the base image's size." },
	{ "image", "disk", KEY_PATH, VM(image_disk), NULL, NULL, 0, 0, 0,
	  "An existing writable disk image used directly, instead of source." },

	/* [disk:NAME] */
	{ "disk", "size", KEY_SIZE, DISK(size), NULL, NULL, MIB, 0, 0,
	  "Size of the extra disk; needed unless path names an existing file." },
	{ "disk", "format", KEY_ENUM, DISK(format), "qcow2", disk_format_choices, 0, 0, 0,
	  "Format of the extra disk: qcow2 or raw." },
	{ "disk", "path", KEY_PATH, DISK(path), NULL, NULL, 0, 0, 0,
	  "Where the extra disk lives; default: NAME.FORMAT in the VM's state directory." },

	/* [cloud-init] */
	{ "cloud-init", "hostname", KEY_STRING, VM(ci_hostname), NULL, NULL, 0, 0, 0,
	  "Guest hostname; default: the VM name." },
	{ "cloud-init", "user", KEY_STRING, VM(ci_user), NULL, NULL, 0, 0, 0,
	  "User to create; default: the image's default user." },
	{ "cloud-init", "ssh-authorized-key", KEY_LIST, VM(ci_ssh_authorized_keys), NULL, NULL, 0, 0, 0,
	  "An ssh public key for the user; repeat the key for more." },
	{ "cloud-init", "ssh-authorized-keys-file", KEY_LIST, VM(ci_ssh_authorized_keys_files), NULL, NULL, 0, 0, 0,
	  "A file of ssh public keys (one per line) for the user; repeatable." },
	{ "cloud-init", "password-hash", KEY_STRING, VM(ci_password_hash), NULL, NULL, 0, 0, 0,
	  "crypt(3) hash of the user's password (mkpasswd -m sha-512); default: password login locked." },
	{ "cloud-init", "sudo", KEY_BOOL, VM(ci_sudo), "yes", NULL, 0, 0, 0,
	  "Give the user passwordless sudo." },
	{ "cloud-init", "packages", KEY_LIST, VM(ci_packages), NULL, NULL, 0, 0, ',',
	  "Packages to install on first boot." },
	{ "cloud-init", "timezone", KEY_STRING, VM(ci_timezone), NULL, NULL, 0, 0, 0,
	  "Guest time zone, for example Europe/Berlin." },
	{ "cloud-init", "user-data", KEY_PATH, VM(ci_user_data), NULL, NULL, 0, 0, 0,
	  "Your own user-data file, used verbatim instead of the generated one." },
	{ "cloud-init", "vendor-data", KEY_PATH, VM(ci_vendor_data), NULL, NULL, 0, 0, 0,
	  "A vendor-data file, used verbatim." },
	{ "cloud-init", "network-config", KEY_PATH, VM(ci_network_config), NULL, NULL, 0, 0, 0,
	  "A network-config file, used verbatim instead of the generated one." },

	/* [network] */
	{ "network", "mode", KEY_ENUM, VM(net_mode), "user", net_mode_choices, 0, 0, 0,
	  "user (QEMU's unprivileged NAT), tap (a tap device on a bridge) or none." },
	{ "network", "ssh", KEY_INT, VM(net_ssh), "0", NULL, 0, 65535, 0,
	  "Host port forwarded to the guest's port 22; 0: none." },
	{ "network", "forward", KEY_LIST, VM(net_forwards), NULL, NULL, 0, 0, ',',
	  "More forwards: [tcp|udp:][host-addr:]host-port:guest-port; repeatable." },
	{ "network", "listen", KEY_STRING, VM(net_listen), "127.0.0.1", NULL, 0, 0, 0,
	  "Host address forwards bind to when they name none." },
	{ "network", "bridge", KEY_STRING, VM(net_bridge), NULL, NULL, 0, 0, 0,
	  "Bridge the tap joins (tap mode); qvm creates and owns qvmbr0." },
	{ "network", "address", KEY_STRING, VM(net_address), NULL, NULL, 0, 0, 0,
	  "Static guest address with prefix, for example 10.88.0.10/24 (tap mode); default: DHCP." },
	{ "network", "gateway", KEY_STRING, VM(net_gateway), NULL, NULL, 0, 0, 0,
	  "Default gateway for a static address." },
	{ "network", "dns", KEY_LIST, VM(net_dns), NULL, NULL, 0, 0, ',',
	  "DNS servers for a static address." },
	{ "network", "mac", KEY_STRING, VM(net_mac), NULL, NULL, 0, 0, 0,
	  "Guest MAC address; default: derived from the VM name (52:54:00:xx:xx:xx)." },

	/* [boot] */
	{ "boot", "kernel", KEY_PATH, VM(boot_kernel), NULL, NULL, 0, 0, 0,
	  "Kernel for direct kernel boot." },
	{ "boot", "initrd", KEY_PATH, VM(boot_initrd), NULL, NULL, 0, 0, 0,
	  "Initrd for direct kernel boot." },
	{ "boot", "append", KEY_STRING, VM(boot_append), NULL, NULL, 0, 0, 0,
	  "Kernel command line for direct kernel boot." },
	{ "boot", "cdrom", KEY_PATH, VM(boot_cdrom), NULL, NULL, 0, 0, 0,
	  "ISO image attached as a read-only CD-ROM (installer media)." },

	/* [qemu] */
	{ "qemu", "binary", KEY_PATH, VM(qemu_binary), NULL, NULL, 0, 0, 0,
	  "QEMU executable; default: qemu-system-ARCH from PATH." },
	{ "qemu", "extra-args", KEY_LIST, VM(qemu_extra_args), NULL, NULL, 0, 0, ' ',
	  "Extra QEMU arguments, split at blanks (no shell quoting); repeatable." },
	{ "qemu", "gdb", KEY_STRING, VM(qemu_gdb), NULL, NULL, 0, 0, 0,
	  "Address of QEMU's gdb stub, for example 127.0.0.1:1234." },
	{ "qemu", "icount", KEY_STRING, VM(qemu_icount), NULL, NULL, 0, 0, 0,
	  "Value of QEMU's -icount option, for example shift=auto (TCG only)." },
	{ "qemu", "readconfig", KEY_PATH, VM(qemu_readconfig), NULL, NULL, 0, 0, 0,
	  "A QEMU -readconfig file passed through." },
};

static const char *const known_sections[] = {
	"vm", "image", "disk", "cloud-init", "network", "boot", "qemu", NULL
};

const struct key_def *config_keys(size_t *n)
{
	*n = ELEMENTSOF(key_table);
	return key_table;
}

const char *const *config_sections(void)
{
	return known_sections;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

/* Is @s made of [A-Za-z0-9][A-Za-z0-9_.-]* and at most @max characters? */
static bool name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

bool vm_name_valid(const char *name)
{
	return name_valid(name, QVM_NAME_MAX);
}

char *vm_unit_name(const char *name, char buf[static 256])
{
	static const char *const suffixes[] = {
		".service", ".target", ".mount", ".socket", ".path", ".device",
		".timer", ".swap", ".slice", ".scope", ".automount",
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && strcmp(name + n - k, suffixes[i]) == 0) {
			snprintf(buf, 256, "%s", name);
			return buf;
		}
	}
	snprintf(buf, 256, "qvm@%s.service", name);
	return buf;
}

const char *config_dir(void)
{
	const char *e = getenv("QVM_CONFIG_DIR");

	return e && *e ? e : QVM_CONFIG_DIR;
}

/* ------------------------------------------------------------------------ */
/* Parse state and line reader                                              */
/* ------------------------------------------------------------------------ */

/*
 * libinih r55 as Debian builds it reads lines into a 200-byte buffer and
 * silently splits longer ones, and cuts section names at 49 characters. Our
 * reader feeds inih one whole line at a time and handles those cases itself:
 * a long "key = value" line reaches inih as "key=\x01N" and the handler takes
 * value N from a side table; a broken line is reported here with its line
 * number and replaced by an empty one. Lines in a section we rejected are
 * put into a sentinel section so they are not reported twice.
 */
#define INIH_LINE_MAX 200
#define INIH_SECTION_MAX 49
#define LONG_VALUE_MARK '\x01'
#define BAD_SECTION "\x02"

/* One key assignment already seen in the current file. */
struct seen_key {
	char *section;
	const char *key;
	unsigned line;
};

struct parse_state {
	struct vm_config *config;
	struct diag_list *diags;
	const char *path;          /* file being parsed */
	FILE *file;
	bool is_dropin;
	int errors;
	unsigned line;             /* number of the line last handed to inih */
	bool line_continues;       /* that line is an indented continuation */
	bool have_key;             /* inih would treat an indented line as continuation */
	char *buffer;              /* getline() buffer */
	size_t buffer_size;
	char **long_values;        /* values of over-long lines, by index */
	struct seen_key *seen;
	size_t n_seen;
	int oom;                   /* -ENOMEM seen in a callback */
	char **files;              /* every file parsed, owning the path strings */
	struct location {
		const char *path;
		unsigned line;
	} key_where[ELEMENTSOF(key_table)], section_where[ELEMENTSOF(known_sections)];
};

/* Record a problem at @path:@line; counts as an error. */
_printf_(4, 5) static void problem_at(struct parse_state *st, const char *path, unsigned line, const char *fmt, ...)
{
	va_list ap;

	st->errors++;
	va_start(ap, fmt);
	if (diag_addv(st->diags, path, line, fmt, ap) < 0)
		st->oom = -ENOMEM;
	va_end(ap);
}

/* Record a problem on @line of the file being parsed. */
#define PROBLEM(st, line, ...) problem_at((st), (st)->path, (line), __VA_ARGS__)

/* Strip leading and trailing blanks in place. */
static char *strip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Cut an inline comment (";" after a blank), as inih does. */
static void cut_inline_comment(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == ';' && p > s && isspace((unsigned char)p[-1])) {
			*p = '\0';
			return;
		}
}

/* The section part of "disk:NAME" → "disk"; other names unchanged. */
static const char *section_kind(const char *section, const char **instance)
{
	if (strncmp(section, "disk:", 5) == 0) {
		*instance = section + 5;
		return "disk";
	}
	*instance = NULL;
	return section;
}

/* Suggestions are offered up to this edit distance (exclusive): 1 or 2 typos by length. */
static unsigned suggestion_limit(const char *word)
{
	size_t n = strlen(word);

	return n <= 3 ? 2 : n <= 5 ? 2 : 3;
}

/* The known section closest to @name, or NULL. */
static const char *suggest_section(const char *name)
{
	const char *best = NULL;
	unsigned best_d = suggestion_limit(name);

	for (size_t i = 0; known_sections[i]; i++) {
		unsigned d = edit_distance(name, known_sections[i]);

		if (d < best_d) {
			best_d = d;
			best = known_sections[i];
		}
	}
	return best;
}

/* Check a section header's name; reports and returns false when it is bad. */
static bool check_section_name(struct parse_state *st, const char *name)
{
	const char *instance, *kind, *hint;

	if (strlen(name) > INIH_SECTION_MAX) {
		PROBLEM(st, st->line, "section name '%.20s...' is too long (%zu characters, at most %d)",
			name, strlen(name), INIH_SECTION_MAX);
		return false;
	}
	kind = section_kind(name, &instance);
	if (instance) {
		if (!name_valid(instance, 32)) {
			PROBLEM(st, st->line,
				"invalid disk name '%s' in [%s]: use letters, digits, '_', '.' and '-', at most 32 characters",
				instance, name);
			return false;
		}
		return true;
	}
	if (strcmp(kind, "disk") == 0) {
		PROBLEM(st, st->line, "section [disk] needs a name, for example [disk:data]");
		return false;
	}
	for (size_t i = 0; known_sections[i]; i++)
		if (strcmp(kind, known_sections[i]) == 0)
			return true;
	hint = suggest_section(name);
	if (hint)
		PROBLEM(st, st->line, "unknown section [%s]; did you mean [%s]?", name, hint);
	else
		PROBLEM(st, st->line,
			"unknown section [%s]; known sections: [vm], [image], [disk:NAME], [cloud-init], [network], [boot], [qemu]",
			name);
	return false;
}

/* Remember where a known section was opened; [cloud-init] alone asks for a seed. */
static void note_section(struct parse_state *st, const char *name)
{
	const char *instance;
	const char *kind = section_kind(name, &instance);

	for (size_t i = 0; known_sections[i]; i++)
		if (strcmp(kind, known_sections[i]) == 0 && !st->section_where[i].line)
			st->section_where[i] = (struct location){ st->path, st->line };
	if (strcmp(kind, "cloud-init") == 0)
		st->config->has_cloud_init = true;
}

/* Classify a raw line the way inih will and rewrite it so inih never sees trouble. */
static void prepare_line(struct parse_state *st, char *raw, char *out, int size)
{
	char *start = raw, *delim;
	size_t len = strlen(raw);

	st->line_continues = false;
	while (len && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
		raw[--len] = '\0';
	if (st->line == 1 && strncmp(raw, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	while (isspace((unsigned char)*start))
		start++;

	if (!*start || *start == ';' || *start == '#') {
		snprintf(out, (size_t)size, "\n");
		return;
	}
	if (st->have_key && start > raw) {
		st->line_continues = true;
		goto key_line;
	}
	if (*start == '[') {
		char *end = strchr(start, ']');

		st->have_key = false;
		if (!end) {
			PROBLEM(st, st->line, "section header is missing its closing ']'");
			snprintf(out, (size_t)size, "[" BAD_SECTION "]\n");
			return;
		}
		*end = '\0';
		start = strip(start + 1);
		if (!check_section_name(st, start)) {
			snprintf(out, (size_t)size, "[" BAD_SECTION "]\n");
			return;
		}
		note_section(st, start);
		snprintf(out, (size_t)size, "[%s]\n", start);
		return;
	}
	delim = strpbrk(start, "=:");
	if (!delim) {
		PROBLEM(st, st->line, "expected 'key = value' or '[section]', got '%.40s'", start);
		snprintf(out, (size_t)size, "\n");
		return;
	}
	st->have_key = true;
key_line:
	if (len + 2 <= (size_t)size) {
		snprintf(out, (size_t)size, "%s\n", raw);
		return;
	}
	/* Over-long: pass the value through the side table. */
	if (st->line_continues) {
		delim = start - 1;
	}
	if ((size_t)(delim - raw) + 24 > (size_t)size || strv_push(&st->long_values, delim + 1) < 0) {
		PROBLEM(st, st->line, "line is too long (%zu characters) and its key cannot be read", len);
		snprintf(out, (size_t)size, "\n");
		return;
	}
	if (st->line_continues)
		snprintf(out, (size_t)size, "  %c%zu\n", LONG_VALUE_MARK, strv_length(st->long_values) - 1);
	else
		snprintf(out, (size_t)size, "%.*s=%c%zu\n", (int)(delim - raw), raw, LONG_VALUE_MARK,
			 strv_length(st->long_values) - 1);
}

/* inih reader: one whole line per call, prepared by prepare_line(). */
static char *read_line(char *out, int size, void *stream)
{
	struct parse_state *st = stream;

	if (getline(&st->buffer, &st->buffer_size, st->file) < 0)
		return NULL;
	st->line++;
	prepare_line(st, st->buffer, out, size);
	return out;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/* The table row for @section/@key, or NULL. */
static const struct key_def *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
		if (strcmp(key_table[i].section, section) == 0 && strcmp(key_table[i].name, key) == 0)
			return &key_table[i];
	return NULL;
}

/* The key of @section closest to the misspelt @key, or NULL. */
static const char *suggest_key(const char *section, const char *key)
{
	const char *best = NULL;
	unsigned best_d = suggestion_limit(key);

	for (size_t i = 0; i < ELEMENTSOF(key_table); i++) {
		unsigned d;

		if (strcmp(key_table[i].section, section) != 0)
			continue;
		d = edit_distance(key, key_table[i].name);
		if (d < best_d) {
			best_d = d;
			best = key_table[i].name;
		}
	}
	return best;
}

/* A section other than @section that has @key, or NULL. */
static const char *other_section_with_key(const char *section, const char *key)
{
	for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
		if (strcmp(key_table[i].section, section) != 0 && strcmp(key_table[i].name, key) == 0)
			return key_table[i].section;
	return NULL;
}

/* "auto, kvm, tcg" for an enum's choices. */
static void join_choices(const char *const *choices, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; choices[i] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", choices[i]);
}

/* Split @value into list items per the key's split rule and append them. */
static int list_append(char ***list, const char *value, char split)
{
	_cleanup_free_ char *copy = strdup(value);
	char *save = NULL;
	const char *seps = split == ',' ? ", \t" : " \t";

	if (!copy)
		return -ENOMEM;
	if (split == 0)
		return strv_push(list, strip(copy));
	for (char *tok = strtok_r(copy, seps, &save); tok; tok = strtok_r(NULL, seps, &save))
		if (strv_push(list, tok) < 0)
			return -ENOMEM;
	return 0;
}

/* Reset a field to its empty state, freeing what it holds. */
static void field_clear(const struct key_def *k, void *field)
{
	switch (k->type) {
	case KEY_STRING:
	case KEY_PATH:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case KEY_LIST:
		*(char ***)field = strv_free(*(char ***)field);
		break;
	case KEY_BOOL:
		*(bool *)field = false;
		break;
	case KEY_INT:
		*(int64_t *)field = 0;
		break;
	case KEY_SIZE:
	case KEY_DURATION:
		*(uint64_t *)field = 0;
		break;
	case KEY_ENUM:
		*(int *)field = 0;
		break;
	}
}

/* Report a value outside the key's bounds; returns -ERANGE. */
static int out_of_range(struct parse_state *st, const struct key_def *k, const char *value, int64_t v)
{
	char lo[32], hi[32];

	if (k->type == KEY_SIZE) {
		format_size(lo, sizeof(lo), (uint64_t)k->min);
		format_size(hi, sizeof(hi), (uint64_t)k->max);
		if (v < k->min)
			PROBLEM(st, st->line, "%s = %s is below the minimum %s (a bare number is bytes; did you mean %sM?)",
				k->name, value, lo, value);
		else
			PROBLEM(st, st->line, "%s = %s is above the maximum %s", k->name, value, hi);
	} else {
		PROBLEM(st, st->line, "%s = %s is out of range: expected an integer from %" PRId64 " to %" PRId64,
			k->name, value, k->min, k->max);
	}
	return -ERANGE;
}

/* Parse @value by the key's type into @field; reports problems. */
static int field_set(struct parse_state *st, const struct key_def *k, void *field, const char *value)
{
	char choices[128];
	int64_t i64;
	uint64_t u64;
	bool b;

	if (!*value && k->type != KEY_STRING) {
		field_clear(k, field);    /* "key =" resets, as in systemd */
		return 0;
	}
	switch (k->type) {
	case KEY_STRING:
		free(*(char **)field);
		*(char **)field = *value ? strdup(value) : NULL;
		return *value && !*(char **)field ? -ENOMEM : 0;
	case KEY_PATH:
		if (value[0] != '/') {
			PROBLEM(st, st->line, "%s = %s: expected an absolute path (starting with '/')", k->name, value);
			return -EINVAL;
		}
		if (strpbrk(value, "\x01\x02\x03\x04\x05\x06\x07\x08\t\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14"
				   "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f")) {
			PROBLEM(st, st->line, "%s: a control character in a path; rename the file", k->name);
			return -EINVAL;
		}
		free(*(char **)field);
		*(char **)field = strdup(value);
		return *(char **)field ? 0 : -ENOMEM;
	case KEY_LIST:
		return list_append((char ***)field, value, k->split);
	case KEY_BOOL:
		if (parse_bool(value, &b) < 0) {
			PROBLEM(st, st->line, "invalid boolean '%s' for %s: use yes/no, true/false, on/off or 1/0",
				value, k->name);
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case KEY_INT:
		if (parse_int(value, &i64) < 0) {
			PROBLEM(st, st->line, "invalid number '%s' for %s: expected an integer from %" PRId64 " to %" PRId64,
				value, k->name, k->min, k->max);
			return -EINVAL;
		}
		if ((k->min || k->max) && (i64 < k->min || i64 > k->max))
			return out_of_range(st, k, value, i64);
		*(int64_t *)field = i64;
		return 0;
	case KEY_SIZE:
		if (parse_size(value, &u64) < 0) {
			PROBLEM(st, st->line, "invalid size '%s' for %s: expected a number with an optional K, M, G or T suffix, for example 2G",
				value, k->name);
			return -EINVAL;
		}
		if ((k->min && u64 < (uint64_t)k->min) || (k->max && u64 > (uint64_t)k->max))
			return out_of_range(st, k, value, u64 > INT64_MAX ? INT64_MAX : (int64_t)u64);
		*(uint64_t *)field = u64;
		return 0;
	case KEY_DURATION:
		if (parse_duration(value, &u64) < 0) {
			PROBLEM(st, st->line, "invalid time span '%s' for %s: expected for example 90s, 5min or 1h 30min",
				value, k->name);
			return -EINVAL;
		}
		*(uint64_t *)field = u64;
		return 0;
	case KEY_ENUM:
		for (int i = 0; k->choices[i]; i++)
			if (strcmp(value, k->choices[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		join_choices(k->choices, choices, sizeof(choices));
		PROBLEM(st, st->line, "invalid value '%s' for %s: expected one of %s", value, k->name, choices);
		return -EINVAL;
	}
	return -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* The handler                                                              */
/* ------------------------------------------------------------------------ */

/* Apply a table row's default to @field. */
static void apply_default(struct parse_state *st, const struct key_def *k, void *field)
{
	if (k->def)
		(void)field_set(st, k, field, k->def);
}

/* The disk_config for [disk:@name], created with defaults if new. */
static struct disk_config *get_disk(struct parse_state *st, const char *name)
{
	struct vm_config *c = st->config;
	struct disk_config *grown, *d;

	for (size_t i = 0; i < c->n_disks; i++)
		if (strcmp(c->disks[i].name, name) == 0)
			return &c->disks[i];
	grown = realloc(c->disks, (c->n_disks + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	c->disks = grown;
	d = &grown[c->n_disks];
	*d = (struct disk_config){ .name = strdup(name), .line = st->line, .file = strdup(st->path) };
	if (!d->name || !d->file)
		return NULL;
	c->n_disks++;
	for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
		if (strcmp(key_table[i].section, "disk") == 0)
			apply_default(st, &key_table[i], (char *)d + key_table[i].offset);
	return d;
}

/* Remember a scalar assignment; report it if the same file set it before. */
static bool check_duplicate(struct parse_state *st, const char *section, const struct key_def *k)
{
	struct seen_key *grown;

	for (size_t i = 0; i < st->n_seen; i++)
		if (st->seen[i].key == k->name && strcmp(st->seen[i].section, section) == 0) {
			PROBLEM(st, st->line,
				"%s is already set on line %u; give a key once per file (a drop-in in %s.ini.d/ may override it)",
				k->name, st->seen[i].line, st->config->name);
			return false;
		}
	grown = realloc(st->seen, (st->n_seen + 1) * sizeof(*grown));
	if (!grown)
		return st->oom = -ENOMEM, false;
	st->seen = grown;
	grown[st->n_seen++] = (struct seen_key){ .section = strdup(section), .key = k->name, .line = st->line };
	return true;
}

/* Report a key that is not in the table for its section. */
static void unknown_key(struct parse_state *st, const char *section, const char *key)
{
	const char *hint = suggest_key(section, key);
	const char *other = other_section_with_key(section, key);

	if (hint)
		PROBLEM(st, st->line, "unknown key '%s' in [%s]; did you mean '%s'?", key, section, hint);
	else if (other)
		PROBLEM(st, st->line, "unknown key '%s' in [%s]; it belongs in [%s]", key, section, other);
	else
		PROBLEM(st, st->line, "unknown key '%s' in [%s]", key, section);
}

/* The real value of @value: a long line's full text, stripped like inih does. */
static const char *resolve_value(struct parse_state *st, const char *value, char **to_free)
{
	size_t idx;
	char *copy;

	if (value[0] != LONG_VALUE_MARK)
		return value;
	idx = strtoul(value + 1, NULL, 10);
	copy = strdup(st->long_values[idx]);
	if (!copy)
		return NULL;
	cut_inline_comment(copy);
	*to_free = copy;
	return strip(copy);
}

/* inih handler: one key = value. Always returns 1; problems go to diags. */
static int handle_key(void *user, const char *section, const char *key, const char *raw_value)
{
	struct parse_state *st = user;
	_cleanup_free_ char *long_value = NULL;
	const char *kind, *instance, *value;
	const struct key_def *k;
	void *base = st->config;
	int r;

	if (strcmp(section, BAD_SECTION) == 0)
		return 1;
	if (!*section) {
		const char *home = other_section_with_key("", key);
		PROBLEM(st, st->line, "key '%s' is outside any section; put it under [%s]", key, home ? home : "vm");
		return 1;
	}
	value = resolve_value(st, raw_value, &long_value);
	if (!value)
		return st->oom = -ENOMEM, 1;
	kind = section_kind(section, &instance);
	k = find_key(kind, key);
	if (!k) {
		if (!st->line_continues)
			unknown_key(st, kind, key);
		return 1;
	}
	if (st->line_continues && k->type != KEY_LIST) {
		PROBLEM(st, st->line, "indented line continues %s, which takes one value; remove the indentation", key);
		return 1;
	}
	if (k->type != KEY_LIST && !check_duplicate(st, section, k))
		return 1;
	if (instance) {
		base = get_disk(st, instance);
		if (!base)
			return st->oom = -ENOMEM, 1;
	}
	if (!instance)
		st->key_where[k - key_table] = (struct location){ st->path, st->line };
	r = field_set(st, k, (char *)base + k->offset, value);
	if (r == -EINVAL && (strstr(value, " #") || strstr(value, "\t#")))
		PROBLEM(st, st->line, "'#' starts a comment only at the start of a line; after a value use ' ; comment'");
	if (r == -ENOMEM)
		st->oom = -ENOMEM;
	return 1;
}

/* Parse one file into the config; all problems go to diags. */
static int parse_file(struct parse_state *st, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return negative_errno();
	st->path = path;
	st->file = f;
	st->line = 0;
	st->have_key = false;
	for (size_t i = 0; i < st->n_seen; i++)
		free(st->seen[i].section);
	st->n_seen = 0;
	r = ini_parse_stream(read_line, st, handle_key, st);
	if (r == -2)
		return -ENOMEM;
	if (r > 0 && st->errors == 0)
		PROBLEM(st, (unsigned)r, "syntax error");
	if (ferror(f))
		return -EIO;
	return st->oom;
}

/* ------------------------------------------------------------------------ */
/* Validation across keys                                                   */
/* ------------------------------------------------------------------------ */

/* Where to point a problem about @section/@key: the key, else its section, else line 1. */
static struct location where(struct parse_state *st, const char *section, const char *key)
{
	const struct key_def *k = key ? find_key(section, key) : NULL;

	if (k && st->key_where[k - key_table].line)
		return st->key_where[k - key_table];
	for (size_t i = 0; known_sections[i]; i++)
		if (strcmp(known_sections[i], section) == 0 && st->section_where[i].line)
			return st->section_where[i];
	return (struct location){ st->config->path, 1 };
}

/* Record a problem at a remembered location. */
#define PROBLEM_AT(st, loc, ...) problem_at((st), (loc).path, (loc).line, __VA_ARGS__)

/* Is @s an IPv4 or IPv6 address? */
static bool ip_valid(const char *s)
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
	return s[0] == '/' || strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0 ||
	       strncmp(s, "file:///", 8) == 0;
}

/* Is @s a URL that needs a network download (and so a checksum)? */
static bool source_is_remote(const char *s)
{
	return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
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
static const char *const known_arches[] = { "x86_64", "i386", "aarch64", "arm", "riscv64", NULL };

/* The host's architecture in QEMU's naming. */
static const char *host_arch_uncached(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return "x86_64";
	if (strcmp(u.machine, "armv7l") == 0 || strcmp(u.machine, "armv6l") == 0)
		return "arm";
	if (u.machine[0] == 'i' && strcmp(u.machine + 2, "86") == 0)
		return "i386";
	for (size_t i = 0; known_arches[i]; i++)
		if (strcmp(u.machine, known_arches[i]) == 0)
			return known_arches[i];
	return "x86_64";
}

const char *config_host_arch(void)
{
	static const char *cached;

	if (!cached)
		cached = host_arch_uncached();
	return cached;
}

/* Check [vm] values the table cannot check alone. */
static void validate_vm(struct parse_state *st)
{
	struct vm_config *c = st->config;
	char *const *lists[] = { c->after, c->requires };

	if (c->arch && !strv_contains((char *const *)known_arches, c->arch))
		PROBLEM_AT(st, where(st, "vm", "arch"),
			   "unknown arch '%s': expected one of x86_64, i386, aarch64, arm, riscv64", c->arch);
	for (size_t i = 0; i < ELEMENTSOF(lists); i++)
		STRV_FOREACH(s, lists[i]) {
			char unit[256];

			vm_unit_name(*s, unit);
			if (strcmp(unit, *s) != 0 && !vm_name_valid(*s))  /* a bare name must be a VM */
				PROBLEM_AT(st, where(st, "vm", i ? "requires" : "after"),
					   "'%s' is neither a VM name nor a unit name", *s);
			else if (strcmp(*s, c->name) == 0)
				PROBLEM_AT(st, where(st, "vm", i ? "requires" : "after"),
					   "VM %s cannot wait for itself", *s);
		}
	if (c->ready == READY_CLOUD_INIT && !c->has_cloud_init)
		PROBLEM_AT(st, where(st, "vm", "ready"), "ready = cloud-init needs a [cloud-init] section");
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
	if ((c->image_checksum || c->image_checksums || c->image_size) && !c->image_source && !c->image_disk)
		PROBLEM_AT(st, where(st, "image", NULL), "[image] needs source (or disk)");
	for (size_t i = 0; i < c->n_disks; i++)
		if (!c->disks[i].size && !c->disks[i].path)
			PROBLEM_AT(st, ((struct location){ c->disks[i].file, c->disks[i].line }),
				   "[disk:%s] needs size (or path of an existing disk)", c->disks[i].name);
	if ((c->boot_initrd || c->boot_append) && !c->boot_kernel)
		PROBLEM_AT(st, where(st, "boot", c->boot_initrd ? "initrd" : "append"),
			   "initrd and append need kernel");
}

/* Check [cloud-init] values. */
static void validate_cloud_init(struct parse_state *st)
{
	struct vm_config *c = st->config;

	if (c->ci_user && !user_name_valid(c->ci_user))
		PROBLEM_AT(st, where(st, "cloud-init", "user"),
			   "invalid user name '%s': use lower-case letters, digits, '_' and '-', at most 32", c->ci_user);
	if (c->ci_hostname && !hostname_valid(c->ci_hostname))
		PROBLEM_AT(st, where(st, "cloud-init", "hostname"),
			   "invalid hostname '%s': use letters, digits, '-' and '.'", c->ci_hostname);
	if (c->ci_user_data && (c->ci_user || c->ci_ssh_authorized_keys || c->ci_ssh_authorized_keys_files ||
				c->ci_password_hash || c->ci_packages || c->ci_timezone))
		PROBLEM_AT(st, where(st, "cloud-init", "user-data"),
			   "user-data is used verbatim, so user, ssh keys, password-hash, packages and timezone cannot be added to it; put them in your user-data file");
	STRV_FOREACH(f, c->ci_ssh_authorized_keys_files)
		if ((*f)[0] != '/')
			PROBLEM_AT(st, where(st, "cloud-init", "ssh-authorized-keys-file"),
				   "ssh-authorized-keys-file = %s: expected an absolute path", *f);
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
	if (c->net_mode != NET_TAP && (c->net_bridge || c->net_address || c->net_gateway || c->net_dns))
		PROBLEM_AT(st, where(st, "network", c->net_bridge ? "bridge" : "address"),
			   "bridge, address, gateway and dns need mode = tap");
	if (c->net_mode == NET_NONE && (c->net_ssh || c->net_forwards))
		PROBLEM_AT(st, where(st, "network", c->net_ssh ? "ssh" : "forward"),
			   "mode = none has no network to forward ports to");
	if (c->net_bridge && !name_valid(c->net_bridge, 15))
		PROBLEM_AT(st, where(st, "network", "bridge"),
			   "invalid bridge name '%s': at most 15 letters, digits, '_', '.' and '-'", c->net_bridge);
	if (c->net_address && !cidr_valid(c->net_address))
		PROBLEM_AT(st, where(st, "network", "address"),
			   "invalid address '%s': expected ADDRESS/PREFIX, for example 10.88.0.10/24", c->net_address);
	if (c->net_gateway && !ip_valid(c->net_gateway))
		PROBLEM_AT(st, where(st, "network", "gateway"), "invalid gateway '%s': expected an IP address", c->net_gateway);
	STRV_FOREACH(d, c->net_dns)
		if (!ip_valid(*d))
			PROBLEM_AT(st, where(st, "network", "dns"), "invalid dns server '%s': expected an IP address", *d);
	if (c->net_listen && !ip_valid(c->net_listen))
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
static int apply_dynamic_defaults(struct parse_state *st)
{
	struct vm_config *c = st->config;
	char host[64];
	int port;

	if (!c->description && asprintf(&c->description, "QEMU virtual machine %s", c->name) < 0)
		return -ENOMEM;
	if (!c->arch && !(c->arch = strdup(config_host_arch())))
		return -ENOMEM;
	if (c->has_cloud_init && !c->ci_hostname && !(c->ci_hostname = strdup(c->name)))
		return -ENOMEM;
	if (!st->key_where[find_key("vm", "ready") - key_table].line)
		c->ready = config_ssh_endpoint(c, host, &port) ? READY_SSH : READY_STARTED;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */
/* ------------------------------------------------------------------------ */

/* A new config named @name with every table default applied. */
static struct vm_config *config_new(struct parse_state *st, const char *name, const char *path)
{
	struct vm_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	st->config = c;
	c->name = strdup(name);
	c->path = strdup(path);
	if (!c->name || !c->path)
		return config_free(c);
	for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
		if (strcmp(key_table[i].section, "disk") != 0)
			apply_default(st, &key_table[i], (char *)c + key_table[i].offset);
	return c;
}

/* Keep only names ending in ".conf". */
static int filter_conf(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* Parse NAME.ini.d/ (*.conf) in name order, after the main file. */
static int parse_dropins(struct parse_state *st, const char *main_path)
{
	_cleanup_free_ char *dir = NULL;
	struct dirent **entries = NULL;
	int n, r = 0;

	if (asprintf(&dir, "%s.d", main_path) < 0)
		return -ENOMEM;
	n = scandir(dir, &entries, filter_conf, alphasort);
	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : negative_errno();
	st->is_dropin = true;
	for (int i = 0; i < n; i++) {
		char *path = NULL;

		if (r == 0 && asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0)
			r = -ENOMEM;
		if (path && (r = strv_push(&st->files, path)) == 0)
			r = parse_file(st, st->files[strv_length(st->files) - 1]);
		free(path);
		free(entries[i]);
	}
	free(entries);
	return r;
}

/* Free what the parse state owns. */
static void parse_state_done(struct parse_state *st)
{
	for (size_t i = 0; i < st->n_seen; i++)
		free(st->seen[i].section);
	free(st->seen);
	free(st->buffer);
	strv_free(st->long_values);
	strv_free(st->files);
}

/* Run every whole-config check. */
static void validate(struct parse_state *st)
{
	validate_vm(st);
	validate_storage(st);
	validate_cloud_init(st);
	validate_network(st);
}

int config_load_file(const char *path, struct vm_config **ret, struct diag_list *diags)
{
	struct parse_state st = { .diags = diags };
	_cleanup_config_free_ struct vm_config *c = NULL;
	_cleanup_free_ char *name = NULL;
	const char *base = strrchr(path, '/');
	size_t n;
	int r;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n < 5 || strcmp(base + n - 4, ".ini") != 0)
		return diag_add(diags, path, 0, "a VM file's name must end in .ini"), -EINVAL;
	name = strndup(base, n - 4);
	if (!name)
		return -ENOMEM;
	if (!vm_name_valid(name))
		return diag_add(diags, path, 0,
				"invalid VM name '%s': use letters, digits, '_', '.' and '-', starting with a letter or digit, at most %d characters",
				name, QVM_NAME_MAX), -EINVAL;
	if (strv_push(&st.files, path) < 0)
		return -ENOMEM;
	c = config_new(&st, name, path);
	if (!c)
		r = -ENOMEM;
	else if ((r = parse_file(&st, st.files[0])) == 0 && (r = parse_dropins(&st, path)) == 0 &&
		 (r = apply_dynamic_defaults(&st)) == 0)
		validate(&st);
	if (r == 0)
		r = st.oom;
	if (r == -ENOENT && st.line == 0)
		diag_add(diags, path, 0, "cannot open: %s", strerror(ENOENT));
	else if (r < 0 && r != -ENOMEM)
		diag_add(diags, st.path ? st.path : path, 0, "cannot read: %s", strerror(-r));
	if (r == 0 && st.errors > 0)
		r = -EINVAL;
	parse_state_done(&st);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int config_load(const char *dir, const char *name, struct vm_config **ret, struct diag_list *diags)
{
	_cleanup_free_ char *path = NULL;

	if (strchr(name, '/') || !*name)
		return diag_add(diags, name, 0, "invalid VM name '%s'", name), -EINVAL;
	if (asprintf(&path, "%s/%s.ini", dir, name) < 0)
		return -ENOMEM;
	return config_load_file(path, ret, diags);
}

/* Keep only names ending in ".ini". */
static int filter_ini(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".ini") == 0;
}

int config_list_names(const char *dir, char ***ret)
{
	_cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
	struct dirent **entries = NULL;
	int n, r = 0;

	if (!names)
		return -ENOMEM;
	n = scandir(dir, &entries, filter_ini, alphasort);
	if (n < 0)
		return negative_errno();
	for (int i = 0; i < n; i++) {
		entries[i]->d_name[strlen(entries[i]->d_name) - 4] = '\0';
		if (r == 0)
			r = strv_push(&names, entries[i]->d_name);
		free(entries[i]);
	}
	free(entries);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(names);
	return 0;
}

struct vm_config *config_free(struct vm_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
		if (strcmp(key_table[i].section, "disk") != 0)
			field_clear(&key_table[i], (char *)c + key_table[i].offset);
	for (size_t d = 0; d < c->n_disks; d++) {
		for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
			if (strcmp(key_table[i].section, "disk") == 0)
				field_clear(&key_table[i], (char *)&c->disks[d] + key_table[i].offset);
		free(c->disks[d].name);
		free(c->disks[d].file);
	}
	free(c->disks);
	free(c->name);
	free(c->path);
	free(c);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Derived facts                                                            */
/* ------------------------------------------------------------------------ */

const char *config_enum_name(const char *section, const char *key, int value)
{
	const struct key_def *k = find_key(section, key);

	if (!k || k->type != KEY_ENUM || value < 0)
		return NULL;
	for (int i = 0; k->choices[i]; i++)
		if (i == value)
			return k->choices[i];
	return NULL;
}

bool config_uses_image(const struct vm_config *c)
{
	return c->image_source || c->image_disk || c->n_disks > 0;
}

bool config_ssh_endpoint(const struct vm_config *c, char host[static 64], int *port)
{
	if (c->net_mode != NET_NONE && c->net_ssh > 0) {
		snprintf(host, 64, "%s", c->net_listen ? c->net_listen : "127.0.0.1");
		*port = (int)c->net_ssh;
		return true;
	}
	if (c->net_mode == NET_TAP && c->net_address) {
		snprintf(host, 64, "%.*s", (int)strcspn(c->net_address, "/"), c->net_address);
		*port = 22;
		return true;
	}
	return false;
}

/* Parse a port number 1..65535. */
static int parse_port(const char *s, int *ret)
{
	int64_t v;

	if (parse_int(s, &v) < 0 || v < 1 || v > 65535)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

int forward_parse(const char *s, struct forward *ret)
{
	struct forward f = { .proto = FORWARD_TCP };
	char buf[128], *p = buf, *colon;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	if (strncmp(p, "tcp:", 4) == 0 || strncmp(p, "udp:", 4) == 0) {
		f.proto = p[0] == 'u' ? FORWARD_UDP : FORWARD_TCP;
		p += 4;
	}
	if (*p == '[') {
		char *close = strchr(p, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		*close = '\0';
		if (strlen(p + 1) >= sizeof(f.host_addr))
			return -EINVAL;
		memcpy(f.host_addr, p + 1, strlen(p + 1) + 1);
		p = close + 2;
	} else if (strchr(p, ':') != strrchr(p, ':')) {
		colon = strchr(p, ':');
		*colon = '\0';
		if (strlen(p) >= sizeof(f.host_addr))
			return -EINVAL;
		memcpy(f.host_addr, p, strlen(p) + 1);
		p = colon + 1;
	}
	if (f.host_addr[0] && !ip_valid(f.host_addr))
		return -EINVAL;
	colon = strchr(p, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (parse_port(p, &f.host_port) < 0 || parse_port(colon + 1, &f.guest_port) < 0)
		return -EINVAL;
	*ret = f;
	return 0;
}

int config_forwards(const struct vm_config *c, struct forward **ret, size_t *n)
{
	size_t count = strv_length(c->net_forwards) + 1, used = 0;
	_cleanup_free_ struct forward *fw = calloc(count, sizeof(*fw));
	const char *listen = c->net_listen ? c->net_listen : "127.0.0.1";

	if (!fw)
		return -ENOMEM;
	if (c->net_mode != NET_NONE && c->net_ssh > 0) {
		fw[used] = (struct forward){ .proto = FORWARD_TCP, .host_port = (int)c->net_ssh, .guest_port = 22 };
		snprintf(fw[used++].host_addr, sizeof(fw->host_addr), "%s", listen);
	}
	STRV_FOREACH(s, c->net_forwards) {
		if (forward_parse(*s, &fw[used]) < 0)
			return -EINVAL;
		if (!fw[used].host_addr[0])
			snprintf(fw[used].host_addr, sizeof(fw->host_addr), "%s", listen);
		used++;
	}
	*ret = TAKE_PTR(fw);
	*n = used;
	return 0;
}
