/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handlers/resources.h"
#include "handlers/uptime.h"
#include "util/fileio.h"
#include "util/macro.h"

static bool is_host(const struct pb_caller *c)
{
	return !c->container || container_is_host(c->container);
}

int uptime_format(double now_s, double start_s, char *buf, size_t size)
{
	double age = now_s > start_s ? now_s - start_s : 0.0;
	int n = snprintf(buf, size, "%.2f %.2f\n", age, age);

	return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

static int uptime_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	struct timespec now;
	char buf[64];
	long tck;
	int r;

	if (is_host(c))
		return read_full_file("/proc/uptime", ret, ret_len);
	/* The init's start time is in clock ticks since boot: the boot-time clock is the
	 * one it is measured against, suspend included. */
	if (clock_gettime(CLOCK_BOOTTIME, &now) < 0)
		return negative_errno();
	tck = sysconf(_SC_CLK_TCK);
	if (tck <= 0)
		return -EINVAL;
	r = uptime_format((double)now.tv_sec + (double)now.tv_nsec / 1e9,
			  (double)container_init_start_ticks(c->container) / (double)tck, buf,
			  sizeof(buf));
	if (r < 0)
		return r;
	*ret = strdup(buf);
	if (!*ret)
		return -ENOMEM;
	*ret_len = (size_t)r;
	return 0;
}

/* The same per-container memory figures as proc/meminfo, so that the two agree. */
static int swaps_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	return resources_swaps_content(c, ret, ret_len);
}

const struct handler uptime_handlers[] = {
    {.path = "proc/uptime", .mode = S_IFREG | 0444, .content = uptime_content},
    {.path = "proc/swaps", .mode = S_IFREG | 0444, .content = swaps_content},
};

const size_t n_uptime_handlers = ELEMENTSOF(uptime_handlers);
