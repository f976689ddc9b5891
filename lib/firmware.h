/* firmware.h - QEMU's firmware descriptors (docs/interop/firmware.json): read once per host, matched per VM */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One "targets" entry of a descriptor: an architecture and its machine-type globs. */
struct firmware_target {
	char *arch;
	char **machines;
};

/* What qvm uses of one descriptor file. */
struct firmware_desc {
	char *name;               /* the file's name: its place in the search order */
	char *code;               /* mapping.executable.filename */
	char *vars;               /* mapping.nvram-template.filename */
	bool plain_uefi;          /* UEFI on flash, without secure-boot, requires-smm, enrolled-keys or amd-sev-es */
	struct firmware_target *targets;
	size_t n_targets;
};

/* The descriptors of a search path, in the spec's order (by file name). */
struct firmware_list {
	struct firmware_desc *items;
	size_t n;
	char **dirs;              /* the search path, general to specific, for messages */
};

/**
 * firmware_search_path() - the descriptor directories, general to specific:
 * /usr/share/qemu/firmware, /etc/qemu/firmware and $XDG_CONFIG_HOME/qemu/firmware
 * ($HOME/.config when unset); $QVM_FIRMWARE_DIR (colon-separated, same order)
 * replaces them (a test seam)
 * @ret: new NULL-terminated vector, freed with strv_free()
 * Return: 0, or -ENOMEM
 */
int firmware_search_path(char ***ret);

/**
 * firmware_load() - read the descriptors of @dirs as the spec says: the files
 * named *.json of all of them, sorted by file name; a name in a more specific
 * (later) directory replaces the same name in a general one, and an empty
 * file there hides it. A missing directory is skipped; a file that is not a
 * readable descriptor is skipped too (QEMU's own tools do the same).
 * @dirs: NULL-terminated, general to specific; copied into @ret->dirs
 * @ret: filled; free with firmware_list_free()
 * Return: 0, or -ENOMEM
 */
int firmware_load(char *const *dirs, struct firmware_list *ret);

/**
 * firmware_find_uefi() - the first plain UEFI descriptor in @l for guest
 * @arch on @machine (a machine glob also covers the aliases q35, pc and virt)
 * Return: the descriptor (owned by @l), or NULL
 */
const struct firmware_desc *firmware_find_uefi(const struct firmware_list *l, const char *arch, const char *machine);

/**
 * firmware_list_free() - free what @l holds and empty it
 */
void firmware_list_free(struct firmware_list *l);
