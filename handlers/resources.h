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
 * per container and kept with it (CONTAINER_SLOT_CGROUP) together with open fds of the memory
 * files that every meminfo read takes (re-read with pread). They are not followed if the init
 * moves later: once that cgroup is removed, reads fail with ENOENT instead of showing whatever
 * cgroup (or the host's root) the init went to.
 *
 * proc/meminfo and proc/swaps take the host's /proc/meminfo as of 1 ms ago at most, and the
 * container's memory figures as resources_memory_read() gives them; a meminfo rendered from
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
 * running and uninterruptible tasks of its cgroup (resources_scan_tasks()) and folds them
 * into its load average with the kernel's fixed-point decay, whether or not anyone reads
 * proc/loadavg (reads only render). A container's figures go with it. One thread; stop
 * before the registry is freed.
 */
int resources_sampler_start(struct container_registry *reg);
void resources_sampler_stop(void);

/* The number of CPUs the container is shown (as in online) and the CPU time its cgroup has
 * used (user + system), for proc/uptime's idle field. */
int resources_cpu_time(const struct pb_caller *c, unsigned *ret_ncpus, uint64_t *ret_busy_ns);

/*
 * The memory figures of cgroup_get_memory(), read through fds opened once: the cgroup's own
 * usage, stat and swap files, and the limit files on the path to the root where the kernel
 * gives no hierarchical limit itself (v2, or v1 without hierarchical_memory_limit).
 * Usage, limits and swap are read on every call; memory.stat (the breakdown: cache, anon,
 * active/inactive, ...) is read again when usage changed or 1 ms passed since it was, and
 * parsed again only when its text changed: the kernel's memcg statistics lag more than that.
 * open returns cgroup_get_memory()'s errors; read returns -ENOENT once the cgroup is removed.
 * Threads may share a reader.
 */
struct resources_memory;
int resources_memory_open(const struct cgroup_layout *l, const struct cgroup *cg,
			  struct resources_memory **ret);
int resources_memory_read(struct resources_memory *m, struct cgroup_memory *ret);
void resources_memory_free(struct resources_memory *m);

/*
 * The CPU limits of cgroup_get_cpu(), read through fds opened once: the effective CPUs of the
 * nearest level that shows them, and the quota and period (cpu.max) of every level. Errors as
 * for resources_memory_*(). Threads may share a reader.
 */
struct resources_cpu;
int resources_cpu_open(const struct cgroup_layout *l, const struct cgroup *cg,
		       struct resources_cpu **ret);
int resources_cpu_read(const struct resources_cpu *c, struct cgroup_cpu *ret);
void resources_cpu_free(struct resources_cpu *c);

/*
 * The tasks of cg and its descendants as cgroup_get_tasks() counts them (reader: the thread
 * reading, counted as running), and the pid last handed out in reader's pid namespace as
 * reader sees it: the daemon's own ns_last_pid when reader shares the daemon's pid namespace,
 * else the newest task (by start time, then pid) of the cgroup that lives in reader's pid
 * namespace, as its NSpid shows it there (reader's own pid if there is none). Never a pid of
 * another namespace. One pass over the tasks, for a read: nothing is scanned between reads.
 */
int resources_scan_tasks(const struct cgroup_layout *l, const struct cgroup *cg, pid_t reader,
			 struct cgroup_tasks *ret_tasks, pid_t *ret_last_pid);
