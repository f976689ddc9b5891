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
 * @error: a positive errno that %m in @fmt names (errno is set from it while
 *         formatting, and restored after), or 0 for plain errno
 * Return: -@error if @error is non-zero (for "return log_error_errno(EINVAL, ...)"), else 0
 */
int log_msg(int prio, int error, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) log_msg(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, 0, __VA_ARGS__)
#define log_error_errno(err, ...) log_msg(LOG_ERR, (err) < 0 ? -(err) : (err), __VA_ARGS__)

struct diag_list;

/**
 * log_diags() - log every diagnostic of @l as "path:line: message@suffix" at
 * priority @prio: the one way the generator and helpers report config problems
 */
void log_diags(int prio, const struct diag_list *l, const char *suffix);
