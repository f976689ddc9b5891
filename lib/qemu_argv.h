/* qemu_argv.h - a VM's config turned into QEMU's command line (a pure function, golden-tested) */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "diag.h"
#include "paths.h"

/*
 * What the launcher knows about the host and the process it is about to
 * start, beyond the config. Everything host-dependent is in here, so that
 * qemu_argv_build() is a pure function and tests can pin every value.
 */
struct qemu_host {
	const char *host_arch;    /* uname -m in QEMU's spelling (x86_64, aarch64, ...) */
	bool kvm_usable;          /* /dev/kvm opened read-write and answered KVM_GET_API_VERSION */
	const char *firmware_dir; /* QEMU firmware descriptors, normally /usr/share/qemu/firmware */
	bool sandbox;             /* this QEMU supports -sandbox */
	int qmp_listen_fd;        /* >= 0: a listening unix socket QEMU inherits for QMP;
				     < 0: QEMU listens on paths->qmp_socket itself */
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
