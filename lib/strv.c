/* strv.c - NULL-terminated string vectors */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int strv_push(char ***v, const char *s)
{
	size_t n = strv_length(*v);
	char *copy = strdup(s);
	char **grown;

	if (!copy)
		return -ENOMEM;
	grown = realloc(*v, (n + 2) * sizeof(char *));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	grown[n] = copy;
	grown[n + 1] = NULL;
	*v = grown;
	return 0;
}

bool strv_contains(char *const *v, const char *s)
{
	STRV_FOREACH(i, v)
		if (strcmp(*i, s) == 0)
			return true;
	return false;
}

char **strv_free(char **v)
{
	STRV_FOREACH(i, v)
		free(*i);
	free(v);
	return NULL;
}

char **strv_copy(char *const *v)
{
	char **copy = calloc(1, sizeof(char *));

	if (!copy)
		return NULL;
	STRV_FOREACH(i, v)
		if (strv_push(&copy, *i) < 0)
			return strv_free(copy);
	return copy;
}
