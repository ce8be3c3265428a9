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

int uptime_format(double now_s, double start_s, unsigned ncpus, double busy_s, char *buf,
		  size_t size)
{
	double age = now_s > start_s ? now_s - start_s : 0.0, idle;
	int n;

	/* The kernel's idle field sums the idle time of every CPU: the container's CPUs for the
	 * container's age, less what its cgroup ran on them. A cgroup older than the container
	 * (or one it shares) can have run more than that: never below 0, never above N x age. */
	idle = (double)(ncpus ? ncpus : 1) * age;
	idle = busy_s >= idle ? 0.0 : busy_s > 0 ? idle - busy_s : idle;
	n = snprintf(buf, size, "%.2f %.2f\n", age, idle);
	return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

static int uptime_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	struct timespec now;
	uint64_t busy_ns;
	unsigned ncpus;
	char buf[64];
	long tck;
	int r;

	if (pb_caller_is_host(c))
		return read_full_file("/proc/uptime", ret, ret_len);
	/* Without a cgroup to read (no cpuacct controller, a cgroup being removed) the age is
	 * still right: idle then counts one CPU never busy. */
	if (resources_cpu_time(c, &ncpus, &busy_ns) < 0) {
		ncpus = 1;
		busy_ns = 0;
	}
	/* The init's start time is in clock ticks since boot: the boot-time clock is the
	 * one it is measured against, suspend included. */
	if (clock_gettime(CLOCK_BOOTTIME, &now) < 0)
		return negative_errno();
	tck = sysconf(_SC_CLK_TCK);
	if (tck <= 0)
		return -EINVAL;
	r = uptime_format((double)now.tv_sec + (double)now.tv_nsec / 1e9,
			  (double)container_init_start_ticks(c->container) / (double)tck, ncpus,
			  (double)busy_ns / 1e9, buf, sizeof(buf));
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
    {.path = "proc/uptime", .mode = S_IFREG | 0444, .bind = true, .content = uptime_content},
    {.path = "proc/swaps", .mode = S_IFREG | 0444, .bind = true, .content = swaps_content},
};

const size_t n_uptime_handlers = ELEMENTSOF(uptime_handlers);
