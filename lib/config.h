/* config.h - the one config model of a VM: /etc/qvm/NAME.ini plus its drop-ins */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define QVM_NAME_MAX 64
#define QVM_CONFIG_DIR "/etc/qvm"
/* Length of a config digest (config_digest()): 16 hex digits and a NUL. */
#define CONFIG_DIGEST_SIZE 17
#define USEC_PER_SEC UINT64_C(1000000)

/*
 * The config's enums. Each has a NULL-terminated word table indexed by value
 * (the key table's choices), NAME_to_string() and NAME_from_string(); the
 * latter returns the value or -EINVAL.
 */
#define DECLARE_STRING_TABLE(name, type)                                   \
	extern const char *const name##_table[];                           \
	const char *name##_to_string(type v);                              \
	int name##_from_string(const char *s)

enum accel { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG, _ACCEL_MAX };
enum firmware { FIRMWARE_AUTO, FIRMWARE_BIOS, FIRMWARE_UEFI, _FIRMWARE_MAX };
enum ready_mode { READY_STARTED, READY_SSH, READY_CLOUD_INIT, _READY_MODE_MAX };
enum net_mode { NET_USER, NET_TAP, NET_NONE, _NET_MODE_MAX };
enum disk_format { DISK_QCOW2, DISK_RAW, _DISK_FORMAT_MAX };
enum image_disk_format { IMAGE_DISK_AUTO, IMAGE_DISK_QCOW2, IMAGE_DISK_RAW, _IMAGE_DISK_FORMAT_MAX };
enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS, _RESTART_POLICY_MAX };
enum display { DISPLAY_NONE, DISPLAY_VNC, _DISPLAY_MAX };
enum disk_bus { DISK_BUS_AUTO, DISK_BUS_VIRTIO, DISK_BUS_SCSI, DISK_BUS_SATA, DISK_BUS_IDE, DISK_BUS_SD, _DISK_BUS_MAX };
enum forward_proto { FORWARD_TCP, FORWARD_UDP, _FORWARD_PROTO_MAX };
enum share_mode { SHARE_VIRTIOFS, SHARE_9P, _SHARE_MODE_MAX };

DECLARE_STRING_TABLE(accel, enum accel);
DECLARE_STRING_TABLE(firmware, enum firmware);
DECLARE_STRING_TABLE(ready_mode, enum ready_mode);
DECLARE_STRING_TABLE(net_mode, enum net_mode);
DECLARE_STRING_TABLE(disk_format, enum disk_format);
DECLARE_STRING_TABLE(image_disk_format, enum image_disk_format);
DECLARE_STRING_TABLE(restart_policy, enum restart_policy);
DECLARE_STRING_TABLE(display, enum display);
DECLARE_STRING_TABLE(disk_bus, enum disk_bus);
DECLARE_STRING_TABLE(forward_proto, enum forward_proto);
DECLARE_STRING_TABLE(share_mode, enum share_mode);

/* Longest share name: the 9p mount tag holds 31 bytes (virtiofs tags 36). */
#define QVM_SHARE_NAME_MAX 31

/* One [disk:NAME] section: an extra data disk. */
struct disk_config {
	char *name;
	uint64_t size;   /* bytes; 0 = not given */
	enum disk_format format;
	char *path;      /* existing or wanted location; NULL = in the state dir */
	unsigned line;   /* line of the section header, for diagnostics */
	char *file;      /* file that declared the section */
	bool ephemeral;  /* changes go to an overlay in the runtime dir, gone at stop */
};

/* One [share:NAME] section: a host directory shared with the guest; NAME is the mount tag. */
struct share_config {
	char *name;
	char *path;      /* host directory */
	char *mount;     /* guest mount point; default /mnt/NAME */
	bool readonly;
	enum share_mode mode;
	int64_t guest_uid, guest_gid; /* virtiofs: the guest ids that act as the directory's host owner */
	unsigned line;   /* line of the section header, for diagnostics */
	char *file;      /* file that declared the section */
};

