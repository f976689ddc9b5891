/* config-internal.h - what the parts of the config module share: parse state, problem reporting, the ini reader */
#pragma once

#include <stdio.h>

#include "config.h"
#include "macro.h"

/* Upper bounds of the key table and section list, for per-key bookkeeping. */
#define CONFIG_KEYS_MAX 160
#define CONFIG_SECTIONS_MAX 16

/* One key assignment already seen in the current file. */
struct seen_key {
	char *section;
	const char *key;
	unsigned line;
};

/* A place in a file, for pointing a problem at it. */
struct location {
	const char *path;
	unsigned line;
};

struct parse_state {
	struct vm_config *config;
	struct diag_list *diags;
	const char *path;          /* file being parsed */
	FILE *file;
	bool is_dropin;
	int errors;
	unsigned line;             /* number of the line last handed to inih */
	bool line_continues;       /* that line is an indented continuation */
	bool have_key;             /* inih would treat an indented line as continuation */
	char *buffer;              /* getline() buffer */
	size_t buffer_size;
	char **long_values;        /* values of over-long lines, by index */
	struct seen_key *seen;
	size_t n_seen;
	int oom;                   /* -ENOMEM seen in a callback */
	char **files;              /* every file parsed, owning the path strings */
	struct location key_where[CONFIG_KEYS_MAX], section_where[CONFIG_SECTIONS_MAX];
};

/* Record a problem at @path:@line; counts as an error. */
_printf_(4, 5) void config_problem_at(struct parse_state *st, const char *path, unsigned line, const char *fmt, ...);

/* Record a problem on @line of the file being parsed. */
#define PROBLEM(st, line, ...) config_problem_at((st), (st)->path, (line), __VA_ARGS__)
/* Record a problem at a remembered location. */
#define PROBLEM_AT(st, loc, ...) config_problem_at((st), (loc).path, (loc).line, __VA_ARGS__)

/* Is @s made of [A-Za-z0-9][A-Za-z0-9_.-]* and at most @max characters? */
bool config_name_valid(const char *s, size_t max);

/* Strip leading and trailing blanks in place. */
char *config_strip(char *s);

/* The index of @k in the key table. */
size_t config_key_index(const struct key_def *k);

/* Does section kind @kind come in named instances ([disk:NAME], [share:NAME])? */
bool config_is_instance_kind(const char *kind);

/* Check a section header's name; reports and returns false when it is bad. */
bool config_check_section_name(struct parse_state *st, const char *name);

/* Remember where a known section was opened; [cloud-init] alone asks for a seed. */
void config_note_section(struct parse_state *st, const char *name);

/* Parse one file into st->config through libinih; all problems go to diags (config-ini.c). */
int config_parse_file(struct parse_state *st, const char *path);

/* The real value of @value: a long line's full text, stripped as inih does (config-ini.c). */
const char *config_resolve_value(struct parse_state *st, const char *value, char **to_free);

/* Is @value the stand-in for a section we rejected (config-ini.c)? */
bool config_section_rejected(const char *section);

/* inih handler: one key = value (config-parse.c). */
int config_handle_key(void *user, const char *section, const char *key, const char *raw_value);

/* Fill in defaults that depend on other keys or on the host (config-validate.c). */
int config_apply_dynamic_defaults(struct parse_state *st);

/* Run every whole-config check (config-validate.c). */
void config_validate(struct parse_state *st);

/* Is @s an IPv4 or IPv6 address? */
bool config_ip_valid(const char *s);

/* Parse @value by the key's type into @field; reports problems (config-field.c). */
int config_field_set(struct parse_state *st, const struct key_def *k, void *field, const char *value);

/* Reset a field to its empty state, freeing what it holds (config-field.c). */
void config_field_clear(const struct key_def *k, void *field);

/* Apply the defaults of every key of section kind @kind to the struct at @base (config-parse.c). */
void config_apply_defaults(struct parse_state *st, const char *kind, void *base);

/* What is wrong with absolute path @p for a unit file or QEMU, or NULL (config-field.c). */
const char *config_path_problem(const char *p);
