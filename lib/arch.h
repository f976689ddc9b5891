/* arch.h - the one table of guest architectures qvm knows */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* What qvm knows about one guest architecture. */
struct arch_info {
	const char *name;         /* QEMU's name, as in qemu-system-NAME */
	const char *machine;      /* default machine type */
	bool x86;                 /* SeaBIOS is the default firmware */
};

/**
 * arch_find() - the table row of architecture @name
 * Return: the row, or NULL for an architecture qvm does not know
 */
const struct arch_info *arch_find(const char *name);

/**
 * arch_list() - the known architectures' names joined by ", ", for messages
 * Return: a static string
 */
const char *arch_list(void);

/**
 * arch_host() - this host's architecture in QEMU's naming; x86_64 when the
 * host's is not in the table
 * Return: a static string
 */
const char *arch_host(void);
