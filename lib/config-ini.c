/* config-ini.c - libinih, and the one workaround that lets it read lines of any length */
#include "config-internal.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

/*
 * Why this file exists: libinih is the chosen INI parser, but r55 as Debian
 * builds it reads lines into a 200-byte buffer and silently splits longer
 * ones, and cuts section names at 49 characters. A long ssh key must work or
 * fail loudly, never be truncated. So our reader feeds inih one whole line
 * at a time and handles those cases itself:
 *  - a long "key = value" line reaches inih as "key=\x01N", and the handler
 *    takes value N from a side table (config_resolve_value());
 *  - a broken line is reported here with its line number and replaced by an
 *    empty one;
 *  - lines in a section we rejected are put into a sentinel section, so
 *    they are not reported twice.
 * Everything that knows about inih's limits is in this file.
 */
#define INIH_LINE_MAX 200
#define INIH_SECTION_MAX 49
#define LONG_VALUE_MARK '\x01'
#define BAD_SECTION "\x02"

bool config_section_rejected(const char *section)
{
	return strcmp(section, BAD_SECTION) == 0;
}

/* Cut an inline comment (";" after a blank), as inih does. */
static void cut_inline_comment(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == ';' && p > s && isspace((unsigned char)p[-1])) {
			*p = '\0';
			return;
		}
}


/* Classify a raw line the way inih will and rewrite it so inih never sees trouble. */
static void prepare_line(struct parse_state *st, char *raw, char *out, int size)
{
	char *start = raw, *delim = NULL;
	size_t len = strlen(raw);

	st->line_continues = false;
	while (len && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
		raw[--len] = '\0';
	if (st->line == 1 && strncmp(raw, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	while (isspace((unsigned char)*start))
		start++;

	if (!*start || *start == ';' || *start == '#') {
		snprintf(out, (size_t)size, "\n");
		return;
	}
	if (st->have_key && start > raw) {
		st->line_continues = true;
		goto key_line;
	}
	if (*start == '[') {
		char *end = strchr(start, ']');

		st->have_key = false;
		if (!end) {
			PROBLEM(st, st->line, "section header is missing its closing ']'");
			snprintf(out, (size_t)size, "[" BAD_SECTION "]\n");
			return;
		}
		*end = '\0';
		start = config_strip(start + 1);
		if (strlen(start) > INIH_SECTION_MAX) {
			PROBLEM(st, st->line, "section name '%.20s...' is too long (%zu characters, at most %d)",
				start, strlen(start), INIH_SECTION_MAX);
			snprintf(out, (size_t)size, "[" BAD_SECTION "]\n");
			return;
		}
		if (!config_check_section_name(st, start)) {
			snprintf(out, (size_t)size, "[" BAD_SECTION "]\n");
			return;
		}
		config_note_section(st, start);
		snprintf(out, (size_t)size, "[%s]\n", start);
		return;
	}
	delim = strpbrk(start, "=:");
	if (!delim) {
		PROBLEM(st, st->line, "expected 'key = value' or '[section]', got '%.40s'", start);
		snprintf(out, (size_t)size, "\n");
		return;
	}
	st->have_key = true;
key_line:
	if (len + 2 <= (size_t)size) {
		snprintf(out, (size_t)size, "%s\n", raw);
		return;
	}
	/* Over-long: pass the value through the side table. */
	if (st->line_continues) {
		delim = start - 1;
	}
	if ((size_t)(delim - raw) + 24 > (size_t)size || strv_push(&st->long_values, delim + 1) < 0) {
		PROBLEM(st, st->line, "line is too long (%zu characters) and its key cannot be read", len);
		snprintf(out, (size_t)size, "\n");
		return;
	}
	if (st->line_continues)
		snprintf(out, (size_t)size, "  %c%zu\n", LONG_VALUE_MARK, strv_length(st->long_values) - 1);
	else
		snprintf(out, (size_t)size, "%.*s=%c%zu\n", (int)(delim - raw), raw, LONG_VALUE_MARK,
			 strv_length(st->long_values) - 1);
}

/* The first control character of the @n bytes at @s (a final "\n" or "\r\n" and tabs allowed), or -1. */
static int find_control(const char *s, size_t n)
{
	if (n && s[n - 1] == '\n')
		n--;
	if (n && s[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return (unsigned char)s[i];
	return -1;
}

/* inih reader: one whole line per call, prepared by prepare_line(). */
static char *read_line(char *out, int size, void *stream)
{
	struct parse_state *st = stream;
	ssize_t n = getline(&st->buffer, &st->buffer_size, st->file);
	int ctl;

	if (n < 0)
		return NULL;
	st->line++;
	ctl = find_control(st->buffer, (size_t)n);
	if (ctl >= 0) {
		/* A CR ends a line in a unit file, and 0x01 is our long-line mark: never pass one on. */
		PROBLEM(st, st->line, "control character 0x%02x in the line; values cannot hold control characters",
			ctl);
		st->have_key = false;
		snprintf(out, (size_t)size, "\n");
		return out;
	}
	prepare_line(st, st->buffer, out, size);
	return out;
}


/* The real value of @value: a long line's full text, stripped like inih does. */
const char *config_resolve_value(struct parse_state *st, const char *value, char **to_free)
{
	size_t idx;
	char *copy;

	if (value[0] != LONG_VALUE_MARK)
		return value;
	idx = strtoul(value + 1, NULL, 10);
	if (idx >= strv_length(st->long_values))   /* read_line() lets no 0x01 through; stay safe anyway */
		return "";
	copy = strdup(st->long_values[idx]);
	if (!copy)
		return NULL;
	cut_inline_comment(copy);
	*to_free = copy;
	return config_strip(copy);
}


/* Parse one file into the config; all problems go to diags. */
int config_parse_file(struct parse_state *st, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return negative_errno();
	st->path = path;
	st->file = f;
	st->line = 0;
	st->have_key = false;
	for (size_t i = 0; i < st->n_seen; i++)
		free(st->seen[i].section);
	st->n_seen = 0;
	r = ini_parse_stream(read_line, st, config_handle_key, st);
	if (r == -2)
		return -ENOMEM;
	if (r > 0 && st->errors == 0)
		PROBLEM(st, (unsigned)r, "syntax error");
	if (ferror(f))
		return -EIO;
	return st->oom;
}
