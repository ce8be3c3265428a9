/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A set of CPU numbers, and the kernel's list syntax for it ("0-3,8,10-11"), as found in
 * cpuset.cpus, cpuset.effective_cpus, cpuset.cpus.effective and /sys/devices/system/cpu/online.
 *
 *	struct cpulist online;
 *	r = cpulist_parse(text_of_sys_devices_system_cpu_online, &online);
 *	for (unsigned i = 0, cpu; cpulist_nth(&online, i, &cpu) == 0; i++)
 *		...;
 *	r = cpulist_format(&online, &text);	(malloc'ed, no newline)
 *
 * The set is a fixed bitmap (no allocation): NR_CPUS is at most 8192 on every architecture.
 */

#include <stdbool.h>
#include <stdint.h>

#define CPULIST_MAX 8192u

struct cpulist {
	uint64_t bits[CPULIST_MAX / 64];
};

void cpulist_clear(struct cpulist *l);
int cpulist_add(struct cpulist *l, unsigned cpu);
bool cpulist_contains(const struct cpulist *l, unsigned cpu);
unsigned cpulist_count(const struct cpulist *l);

/* The n-th CPU (from 0) in ascending order; -ENOENT past the last one. */
int cpulist_nth(const struct cpulist *l, unsigned n, unsigned *ret_cpu);

/* Position of cpu in ascending order; -ENOENT if absent. */
int cpulist_index(const struct cpulist *l, unsigned cpu);

/* Parses "0-3,8" as the kernel prints it (%*pbl), surrounding whitespace and a trailing newline
 * allowed, an empty text being the empty set. -EINVAL on bad syntax, -ERANGE for a CPU
 * number at or above CPULIST_MAX. */
int cpulist_parse(const char *text, struct cpulist *ret);

/* The kernel's own rendering: ascending ranges, "" for the empty set. */
int cpulist_format(const struct cpulist *l, char **ret);
