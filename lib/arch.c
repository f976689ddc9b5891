/* arch.c - the one table of guest architectures: names, default machines, firmware family */
#include "arch.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "config.h"
#include "macro.h"

static const struct arch_info arch_table[] = {
	{ "x86_64", "q35", true },
	{ "i386", "q35", true },
	{ "aarch64", "virt", false },
	{ "arm", "virt", false },
	{ "riscv64", "virt", false },
};

const struct arch_info *arch_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(arch_table); i++)
		if (strcmp(arch_table[i].name, name) == 0)
			return &arch_table[i];
	return NULL;
}

const char *arch_list(void)
{
	static char buf[128];

	if (!buf[0])
		for (size_t i = 0, used = 0; i < ELEMENTSOF(arch_table); i++)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? ", " : "",
						 arch_table[i].name);
	return buf;
}

/* uname's machine names that QEMU spells differently. */
static const char *arch_from_uname(const char *machine)
{
	if (strcmp(machine, "armv7l") == 0 || strcmp(machine, "armv6l") == 0)
		return "arm";
	if (machine[0] == 'i' && strcmp(machine + 2, "86") == 0)
		return "i386";
	return arch_find(machine) ? arch_find(machine)->name : "x86_64";
}

const char *arch_host(void)
{
	static const char *cached;
	struct utsname u;

	if (!cached)
		cached = uname(&u) < 0 ? "x86_64" : arch_from_uname(u.machine);
	return cached;
}

const char *config_host_arch(void)
{
	return arch_host();
}
