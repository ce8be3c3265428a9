/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What service.c (spawning, reaping, child counts) and agents.c (the kept agents and their
 * round trips) share inside src/nsenter; nothing outside includes this.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nsenter/service.h"

struct spawn_job {
	const struct nsenter_child_params *params;
	pid_t pid;
	int pidfd;
	int r;
	bool done;
	bool taken; /* the spawner is forking it: it will be done shortly */
	struct spawn_job *next;
};

/* A child that did not go when it should have: the reaper thread waits for it. */
struct abandoned {
	pid_t pid;
	int pidfd;
	uint64_t tag;
	bool counted;
	struct abandoned *next;
};

struct live_child {
	pid_t pid;
	int pidfd;
	struct live_child *next;
};

struct tag_count {
	uint64_t tag;
	unsigned n;
};

struct cached_fd {
	char *path;
	int flags;
	int fd;
};

struct agent {
	struct agent *next;
	struct agent_key key;
	pid_t pid;
	int pidfd;
	int sock;
	pthread_mutex_t lock; /* one request at a time on sock */
	unsigned refs;	      /* under service lock */
	bool dead;	      /* under service lock */
	int64_t last_used_ms; /* under service lock */
	unsigned n_fds;	      /* under agent lock */
	unsigned next_evict;
	struct cached_fd *fds;
};

struct nsenter_service {
	struct nsenter_service_config cfg;
	pid_t daemon_pid;
	int exe_fd; /* the daemon's binary, for exec_children */

	pthread_t spawner;
	bool spawner_running;
	pthread_mutex_t spawn_lock;
	pthread_cond_t spawn_cond;
	pthread_cond_t spawn_done;
	struct spawn_job *queue, *queue_tail; /* first come, first forked */
	bool stopping;

	uint64_t own_ns[_NS_TYPE_MAX];

	pthread_mutex_t lock; /* agents list, stats, child counts, abandoned children */
	struct agent *agents;
	struct nsenter_stats stats;
	struct tag_count *counts; /* containers with one-shot children alive */
	size_t n_counts, cap_counts;

	pthread_t reaper;
	bool reaper_running;
	int reaper_wake; /* eventfd */
	bool reaper_stopping;
	struct abandoned *abandoned;
	struct live_child *live; /* one-shot children not yet reaped */
};

/* CLOCK_MONOTONIC in milliseconds. */
int64_t nsenter_now_ms(void);

/* Drops every agent, at nsenter_service_free(). */
void nsenter_agents_release_all(struct nsenter_service *s);
