/* log.h - logging for the mains: stderr (with sd-daemon priority prefixes under systemd) or /dev/kmsg */
#pragma once

#include <syslog.h>

#include "macro.h"

/**
 * log_setup() - choose where messages go
 * @ident: program name put before kmsg lines
 * @use_kmsg: write to /dev/kmsg (as generators run by systemd do); falls back to stderr
 */
void log_setup(const char *ident, int use_kmsg);

/**
 * log_msg() - log one message at syslog priority @prio
 * Return: -@error if @error is non-zero (for "return log_msg(...)"), else 0
 */
int log_msg(int prio, int error, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) log_msg(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, 0, __VA_ARGS__)
#define log_error_errno(err, ...) log_msg(LOG_ERR, (err) < 0 ? -(err) : (err), __VA_ARGS__)
