/* basic.h - the small file, io, socket and string helpers every part of qvm shares */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/**
 * write_all() - write all @n bytes of @buf to @fd, retrying after EINTR and
 * short writes; on a socket a closed peer is -EPIPE, never SIGPIPE
 * Return: 0, or negative errno
 */
int write_all(int fd, const void *buf, size_t n);

/**
 * mkdir_parents() - create the missing directories leading to @path (not
 * @path itself) with @mode; the first @keep bytes of @path are taken to
 * exist and are never created (a generator must not create its output dir)
 * Return: 0, or negative errno
 */
int mkdir_parents(const char *path, size_t keep, mode_t mode);

/**
 * mkdir_p() - create directory @path and any missing parents with @mode
 * Return: 0 (also when it exists), or negative errno
 */
int mkdir_p(const char *path, mode_t mode);

/**
 * connect_unix() - a blocking stream socket connected to the unix socket @path
 * Return: the fd (close-on-exec), or negative errno
 */
int connect_unix(const char *path);

/**
 * endswith() - does @s end in @suffix (and is longer than it)?
 * Return: true or false
 */
bool endswith(const char *s, const char *suffix);

/* What a source string names: a download, a file:/// URL, or neither. */
enum url_kind { URL_NONE, URL_HTTP, URL_FILE };

/**
 * url_kind() - URL_HTTP for http:// and https://, URL_FILE for file:///,
 * URL_NONE for anything else (a path, another scheme)
 */
enum url_kind url_kind(const char *s);

/**
 * url_local_path() - the path a file:// URL names, or @s unchanged
 * Return: a pointer into @s
 */
const char *url_local_path(const char *s);
