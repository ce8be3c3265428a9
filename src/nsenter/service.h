/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nsenter/child.h"
#include "nsenter/creds.h"
#include "nsenter/message.h"
#include "nsenter/namespaces.h"

/*
 * The nsenter service: creates events, spawns the
 * children that serve them, keeps long-lived agents, and reaps every child it started.
 *
 * Children are forked by one dedicated thread: PR_SET_PDEATHSIG fires when the *thread*
 * that forked a child exits, and FUSE worker threads come and go.
 */

struct nsenter_service_config {
	int timeout_ms;	     /* per request; default 2000 */
	unsigned max_agents; /* live agents at most; 0 disables agents */
	/* live agents of one container (one tag) at most; 0: no limit but max_agents */
	unsigned max_agents_per_container;
	int agent_idle_ms;	/* an agent unused this long is stopped; default 30000 */
	unsigned max_agent_fds; /* fds cached per agent; default 64 */
	/* Children exec the daemon's binary (procbox --nsenter-child) right after the fork
	 * (see nsenter_child_exec()); else they run on in the forked copy. */
	bool exec_children;
	/* One-shot children (pid-namespace requests, --max-agents 0) alive at once per
	 * container, counted until reaped; default 4. A container that stops its children
	 * then holds at most this many FUSE workers, and its further requests get EAGAIN. */
	unsigned max_children;
};

#define NSENTER_DEFAULT_TIMEOUT_MS 2000
#define NSENTER_DEFAULT_MAX_AGENTS 1024
#define NSENTER_DEFAULT_MAX_AGENTS_PER_CONTAINER 64
#define NSENTER_DEFAULT_AGENT_IDLE_MS 30000
#define NSENTER_DEFAULT_MAX_AGENT_FDS 64
#define NSENTER_DEFAULT_MAX_CHILDREN 4

struct nsenter_service;

/* Statistics, for tests, logs and bench/. */
struct nsenter_stats {
	uint64_t spawned; /* children started */
	uint64_t reaped;  /* children reaped */
	uint64_t timeouts;
	uint64_t agent_hits; /* requests served by a live agent */
	uint64_t fd_hits;    /* opens served from an agent's fd cache */
	unsigned agents;     /* live agents now */
	unsigned cached_fds; /* fds cached now */
};

int nsenter_service_new(const struct nsenter_service_config *cfg, struct nsenter_service **ret);
/* Stops every agent and child (SIGKILL) and reaps them. Accepts NULL. */
void nsenter_service_free(struct nsenter_service *s);

int nsenter_service_timeout_ms(const struct nsenter_service *s);
void nsenter_service_get_stats(struct nsenter_service *s, struct nsenter_stats *ret);

/*
 * Stops the agents (and drops their cached fds) that joined namespace `ino` of type t:
 * called when a container's init exits. Returns how many were stopped.
 */
unsigned nsenter_service_release_namespace(struct nsenter_service *s, enum ns_type t, uint64_t ino);
/* Stops the agents (and their cached fds) of events tagged `tag`: called when the
 * container with that serial is released. Returns how many were stopped. */
unsigned nsenter_service_release_tag(struct nsenter_service *s, uint64_t tag);
/* Live agents of events tagged `tag` (a container's), and the fds they keep open. */
void nsenter_service_count_tag(struct nsenter_service *s, uint64_t tag, unsigned *ret_agents,
			       unsigned *ret_fds);
/* Stops agents idle longer than the configured limit. */
unsigned nsenter_service_expire_idle(struct nsenter_service *s);

/* --- used by event.c --- */

/* What an agent is keyed by: the exact namespaces joined, the creds, the clone flags. */
struct agent_key {
	uint64_t tag;		       /* the requester's container serial: never reused */
	uint64_t ns_ino[_NS_TYPE_MAX]; /* 0: not joined */
	unsigned long clone_flags;
	bool has_creds;
	struct creds creds;
};

/* Forks a child running nsenter_child_main(p); returns its pid and a pidfd. */
int nsenter_service_spawn(struct nsenter_service *s, const struct nsenter_child_params *p,
			  pid_t *ret_pid, int *ret_pidfd);
/* Kills (if kill_first) and reaps a child of the service; closes pidfd. A child that does
 * not go at once (stopped, stuck) is left to the service's reaper thread, killed: the
 * caller never waits on it. */
void nsenter_service_reap(struct nsenter_service *s, pid_t pid, int pidfd, bool kill_first);
/* A one-shot child for the container tagged `tag` (0: none, not counted): -EAGAIN when it
 * has max_children alive. Each 0 returned is given back by nsenter_service_reap_counted(). */
int nsenter_service_child_acquire(struct nsenter_service *s, uint64_t tag);
/* A one-shot child started after nsenter_service_child_acquire(): known until reaped
 * with nsenter_service_reap_counted(), for nsenter_service_stop_children(). */
void nsenter_service_child_started(struct nsenter_service *s, pid_t pid, int pidfd);
/*
 * Kills every one-shot child now alive (and what it forked): called when the daemon is
 * asked to stop, so that no FUSE worker waits out its timeout on a child a container
 * stopped, and the stop is not held up by it.
 */
void nsenter_service_stop_children(struct nsenter_service *s);
/* nsenter_service_reap() for a child acquired for `tag`: the count drops once it is gone. */
void nsenter_service_reap_counted(struct nsenter_service *s, pid_t pid, int pidfd, bool kill_first,
				  uint64_t tag);
void nsenter_service_count_timeout(struct nsenter_service *s);

struct agent;
/*
 * Sends req to the live agent for key, if there is one: -ENOENT if none (nothing sent),
 * else as nsenter_service_agent_request().
 */
int nsenter_service_agent_request_existing(struct nsenter_service *s, const struct agent_key *key,
					   const struct nsenter_message *req,
					   struct nsenter_message **ret, int *ret_fd,
					   pid_t *ret_pid);
/* The inode of the daemon's own namespace of type t (never joined: keys say 0). */
uint64_t nsenter_service_own_ns(const struct nsenter_service *s, enum ns_type t);
/*
 * Sends req to a live agent for key (spawning one from the given params if none), waits
 * for the response. The agent's fd cache answers opens with pass_fd when it can: the
 * returned fd is then a dup the caller owns. -ECONNRESET/-ETIMEDOUT stop the agent.
 */
int nsenter_service_agent_request(struct nsenter_service *s, const struct agent_key *key,
				  const struct nsenter_child_params *params,
				  const struct nsenter_message *req, struct nsenter_message **ret,
				  int *ret_fd, pid_t *ret_pid);
