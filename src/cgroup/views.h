/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The renderers of every computed file: the container's own /proc/meminfo, swaps, cpuinfo,
 * stat, loadavg, uptime, diskstats, /sys/devices/system/cpu/{online,possible,present} and
 * /sys/block/<disk>/stat, from its cgroup values (cgroup.h) and the host's file. Pure
 * functions: no file access, no state except what the caller passes in. Each returns a
 * malloc'ed NUL-terminated text in *ret (view_uptime() writes into a buffer), or a negative
 * errno (-EBADMSG when the host's text lacks what it must have). handlers/views.c has a table
 * row for each file, which gathers the inputs and calls its renderer.
 *
 * The values come from the container's cgroup reader (cgroup.h), read afresh on every read of
 * the view. On a read of /proc/meminfo:
 *	r = cgroup_read_memory(reader, &mem);			(error: fail the read)
 *	r = view_meminfo(host_meminfo_text, &mem, &text);
 *
 * CPUs: one selection serves cpuinfo, stat and online, so that they agree:
 *	r = cgroup_read_cpu(reader, &cpu);
 *	r = cpulist_parse(host_online_text, &host_online);	(/sys/devices/system/cpu/online)
 *	r = view_cpus(&cpu, &host_online, &cpus);		(host CPUs shown, in order)
 *	r = view_cpuinfo(host_cpuinfo_text, &cpus, &text);
 *	r = view_cpu_online(&cpus, &text);			(also possible and present)
 *
 * /proc/stat, with a struct view_stat_history the caller keeps per container:
 *	r = cgroup_read_cpu_usage(reader, &usage);
 *	r = cgroup_read_tasks(reader, reader_tid, &tasks, NULL);
 *	r = view_stat(host_stat_text, &cpus, &usage, &tasks, &container->stat_history, &text);
 *	cgroup_cpu_usage_done(&usage);
 */

#include <stdint.h>

#include "cgroup/cgroup.h"
#include "cgroup/cpulist.h"
#include "cgroup/loadavg.h"

/* The host CPUs a container is shown: its cpuset (every online CPU without one) within the
 * host's online CPUs, cut to the first ceil(quota / period) when a CPU quota is set, never
 * fewer than one (a quota alone shows the lowest ids the container may run on). They keep
 * their host ids everywhere: a program pins to the ids it reads. */
int view_cpus(const struct cgroup_cpu *cpu, const struct cpulist *host_online, struct cpulist *ret);

/* MemTotal is the limit (the host's when unlimited or larger); MemFree, MemAvailable, Buffers,
 * Cached, SwapCached, Active/Inactive(+anon/file), Unevictable, AnonPages, Mapped, Shmem,
 * Dirty, Writeback, KReclaimable, Slab, SReclaimable, SUnreclaim, SwapTotal and SwapFree come
 * from the cgroup; every other line is the host's, in the host's order. */
int view_meminfo(const char *host_meminfo, const struct cgroup_memory *mem, char **ret);

/* The header alone when the container has no swap (no accounting, a zero swap limit, or no
 * swap on the host), else one "none virtual" line agreeing with view_meminfo's swap lines.
 * Takes the host's /proc/meminfo (for SwapTotal), not /proc/swaps. */
int view_swaps(const char *host_meminfo, const struct cgroup_memory *mem, char **ret);

/* The blocks of the CPUs in cpus, with their host ids, "siblings" and "cpu cores" counted
 * among them; lines outside the per-CPU blocks are kept. */
int view_cpuinfo(const char *host_cpuinfo, const struct cpulist *cpus, char **ret);

/* "1\n", "0-1,4\n": the host ids of cpus, what online, possible and present show. */
int view_cpu_online(const struct cpulist *cpus, char **ret);

/* Last per-CPU values a container was shown, so that its counters never go back between reads
 * (the cgroup's nanosecond clocks and the host's tick counts drift apart by a tick or so).
 * Zero-initialise one per container; calls sharing one must be serialised. */
struct view_stat_history {
	unsigned n_cpus;
	uint64_t *ticks; /* n_cpus * 3: user, system, idle */
};

void view_stat_history_done(struct view_stat_history *h);

/* The cpu and cpuN lines for the CPUs in cpus (renumbered): user and system are the cgroup's,
 * idle is the rest of that host CPU's time; procs_running and procs_blocked are the
 * container's; every other line is the host's. Usage on CPUs outside cpus is folded into the
 * shown ones, so the totals stay the cgroup's. history may be NULL. */
int view_stat(const char *host_stat, const struct cpulist *cpus,
	      const struct cgroup_cpu_usage *usage, const struct cgroup_tasks *tasks,
	      struct view_stat_history *history, char **ret);

/* The host's line of every disk (partitions left out: the cgroup's counters are per disk), with
 * the cgroup's reads, writes and sectors, 0 for a disk io has no counters of; the other
 * counters (merges, times, in flight, discards, flushes) are 0. */
int view_diskstats(const char *host_diskstats, const struct cgroup_io *io, char **ret);

/* "0.52 0.58 0.59 1/12 345\n": the three loads, the running and total threads from tasks, and
 * last_pid, the most recent pid in the container's pid namespace (its ns_last_pid). */
int view_loadavg(const struct loadavg *l, const struct cgroup_tasks *tasks, pid_t last_pid,
		 char **ret);

/* proc/uptime, "%.2f %.2f\n": the age now_s - start_s (0 if the start lies ahead, as a clock
 * step allows), and the idle time of ncpus CPUs over that age less busy_s, within
 * 0..ncpus x age. Writes into buf; returns the length, or -ENOBUFS. */
int view_uptime(double now_s, double start_s, unsigned ncpus, double busy_s, char *buf,
		size_t size);

/* sys/block/<disk>/stat of the disk called name, from a diskstats text (view_diskstats()'s,
 * so the two agree): the 17 (as many as the line has) counters after the name, each "%8llu",
 * one space apart, as the kernel's part_stat_show() prints them. -ENOENT if the text has no
 * line for name. */
int view_disk_stat(const char *diskstats, const char *name, char **ret);
