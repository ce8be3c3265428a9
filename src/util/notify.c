/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "util/notify.h"

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

int notify_send(const char *fmt, ...)
{
#if HAVE_LIBSYSTEMD
	char text[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EINVAL;
	/* The environment stays: processes procbox starts are not the main process, and
	 * NotifyAccess=main makes the manager ignore anything they might send. */
	return sd_notify(0, text);
#else
	return 0;
#endif
}
