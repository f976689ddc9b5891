/* machine.h - the one table of QEMU machine types qvm knows: which binary has each, and its default devices */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/*
 * What qvm knows about one family of machine types: which qemu-system-ARCH
 * has it, and the devices a guest of it expects when the config says nothing.
 */
struct machine_info {
	const char *pattern;      /* fnmatch pattern of machine names */
	const char *arches;       /* the qemu-system-ARCH binaries that have it, blank-separated */
	int disk_bus;             /* enum disk_bus: the bus its disks go on by default */
	const char *nic;          /* default NIC model */
	bool pci;                 /* has a PCI bus qvm puts virtio devices on */
	const char *cpu;          /* default CPU with TCG; NULL: "max" on PCI machines, the board's own else */
	int64_t cpus;             /* the board's fixed CPU count; 0: as configured */
	uint64_t memory;          /* the board's RAM: fixed for raspi*, the most versatilepb takes; 0: as configured */
	bool fixed_memory;        /* memory is exactly the board's */
};

/**
 * machine_find() - the table row of machine type @machine (patterns such as pc-q35-*)
 * Return: the row, or NULL for a machine qvm has no defaults for
 */
const struct machine_info *machine_find(const char *machine);

/**
 * qemu_machine_arch() - the first qemu-system-ARCH that has machine type @machine
 * Return: a static string, or NULL for a machine qvm does not know (then only QEMU can tell)
 */
const char *qemu_machine_arch(const char *machine);

/**
 * qemu_machine_fits() - can qemu-system-@arch run machine type @machine?
 * Return: false only for a machine qvm knows belongs to other arches
 */
bool qemu_machine_fits(const char *machine, const char *arch);
