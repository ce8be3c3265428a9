/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What cgroup.c (layout, resolution), reader.c (values through kept fds) and tasks.c (the
 * task scan) share inside src/cgroup; nothing outside includes this.
 */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "cgroup/parse.h"

/* Descendants deeper than this are not scanned for tasks (the kernel allows any depth). */
#define CGROUP_TASKS_DEPTH_MAX 16

struct cgroup {
	char *proc; /* root + "/proc" */
	int version[_CGROUP_CONTROLLER_MAX];
	char *mount[_CGROUP_CONTROLLER_MAX];
	char *dir[_CGROUP_CONTROLLER_MAX];
	int error[_CGROUP_CONTROLLER_MAX]; /* why dir is NULL */
};

/* A file of a removed cgroup answers ENODEV (kernfs deactivated it): the cgroup is gone. */
static inline int cg_errno(int r)
{
	return r == -ENODEV ? -ENOENT : r;
}

/* "a/b", "a" + "/b" or "a" + "b": a malloc'ed path. */
char *cg_path_join(const char *a, const char *b);

/* The whole content of dirfd/path (dirfd may be AT_FDCWD); one_record: READ_ONE_RECORD. */
int cg_read_at(int dirfd, const char *path, bool one_record, char **ret);

/* A file of the cgroup was missing: either the cgroup went away meanwhile (-ENOENT), or (v2)
 * the controller is not enabled for it (-EOPNOTSUPP). */
int cg_file_missing(const struct cgroup *cg, enum cgroup_controller c);

/* Strips the last component of dir, unless dir is the mount point (mountlen bytes) already. */
bool cg_dir_up(char *dir, size_t mountlen);

/* The controller the task lists are read from (the first that the cgroup has), or
 * _CGROUP_CONTROLLER_MAX. */
enum cgroup_controller cg_tasks_controller(const struct cgroup *cg);

/* Counts the tasks listed in <dfd>/list and the same file of every descendant directory;
 * proc: the /proc to read each task's stat from. See cgroup_read_tasks(). */
int cg_tasks_scan(int dfd, const char *list, const char *proc, pid_t reader,
		  struct cgroup_tasks *ret_tasks, pid_t *ret_last_pid);

/* ---- files kept open (reader.c) ---- */

struct fd_list {
	size_t n, cap;
	int *fds;
};

void cg_fd_list_done(struct fd_list *l);
/* Takes fd (closed on failure). */
int cg_fd_list_add(struct fd_list *l, int fd);

/* The whole content of an open cgroup file, from offset 0 (READ_ONE_RECORD: see
 * util/fileio.h). */
int cg_fd_text(int fd, char **ret, size_t *ret_len);
/* A one-number cgroup file; limit: "max" and friends parse as CGROUP_UNLIMITED. */
int cg_fd_u64(int fd, bool limit, uint64_t *ret);

/* The cgroup's directory for c as an O_PATH fd: -ENOENT once the cgroup is removed. */
int cg_open_dir(const struct cgroup *cg, enum cgroup_controller c);
/* dfd/name for reading; -ENOENT for a file of a removed cgroup. */
int cg_open_in(int dfd, const char *name);
/* A file every cgroup of c has: missing means the cgroup is gone or c not enabled for it. */
int cg_open_leaf(const struct cgroup *cg, enum cgroup_controller c, int dfd, const char *name);
/* Opens <level>/name on every level from the cgroup up to the mount point that has it (v2
 * shows a controller's files only where the parent enables it; the root has no limits). */
int cg_open_path_files(const struct cgroup *cg, enum cgroup_controller c, const char *name,
		       struct fd_list *ret);

/* ---- the memory part of a reader (memory.c) ---- */

#define CG_MEMSTAT_KEYS_MAX                                                                        \
	((int)_CG_MEMSTAT_V1_MAX > (int)_CG_MEMSTAT_V2_MAX ? (int)_CG_MEMSTAT_V1_MAX               \
							   : (int)_CG_MEMSTAT_V2_MAX)

struct cg_memory_part {
	int version;
	bool swap_accounted;
	int usage_fd; /* v1 memory.usage_in_bytes, v2 memory.current */
	int stat_fd;  /* memory.stat */
	/* v1 memory.memsw.usage_in_bytes where memory.stat has no total_swap; v2
	 * memory.swap.current; -EBADF otherwise */
	int swap_fd;
	/* v1: the kernel's hierarchical_* limits are in memory.stat, and the path is walked only
	 * on kernels that lack them (and none when use_hierarchy is off on old kernels, where the
	 * ancestors' limits do not apply); v2 always walks. */
	bool hier_limit, hier_memsw_limit, total_swap;
	struct fd_list limits;	    /* memory.limit_in_bytes or memory.max, leaf first */
	struct fd_list swap_limits; /* memory.memsw.limit_in_bytes or memory.swap.max */

	/* memory.stat as last parsed: the kernel refreshes it at most every few seconds
	 * (rstat flushing is rate-limited), so most reads find the same text again. */
	pthread_mutex_t lock;
	char *stat_text;
	size_t stat_len;
	uint64_t stat_read_ns, stat_usage;
	uint64_t stat_found;
	uint64_t stat_values[CG_MEMSTAT_KEYS_MAX];
};

void cg_memory_init(struct cg_memory_part *m);
int cg_memory_open(const struct cgroup *cg, struct cg_memory_part *m);
int cg_memory_read(struct cg_memory_part *m, struct cgroup_memory *ret);
/* Closes the files; init state again but for the cached memory.stat. */
void cg_memory_close(struct cg_memory_part *m);
void cg_memory_done(struct cg_memory_part *m);
