/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where a container's cgroups are and what they say: limits, usage, CPUs, tasks, I/O.
 * cgroup v1 (one hierarchy per controller, or combined ones such as cpu,cpuacct) and v2 (the
 * unified hierarchy), chosen per controller at start-up, so a hybrid host works too.
 *
 * The daemon, once at start-up:
 *	struct cgroup_layout *layout;
 *	r = cgroup_layout_detect("", &layout);		("" = this host; tests pass a fixture tree)
 *
 * Once per container, from its init pid as the host sees it (the daemon lives in the host's
 * cgroup namespace, so the paths in /proc/<pid>/cgroup are full ones):
 *	struct cgroup *cg;
 *	r = cgroup_resolve_pid(layout, init_pid, &cg);
 *
 * On every read of a resource view, take fresh values and hand them to views.h:
 *	struct cgroup_memory mem;
 *	r = cgroup_get_memory(cg, &mem);
 *	if (r < 0)
 *		return r;	(-ENOENT: the cgroup is gone; never fall back to the host's numbers)
 *	r = view_meminfo(host_meminfo_text, &mem, &text);
 *
 * Errors common to every cgroup_get_*(): -ENOENT when the container's cgroup no longer exists,
 * -EOPNOTSUPP when the host has no such controller (or v2 does not enable it for this cgroup).
 * Nothing here caches: each call reads the cgroup files again. Objects are immutable after
 * creation, so threads may share them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cpulist.h"

/* A limit nobody set ("max", -1, or v1's page-counter maximum). */
#define CGROUP_UNLIMITED UINT64_MAX

enum cgroup_controller {
	CGROUP_MEMORY,
	CGROUP_CPU,
	CGROUP_CPUACCT, /* v2: folded into "cpu" */
	CGROUP_CPUSET,
	CGROUP_BLKIO, /* v2: "io" */
	_CGROUP_CONTROLLER_MAX,
};

struct cgroup_layout;
struct cgroup;

/* Reads <root>/proc/self/mountinfo. root is prepended to every path read; "" for the host. */
int cgroup_layout_detect(const char *root, struct cgroup_layout **ret);

/* Same from mountinfo text; v2's enabled controllers are still read from
 * <root><mount>/cgroup.controllers. */
int cgroup_layout_parse(const char *root, const char *mountinfo, struct cgroup_layout **ret);
void cgroup_layout_free(struct cgroup_layout *l);

/* 1 or 2, or 0 when the controller is not mounted. */
int cgroup_layout_version(const struct cgroup_layout *l, enum cgroup_controller c);
/* The controller's hierarchy as mounted (root included), or NULL. */
const char *cgroup_layout_mount(const struct cgroup_layout *l, enum cgroup_controller c);

/* From <root>/proc/<pid>/cgroup. -ENOENT (or -ESRCH) when the process is gone. */
int cgroup_resolve_pid(const struct cgroup_layout *l, pid_t pid, struct cgroup **ret);
/* From the text of a /proc/<pid>/cgroup file. -ENOENT if the file names a removed v2 cgroup. */
int cgroup_resolve_text(const struct cgroup_layout *l, const char *proc_pid_cgroup,
			struct cgroup **ret);
void cgroup_free(struct cgroup *cg);

/* The cgroup's directory for c (root included), or NULL when c is unavailable to it. */
const char *cgroup_path(const struct cgroup *cg, enum cgroup_controller c);

/* All in bytes. memory.stat fields are hierarchical (v1's total_*; v2's are by nature). */
struct cgroup_memory {
	uint64_t limit;	     /* smallest on the path to the root, or CGROUP_UNLIMITED */
	uint64_t usage;	     /* v1 memory.usage_in_bytes, v2 memory.current: includes page cache */
	bool swap_accounted; /* false: the kernel keeps no swap figures for this cgroup */
	uint64_t swap_limit; /* swap alone (v1: memsw limit minus memory limit) */
	uint64_t swap_usage;
	bool has_slab; /* v1's memory.stat has no slab figures */
	uint64_t anon, file, shmem, file_mapped, file_dirty, file_writeback;
	uint64_t active_anon, inactive_anon, active_file, inactive_file, unevictable;
	uint64_t slab, slab_reclaimable, swapcached;
};

int cgroup_get_memory(const struct cgroup *cg, struct cgroup_memory *ret);

struct cgroup_cpu {
	bool has_cpuset;
	struct cpulist cpuset; /* effective CPUs */
	uint64_t quota_us;     /* CGROUP_UNLIMITED: no quota on the path */
	uint64_t period_us;    /* of the most restrictive quota on the path */
};

int cgroup_get_cpu(const struct cgroup *cg, struct cgroup_cpu *ret);

/* CPU time the cgroup (and its descendants) used, in nanoseconds. */
struct cgroup_cpu_usage {
	uint64_t user_ns, system_ns;
	/* Indexed by host CPU number; n_percpu is 0 when the kernel keeps totals only (v2). */
	size_t n_percpu;
	uint64_t *percpu_user_ns, *percpu_system_ns;
};

int cgroup_get_cpu_usage(const struct cgroup *cg, struct cgroup_cpu_usage *ret);
void cgroup_cpu_usage_done(struct cgroup_cpu_usage *u);

/* Threads of the cgroup and its descendants, by their state in /proc/<tid>/stat. */
struct cgroup_tasks {
	unsigned total;
	unsigned running; /* R, and the reader itself (see cgroup_get_tasks) */
	unsigned blocked; /* D */
	bool reader_seen;
};

/* reader_tid: the thread reading the view (0 if none). It waits in procbox while the kernel
 * would be running it, so it counts as running whatever /proc says. Costs one small read per
 * thread: for the container's own cgroup on a read, not for every container periodically. */
int cgroup_get_tasks(const struct cgroup *cg, pid_t reader_tid, struct cgroup_tasks *ret);

/* Tasks that count for the load average: running and uninterruptible, as the kernel's
 * calc_load counts them, without the reader (a task sampled on the 5 s tick is rarely it). */
static inline unsigned cgroup_tasks_active(const struct cgroup_tasks *t)
{
	unsigned n = t->running + t->blocked;

	return t->reader_seen && n > 0 ? n - 1 : n;
}

struct cgroup_io_dev {
	unsigned major, minor;
	uint64_t rbytes, wbytes, rios, wios;
};

struct cgroup_io {
	size_t n;
	struct cgroup_io_dev *devs;
};

/* Per block device, the cgroup's and its descendants' I/O since the cgroup was made. */
int cgroup_get_io(const struct cgroup *cg, struct cgroup_io *ret);
void cgroup_io_done(struct cgroup_io *io);
