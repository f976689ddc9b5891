/* paths.h - where a VM's files live: state, runtime and cache dirs, disks, sockets; tap and MAC names */
#pragma once

#include <stddef.h>

#include "config.h"
#include "basic.h"

/*
 * Under systemd the unit's StateDirectory=qvm/%i, RuntimeDirectory=qvm/%i and
 * CacheDirectory=qvm arrive as $STATE_DIRECTORY, $RUNTIME_DIRECTORY and
 * $CACHE_DIRECTORY. Run by hand (or by tests), $QVM_STATE_ROOT,
 * $QVM_RUNTIME_ROOT and $QVM_CACHE_DIR re-root them; the defaults are
 * /var/lib/qvm/NAME, /run/qvm/NAME and /var/cache/qvm.
 */
struct vm_paths {
	char state_dir[4096];     /* per-VM persistent data: disks, seed, UEFI vars */
	char runtime_dir[4096];   /* per-VM sockets */
	char cache_dir[4096];     /* shared: images/ holds verified base images */
	char disk[4096];          /* the VM's own disk: [image] disk, or state_dir/disk.qcow2;
				     runtime_dir/disk.qcow2 for an ephemeral VM */
	char seed[4096];          /* state_dir/seed.iso (NoCloud, label cidata) */
	char efivars[4096];       /* state_dir/efivars.fd, the VM's copy of the UEFI vars */
	char qmp_socket[4096];    /* runtime_dir/qmp.sock */
	char console_socket[4096];/* runtime_dir/console.sock, mode 0660 group qvm */
	char monitor_socket[4096];/* runtime_dir/monitor.sock: a second QMP monitor for qvm monitor/qmp/snapshot,
				     mode 0600 (0660 with [qemu] monitor-group) */
	char gdb_socket[4096];    /* runtime_dir/gdb.sock: gdb = unix (QEMU makes it; mode 0600) */
	char vnc_socket[4096];    /* runtime_dir/vnc.sock: display = vnc without vnc-port */
	char installed[4096];     /* state_dir/installed: the install boot from [boot] cdrom is over */
};

/* Marker the seed makes the guest print on its console when cloud-init is done. */
#define QVM_CLOUD_INIT_DONE_MARK "qvm-ready: cloud-init finished"

/**
 * vm_paths_get() - fill in every path of VM @c
 * Return: 0, or -ENAMETOOLONG
 */
int vm_paths_get(const struct vm_config *c, struct vm_paths *ret);

/**
 * vm_disk_path() - the file QEMU opens for extra disk @d: vm_disk_store_path(),
 * or for an ephemeral disk its overlay RUNTIME_DIR/NAME.ephemeral.qcow2
 * Return: 0, or -ENAMETOOLONG
 */
int vm_disk_path(const struct vm_paths *p, const struct disk_config *d, char buf[static 4096]);

/**
 * vm_disk_store_path() - where extra disk @d keeps its data: its path =, or
 * NAME.FORMAT in the state dir. For an ephemeral disk, vm_disk_path() is a
 * qcow2 overlay in the runtime dir over this file.
 * Return: 0, or -ENAMETOOLONG
 */
int vm_disk_store_path(const struct vm_paths *p, const struct disk_config *d, char buf[static 4096]);


/**
 * vm_share_socket() - the vhost-user socket of virtiofs share @name:
 * runtime_dir/share-NAME.sock
 * Return: 0, or -ENAMETOOLONG
 */
int vm_share_socket(const struct vm_paths *p, const char *name, char buf[static 4096]);

/**
 * vm_tap_name() - the tap device of VM @name: "qvm-NAME" for names of up to 10
 * characters (at most 14 in all), else exactly 15: "qvm-" + the first 3
 * characters + 8 hex digits of a 32-bit hash of the whole name. The lengths keep
 * the two forms apart; two long names can still meet (webserver-24595 and
 * webserver-27798 do), which crosscheck_taps() reports and qvm-net refuses.
 * Return: @buf
 */
char *vm_tap_name(const char *name, char buf[static 16]);

/**
 * vm_mac() - the guest's MAC: [network] mac, else 52:54:00 + 3 bytes of a
 * hash of the VM name (stable across restarts and hosts).
 * Return: @buf
 */
char *vm_mac(const struct vm_config *c, char buf[static 18]);

/**
 * vm_user_name() - the user VM @name's QEMU and helpers run as (DynamicUser=):
 * "qvm-NAME" when that is a valid systemd user name of at most 31 characters,
 * else "qvm-" + the first 10 characters ('.' made '_') + "-" + 16 hex digits of
 * a 64-bit hash of the whole name.
 * Return: @buf
 */
char *vm_user_name(const char *name, char buf[static 32]);

/**
 * name_hash() - FNV-1a hash of @s, the one hash behind derived names
 * Return: the 32-bit hash
 */
unsigned name_hash(const char *s);

