/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "handlers/handler.h"

/*
 * Resource views: proc/{meminfo,cpuinfo,stat,loadavg,diskstats} and
 * sys/devices/system/cpu/{online,possible,present,offline} computed from the container's
 * cgroups (src/cgroup), and the sys/devices/system/cpu folder consistent with them.
 *
 * The container's cgroups are those of its init, read host-side from /proc/<init>/cgroup once
 * per container and kept with it (CONTAINER_SLOT_CGROUP) together with a reader
 * (cgroup_reader_open()) that keeps the cgroup's files open. They are not followed if the init
 * moves later: once that cgroup is removed, reads fail with ENOENT instead of showing whatever
 * cgroup (or the host's root) the init went to.
 *
 * proc/meminfo and proc/swaps take the host's /proc/meminfo as of 1 ms ago at most, and the
 * container's memory figures as cgroup_read_memory() gives them; a meminfo rendered from
 * the same two is served again as it was (view_meminfo() is a pure function of them).
 *
 * sys/devices/system/cpu shows the cpuN folders of the CPUs of view_cpus() under their host
 * ids (the host's folders), and every other entry of the host's folder, all read-only;
 * online, possible and present are the container's list and offline is empty, so `nproc`,
 * sysconf(_SC_NPROCESSORS_ONLN) (online) and _SC_NPROCESSORS_CONF (possible, or the cpuN
 * folders) agree, and a program pins to the ids it reads.
 *
 * A caller in the host's namespaces gets the kernel's own files.
 */
extern const struct handler resources_handlers[];
extern const size_t n_resources_handlers;

/* proc/swaps for the caller's container, from the same memory figures as proc/meminfo: the
 * header alone when the host keeps no memory cgroup for it. */
int resources_swaps_content(const struct pb_caller *c, char **ret, size_t *ret_len);

/* proc/diskstats for the caller's container (the host's file for the host), as the file
 * itself shows it: the per-disk views of sys/block (blockstat.h) take their counters from it. */
int resources_diskstats_content(const struct pb_caller *c, char **ret, size_t *ret_len);

/*
 * The load average sampler: every 5 s, for every container the registry lists, counts the
 * running and uninterruptible tasks of its cgroup (cgroup_read_tasks()) and folds them
 * into its load average with the kernel's fixed-point decay, whether or not anyone reads
 * proc/loadavg (reads only render). A container's figures go with it. One thread; stop
 * before the registry is freed.
 */
int resources_sampler_start(struct container_registry *reg);
void resources_sampler_stop(void);

/* The number of CPUs the container is shown (as in online) and the CPU time its cgroup has
 * used (user + system), for proc/uptime's idle field. */
int resources_cpu_time(const struct pb_caller *c, unsigned *ret_ncpus, uint64_t *ret_busy_ns);
