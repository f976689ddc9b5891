/* config-rows.h - the typed row macros the key table (config-keys.c) is written in */
#pragma once

#include <stddef.h>

#include "config-internal.h"

/*
 * The offset of field @f of struct @st, with a compile-time check that the
 * field has type @T: a row cannot point a size at a string field.
 */
#define FIELD(st, f, T)                                                     \
	(offsetof(struct st, f) +                                           \
	 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((struct st *)0)->f), T) ? 1 : -1]))

#define ROW(T, key_type, sec, key, st, f, ...) \
	{ .section = (sec), .name = (key), .type = (key_type), .offset = FIELD(st, f, T), __VA_ARGS__ }

/* Row macros, one per key type: ROW_TYPE(section, key, struct, field, .def = ..., .doc = ...). */
#define ROW_STRING(sec, key, st, f, ...)   ROW(char *, KEY_STRING, sec, key, st, f, __VA_ARGS__)
#define ROW_PATH(sec, key, st, f, ...)     ROW(char *, KEY_PATH, sec, key, st, f, __VA_ARGS__)
#define ROW_BOOL(sec, key, st, f, ...)     ROW(bool, KEY_BOOL, sec, key, st, f, __VA_ARGS__)
#define ROW_INT(sec, key, st, f, ...)      ROW(int64_t, KEY_INT, sec, key, st, f, __VA_ARGS__)
#define ROW_SIZE(sec, key, st, f, ...)     ROW(uint64_t, KEY_SIZE, sec, key, st, f, __VA_ARGS__)
#define ROW_DURATION(sec, key, st, f, ...) ROW(uint64_t, KEY_DURATION, sec, key, st, f, __VA_ARGS__)
#define ROW_LIST(sec, key, st, f, ...)     ROW(char **, KEY_LIST, sec, key, st, f, __VA_ARGS__)
/* @e names the enum: the field must be "enum @e" and its words are @e_table. */
#define ROW_ENUM(sec, key, st, f, e, ...) \
	ROW(enum e, KEY_ENUM, sec, key, st, f, .choices = e##_table, __VA_ARGS__)

#define MIB INT64_C(1048576)
