/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

#include "config.h"

/*
 * Where one FUSE request spends its time, kept per worker thread: a request runs on one
 * thread from start to reply, so the layers below (nsenter round trips, cgroup reads) add
 * to the thread's current clock without locks or arguments. Outside a request the clock is
 * NULL and the notes cost one load.
 */
struct reqclock {
	uint64_t nsenter_ns;
	uint64_t cgroup_ns;
	uint32_t nsenter_trips;
};

extern __thread struct reqclock *reqclock_current;

static inline uint64_t reqclock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void reqclock_note_nsenter(uint64_t start_ns)
{
	struct reqclock *c = reqclock_current;

	if (c) {
		c->nsenter_ns += reqclock_now_ns() - start_ns;
		c->nsenter_trips++;
	}
}

static inline void reqclock_note_cgroup(uint64_t start_ns)
{
	struct reqclock *c = reqclock_current;

	if (c)
		c->cgroup_ns += reqclock_now_ns() - start_ns;
}

/* A start time for the notes above, or 0 (not read) outside a request and in a build
 * without figures (-Dfigures=false). */
static inline uint64_t reqclock_start(void)
{
	return PROCBOX_FIGURES && reqclock_current ? reqclock_now_ns() : 0;
}
