/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "cgroup/cpulist.h"
#include "cgroup/loadavg.h"
#include "cgroup/views.h"
#include "handlers/handler.h"

/*
 * What the views keep per container: one struct view_cgroup per cgroup its readers' views come
 * from (cgroup/owner.h decides which: a pod member's own, a system container's whole), made on
 * first use and kept with the container (a container slot, freed with it). Readers hold one
 * without a reference while their container is held.
 *
 * The cgroup is the one /proc/<pid>/cgroup named when the entry was made. It is not followed
 * if its tasks move later: once that cgroup is removed, reads fail with ENOENT instead of
 * showing whatever cgroup (or the host's root) they went to.
 */
struct view_cgroup {
	struct cgroup *cg;
	struct cgroup_reader *reader; /* memory and CPU limits opened with the entry */

	pthread_mutex_t lock; /* history */
	struct view_stat_history history;

	pthread_mutex_t load_lock;
	struct loadavg load; /* sampled every 5 s by the sampler, never by a read */

	/* proc/meminfo as last rendered, and what from: view_meminfo() is a pure function of
	 * the two, and both stay the same between most reads (the reader keeps memory.stat's
	 * figures while usage stays the same, the host's meminfo is kept for 1 ms). */
	pthread_mutex_t memo_lock;
	bool memo_valid;
	struct cgroup_memory memo_mem;
	uint64_t memo_host_gen;
	char *memo_text;
	size_t memo_text_len;
};

/* The caller's entry; -ENOENT once the caller or its cgroup is gone. */
int view_cgroup_of_caller(const struct pb_caller *c, struct view_cgroup **ret);
/* The entry of the cgroup of the container's init. */
int view_cgroup_of_init(struct container *ct, struct view_cgroup **ret);
/* Up to max of the container's entries into v; their number. */
size_t view_cgroups_list(struct container *ct, struct view_cgroup **v, size_t max);
/* At most this many entries per container; beyond, readers share the container init's. */
#define VIEW_CGROUPS_MAX 32

/* The container's CPUs as host CPU numbers (view_cpus()), or the host's online ones. */
int view_shown_cpus(const struct pb_caller *c, struct cpulist *ret);

/* The cgroup layout, detected on first use; freed at shutdown with the host's files. */
void viewstate_free(void);