/*
 * Everything one VM's INI says, with defaults applied. Field names follow the
 * keys: key "shutdown-timeout" in [vm] is field vm_shutdown_timeout... except
 * that [vm] fields carry no prefix. The key table in config-keys.c is the
 * only place that maps keys to fields.
 */
struct vm_config {
	char *name;               /* file name without .ini */
	char *path;               /* the main INI file */
	char digest[CONFIG_DIGEST_SIZE]; /* config_digest() of the files read; "" if unknown */
	char *net_mode_file;      /* where mode = tap was set (main INI or a drop-in), for crosschecks */
	unsigned net_mode_line;

	/* [vm] */
	char *description;
	bool autostart;
	char *arch;               /* qemu-system-<arch>; default: the host's */
	char *machine;            /* NULL: default per arch */
	enum accel accel;
	char *cpu;                /* NULL: host with kvm, max with tcg */
	int64_t cpus;
	uint64_t memory;          /* bytes */
	enum firmware firmware;
	char **after;             /* VM names or unit names */
	char **requires;
	uint64_t start_timeout;   /* usec */
	uint64_t shutdown_timeout;/* usec */
	int64_t boot_limit;       /* VMs booting at once on the host; 0 = online CPUs */
	bool ephemeral;           /* the system disk is an overlay in the runtime dir, gone at stop */
	enum ready_mode ready;
	enum restart_policy restart;
	enum display display;
	int64_t vnc_port;         /* 0: unix socket in the runtime dir */
	enum disk_bus disk_bus;

	/* [image] */
	char *image_source;       /* URL or local path of the base image */
	char *image_checksum;     /* ALGO:HEX */
	char *image_checksums;    /* URL of SHA256SUMS / SHA512SUMS */
	char *image_checksums_keyring;   /* OpenPGP keyring the checksums must be signed with */
	char *image_checksums_signature; /* URL of their detached signature; default: checksums + ".sign" */
	uint64_t image_size;      /* the VM's own disk grows to this; 0 = base size */
	char *image_disk;         /* an existing writable disk, used directly */
	enum image_disk_format image_disk_format; /* its format; auto: recorded at the first start */

	/* [disk:NAME] */
	struct disk_config *disks;
	size_t n_disks;

	/* [share:NAME] */
	struct share_config *shares;
	size_t n_shares;

	/* [cloud-init]; has_cloud_init says whether the section is present */
	bool has_cloud_init;
	char *ci_hostname;        /* default: the VM name */
	char *ci_user;
	char **ci_ssh_authorized_keys;
	char **ci_ssh_authorized_keys_files;
	char *ci_password_hash;
	char *ci_password_hash_file;   /* the hash, read through LoadCredential= */
	bool ci_sudo;
	char **ci_packages;
	char *ci_timezone;
	char *ci_user_data;
	char *ci_vendor_data;
	char *ci_network_config;

	/* [network] */
	enum net_mode net_mode;
	int64_t net_ssh;          /* host port forwarded to guest 22; 0 = none */
	char **net_forwards;      /* [proto:][host-addr:]host-port:guest-port */
	char *net_listen;         /* default host address of forwards */
	char *net_bridge;
	char *net_address;        /* guest address/prefix, tap mode */
	char *net_gateway;
	char **net_dns;
	char *net_mac;            /* NULL: derived from the name */
	char *net_model;          /* NULL: the machine's default NIC */

	/* [boot] */
	char *boot_kernel;
	char *boot_initrd;
	char *boot_append;
	char *boot_cdrom;
	char *boot_dtb;

	/* [qemu] */
	char **qemu_extra_args;
	char *qemu_gdb;
	bool qemu_gdb_wait;
	char *qemu_icount;
	char *qemu_readconfig;
	char *qemu_binary;        /* override qemu-system-<arch> */
	char *qemu_monitor_group; /* group that may use the monitor socket besides root; NULL = root only */
};

