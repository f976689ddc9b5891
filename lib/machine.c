/* machine.c - the one table of QEMU machine types: which qemu-system-ARCH has each, its disk bus, NIC, CPU and RAM */
#include "machine.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

#define MIB_ (UINT64_C(1024) * UINT64_C(1024))

static const struct machine_info machine_table[] = {
	{ "q35", "x86_64 i386", DISK_BUS_VIRTIO, "virtio", true, NULL, 0, 0, false },
	{ "pc-q35-*", "x86_64 i386", DISK_BUS_VIRTIO, "virtio", true, NULL, 0, 0, false },
	{ "pc", "x86_64 i386", DISK_BUS_VIRTIO, "virtio", true, NULL, 0, 0, false },
	{ "pc-i440fx-*", "x86_64 i386", DISK_BUS_VIRTIO, "virtio", true, NULL, 0, 0, false },
	{ "microvm", "x86_64 i386", DISK_BUS_VIRTIO, "virtio", false, NULL, 0, 0, false },
	{ "virt", "aarch64 arm riscv64", DISK_BUS_VIRTIO, "virtio", true, NULL, 0, 0, false },
	{ "virt-*", "aarch64 arm", DISK_BUS_VIRTIO, "virtio", true, NULL, 0, 0, false },
	{ "versatilepb", "arm aarch64", DISK_BUS_SCSI, "smc91c111", false, "arm1176", 1, 256 * MIB_, false },
	{ "versatileab", "arm aarch64", DISK_BUS_SCSI, "smc91c111", false, "arm1176", 1, 256 * MIB_, false },
	{ "raspi0", "arm aarch64", DISK_BUS_SD, "usb-net", false, NULL, 1, 512 * MIB_, true },
	{ "raspi1ap", "arm aarch64", DISK_BUS_SD, "usb-net", false, NULL, 1, 512 * MIB_, true },
	{ "raspi2b", "arm aarch64", DISK_BUS_SD, "usb-net", false, NULL, 4, 1024 * MIB_, true },
	{ "raspi3ap", "aarch64", DISK_BUS_SD, "usb-net", false, NULL, 4, 512 * MIB_, true },
	{ "raspi3b", "aarch64", DISK_BUS_SD, "usb-net", false, NULL, 4, 1024 * MIB_, true },
	{ "sifive_u", "riscv64", DISK_BUS_SD, "virtio", false, NULL, 0, 0, false },
	{ "spike", "riscv64", DISK_BUS_VIRTIO, "virtio", false, NULL, 0, 0, false },
};

const struct machine_info *machine_find(const char *machine)
{
	for (size_t i = 0; i < ELEMENTSOF(machine_table); i++)
		if (fnmatch(machine_table[i].pattern, machine, 0) == 0)
			return &machine_table[i];
	return NULL;
}

const char *qemu_machine_arch(const char *machine)
{
	static char first[16];
	const struct machine_info *m = machine_find(machine);

	if (!m)
		return NULL;
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(m->arches, " "), m->arches);
	return first;
}

bool qemu_machine_fits(const char *machine, const char *arch)
{
	const struct machine_info *m = machine_find(machine);
	size_t n = strlen(arch);

	if (!m)
		return true;
	for (const char *p = m->arches; *p; p += strcspn(p, " "), p += *p == ' ')
		if (strncmp(p, arch, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

