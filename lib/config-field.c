/* config-field.c - one INI value turned into a typed config field, by its key table row */
#include "config-internal.h"
#include "basic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "values.h"

/* "auto, kvm, tcg" for an enum's choices. */
static void join_choices(const char *const *choices, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; choices[i] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", choices[i]);
}

/* Split @value into list items per the key's split rule and append them. */
static int list_append(char ***list, const char *value, char split)
{
	_cleanup_free_ char *copy = strdup(value);
	char *save = NULL;
	const char *seps = split == ',' ? ", \t" : " \t";

	if (!copy)
		return -ENOMEM;
	if (split == 0)
		return strv_push(list, config_strip(copy));
	for (char *tok = strtok_r(copy, seps, &save); tok; tok = strtok_r(NULL, seps, &save))
		if (strv_push(list, tok) < 0)
			return -ENOMEM;
	return 0;
}

/* Reset a field to its empty state, freeing what it holds. */
void config_field_clear(const struct key_def *k, void *field)
{
	switch (k->type) {
	case KEY_STRING:
	case KEY_PATH:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case KEY_LIST:
		*(char ***)field = strv_free(*(char ***)field);
		break;
	case KEY_BOOL:
		*(bool *)field = false;
		break;
	case KEY_INT:
		*(int64_t *)field = 0;
		break;
	case KEY_SIZE:
	case KEY_DURATION:
		*(uint64_t *)field = 0;
		break;
	case KEY_ENUM:
		*(int *)field = 0;
		break;
	}
}

/* Report a value outside the key's bounds; returns -ERANGE. */
static int out_of_range(struct parse_state *st, const struct key_def *k, const char *value, int64_t v)
{
	char lo[32], hi[32];

	if (k->type == KEY_SIZE) {
		format_size(lo, sizeof(lo), (uint64_t)k->min);
		format_size(hi, sizeof(hi), (uint64_t)k->max);
		if (v < k->min)
			PROBLEM(st, st->line, "%s = %s is below the minimum %s (a bare number is bytes; did you mean %sM?)",
				k->name, value, lo, value);
		else
			PROBLEM(st, st->line, "%s = %s is above the maximum %s", k->name, value, hi);
	} else {
		PROBLEM(st, st->line, "%s = %s is out of range: expected an integer from %" PRId64 " to %" PRId64,
			k->name, value, k->min, k->max);
	}
	return -ERANGE;
}

/*
 * Paths reach unit files (ReadWritePaths=, LoadCredential=) and QEMU:
 * systemd wants them normalized, and a trailing backslash would continue
 * the unit file's line.
 */
const char *config_path_problem(const char *p)
{
	size_t n = strlen(p);

	if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
	    endswith(p, "/.") || endswith(p, "/.."))
		return "write the path without '//', '.' or '..' components";
	if (n > 1 && p[n - 1] == '/')
		return "name a file: remove the trailing '/'";
	if (p[n - 1] == '\\')
		return "a path cannot end in a backslash";
	if (n >= 4096)
		return "the path is too long";
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return "a control character in a path; rename the file";
	return NULL;
}

/* Parse @value by the key's type into @field; reports problems. */
int config_field_set(struct parse_state *st, const struct key_def *k, void *field, const char *value)
{
	char choices[128];
	int64_t i64;
	uint64_t u64;
	bool b;

	if (!*value && k->type != KEY_STRING) {
		config_field_clear(k, field);    /* "key =" resets, as in systemd */
		return 0;
	}
	switch (k->type) {
	case KEY_STRING:
		free(*(char **)field);
		*(char **)field = *value ? strdup(value) : NULL;
		return *value && !*(char **)field ? -ENOMEM : 0;
	case KEY_PATH:
		if (value[0] != '/') {
			PROBLEM(st, st->line, "%s = %s: expected an absolute path (starting with '/')", k->name, value);
			return -EINVAL;
		}
		if (config_path_problem(value)) {
			PROBLEM(st, st->line, "%s = %s: %s", k->name, value, config_path_problem(value));
			return -EINVAL;
		}
		free(*(char **)field);
		*(char **)field = strdup(value);
		return *(char **)field ? 0 : -ENOMEM;
	case KEY_LIST:
		return list_append((char ***)field, value, k->split);
	case KEY_BOOL:
		if (parse_bool(value, &b) < 0) {
			PROBLEM(st, st->line, "invalid boolean '%s' for %s: use yes/no, true/false, on/off or 1/0",
				value, k->name);
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case KEY_INT:
		if (parse_int(value, &i64) < 0) {
			PROBLEM(st, st->line, "invalid number '%s' for %s: expected an integer from %" PRId64 " to %" PRId64,
				value, k->name, k->min, k->max);
			return -EINVAL;
		}
		if ((k->min || k->max) && (i64 < k->min || i64 > k->max))
			return out_of_range(st, k, value, i64);
		*(int64_t *)field = i64;
		return 0;
	case KEY_SIZE:
		if (parse_size(value, &u64) < 0) {
			PROBLEM(st, st->line, "invalid size '%s' for %s: expected a number with an optional K, M, G or T suffix, for example 2G",
				value, k->name);
			return -EINVAL;
		}
		if ((k->min && u64 < (uint64_t)k->min) || (k->max && u64 > (uint64_t)k->max))
			return out_of_range(st, k, value, u64 > INT64_MAX ? INT64_MAX : (int64_t)u64);
		*(uint64_t *)field = u64;
		return 0;
	case KEY_DURATION:
		if (parse_duration(value, &u64) < 0) {
			PROBLEM(st, st->line, "invalid time span '%s' for %s: expected for example 90s, 5min or 1h 30min",
				value, k->name);
			return -EINVAL;
		}
		*(uint64_t *)field = u64;
		return 0;
	case KEY_ENUM:
		for (int i = 0; k->choices[i]; i++)
			if (strcmp(value, k->choices[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		join_choices(k->choices, choices, sizeof(choices));
		PROBLEM(st, st->line, "invalid value '%s' for %s: expected one of %s", value, k->name, choices);
		return -EINVAL;
	}
	return -EINVAL;
}