enum key_type {
	KEY_STRING,
	KEY_BOOL,
	KEY_INT,
	KEY_SIZE,
	KEY_DURATION,
	KEY_ENUM,
	KEY_LIST,
	KEY_PATH,
};

/*
 * One row of the key table: everything qvm knows about one INI key. Rows are
 * written with the ROW_*() macros in config-keys.c, which check at compile
 * time that the field has the C type the key type needs.
 */
struct key_def {
	const char *section;      /* "vm", "image", "disk" for [disk:NAME], ... */
	const char *name;
	enum key_type type;
	size_t offset;            /* into struct vm_config, disk_config or share_config */
	const char *def;          /* default, in INI syntax; NULL = none */
	const char *const *choices;/* KEY_ENUM: accepted words, index = value */
	int64_t min, max;         /* KEY_INT / KEY_SIZE bounds; 0,0 = unbounded */
	char split;               /* KEY_LIST: ',' = commas or blanks separate items,
				     ' ' = blanks only, 0 = one item per line */
	const char *doc;          /* the key's entry in qvm.ini(5), in roff: the man
				     page's key lists are generated from it */
};

/**
 * config_keys() - the key table
 * @n: set to the number of rows
 * Return: the table, in documentation order
 */
const struct key_def *config_keys(size_t *n);

/**
 * config_sections() - the known section names ("disk" stands for disk:NAME)
 * Return: NULL-terminated list
 */
const char *const *config_sections(void);

/**
 * vm_name_valid() - is @name usable as a VM and systemd instance name?
 * Return: true for [A-Za-z0-9][A-Za-z0-9_.-]*, at most QVM_NAME_MAX chars
 */
bool vm_name_valid(const char *name);

/**
 * config_load() - parse ROOT/NAME.ini and ROOT/NAME.ini.d/ (*.conf) into @ret
 * @config_dir: directory holding the INI files (normally /etc/qvm)
 * @name: VM name
 * @ret: on success, a new config the caller frees with config_free()
 * @diags: every problem found is appended here as path:line: message
 *
 * Return: 0 when the config is valid; -EINVAL when it has errors (all in
 * @diags); -ENOENT when NAME.ini does not exist; other negative errno.
 */
int config_load(const char *config_dir, const char *name, struct vm_config **ret,
		struct diag_list *diags);

/**
 * config_load_file() - like config_load(), for an INI file at any path
 * @path: the file; the VM name is its base name without ".ini"
 * Return: as config_load()
 */
int config_load_file(const char *path, struct vm_config **ret, struct diag_list *diags);

/**
 * config_digest() - a fingerprint of NAME.ini and its NAME.ini.d/ (*.conf)
 * drop-ins: their names and contents, in reading order. The generator puts
 * it into the VM's drop-in (QVM_CONFIG_DIGEST=), and the helpers compare it
 * with the files they read, so a VM whose files changed after the last
 * daemon-reload does not start on a stale plan. It detects edits; it is not
 * a defence against someone who can write /etc/qvm.
 * @config_dir: directory holding the INI files
 * @name: VM name
 * @ret: the digest, 16 lower-case hex digits
 * Return: 0, -ENOENT if NAME.ini does not exist, other negative errno
 */
int config_digest(const char *config_dir, const char *name, char ret[static CONFIG_DIGEST_SIZE]);

/**
 * config_list_names() - the VM names with a NAME.ini in @config_dir, sorted
 * @ret: new string vector (possibly empty); names that are not valid VM
 *       names are included, so that loading them reports the problem
 * Return: 0, -ENOENT if the dir does not exist, or other negative errno
 */
int config_list_names(const char *config_dir, char ***ret);

/**
 * config_free() - free a config
 * Return: NULL
 */
struct vm_config *config_free(struct vm_config *c);

