/* values.h - parsing and formatting of the INI value types: bool, integer, size, duration */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * parse_bool() - yes/no/true/false/on/off/1/0, case-insensitive
 * Return: 0 and *@ret set, or -EINVAL
 */
int parse_bool(const char *s, bool *ret);

/**
 * parse_int() - a decimal integer, no trailing garbage
 * Return: 0, -EINVAL for a malformed number, -ERANGE when it overflows
 */
int parse_int(const char *s, int64_t *ret);

/**
 * parse_size() - bytes with an optional binary suffix K, M, G, T (also KiB, KB, ...)
 * Return: 0 and *@ret in bytes, -EINVAL or -ERANGE
 */
int parse_size(const char *s, uint64_t *ret);

/**
 * parse_duration() - a systemd time span: "90", "90s", "5min", "1h 30min", "500ms"
 * A bare number means seconds.
 * Return: 0 and *@ret in microseconds, -EINVAL or -ERANGE
 */
int parse_duration(const char *s, uint64_t *ret);

/**
 * format_duration() - write @usec the way systemd writes time spans ("1min 30s")
 * @buf: output buffer
 * @len: its size (32 is always enough)
 * Return: @buf
 */
char *format_duration(char *buf, size_t len, uint64_t usec);

/**
 * format_size() - write @bytes with the largest exact binary suffix ("2G", "1536M")
 * Return: @buf
 */
char *format_size(char *buf, size_t len, uint64_t bytes);

/**
 * edit_distance() - Levenshtein distance between two short strings
 * Return: the distance, capped at 255
 */
unsigned edit_distance(const char *a, const char *b);
