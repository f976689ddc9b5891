/* config-lookup.c - finding a key, a section or an enum's word in the key table (config-keys.c) */
#include "config-internal.h"

#include <string.h>

#include "macro.h"

static const char *const known_sections[] = {
	"vm", "image", "disk", "share", "cloud-init", "network", "boot", "qemu", NULL
};

const char *const *config_sections(void)
{
	return known_sections;
}

const struct key_def *config_find_key(const char *section, const char *key)
{
	size_t n;
	const struct key_def *t = config_keys(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].section, section) == 0 && strcmp(t[i].name, key) == 0)
			return &t[i];
	return NULL;
}

const char *config_enum_name(const char *section, const char *key, int value)
{
	const struct key_def *k = config_find_key(section, key);

	if (!k || k->type != KEY_ENUM || value < 0)
		return NULL;
	for (int i = 0; k->choices[i]; i++)
		if (i == value)
			return k->choices[i];
	return NULL;
}

size_t config_key_index(const struct key_def *k)
{
	size_t n;

	return (size_t)(k - config_keys(&n));
}

_Static_assert(ELEMENTSOF(known_sections) <= CONFIG_SECTIONS_MAX, "raise CONFIG_SECTIONS_MAX in config-internal.h");