static inline void config_freep(struct vm_config **c)
{
	config_free(*c);
}
#define _cleanup_config_free_ __attribute__((cleanup(config_freep)))

/**
 * config_dir() - the config root, honouring $QVM_CONFIG_DIR (the test seam)
 * Return: a static string
 */
const char *config_dir(void);

/**
 * config_host_arch() - this host's architecture in QEMU's naming (x86_64,
 * i386, aarch64, arm, riscv64), the default of [vm] arch
 * Return: a static string
 */
const char *config_host_arch(void);

/**
 * config_find_key() - the table row of key @key in section kind @section
 * Return: the row, or NULL
 */
const struct key_def *config_find_key(const char *section, const char *key);

/**
 * config_enum_name() - the word for an enum value of key @section/@key
 * (prefer the typed NAME_to_string() functions)
 * Return: the word, or NULL
 */
const char *config_enum_name(const char *section, const char *key, int value);

/**
 * config_uses_image() - does this VM need qvm-image before it starts?
 * Return: true with an [image] source/disk or any [disk:NAME]
 */
bool config_uses_image(const struct vm_config *c);

/**
 * config_has_share_mode() - does VM @c have a share of @mode?
 * Return: true or false
 */
bool config_has_share_mode(const struct vm_config *c, enum share_mode mode);

/**
 * config_check_shares_on_host() - the checks of [share:NAME] that need the host:
 * each path exists and is a directory (config_load() checks only the text,
 * since the generator must not look at the host's file systems)
 * @diags: each problem as path:line: message, at the share's section header
 * Return: the number of problems found
 */
int config_check_shares_on_host(const struct vm_config *c, struct diag_list *diags);

/**
 * config_blank_disk() - is the VM's disk a blank one to install on from [boot] cdrom?
 * Return: true with [image] size and cdrom but no source or disk
 */
bool config_blank_disk(const struct vm_config *c);

/**
 * config_downloads_image() - does the VM's base image come over http(s) into the cache
 * (qvm-image --fetch, run by qvm-fetch@NAME.service)?
 * Return: true with an http:// or https:// [image] source and no [image] disk
 */
bool config_downloads_image(const struct vm_config *c);

/**
 * config_has_system_disk() - does the VM have its own system disk (paths->disk or [image] disk)?
 * Return: true with [image] source, disk, or a blank disk to install on
 */
bool config_has_system_disk(const struct vm_config *c);

/**
 * config_ssh_endpoint() - where the host reaches the guest's sshd
 * @c: config
 * @host: filled with the address to connect to
 * @port: set to the port
 * Return: true when the VM has an ssh endpoint
 */
bool config_ssh_endpoint(const struct vm_config *c, char host[static 64], int *port);

/* One parsed "forward =" entry, or the ssh forward. */
struct forward {
	enum forward_proto proto;
	char host_addr[64];       /* "" = the [network] listen address */
	int host_port;
	int guest_port;
};

/**
 * forward_parse() - parse "[proto:][host-addr:]host-port:guest-port"
 * IPv6 host addresses are written in brackets: "tcp:[::1]:8080:80".
 * Return: 0, or -EINVAL
 */
int forward_parse(const char *s, struct forward *ret);

/**
 * config_forwards() - every host→guest forward of a VM, ssh first
 * @c: config
 * @ret: new array the caller frees; host_addr is filled in from listen
 * @n: set to the number of entries
 * Return: 0, -EINVAL for a malformed entry (config_load() rejects those), -ENOMEM
 */
int config_forwards(const struct vm_config *c, struct forward **ret, size_t *n);

/**
 * vm_unit_name() - the unit a name in after=/requires= refers to
 * @name: a VM name, or a unit name ending in a unit suffix such as .service
 * @buf: output
 * Return: @buf: "qvm@NAME.service" for a VM, the unit name as given otherwise
 */
char *vm_unit_name(const char *name, char buf[static 256]);
