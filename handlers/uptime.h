/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "handlers/handler.h"

/*
 * proc/uptime: the container's age (now minus its init's start), so that `uptime` and `top`
 * inside show how long the container has run, not the host; then the idle time of its CPUs
 * over that age (resources_cpu_time()).
 * proc/swaps: the swap of the container's memory cgroup, or the header line alone.
 * A caller in the host's namespaces gets the kernel's files.
 */
extern const struct handler uptime_handlers[];
extern const size_t n_uptime_handlers;

/* "%.2f %.2f\n": the age now_s - start_s (0 if the start lies ahead, as a clock step allows),
 * and the idle time of ncpus CPUs over that age less busy_s, within 0..ncpus x age. */
int uptime_format(double now_s, double start_s, unsigned ncpus, double busy_s, char *buf,
		  size_t size);
