/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "util/macro.h"

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_max_level(enum log_level level);
enum log_level log_get_max_level(void);

/* Logs one line to stderr; returns -abs(err) so a caller can `return log_error(r, ...)`.
 * %m in fmt prints strerror(abs(err)). */
int log_full(enum log_level level, int err, const char *fmt, ...) _printf_(3, 4);

#define log_error(err, ...) log_full(LOG_LEVEL_ERR, (err), __VA_ARGS__)
#define log_warn(err, ...) log_full(LOG_LEVEL_WARN, (err), __VA_ARGS__)
#define log_info(...) log_full(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)                                                                             \
	(log_get_max_level() >= LOG_LEVEL_DEBUG ? log_full(LOG_LEVEL_DEBUG, 0, __VA_ARGS__) : 0)
