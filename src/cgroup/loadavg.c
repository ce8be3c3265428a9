/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include "cgroup/loadavg.h"

/* 1/exp(5 s / 1 min), 1/exp(5 s / 5 min), 1/exp(5 s / 15 min) in fixed point: the kernel's. */
static const uint64_t loadavg_exp[3] = {1884, 2014, 2037};

/* The catch-up is exp^n: past this many samples (over a day) it is 0 for every factor. */
#define LOADAVG_CATCHUP_MAX 100000u

static uint64_t calc_load(uint64_t load, uint64_t exp, uint64_t active)
{
	uint64_t newload = load * exp + active * (LOADAVG_FIXED_1 - exp);

	/* Rounds up while the load rises, so that it can reach the active count. */
	if (active >= load)
		newload += LOADAVG_FIXED_1 - 1;
	return newload / LOADAVG_FIXED_1;
}

/* x^n in fixed point, rounding each product as the kernel's fixed_power_int() does. */
static uint64_t fixed_power(uint64_t x, unsigned n)
{
	uint64_t result = LOADAVG_FIXED_1;

	while (n) {
		if (n & 1) {
			result = (result * x + (LOADAVG_FIXED_1 >> 1)) >> LOADAVG_FSHIFT;
		}
		n >>= 1;
		x = (x * x + (LOADAVG_FIXED_1 >> 1)) >> LOADAVG_FSHIFT;
	}
	return result;
}

void loadavg_update(struct loadavg *l, uint64_t now_ns, unsigned nr_active)
{
	uint64_t active = (uint64_t)nr_active * LOADAVG_FIXED_1, n;

	if (!l->started) {
		l->started = true;
		l->next_ns = now_ns + LOADAVG_PERIOD_NS;
		return;
	}
	if (now_ns < l->next_ns)
		return;
	n = (now_ns - l->next_ns) / LOADAVG_PERIOD_NS + 1;
	l->next_ns += n * LOADAVG_PERIOD_NS;
	if (n > LOADAVG_CATCHUP_MAX)
		n = LOADAVG_CATCHUP_MAX;
	for (int i = 0; i < 3; i++)
		l->avenrun[i] =
		    calc_load(l->avenrun[i], fixed_power(loadavg_exp[i], (unsigned)n), active);
}
