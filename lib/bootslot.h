/* bootslot.h - a host-wide limit on how many VMs boot at once (flock()ed slot files) */
#pragma once

/*
 * A VM "boots" from QEMU's exec until it is ready. Each booting VM holds an
 * exclusive flock() on one slot file DIR/0 .. DIR/N-1; the kernel drops the
 * lock when the holder exits, so a crashed launcher never leaks a slot.
 */

/**
 * boot_slot_dir() - the directory of the slot files: $QVM_RUNTIME_ROOT/boot-slots
 * or /run/qvm/boot-slots.
 * @buf: 4096 bytes for the path
 *
 * Return: 0, or -ENAMETOOLONG.
 */
int boot_slot_dir(char buf[static 4096]);

/**
 * boot_slot_try() - take a free slot among the first @n in @dir without waiting.
 * @dir: the slot directory (created, mode 0770, when missing and possible)
 * @n: how many slots there are (>= 1)
 * @slot: set to the slot's index on success
 *
 * Return: the locked slot file's fd (close it to give the slot back),
 * -EAGAIN when all @n slots are taken, or another negative errno.
 */
int boot_slot_try(const char *dir, int n, int *slot);

/**
 * boot_slot_make() - as root, before a VM starts: slot files 0 .. @n-1 in @dir
 * (mode 0644), so that launchers running as different uids share them and only
 * need to open them for reading
 *
 * Return: 0, or negative errno.
 */
int boot_slot_make(const char *dir, int n);

/**
 * boot_slot_default() - the limit when the VM's file sets none: the host's online CPUs.
 *
 * Return: at least 1.
 */
int boot_slot_default(void);
