/* config-parse.c - the inih handler: sections and keys checked against the key table, values stored */
#include "config-internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "values.h"

/* Record a problem at @path:@line; counts as an error. */
void config_problem_at(struct parse_state *st, const char *path, unsigned line, const char *fmt, ...)
{
	va_list ap;

	st->errors++;
	va_start(ap, fmt);
	if (diag_addv(st->diags, path, line, fmt, ap) < 0)
		st->oom = -ENOMEM;
	va_end(ap);
}


/* Strip leading and trailing blanks in place. */
char *config_strip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}


/* Is @s made of [A-Za-z0-9][A-Za-z0-9_.-]* and at most @max characters? */
bool config_name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* The section part of "disk:NAME" → "disk", "share:NAME" → "share"; other names unchanged. */
static const char *section_kind(const char *section, const char **instance)
{
	if (strncmp(section, "disk:", 5) == 0) {
		*instance = section + 5;
		return "disk";
	}
	if (strncmp(section, "share:", 6) == 0) {
		*instance = section + 6;
		return "share";
	}
	*instance = NULL;
	return section;
}

bool config_is_instance_kind(const char *kind)
{
	return strcmp(kind, "disk") == 0 || strcmp(kind, "share") == 0;
}

/* Suggestions are offered up to this edit distance (exclusive): 1 or 2 typos by length. */
static unsigned suggestion_limit(const char *word)
{
	size_t n = strlen(word);

	return n <= 3 ? 2 : n <= 5 ? 2 : 3;
}

/* The known section closest to @name, or NULL. */
static const char *suggest_section(const char *name)
{
	const char *best = NULL;
	unsigned best_d = suggestion_limit(name);

	for (size_t i = 0; config_sections()[i]; i++) {
		unsigned d = edit_distance(name, config_sections()[i]);

		if (d < best_d) {
			best_d = d;
			best = config_sections()[i];
		}
	}
	return best;
}

/* Check a section header's name; reports and returns false when it is bad. */
bool config_check_section_name(struct parse_state *st, const char *name)
{
	const char *instance, *kind, *hint;

	kind = section_kind(name, &instance);
	if (instance) {
		size_t max = strcmp(kind, "share") == 0 ? QVM_SHARE_NAME_MAX : 32;

		if (!config_name_valid(instance, max)) {
			PROBLEM(st, st->line,
				"invalid %s name '%s' in [%s]: use letters, digits, '_', '.' and '-', at most %zu characters",
				kind, instance, name, max);
			return false;
		}
		return true;
	}
	if (config_is_instance_kind(kind)) {
		PROBLEM(st, st->line, "section [%s] needs a name, for example [%s:data]", kind, kind);
		return false;
	}
	for (size_t i = 0; config_sections()[i]; i++)
		if (strcmp(kind, config_sections()[i]) == 0)
			return true;
	hint = suggest_section(name);
	if (hint)
		PROBLEM(st, st->line, "unknown section [%s]; did you mean [%s]?", name, hint);
	else
		PROBLEM(st, st->line,
			"unknown section [%s]; known sections: [vm], [image], [disk:NAME], [share:NAME], [cloud-init], [network], [boot], [qemu]",
			name);
	return false;
}

static struct share_config *get_share(struct parse_state *st, const char *name);

/* A [share:NAME] header: the share exists from here on; a second header in one file repeats its tag. */
static void note_share(struct parse_state *st, const char *name)
{
	struct vm_config *c = st->config;

	for (size_t i = 0; i < c->n_shares; i++)
		if (strcmp(c->shares[i].name, name) == 0) {
			if (strcmp(c->shares[i].file, st->path) == 0)
				PROBLEM(st, st->line,
					"share tag '%s' is repeated: [share:%s] is already on line %u; give each share one section with a name of its own",
					name, name, c->shares[i].line);
			return;
		}
	if (!get_share(st, name))
		st->oom = -ENOMEM;
}

/* Remember where a known section was opened; [cloud-init] alone asks for a seed. */
void config_note_section(struct parse_state *st, const char *name)
{
	const char *instance;
	const char *kind = section_kind(name, &instance);

	if (instance && strcmp(kind, "share") == 0)
		note_share(st, instance);

	for (size_t i = 0; config_sections()[i]; i++)
		if (strcmp(kind, config_sections()[i]) == 0 && !st->section_where[i].line)
			st->section_where[i] = (struct location){ st->path, st->line };
	if (strcmp(kind, "cloud-init") == 0)
		st->config->has_cloud_init = true;
}


/* The key of @section closest to the misspelt @key, or NULL. */
static const char *suggest_key(const char *section, const char *key)
{
	const char *best = NULL;
	unsigned best_d = suggestion_limit(key);

	size_t n;
	const struct key_def *keys = config_keys(&n);

	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (strcmp(keys[i].section, section) != 0)
			continue;
		d = edit_distance(key, keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = keys[i].name;
		}
	}
	return best;
}

/* A section other than @section that has @key, or NULL. */
static const char *other_section_with_key(const char *section, const char *key)
{
	size_t n;
	const struct key_def *keys = config_keys(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].section, section) != 0 && strcmp(keys[i].name, key) == 0)
			return keys[i].section;
	return NULL;
}

