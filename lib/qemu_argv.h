/* qemu_argv.h - a VM's config turned into QEMU's command line (a pure function, golden-tested) */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "machine.h"
#include "diag.h"
#include "firmware.h"
#include "paths.h"

/*
 * What the launcher knows about the host and the process it is about to
 * start, beyond the config. Everything host-dependent is in here, so that
 * qemu_argv_build() is a pure function and tests can pin every value.
 */
struct qemu_host {
	const char *host_arch;    /* uname -m in QEMU's spelling (x86_64, aarch64, ...) */
	bool kvm_usable;          /* /dev/kvm opened read-write and answered KVM_GET_API_VERSION */
	struct firmware_list firmware; /* QEMU's firmware descriptors (firmware_search_path()), read once */
	bool sandbox;             /* this QEMU supports -sandbox */
	int qmp_listen_fd;        /* >= 0: a listening unix socket QEMU inherits for QMP;
				     < 0: QEMU listens on paths->qmp_socket itself */
	int monitor_listen_fd;    /* > 0: a second QMP monitor QEMU inherits (qvm monitor/qmp); else none */
	bool installed;           /* paths->installed exists: the install boot from [boot] cdrom is over,
				     so the system disk boots first */
	const char *disk_format;  /* format of paths->disk as detected by the caller
				     (qvm-image makes qcow2; [image] disk may be raw); NULL = qcow2 */
	/* The guest's serial console is QEMU's stdin/stdout (-chardev stdio):
	   the launcher hands QEMU one end of a socketpair there. */
};

/* What the builder decided, for STATUS= and the log. */
struct qemu_choice {
	bool kvm;                 /* the accelerator is KVM (else TCG) */
	char binary[256];         /* qemu-system-ARCH, or [qemu] binary */
	char efivars_template[4096]; /* UEFI: the vars file to copy to paths->efivars; "" otherwise */
};

/**
 * qemu_argv_build() - the complete QEMU command line for VM @c
 * @c: validated config
 * @p: the VM's paths
 * @host: facts about the host (see struct qemu_host)
 * @ret_argv: new NULL-terminated vector (argv[0] is the binary), freed with strv_free()
 * @choice: filled with what was decided (accelerator, binary, firmware)
 * @diags: why the build failed, e.g. "no UEFI firmware descriptor for x86_64"
 *
 * Return: 0, -EINVAL with a message in @diags, or -ENOMEM
 */
int qemu_argv_build(const struct vm_config *c, const struct vm_paths *p,
		    const struct qemu_host *host, char ***ret_argv,
		    struct qemu_choice *choice, struct diag_list *diags);


/**
 * qemu_kvm_fits() - whether KVM can run guest @arch on @host (its own arch, or i386 on x86_64)
 * Return: true when /dev/kvm is usable and the arch fits
 */
bool qemu_kvm_fits(const struct qemu_host *host, const char *arch);

/**
 * qemu_gdb_address() - where VM @c's gdb stub listens
 * @buf: set to "HOST:PORT" or the unix socket's path; "" without a stub
 * Return: 0 no stub, 1 a unix socket, 2 TCP
 */
int qemu_gdb_address(const struct vm_config *c, const struct vm_paths *p, char *buf, size_t size);

/**
 * qemu_firmware_package() - the Debian package with UEFI firmware for guest @arch
 * Return: a static string (ovmf, qemu-efi-aarch64, ...), or NULL where Debian has none with a
 * QEMU firmware descriptor (riscv64)
 */
const char *qemu_firmware_package(const char *arch);

/**
 * qemu_binary_check() - is VM @c's QEMU ([qemu] binary, or qemu-system-ARCH in PATH) there?
 * @buf: on failure, what is missing and the Debian package to install
 * Return: 0, or -ENOENT
 */
int qemu_binary_check(const struct vm_config *c, char *buf, size_t size);

/**
 * qemu_host_check() - what keeps VM @c from starting on this host, for qvm check:
 * a missing qemu-system-ARCH or firmware (naming the package), a machine type
 * QEMU does not have, accel = kvm without a usable KVM (a warning: the start
 * fails), icount that keeps a VM from KVM (a warning)
 * Return: 0, or -ENOMEM/-ENAMETOOLONG
 */
int qemu_host_check(const struct vm_config *c, const struct qemu_host *host, struct diag_list *errors,
		    struct diag_list *warnings);

/**
 * qemu_host_probe() - fill @h with the facts of this host: its architecture,
 * whether /dev/kvm answers KVM_GET_API_VERSION, the firmware descriptors on
 * QEMU's search path, -sandbox support; qmp_listen_fd = -1, disk_format = NULL.
 * All the host I/O the argv builder depends on happens here.
 * Return: 0, or -ENOMEM (a fact that cannot be read is set to its safe value);
 * free with qemu_host_done()
 */
int qemu_host_probe(struct qemu_host *h);

/**
 * qemu_host_done() - free what qemu_host_probe() allocated in @h
 */
void qemu_host_done(struct qemu_host *h);
#define _cleanup_qemu_host_ __attribute__((cleanup(qemu_host_done)))

/**
 * qemu_disk_format() - detect the format of the disk image at @path from its
 * header: "qcow2" for a qcow2 magic, else "raw". Never use it on a disk a
 * guest has written: the guest chooses that header (see vm_disk_format()).
 * Return: a static string, or NULL when @path cannot be read (errno set)
 */
const char *qemu_disk_format(const char *path);

/**
 * vm_disk_format() - the format of the VM's own disk, never probed from a
 * disk a guest has written: qcow2 for the overlay qvm creates; for [image]
 * disk the configured disk-format, else the format recorded in
 * STATE/disk.format, else (first start, before any guest ran on it under qvm)
 * probed once and recorded there
 * @c: the VM
 * @p: its paths
 * @ret: "qcow2" or "raw" (static)
 * Return: 0, or a negative errno (the disk or the record cannot be read or written)
 */
int vm_disk_format(const struct vm_config *c, const struct vm_paths *p, const char **ret);

/**
 * qemu_opt_escape() - @s with every comma doubled, as QEMU's option parser
 * needs inside "key=value,..." strings
 * Return: a new string, or NULL on ENOMEM
 */
char *qemu_opt_escape(const char *s);
