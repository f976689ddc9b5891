/* qemu_argv.c - a VM's config turned into QEMU's command line: arch defaults, accelerator, firmware, disks, network */
#include "qemu_argv.h"
#include "basic.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "machine.h"
#include "strv.h"

#define KIB UINT64_C(1024)

/* NIC models that are part of a board: attached with -net nic, not as a -device. */
static const char *const onboard_nics[] = { "smc91c111", "lan9118", "stellaris_enet", NULL };

/* A growing argv; the first error sticks, so callers check once at the end. */
struct argv_builder {
	char **argv;
	int error;
};

char *qemu_opt_escape(const char *s)
{
	size_t commas = 0;
	char *ret, *o;

	for (const char *p = s; *p; p++)
		commas += *p == ',';
	ret = malloc(strlen(s) + commas + 1);
	if (!ret)
		return NULL;
	for (o = ret; *s; s++) {
		*o++ = *s;
		if (*s == ',')
			*o++ = ',';
	}
	*o = '\0';
	return ret;
}

/* Append the printf-formatted argument to @b. */
_printf_(2, 3) static void add(struct argv_builder *b, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	if (b->error)
		return;
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		b->error = -ENOMEM;
	else if (strv_push(&b->argv, s) < 0)
		b->error = -ENOMEM;
}

/* Append option @opt and its value "PREFIX<escaped path>SUFFIX", so a comma in @path stays part of it. */
static void add_path_opt(struct argv_builder *b, const char *opt, const char *prefix, const char *path,
			 const char *suffix)
{
	_cleanup_free_ char *esc = qemu_opt_escape(path);

	if (!esc) {
		b->error = -ENOMEM;
		return;
	}
	add(b, "%s", opt);
	add(b, "%s%s%s", prefix, esc, suffix);
}

bool qemu_kvm_fits(const struct qemu_host *host, const char *arch)
{
	return host->kvm_usable &&
	       (strcmp(arch, host->host_arch) == 0 ||
		(strcmp(arch, "i386") == 0 && strcmp(host->host_arch, "x86_64") == 0));
}

/* Decide KVM or TCG; -EINVAL with a diagnostic when KVM is demanded but cannot work. */
static int choose_accel(const struct vm_config *c, const struct qemu_host *host, bool *kvm,
			struct diag_list *diags)
{
	/* icount is TCG's alone: auto picks TCG for it; accel = kvm with icount the config rejects */
	*kvm = c->accel != ACCEL_TCG && !c->qemu_icount && qemu_kvm_fits(host, c->arch);
	if (c->accel != ACCEL_KVM || *kvm)
		return 0;
	if (c->qemu_icount)
		return diag_add(diags, c->path, 0, "icount works only with TCG: QEMU refuses -icount with KVM; set accel = tcg"),
		       -EINVAL;
	if (!host->kvm_usable)
		diag_add(diags, c->path, 0,
			 "accel = kvm, but /dev/kvm is missing or not usable (is the qvm user in group kvm?); use accel = auto or tcg");
	else
		diag_add(diags, c->path, 0, "accel = kvm cannot run %s guests on this %s host; use accel = auto or tcg",
			 c->arch, host->host_arch);
	return -EINVAL;
}

/* -m's argument for @bytes: the largest unit that divides it. */
static void add_memory(struct argv_builder *b, uint64_t bytes)
{
	static const char units[] = "BKMGT";
	int u = 0;

	while (u < 4 && bytes % KIB == 0) {
		bytes /= KIB;
		u++;
	}
	add(b, "-m");
	add(b, "%llu%c", (unsigned long long)bytes, units[u]);
}

/* The CPU model: [vm] cpu, else host with KVM, the board's default, or max; NULL: leave it to the board. */
static const char *cpu_model(const struct vm_config *c, const struct machine_info *m, bool kvm)
{
	if (c->cpu)
		return c->cpu;
	if (kvm)
		return "host";
	if (m && !m->pci)
		return m->cpu;
	/* the architected pointer-auth algorithm costs TCG much time; QEMU's own is as good for a guest */
	if (strcmp(c->arch, "aarch64") == 0)
		return "max,pauth-impdef=on";
	return "max";
}

