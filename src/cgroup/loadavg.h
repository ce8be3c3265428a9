/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's load average, computed like the kernel's (kernel/sched/loadavg.c: fixed point
 * with 11 fractional bits, a sample every 5 s, decay factors for 1, 5 and 15 minutes) from the
 * number of its running and uninterruptible tasks. The caller keeps one struct loadavg per
 * container (zero-initialised) and samples it every 5 s whether or not anyone reads:
 *
 *	r = cgroup_read_tasks(reader, 0, &tasks, NULL);		(reader: cgroup.h)
 *	loadavg_update(&container->load, tick_ns, cgroup_tasks_active(&tasks));
 *
 * and on a read of /proc/loadavg renders what the samples made, with the tasks and the last
 * pid as the reading thread sees them:
 *
 *	r = cgroup_read_tasks(reader, reader_tid, &tasks, &last_pid_in_container);
 *	r = view_loadavg(&container->load, &tasks, last_pid_in_container, &text);	(views.h)
 *
 * The first update starts the clock; one that comes more than a period late applies the
 * samples missed at once with the count seen now, as the kernel itself catches up after a
 * tickless idle period (calc_load_n). Calls sharing a struct loadavg must be serialised.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"

#define LOADAVG_FSHIFT 11
#define LOADAVG_FIXED_1 (1u << LOADAVG_FSHIFT)
#define LOADAVG_PERIOD_NS (5000000000ull)

struct loadavg {
	bool started;
	uint64_t next_ns;    /* when the next sample is due */
	uint64_t avenrun[3]; /* 1, 5, 15 minutes; fixed point */
};

void loadavg_update(struct loadavg *l, uint64_t now_ns, unsigned nr_active);
