/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "util/log.h"

#define LOG_TARGET_ENV "PROCBOX_LOG_TARGET"

static enum log_level max_level = LOG_LEVEL_INFO;
static enum log_target target = LOG_TARGET_STDERR;

void log_set_max_level(enum log_level level)
{
	max_level = level;
}

enum log_level log_get_max_level(void)
{
	return max_level;
}

/* systemd sets JOURNAL_STREAM to "DEV:INO" of the stream it connected; a stderr that was
 * redirected since (a shell under the unit, a test) is not the journal's. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n])
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(void)
{
	const char *e = getenv(LOG_TARGET_ENV);

	if (e && strcmp(e, "syslog") == 0)
		log_set_target(LOG_TARGET_SYSLOG);
	else
		log_set_target(stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR);
}

void log_set_target(enum log_target t)
{
	if (t == LOG_TARGET_SYSLOG && target != LOG_TARGET_SYSLOG) {
		/* glibc opens its socket with SOCK_CLOEXEC, on the first line */
		openlog("procbox", LOG_PID, LOG_DAEMON);
		setenv(LOG_TARGET_ENV, "syslog", 1);
	}
	target = t;
}

enum log_target log_get_target(void)
{
	return target;
}

int log_full(enum log_level level, int err, const char *fmt, ...)
{
	static const char *const word[] = {"error", "warning", "info", "debug"};
	static const int priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
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
	switch (target) {
	case LOG_TARGET_SYSLOG:
		syslog(priority[level], "%s", line);
		break;
	case LOG_TARGET_JOURNAL:
		/* The journal takes "<N>" as the line's priority and tags it with the unit. */
		fprintf(stderr, "<%d>%s\n", priority[level], line);
		break;
	case LOG_TARGET_STDERR:
		fprintf(stderr, "procbox: %s: %s\n", word[level], line);
		break;
	}
	return -err;
}