/* RAM for the machine: a board's fixed size, at most what it takes, else [vm] memory. */
static uint64_t machine_memory(const struct vm_config *c, const struct machine_info *m)
{
	if (m && m->memory && (m->fixed_memory || c->memory > m->memory))
		return m->memory;
	return c->memory;
}

/* Machine, accelerator, CPU, memory and the options every VM gets. */
static void add_machine(struct argv_builder *b, const struct vm_config *c, const struct arch_info *a, bool kvm,
			const struct qemu_host *host)
{
	const struct machine_info *m = machine_find(c->machine ? c->machine : a->machine);
	const char *cpu = cpu_model(c, m, kvm);

	add(b, "-name");
	add(b, "guest=%s,debug-threads=on", c->name);
	add(b, "-nodefaults");
	add(b, "-no-user-config");
	add(b, "-machine");
	/* vhost-user (virtiofsd) maps guest RAM, so it must be a shared memfd */
	if (config_has_share_mode(c, SHARE_VIRTIOFS))
		add(b, "%s,memory-backend=mem", c->machine ? c->machine : a->machine);
	else
		add(b, "%s", c->machine ? c->machine : a->machine);
	add(b, "-accel");
	add(b, "%s", kvm ? "kvm" : "tcg");
	if (cpu) {
		add(b, "-cpu");
		add(b, "%s", cpu);
	}
	add(b, "-smp");
	add(b, "%lld", (long long)(m && m->cpus ? m->cpus : c->cpus));
	add_memory(b, machine_memory(c, m));
	if (config_has_share_mode(c, SHARE_VIRTIOFS)) {
		add(b, "-object");
		add(b, "memory-backend-memfd,id=mem,size=%llu,share=on", (unsigned long long)machine_memory(c, m));
	}
	add(b, "-display");
	add(b, "none");
	if (host->sandbox) {
		add(b, "-sandbox");
		add(b, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	}
}

/* The serial console on stdio and QMP on a unix socket. */
static void add_control(struct argv_builder *b, const struct vm_paths *p, const struct qemu_host *host)
{
	add(b, "-chardev");
	add(b, "stdio,id=console,signal=off");
	add(b, "-serial");
	add(b, "chardev:console");
	if (host->qmp_listen_fd >= 0) {
		add(b, "-chardev");
		add(b, "socket,id=qmp,fd=%d,server=on,wait=off", host->qmp_listen_fd);
	} else {
		add_path_opt(b, "-chardev", "socket,id=qmp,path=", p->qmp_socket, ",server=on,wait=off");
	}
	add(b, "-mon");
	add(b, "chardev=qmp,mode=control");
	if (host->monitor_listen_fd > 0) { /* the administrator's own QMP; the launcher's events stay its own */
		add(b, "-chardev");
		add(b, "socket,id=monitor,fd=%d,server=on,wait=off", host->monitor_listen_fd);
		add(b, "-mon");
		add(b, "chardev=monitor,mode=control");
	}
}

/* UEFI: read-only code and the VM's own vars as pflash; BIOS: nothing (QEMU's default). */
static int add_firmware(struct argv_builder *b, const struct vm_config *c, const struct arch_info *a,
			const struct vm_paths *p, const struct qemu_host *host, struct qemu_choice *choice,
			struct diag_list *diags)
{
	const char *machine = c->machine ? c->machine : a->machine, *pkg = qemu_firmware_package(c->arch);
	const struct firmware_desc *fw;
	char dirs[1024] = "";

	choice->efivars_template[0] = '\0';
	if (c->firmware == FIRMWARE_BIOS || (c->firmware == FIRMWARE_AUTO && a->x86))
		return 0;
	fw = firmware_find_uefi(&host->firmware, c->arch, machine);
	if (!fw && c->firmware == FIRMWARE_AUTO)
		return 0; /* no UEFI installed for this arch: QEMU's built-in firmware */
	if (!fw) {
		STRV_FOREACH(d, host->firmware.dirs)
			snprintf(dirs + strlen(dirs), sizeof(dirs) - strlen(dirs), "%s%s", dirs[0] ? ", " : "", *d);
		return diag_add(diags, c->path, 0,
				"firmware = uefi, but no UEFI firmware descriptor for %s machine %s in %s: %s%s",
				c->arch, machine, dirs, pkg ? "apt-get install " : "Debian has none; use firmware = auto",
				pkg ?: ""),
		       -EINVAL;
	}
	snprintf(choice->efivars_template, sizeof(choice->efivars_template), "%s", fw->vars);
	add_path_opt(b, "-drive", "if=pflash,unit=0,format=raw,readonly=on,file=", fw->code, "");
	add_path_opt(b, "-drive", "if=pflash,unit=1,format=raw,file=", p->efivars, "");
	return 0;
}

/* Where disks go: the bus, and which controllers were already added. */
struct disk_attach {
	int bus;                  /* enum disk_bus, resolved (never AUTO) */
	const char *machine;
	bool pci;
	bool scsi_added, ahci_added;
	int index;                /* disks on this bus so far */
};

/* The disk bus of @c on machine @m: [vm] disk-bus, else the machine's own. */
static int disk_bus_of(const struct vm_config *c, const struct machine_info *m)
{
	if (c->disk_bus != DISK_BUS_AUTO)
		return c->disk_bus;
	return m ? m->disk_bus : DISK_BUS_VIRTIO;
}

/* The virtio-scsi controller scsi0, once (disks and the CD-ROM share it). */
static void add_scsi_controller(struct argv_builder *b, struct disk_attach *at)
{
	if (at->scsi_added)
		return;
	at->scsi_added = true;
	add(b, "-device");
	add(b, "virtio-scsi-pci,id=scsi0");
}

/* The -device for an ATA disk @id: the machine's own IDE/AHCI ports on pc and q35, else an ich9-ahci. */
static void add_ata_device(struct argv_builder *b, struct disk_attach *at, const char *id, const char *extra)
{
	bool i440fx = fnmatch("pc", at->machine, 0) == 0 || fnmatch("pc-i440fx-*", at->machine, 0) == 0;
	bool q35 = fnmatch("q35", at->machine, 0) == 0 || fnmatch("pc-q35-*", at->machine, 0) == 0;

	if (!i440fx && !q35 && !at->ahci_added) {
		at->ahci_added = true;
		add(b, "-device");
		add(b, "ich9-ahci,id=sata0");
	}
	add(b, "-device");
	if (i440fx)
		add(b, "ide-hd,bus=ide.%d,unit=%d,drive=%s%s", at->index / 2, at->index % 2, id, extra);
	else
		add(b, "ide-hd,bus=%s.%d,drive=%s%s", q35 ? "ide" : "sata0", at->index, id, extra);
}

/*
 * One disk on the VM's bus: a -drive backend @id for @path and its device.
 * @device_extra (bootindex, serial) applies where the disk is a -device; a
 * board's own controllers (if=scsi on versatilepb, if=sd) take none.
 */
static int add_disk(struct argv_builder *b, struct disk_attach *at, const char *id, const char *path,
		    const char *format, const char *drive_extra, const char *device_extra)
{
	_cleanup_free_ char *prefix = NULL, *suffix = NULL;
	bool board = at->bus == DISK_BUS_SD || (at->bus == DISK_BUS_SCSI && !at->pci);

	if (board ? asprintf(&prefix, "if=%s,index=%d,file=", at->bus == DISK_BUS_SD ? "sd" : "scsi", at->index) < 0
		  : asprintf(&prefix, "if=none,id=%s,file=", id) < 0)
		return b->error = -ENOMEM;
	if (asprintf(&suffix, ",format=%s%s", format, drive_extra) < 0)
		return b->error = -ENOMEM;
	add_path_opt(b, "-drive", prefix, path, suffix);
	switch (board ? DISK_BUS_AUTO : at->bus) {
	case DISK_BUS_VIRTIO:
		add(b, "-device");
		add(b, "virtio-blk-pci,drive=%s%s", id, device_extra);
		break;
	case DISK_BUS_SCSI:
		add_scsi_controller(b, at);
		add(b, "-device");
		add(b, "scsi-hd,bus=scsi0.0,drive=%s%s", id, device_extra);
		break;
	case DISK_BUS_SATA:
	case DISK_BUS_IDE:
		add_ata_device(b, at, id, device_extra);
		break;
	}
	at->index++;
	return 0;
}

/* The VM's own disk, extra disks (serial = their name), the seed, and a CD-ROM on virtio-scsi. */
static int add_disks(struct argv_builder *b, const struct vm_config *c, const char *machine,
		     const struct machine_info *m, const struct vm_paths *p, const struct qemu_host *host,
		     struct diag_list *diags)
{
	struct disk_attach at = { .bus = disk_bus_of(c, m), .machine = machine,
				  .pci = !m || m->pci };
	size_t n = config_has_system_disk(c) + c->n_disks + c->has_cloud_init;
	char path[4096], id[32], serial[32];
	bool cd_first = c->boot_cdrom && !host->installed;

	if (at.bus == DISK_BUS_SD && n > 1)
		return diag_add(diags, c->path, 0, "disk-bus = sd: an SD slot takes one disk, this VM has %zu", n),
		       -EINVAL;
	if (!at.pci && (at.bus == DISK_BUS_VIRTIO || at.bus == DISK_BUS_SATA || at.bus == DISK_BUS_IDE) && n)
		return diag_add(diags, c->path, 0, "machine %s has no PCI bus for disk-bus = %s; use disk-bus = %s",
				at.machine, disk_bus_to_string(at.bus), m && m->disk_bus == DISK_BUS_SD ? "sd" : "scsi"),
		       -EINVAL;
	if (config_has_system_disk(c))
		add_disk(b, &at, "disk0", p->disk, host->disk_format && !c->ephemeral ? host->disk_format : "qcow2",
			 ",discard=unmap",
			 cd_first || !c->boot_cdrom ? ",bootindex=1" : ",bootindex=0");
	for (size_t i = 0; i < c->n_disks; i++) {
		if (vm_disk_path(p, &c->disks[i], path) < 0)
			return -ENAMETOOLONG;
		snprintf(id, sizeof(id), "data%zu", i);
		/* the guest finds it as /dev/disk/by-id/virtio-NAME (a serial holds 20 bytes; names have no commas) */
		snprintf(serial, sizeof(serial), ",serial=%.20s", c->disks[i].name);
		add_disk(b, &at, id, path, c->disks[i].ephemeral ? "qcow2" : disk_format_to_string(c->disks[i].format),
			 ",discard=unmap", serial);
	}
	if (c->has_cloud_init)
		add_disk(b, &at, "seed", p->seed, "raw", ",readonly=on", "");
	if (c->boot_cdrom) {
		if (!at.pci)
			return diag_add(diags, c->path, 0, "machine %s has no PCI bus for the [boot] cdrom", at.machine),
			       -EINVAL;
		add_scsi_controller(b, &at);
		add_path_opt(b, "-drive", "if=none,id=cdrom0,media=cdrom,readonly=on,format=raw,file=", c->boot_cdrom,
			     "");
		add(b, "-device");
		add(b, "scsi-cd,bus=scsi0.0,drive=cdrom0,bootindex=%d", cd_first ? 0 : 1);
	}
	return 0;
}

/*
 * [share:NAME]: virtiofs shares connect to their virtiofsd's socket in the
 * runtime dir (qvm-virtiofsd@NAME.service started it); 9p shares are served by
 * QEMU itself with security_model=mapped-xattr: host files are created as the
 * VM's user, the guest's owner and mode live in user.virtfs.* xattrs, and
 * nothing on the host is chowned.
 */
static int add_shares(struct argv_builder *b, const struct vm_config *c, const struct machine_info *m,
		      const struct vm_paths *p, struct diag_list *diags)
{
	char sock[4096];

	if (c->n_shares && m && !m->pci)
		return diag_add(diags, c->path, 0, "[share:NAME] needs a PCI machine (q35, pc, virt); %s has none",
				c->machine), -EINVAL;
	for (size_t i = 0; i < c->n_shares; i++) {
		const struct share_config *s = &c->shares[i];
		_cleanup_free_ char *prefix = NULL;

		if (s->mode == SHARE_VIRTIOFS) {
			if (vm_share_socket(p, s->name, sock) < 0)
				return -ENAMETOOLONG;
			if (asprintf(&prefix, "socket,id=share%zu,path=", i) < 0)
				return -ENOMEM;
			add_path_opt(b, "-chardev", prefix, sock, "");
			add(b, "-device");
			add(b, "vhost-user-fs-pci,chardev=share%zu,tag=%s", i, s->name);
		} else {
			if (asprintf(&prefix, "local,id=share%zu,path=", i) < 0)
				return -ENOMEM;
			add_path_opt(b, "-fsdev", prefix, s->path,
				     s->readonly ? ",security_model=mapped-xattr,multidevs=remap,readonly=on"
						 : ",security_model=mapped-xattr,multidevs=remap");
			add(b, "-device");
			add(b, "virtio-9p-pci,fsdev=share%zu,mount_tag=%s", i, s->name);
		}
	}
	return 0;
}

/* [boot]: direct kernel boot. */
static void add_boot(struct argv_builder *b, const struct vm_config *c)
{
	if (c->boot_kernel) {
		add(b, "-kernel");
		add(b, "%s", c->boot_kernel);
	}
	if (c->boot_initrd) {
		add(b, "-initrd");
		add(b, "%s", c->boot_initrd);
	}
	if (c->boot_append) {
		add(b, "-append");
		add(b, "%s", c->boot_append);
	}
	if (c->boot_dtb) {
		add(b, "-dtb");
		add(b, "%s", c->boot_dtb);
	}
}

/* display = vnc: a graphics card, a USB tablet and keyboard, VNC on the runtime dir's socket or 127.0.0.1. */
static void add_display(struct argv_builder *b, const struct vm_config *c, const struct arch_info *a,
			const struct vm_paths *p)
{
	if (c->display != DISPLAY_VNC)
		return;
	add(b, "-device");
	add(b, "%s", a->x86 ? "VGA" : "virtio-gpu-pci");
	add(b, "-device");
	add(b, "qemu-xhci,id=usb0");
	add(b, "-device");
	add(b, "usb-tablet,bus=usb0.0");
	add(b, "-device");
	add(b, "usb-kbd,bus=usb0.0");
	if (c->vnc_port)
		add(b, "-vnc"), add(b, "127.0.0.1:%lld", (long long)(c->vnc_port - 5900));
	else
		add_path_opt(b, "-vnc", "unix:", p->vnc_socket, "");
}

/* hostfwd=...: one user-mode forward; IPv6 host addresses in brackets. */
static void add_hostfwd(struct argv_builder *b, const struct forward *f)
{
	bool v6 = strchr(f->host_addr, ':') != NULL;
	size_t n = strv_length(b->argv);
	char *grown;

	if (b->error)
		return;
	if (asprintf(&grown, "%s,hostfwd=%s:%s%s%s:%d-:%d", b->argv[n - 1], forward_proto_to_string(f->proto),
		     v6 ? "[" : "", f->host_addr, v6 ? "]" : "", f->host_port, f->guest_port) < 0) {
		b->error = -ENOMEM;
		return;
	}
	free(b->argv[n - 1]);
	b->argv[n - 1] = grown;
}

/* [network]: user mode with its forwards, a tap made by qvm-net, or no NIC at all. */
static int add_network(struct argv_builder *b, const struct vm_config *c, const struct machine_info *m)
{
	_cleanup_free_ struct forward *fw = NULL;
	const char *model;
	size_t n = 0;
	char tap[16], mac[18];
	int r;

	switch (c->net_mode) {
	case NET_NONE:
		return 0;
	case NET_TAP:
		add(b, "-netdev");
		add(b, "tap,id=net0,ifname=%s,script=no,downscript=no", vm_tap_name(c->name, tap));
		break;
	default:
		r = config_forwards(c, &fw, &n);
		if (r < 0)
			return r;
		add(b, "-netdev");
		add(b, "user,id=net0");
		for (size_t i = 0; i < n; i++)
			add_hostfwd(b, &fw[i]);
	}
	model = c->net_model ? c->net_model : m ? m->nic : "virtio";
	if (strv_contains((char *const *)onboard_nics, model)) {
		add(b, "-net");
		add(b, "nic,netdev=net0,model=%s,macaddr=%s", model, vm_mac(c, mac));
		return 0;
	}
	add(b, "-device");
	add(b, "%s,netdev=net0,mac=%s", strcmp(model, "virtio") == 0 ? "virtio-net-pci" : model, vm_mac(c, mac));
	return 0;
}

/* [qemu] gdb: the stub on loopback TCP or on the runtime dir's gdb.sock; gdb-wait: paused until it continues. */
static void add_gdb(struct argv_builder *b, const struct vm_config *c, const struct vm_paths *p)
{
	char where[128];

	if (qemu_gdb_address(c, p, where, sizeof(where)) == 1) {
		add_path_opt(b, "-chardev", "socket,id=gdb,path=", p->gdb_socket, ",server=on,wait=off");
		add(b, "-gdb");
		add(b, "chardev:gdb");
	} else if (where[0]) {
		add(b, "-gdb");
		add(b, "tcp:%s", where);
	}
	if (c->qemu_gdb_wait)
		add(b, "-S");
}

int qemu_gdb_address(const struct vm_config *c, const struct vm_paths *p, char *buf, size_t size)
{
	const char *g = c->qemu_gdb ? c->qemu_gdb : c->qemu_gdb_wait ? "unix" : NULL;

	buf[0] = '\0';
	if (!g)
		return 0;
	if (strcmp(g, "unix") == 0) {
		snprintf(buf, size, "%s", p->gdb_socket);
		return 1;
	}
	if (strncmp(g, "tcp:", 4) == 0)
		g += 4;
	if (strchr(g, ':'))
		snprintf(buf, size, "%s", g);
	else
		snprintf(buf, size, "127.0.0.1:%s", g);
	return 2;
}

/* [qemu]: gdb stub, icount, readconfig, extra args last. */
static void add_qemu_section(struct argv_builder *b, const struct vm_config *c, const struct vm_paths *p)
{
	add_gdb(b, c, p);
	if (c->qemu_icount) {
		add(b, "-icount");
		add(b, "%s", c->qemu_icount);
	}
	if (c->qemu_readconfig) {
		add(b, "-readconfig");
		add(b, "%s", c->qemu_readconfig);
	}
	STRV_FOREACH(a, c->qemu_extra_args)
		add(b, "%s", *a);
}

int qemu_argv_build(const struct vm_config *c, const struct vm_paths *p, const struct qemu_host *host,
		    char ***ret_argv, struct qemu_choice *choice, struct diag_list *diags)
{
	const struct arch_info *a = arch_find(c->arch);
	const struct machine_info *m;
	struct argv_builder b = { 0 };
	int r;

	if (!a)
		return diag_add(diags, c->path, 0, "unsupported arch '%s'", c->arch), -EINVAL;
	m = machine_find(c->machine ? c->machine : a->machine);
	r = choose_accel(c, host, &choice->kvm, diags);
	if (r < 0)
		return r;
	if (c->qemu_binary)
		snprintf(choice->binary, sizeof(choice->binary), "%s", c->qemu_binary);
	else
		snprintf(choice->binary, sizeof(choice->binary), "qemu-system-%s", a->name);
	add(&b, "%s", choice->binary);
	add_machine(&b, c, a, choice->kvm, host);
	add_control(&b, p, host);
	r = add_firmware(&b, c, a, p, host, choice, diags);
	if (r >= 0) {
		if (!m || m->pci) {
			add(&b, "-device");
			add(&b, "virtio-rng-pci");
		}
		r = add_disks(&b, c, c->machine ? c->machine : a->machine, m, p, host, diags);
	}
	if (r >= 0)
		r = add_shares(&b, c, m, p, diags);
	if (r >= 0) {
		add_boot(&b, c);
		if (c->display == DISPLAY_VNC && m && !m->pci)
			r = (diag_add(diags, c->path, 0, "display = vnc needs a PCI machine (q35, pc, virt); %s has none",
				      c->machine), -EINVAL);
		add_display(&b, c, a, p);
		if (r >= 0)
			r = add_network(&b, c, m);
	}
	add_qemu_section(&b, c, p);
	if (r >= 0)
		r = b.error;
	if (r < 0) {
		strv_free(b.argv);
		return r;
	}
	*ret_argv = b.argv;
	return 0;
}
