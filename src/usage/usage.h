/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "container/container.h"
#include "nsenter/service.h"
#include "util/reqclock.h"

/*
 * What each container asks of the daemon, and the share of it the daemon gives at once.
 *
 * Figures: every request adds to its container's counters, in the shard of the worker
 * thread that served it (plain stores: no lock, no locked instruction, no line another
 * thread writes); errors, waits and slow requests, rare, to the container's shared
 * counters with atomic adds. A report sums the shards of the live records and what ended
 * containers left behind, so the daemon's totals never go back while it runs. Built with
 * -Dfigures=false, nothing is recorded (to measure what recording costs).
 *
 * Sharing: a container has at most `max_in_flight` requests being served; one more waits
 * in its container's queue, and the worker that finishes one of that container's requests
 * serves it next. A worker thread never waits for a slot, so a flood from one container
 * keeps that many workers and the rest serve everyone else. At most `max_queued` wait: one
 * more is refused at once (EAGAIN), and only that container sees it.
 *
 *   struct usage *u = usage_get(c);                  // lives as long as the container
 *   if (usage_enter(u) || usage_queue(u, w) > 0)    // 0: the queue owns w; < 0: refused
 *           ... serve ..., then w = usage_leave(u) and serve w if not NULL
 */

enum usage_kind {
	USAGE_LOOKUP,
	USAGE_GETATTR,
	USAGE_SETATTR,
	USAGE_READLINK,
	USAGE_OPENDIR,
	USAGE_READDIR,
	USAGE_OPEN,
	USAGE_READ,
	USAGE_WRITE,
	USAGE_RELEASE,
	_USAGE_KIND_MAX,
};

/* errno values 1..USAGE_ERRNO_MAX-1 are counted one by one; anything else in slot 0. */
#define USAGE_ERRNO_MAX 134
/* Latency buckets: upper bounds in microseconds, the last one +Inf. */
#define USAGE_BUCKETS 18
extern const uint64_t usage_bucket_us[USAGE_BUCKETS - 1];

struct usage_counters {
	uint64_t requests[_USAGE_KIND_MAX];
	uint64_t errors[USAGE_ERRNO_MAX];
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t latency[USAGE_BUCKETS]; /* per bucket, not cumulative */
	uint64_t latency_ns;		 /* sum */
	uint64_t queue_ns;
	uint64_t nsenter_ns;
	uint64_t cgroup_ns;
	uint64_t nsenter_trips;
	uint64_t queued; /* requests that waited for their container's slot */
	uint64_t slow;	 /* requests over the slow threshold */
};

struct usage_config {
	unsigned max_in_flight;	     /* per container; 0: no limit */
	unsigned max_queued;	     /* waiting per container; 0: no limit */
	uint64_t slow_ns;	     /* 0: no slow-request log */
	unsigned metrics_containers; /* per-container series in the Prometheus output */
};

#define USAGE_DEFAULT_MAX_QUEUED 256
#define USAGE_DEFAULT_SLOW_MS 100
#define USAGE_DEFAULT_METRICS_CONTAINERS 10

struct usage;

/* Once, before the first request. nsenter (may be NULL) is asked for agents per container. */
void usage_setup(const struct usage_config *cfg, struct nsenter_service *nsenter);
const struct usage_config *usage_config(void);

/* The default of max_in_flight: half the online CPUs and half the worker threads, at
 * least 1. A flood from one container then keeps at most half of the CPUs busy in the
 * daemon, and at most half of the workers, whatever the size of the machine. */
unsigned usage_default_max_in_flight(unsigned threads);

/* The record of c, made on first use; NULL only without memory. Valid while c is. */
struct usage *usage_get(struct container *c);

/* Names an operator knows the container by (a runtime's id, a Kubernetes pod), as the
 * runtime hook reports them; NULL leaves a name as it is. */
int usage_set_names(struct usage *u, const char *runtime_id, const char *pod, const char *ns);

struct usage_waiter {
	struct usage_waiter *next;
};

/* Takes one of u's slots if one is free and nobody waits: true. */
bool usage_enter(struct usage *u);
/* Takes a slot (> 0: the caller serves w itself), queues w (0: whoever leaves next serves
 * it), or refuses it when max_queued already wait (-EAGAIN). */
int usage_queue(struct usage *u, struct usage_waiter *w);
/* Gives the slot back, or hands it to the first waiter, returned for the caller to run. */
struct usage_waiter *usage_leave(struct usage *u);

/* One request done: r is its result (negative errno, or >= 0). */
struct usage_done {
	enum usage_kind kind;
	int r;
	uint64_t bytes_read, bytes_written;
	uint64_t total_ns, queue_ns;
	const struct reqclock *clock;
	const char *path; /* for the slow-request log */
};
#if PROCBOX_FIGURES
void usage_record(struct usage *u, const struct usage_done *d);
#else
static inline void usage_record(struct usage *u, const struct usage_done *d)
{
}
#endif

/* The clock requests are timed by: none without figures. */
static inline uint64_t usage_now_ns(void)
{
	return PROCBOX_FIGURES ? reqclock_now_ns() : 0;
}

/* Files the container holds open in the daemon. */
void usage_file_opened(struct usage *u);
void usage_file_closed(struct usage *u);

/* Once a second: request rates. */
void usage_tick(void);

/* --- reports --- */
struct usage_entry {
	uint64_t serial;
	pid_t init_pid;
	bool host;
	char id[80];   /* runtime id, or empty */
	char pod[128]; /* io.kubernetes.pod.name, or empty */
	char ns[80];   /* io.kubernetes.pod.namespace, or empty */
	char cgroup[256];
	double rate; /* requests per second, over the last 10 s */
	unsigned in_flight, waiting, files, agents, agent_fds;
	struct usage_counters c;
};
struct usage_report {
	struct usage_entry *entries; /* the live containers, busiest first */
	size_t n;
	struct usage_counters totals; /* live and ended containers together */
	uint64_t ended;		      /* containers that ended */
	unsigned in_flight;
	double uptime_s;
};
int usage_report_take(struct usage_report *ret);
void usage_report_done(struct usage_report *r);

uint64_t usage_requests(const struct usage_counters *c);
uint64_t usage_errors(const struct usage_counters *c);
/* The q-quantile (0..1) of the latency histogram, in microseconds (a bucket's upper bound;
 * 0 without requests). */
uint64_t usage_quantile_us(const struct usage_counters *c, double q);
const char *usage_kind_name(enum usage_kind k);
/* A name for a display, stable over the container's life: id, pod or init pid. */
void usage_entry_name(const struct usage_entry *e, char *buf, size_t size);