void config_apply_defaults(struct parse_state *st, const char *kind, void *base)
{
	size_t n;
	const struct key_def *keys = config_keys(&n);

	for (size_t i = 0; i < n; i++)
		if (keys[i].def && strcmp(keys[i].section, kind) == 0)
			(void)config_field_set(st, &keys[i], (char *)base + keys[i].offset, keys[i].def);
}

/* The disk_config for [disk:@name], created with defaults if new. */
static struct disk_config *get_disk(struct parse_state *st, const char *name)
{
	struct vm_config *c = st->config;
	struct disk_config *grown, *d;

	for (size_t i = 0; i < c->n_disks; i++)
		if (strcmp(c->disks[i].name, name) == 0)
			return &c->disks[i];
	grown = realloc(c->disks, (c->n_disks + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	c->disks = grown;
	d = &grown[c->n_disks];
	*d = (struct disk_config){ .name = strdup(name), .line = st->line, .file = strdup(st->path) };
	if (!d->name || !d->file)
		return NULL;
	c->n_disks++;
	config_apply_defaults(st, "disk", d);
	return d;
}

/* The share_config for [share:@name], created with defaults if new. */
static struct share_config *get_share(struct parse_state *st, const char *name)
{
	struct vm_config *c = st->config;
	struct share_config *grown, *s;

	for (size_t i = 0; i < c->n_shares; i++)
		if (strcmp(c->shares[i].name, name) == 0)
			return &c->shares[i];
	grown = realloc(c->shares, (c->n_shares + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	c->shares = grown;
	s = &grown[c->n_shares];
	*s = (struct share_config){ .name = strdup(name), .line = st->line, .file = strdup(st->path) };
	if (!s->name || !s->file)
		return NULL;
	c->n_shares++;
	config_apply_defaults(st, "share", s);
	return s;
}

/* Remember a scalar assignment; report it if the same file set it before. */
static bool check_duplicate(struct parse_state *st, const char *section, const struct key_def *k)
{
	struct seen_key *grown;

	for (size_t i = 0; i < st->n_seen; i++)
		if (st->seen[i].key == k->name && strcmp(st->seen[i].section, section) == 0) {
			PROBLEM(st, st->line,
				"%s is already set on line %u; give a key once per file (a drop-in in %s.ini.d/ may override it)",
				k->name, st->seen[i].line, st->config->name);
			return false;
		}
	grown = realloc(st->seen, (st->n_seen + 1) * sizeof(*grown));
	if (!grown)
		return st->oom = -ENOMEM, false;
	st->seen = grown;
	grown[st->n_seen++] = (struct seen_key){ .section = strdup(section), .key = k->name, .line = st->line };
	return true;
}

/* Report a key that is not in the table for its section. */
static void unknown_key(struct parse_state *st, const char *section, const char *key)
{
	const char *hint = suggest_key(section, key);
	const char *other = other_section_with_key(section, key);

	if (hint)
		PROBLEM(st, st->line, "unknown key '%s' in [%s]; did you mean '%s'?", key, section, hint);
	else if (other)
		PROBLEM(st, st->line, "unknown key '%s' in [%s]; it belongs in [%s]", key, section, other);
	else
		PROBLEM(st, st->line, "unknown key '%s' in [%s]", key, section);
}

/* inih handler: one key = value. Always returns 1; problems go to diags. */
int config_handle_key(void *user, const char *section, const char *key, const char *raw_value)
{
	struct parse_state *st = user;
	_cleanup_free_ char *long_value = NULL;
	const char *kind, *instance, *value;
	const struct key_def *k;
	void *base = st->config;
	int r;

	if (config_section_rejected(section))
		return 1;
	if (!*section) {
		const char *home = other_section_with_key("", key);
		PROBLEM(st, st->line, "key '%s' is outside any section; put it under [%s]", key, home ? home : "vm");
		return 1;
	}
	value = config_resolve_value(st, raw_value, &long_value);
	if (!value)
		return st->oom = -ENOMEM, 1;
	kind = section_kind(section, &instance);
	k = config_find_key(kind, key);
	if (!k) {
		if (!st->line_continues)
			unknown_key(st, kind, key);
		return 1;
	}
	if (st->line_continues && k->type != KEY_LIST) {
		PROBLEM(st, st->line, "indented line continues %s, which takes one value; remove the indentation", key);
		return 1;
	}
	if (k->type != KEY_LIST && !check_duplicate(st, section, k))
		return 1;
	if (instance) {
		base = strcmp(kind, "share") == 0 ? (void *)get_share(st, instance) : (void *)get_disk(st, instance);
		if (!base)
			return st->oom = -ENOMEM, 1;
	}
	if (!instance)
		st->key_where[config_key_index(k)] = (struct location){ st->path, st->line };
	r = config_field_set(st, k, (char *)base + k->offset, value);
	if (r == -EINVAL && (strstr(value, " #") || strstr(value, "\t#")))
		PROBLEM(st, st->line, "'#' starts a comment only at the start of a line; after a value use ' ; comment'");
	if (r == -ENOMEM)
		st->oom = -ENOMEM;
	return 1;
}

