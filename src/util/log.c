/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static enum log_level max_level = LOG_LEVEL_INFO;

void log_set_max_level(enum log_level level)
{
	max_level = level;
}

enum log_level log_get_max_level(void)
{
	return max_level;
}

int log_full(enum log_level level, int err, const char *fmt, ...)
{
	static const char *const prefix[] = {"error", "warning", "info", "debug"};
	char line[2048];
	va_list ap;

	err = err < 0 ? -err : err;
	if (level > max_level)
		return -err;

	/* vsnprintf's %m reads errno: point it at the error being reported. */
	errno = err;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "procbox: %s: %s\n", prefix[level], line);
	return -err;
}
