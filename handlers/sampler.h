/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "container/container.h"

/*
 * The load average sampler: every 5 s, for every container the registry lists, counts the
 * running and uninterruptible tasks of each of its view cgroups (viewstate.h) and folds them
 * into its load average with the kernel's fixed-point decay, whether or not anyone reads
 * proc/loadavg (reads only render). A container's figures go with it. One thread; stop
 * before the registry is freed.
 */
int sampler_start(struct container_registry *reg);
void sampler_stop(void);
