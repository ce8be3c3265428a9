/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "util/macro.h"

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/*
 * Where lines go:
 *   stderr   "procbox: error: ..." for a person at a terminal;
 *   journal  stderr with a "<3>" priority prefix (sd-daemon(3)) and nothing else, picked when
 *            JOURNAL_STREAM names the device and inode of our stderr (systemd.exec(5));
 *   syslog   the daemon facility, for a procbox that went into the background.
 */
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_JOURNAL, LOG_TARGET_SYSLOG };

/* Picks the target from the environment: PROCBOX_LOG_TARGET=syslog (set by a daemonized
 * procbox for the processes it starts), else journal or stderr as above. */
void log_open(void);
/* syslog also exports PROCBOX_LOG_TARGET=syslog: call it before any thread exists. */
void log_set_target(enum log_target target);
enum log_target log_get_target(void);

void log_set_max_level(enum log_level level);
enum log_level log_get_max_level(void);

/* Logs one line; returns -abs(err) so a caller can `return log_error(r, ...)`.
 * %m in fmt prints strerror(abs(err)). */
int log_full(enum log_level level, int err, const char *fmt, ...) _printf_(3, 4);

#define log_error(err, ...) log_full(LOG_LEVEL_ERR, (err), __VA_ARGS__)
#define log_warn(err, ...) log_full(LOG_LEVEL_WARN, (err), __VA_ARGS__)
#define log_info(...) log_full(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)                                                                             \
	(log_get_max_level() >= LOG_LEVEL_DEBUG ? log_full(LOG_LEVEL_DEBUG, 0, __VA_ARGS__) : 0)
