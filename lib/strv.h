/* strv.h - NULL-terminated string vectors, the list type of the config model */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/**
 * strv_length() - count the entries of a string vector
 * @v: vector, may be NULL
 * Return: number of entries before the NULL terminator
 */
size_t strv_length(char *const *v);

/**
 * strv_push() - append a copy of @s to *@v, growing it
 * @v: vector to extend; *@v may be NULL
 * @s: string to copy
 * Return: 0, or -ENOMEM
 */
int strv_push(char ***v, const char *s);

/**
 * strv_contains() - test membership
 * Return: true if @s is one of the entries of @v
 */
bool strv_contains(char *const *v, const char *s);

/**
 * strv_free() - free a vector and its strings
 * Return: NULL, for assignment
 */
char **strv_free(char **v);

/**
 * strv_copy() - duplicate a vector
 * Return: new vector (an empty one for NULL), or NULL on allocation failure
 */
char **strv_copy(char *const *v);

static inline void strv_freep(char ***v)
{
	strv_free(*v);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

#define STRV_FOREACH(s, v) for (char *const *s = (v); s && *s; s++)
