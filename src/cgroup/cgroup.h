/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where a container's cgroups are and what they say: limits, usage, CPUs, tasks, I/O.
 * cgroup v1 (one hierarchy per controller, or combined ones such as cpu,cpuacct) and v2 (the
 * unified hierarchy), chosen per controller at start-up, so a hybrid host works too. Callers
 * never name a cgroup file nor a cgroup version: this module alone knows them.
 *
 * The daemon, once at start-up:
 *	struct cgroup_layout *layout;
 *	r = cgroup_layout_detect("", &layout);		("" = this host; tests pass a fixture tree)
 *
 * Once per container (per cgroup its readers' views come from, cgroup/owner.h): where the
 * cgroup is, and a reader that keeps its files open:
 *	struct cgroup *cg;
 *	r = cgroup_resolve_text(layout, owner_text, &cg);	(or cgroup_resolve_pid())
 *	r = cgroup_reader_open(cg, CGROUP_READ_MEMORY | CGROUP_READ_CPU, &reader);
 *
 * On every read of a resource view, take fresh values through the reader and hand them to a
 * renderer (views.h):
 *	struct cgroup_memory mem;
 *	r = cgroup_read_memory(reader, &mem);
 *	if (r < 0)
 *		return r;	(-ENOENT: the cgroup is gone; never fall back to the host's numbers)
 *	r = view_meminfo(host_meminfo_text, &mem, &text);
 *
 * cgroup_get_*() read once without keeping anything: a reader opened for one read.
 *
 * Errors common to every read: -ENOENT when the container's cgroup no longer exists,
 * -EOPNOTSUPP when the host has no such controller (or v2 does not enable it for this cgroup).
 * Layouts and cgroups are immutable after creation, so threads may share them; threads may
 * share a reader too.
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

/*
 * A reader keeps open the files of cg it reads (the cgroup's own and, for limits, those of
 * every ancestor up to the mount point) and reads them again from offset 0 on every call.
 * Each part is opened on its first read, or at cgroup_reader_open() for the parts asked for
 * there: the open then fails as a read would (-ENOENT when the cgroup is gone), but a part
 * whose controller is missing (-EOPNOTSUPP) leaves the others usable and fails its reads. A
 * part whose open failed fails every later read the same way. Files are not followed if the
 * cgroup is removed and made again: reads fail with -ENOENT. cg must outlive the reader.
 */
enum {
	CGROUP_READ_MEMORY = 1 << 0,
	CGROUP_READ_CPU = 1 << 1,
	CGROUP_READ_CPU_USAGE = 1 << 2,
	CGROUP_READ_TASKS = 1 << 3,
	CGROUP_READ_IO = 1 << 4,
};

struct cgroup_reader;
int cgroup_reader_open(const struct cgroup *cg, unsigned parts, struct cgroup_reader **ret);
void cgroup_reader_free(struct cgroup_reader *r);

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

/* Usage, limits and swap are read on every call; memory.stat (the breakdown: cache, anon,
 * active/inactive, ...) is read again when usage changed or 1 ms passed since it was, and
 * parsed again only when its text changed: the kernel's memcg statistics lag more than that. */
int cgroup_read_memory(struct cgroup_reader *r, struct cgroup_memory *ret);
int cgroup_get_memory(const struct cgroup *cg, struct cgroup_memory *ret);

struct cgroup_cpu {
	bool has_cpuset;
	struct cpulist cpuset; /* effective CPUs */
	uint64_t quota_us;     /* CGROUP_UNLIMITED: no quota on the path */
	uint64_t period_us;    /* of the most restrictive quota on the path */
};

/* The effective CPUs of the nearest level that shows them, and the smallest quota/period of
 * every level. */
int cgroup_read_cpu(struct cgroup_reader *r, struct cgroup_cpu *ret);
int cgroup_get_cpu(const struct cgroup *cg, struct cgroup_cpu *ret);

/* CPU time the cgroup (and its descendants) used, in nanoseconds. */
struct cgroup_cpu_usage {
	uint64_t user_ns, system_ns;
	/* Indexed by host CPU number; n_percpu is 0 when the kernel keeps totals only (v2). */
	size_t n_percpu;
	uint64_t *percpu_user_ns, *percpu_system_ns;
};

int cgroup_read_cpu_usage(struct cgroup_reader *r, struct cgroup_cpu_usage *ret);
int cgroup_get_cpu_usage(const struct cgroup *cg, struct cgroup_cpu_usage *ret);
void cgroup_cpu_usage_done(struct cgroup_cpu_usage *u);

/* Threads of the cgroup and its descendants, by their state in /proc/<tid>/stat. */
struct cgroup_tasks {
	unsigned total;
	unsigned running; /* R, and the reader itself (see cgroup_read_tasks) */
	unsigned blocked; /* D */
	bool reader_seen;
};

/*
 * reader_tid: the thread reading the view (0 if none). It waits in procbox while the kernel
 * would be running it, so it counts as running whatever /proc says. Costs one small read per
 * thread, in one pass over the tasks of the cgroup and its descendants: nothing is scanned
 * between reads.
 *
 * ret_last_pid (NULL: not wanted, and only for the host's /proc): the pid last handed out in
 * reader_tid's pid namespace as reader_tid sees it: the daemon's own ns_last_pid when the
 * reader shares the daemon's pid namespace, else the newest task (by start time, then pid) of
 * the cgroup that lives in the reader's pid namespace, as its NSpid shows it there (the
 * reader's own pid if there is none). Never a pid of another namespace.
 */
int cgroup_read_tasks(struct cgroup_reader *r, pid_t reader_tid, struct cgroup_tasks *ret,
		      pid_t *ret_last_pid);
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
	size_t n, cap;
	struct cgroup_io_dev *devs;
};

/* Per block device, the cgroup's and its descendants' I/O since the cgroup was made. */
int cgroup_read_io(struct cgroup_reader *r, struct cgroup_io *ret);
int cgroup_get_io(const struct cgroup *cg, struct cgroup_io *ret);
void cgroup_io_done(struct cgroup_io *io);
