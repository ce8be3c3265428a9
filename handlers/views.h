/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "handlers/handler.h"

/*
 * The views: every file computed for a container from its cgroups (src/cgroup) and the host's
 * file, one table row each: proc/{meminfo,swaps,cpuinfo,stat,uptime,loadavg,diskstats} and
 * sys/devices/system/cpu/{online,possible,present,offline}; sys/block/<disk>/stat
 * (blockstat.h) takes its line of proc/diskstats. A row's content gathers the inputs (the
 * host's file, hostfiles.h; the caller's cgroup reader, viewstate.h) and calls its renderer
 * (cgroup/views.h), a pure function. Adding a computed file is one renderer there and, here,
 * one row with its content function and the host file it starts from (a static struct
 * host_file beside it).
 *
 * proc/meminfo and proc/swaps take the host's /proc/meminfo as of 1 ms ago at most, and the
 * container's memory figures as cgroup_read_memory() gives them; a meminfo rendered from the
 * same two is served again as it was. proc/uptime is the container's age (now minus its
 * init's start), then the idle time of its CPUs over that age. online, possible and present
 * are the CPUs the container is shown (view_cpus()), offline is empty.
 *
 * A caller in the host's namespaces gets the kernel's own files.
 */
extern const struct handler views_handlers[];
extern const size_t n_views_handlers;

/* proc/diskstats for the caller's container (the host's file for the host), as the file
 * itself shows it: the per-disk views of sys/block (blockstat.h) take their counters from it. */
int views_diskstats_content(const struct pb_caller *c, char **ret, size_t *ret_len);

/* Frees what the views keep for the daemon's life (the host's files, the cgroup layout), at
 * shutdown after the last read; per-container state goes with its container. */
void views_free(void);
