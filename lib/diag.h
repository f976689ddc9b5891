/* diag.h - a list of path:line: message diagnostics that library code hands to its caller */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"

/* One problem found in a config file. line 0 means "the file as a whole". */
struct diag {
	char *path;
	unsigned line;
	char *message;
};

struct diag_list {
	struct diag *items;
	size_t n;
};

/**
 * diag_add() - append a formatted diagnostic
 * @l: list
 * @path: file the problem is in
 * @line: 1-based line, or 0
 * @fmt: printf format of the message (no trailing newline)
 * Return: 0, or -ENOMEM
 */
int diag_add(struct diag_list *l, const char *path, unsigned line, const char *fmt, ...)
	_printf_(4, 5);

/** diag_addv() - diag_add() with a va_list */
int diag_addv(struct diag_list *l, const char *path, unsigned line, const char *fmt, va_list ap)
	_printf_(4, 0);

/**
 * diag_format() - render one diagnostic as "path:line: message"
 * Return: newly allocated string, or NULL on allocation failure
 */
char *diag_format(const struct diag *d);

/**
 * diag_print() - write every diagnostic to @f, one per line, with @suffix
 * appended to each (for example ", ignoring")
 */
void diag_print(const struct diag_list *l, FILE *f, const char *suffix);

/** diag_list_clear() - free all entries, leaving an empty list */
void diag_list_clear(struct diag_list *l);

static inline void diag_list_clearp(struct diag_list *l)
{
	diag_list_clear(l);
}
#define _cleanup_diag_list_ __attribute__((cleanup(diag_list_clearp)))
