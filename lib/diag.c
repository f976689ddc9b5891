/* diag.c - collecting and printing path:line: message diagnostics */
#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int diag_add(struct diag_list *l, const char *path, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = diag_addv(l, path, line, fmt, ap);
	va_end(ap);
	return r;
}

int diag_addv(struct diag_list *l, const char *path, unsigned line, const char *fmt, va_list ap)
{
	_cleanup_free_ char *message = NULL;
	struct diag *grown;

	if (vasprintf(&message, fmt, ap) < 0)
		return -ENOMEM;

	grown = realloc(l->items, (l->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	l->items = grown;
	grown[l->n].path = strdup(path ? path : "(unknown)");
	if (!grown[l->n].path)
		return -ENOMEM;
	grown[l->n].line = line;
	grown[l->n].message = TAKE_PTR(message);
	l->n++;
	return 0;
}

char *diag_format(const struct diag *d)
{
	char *s = NULL;
	int r;

	if (d->line > 0)
		r = asprintf(&s, "%s:%u: %s", d->path, d->line, d->message);
	else
		r = asprintf(&s, "%s: %s", d->path, d->message);
	return r < 0 ? NULL : s;
}

void diag_print(const struct diag_list *l, FILE *f, const char *suffix)
{
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *s = diag_format(&l->items[i]);

		fprintf(f, "%s%s\n", s ? s : l->items[i].message, strempty(suffix));
	}
}

void diag_list_clear(struct diag_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].path);
		free(l->items[i].message);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}
