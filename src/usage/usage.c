/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usage/usage.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/macro.h"

#define RATE_WINDOW 10 /* seconds */

const uint64_t usage_bucket_us[USAGE_BUCKETS - 1] = {
    10,	   25,	  50,	 100,	 250,	 500,	 1000,	  2500,	   5000,
    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};

static const char *const kind_names[_USAGE_KIND_MAX] = {
    [USAGE_LOOKUP] = "lookup",	   [USAGE_GETATTR] = "getattr", [USAGE_SETATTR] = "setattr",
    [USAGE_READLINK] = "readlink", [USAGE_OPENDIR] = "opendir", [USAGE_READDIR] = "readdir",
    [USAGE_OPEN] = "open",	   [USAGE_READ] = "read",	[USAGE_WRITE] = "write",
    [USAGE_RELEASE] = "release",
};

struct usage {
	struct usage *next, *prev; /* under `lock` below */
	bool listed;
	uint64_t serial;
	pid_t init_pid;
	bool host;
	char *id, *pod, *ns, *cgroup; /* under `lock` */

	/* Written with relaxed atomics on the request path, read the same way. */
	struct usage_counters c;
	unsigned files;

	pthread_mutex_t qlock;
	unsigned in_flight; /* under qlock */
	unsigned waiting;
	struct usage_waiter *head, *tail;

	/* Requests at each of the last RATE_WINDOW ticks; under `lock`. */
	uint64_t ring[RATE_WINDOW + 1];
	unsigned ticks;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct usage *live;
static struct usage_counters ended_counters; /* under lock */
static uint64_t ended;
static struct usage_config config = {
    .max_in_flight = USAGE_DEFAULT_MAX_IN_FLIGHT,
    .max_queued = USAGE_DEFAULT_MAX_QUEUED,
    .slow_ns = USAGE_DEFAULT_SLOW_MS * 1000000ull,
    .metrics_containers = USAGE_DEFAULT_METRICS_CONTAINERS,
};
static struct nsenter_service *nsenter;
static uint64_t started_ns;

void usage_setup(const struct usage_config *cfg, struct nsenter_service *s)
{
	config = *cfg;
	nsenter = s;
	started_ns = reqclock_now_ns();
}

const struct usage_config *usage_config(void)
{
	return &config;
}

const char *usage_kind_name(enum usage_kind k)
{
	return k < _USAGE_KIND_MAX ? kind_names[k] : "other";
}

static void add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Field by field: the record is written while it is read. */
static void counters_add(struct usage_counters *to, const struct usage_counters *from)
{
	const uint64_t *f = (const uint64_t *)from;
	uint64_t *t = (uint64_t *)to;

	for (size_t i = 0; i < sizeof(*from) / sizeof(uint64_t); i++)
		t[i] += load(&f[i]);
}

/* The memory controller's path (what `free` in the container is computed from), else the
 * unified one; empty when the init is gone. */
static char *read_cgroup(pid_t pid)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	char *unified = NULL, *line, *save = NULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_full_file(path, &text, NULL) < 0)
		return strdup("");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctrl = strchr(line, ':'), *p;

		if (!ctrl)
			continue;
		p = strchr(++ctrl, ':');
		if (!p)
			continue;
		*p++ = 0;
		if (strcmp(ctrl, "") == 0 && !unified)
			unified = p;
		for (char *w = ctrl, *s2 = NULL; (w = strtok_r(w, ",", &s2)); w = NULL)
			if (strcmp(w, "memory") == 0)
				return strdup(p);
	}
	return strdup(unified ? unified : "");
}

static void usage_free(void *p)
{
	struct usage *u = p;

	if (!u)
		return;
	pthread_mutex_lock(&lock);
	if (u->listed) {
		if (u->prev)
			u->prev->next = u->next;
		else
			live = u->next;
		if (u->next)
			u->next->prev = u->prev;
		/* In the same step as the record leaves the list: a report sees the
		 * requests either here or there, never in neither. */
		counters_add(&ended_counters, &u->c);
		ended++;
	}
	pthread_mutex_unlock(&lock);
	pthread_mutex_destroy(&u->qlock);
	free(u->id);
	free(u->pod);
	free(u->ns);
	free(u->cgroup);
	free(u);
}

/* The last record this thread looked up: a worker mostly serves one container at a time,
 * and this spares the container's lock. Serials are never reused, so a container freed
 * and another allocated at the same address does not match. */
static __thread struct {
	const struct container *c;
	uint64_t serial;
	struct usage *u;
} last;

static struct container_slot usage_slot = {.free_fn = usage_free};

struct usage *usage_get(struct container *c)
{
	struct usage *u, *cur;

	if (last.c == c && last.u && last.serial == container_serial(c))
		return last.u;
	u = container_slot_get(c, &usage_slot);
	if (u) {
		last.c = c;
		last.serial = container_serial(c);
		last.u = u;
		return u;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->serial = container_serial(c);
	u->init_pid = container_init_pid(c);
	u->host = container_is_host(c);
	u->cgroup = read_cgroup(u->init_pid);
	pthread_mutex_init(&u->qlock, NULL);
	/* The slot frees it (and folds it into the totals) when the container goes; if
	 * another thread's record got there first, ours is freed unlisted. */
	cur = container_slot_set(c, &usage_slot, u);
	if (cur != u)
		return cur;
	/* c is referenced by the caller: the slot cannot be freed before this. */
	pthread_mutex_lock(&lock);
	u->next = live;
	if (live)
		live->prev = u;
	live = u;
	u->listed = true;
	pthread_mutex_unlock(&lock);
	return u;
}

static void replace(char **p, const char *v)
{
	char *n;

	if (!v)
		return;
	n = strndup(v, 200);
	if (!n)
		return;
	free(*p);
	*p = n;
}

int usage_set_names(struct usage *u, const char *runtime_id, const char *pod, const char *ns)
{
	pthread_mutex_lock(&lock);
	replace(&u->id, runtime_id);
	replace(&u->pod, pod);
	replace(&u->ns, ns);
	pthread_mutex_unlock(&lock);
	return 0;
}

bool usage_enter(struct usage *u)
{
	bool ok;

	pthread_mutex_lock(&u->qlock);
	ok = !u->head && (config.max_in_flight == 0 || u->in_flight < config.max_in_flight);
	if (ok)
		u->in_flight++;
	pthread_mutex_unlock(&u->qlock);
	return ok;
}

int usage_queue(struct usage *u, struct usage_waiter *w)
{
	pthread_mutex_lock(&u->qlock);
	if (config.max_in_flight == 0 || u->in_flight < config.max_in_flight) {
		u->in_flight++;
		pthread_mutex_unlock(&u->qlock);
		return 1;
	}
	if (config.max_queued && u->waiting >= config.max_queued) {
		pthread_mutex_unlock(&u->qlock);
		return -EAGAIN;
	}
	w->next = NULL;
	if (u->tail)
		u->tail->next = w;
	else
		u->head = w;
	u->tail = w;
	u->waiting++;
	pthread_mutex_unlock(&u->qlock);
	add(&u->c.queued, 1);
	return 0;
}

struct usage_waiter *usage_leave(struct usage *u)
{
	struct usage_waiter *w;

	pthread_mutex_lock(&u->qlock);
	w = u->head;
	if (w) {
		/* the slot passes on to the waiter: in_flight stays */
		u->head = w->next;
		if (!u->head)
			u->tail = NULL;
		u->waiting--;
	} else {
		u->in_flight--;
	}
	pthread_mutex_unlock(&u->qlock);
	return w;
}

static unsigned bucket_of(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned i;

	for (i = 0; i < USAGE_BUCKETS - 1; i++)
		if (us <= usage_bucket_us[i])
			break;
	return i;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* One line a second at most, saying how many it left out. */
static void log_slow(const struct usage *u, const struct usage_done *d)
{
	static uint64_t last_ns, suppressed;
	static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
	uint64_t now = reqclock_now_ns(), skipped;
	const struct reqclock *rc = d->clock;
	uint64_t ns_ns = rc ? rc->nsenter_ns : 0, cg_ns = rc ? rc->cgroup_ns : 0;
	uint64_t known = d->queue_ns + ns_ns + cg_ns;
	char name[128];

	pthread_mutex_lock(&slow_lock);
	if (last_ns && now - last_ns < 1000000000ull) {
		suppressed++;
		pthread_mutex_unlock(&slow_lock);
		return;
	}
	last_ns = now;
	skipped = suppressed;
	suppressed = 0;
	pthread_mutex_unlock(&slow_lock);

	pthread_mutex_lock(&lock);
	snprintf(name, sizeof(name), "%s%s%s", u->id ? u->id : "", u->id ? " " : "",
		 u->pod ? u->pod : "");
	pthread_mutex_unlock(&lock);
	log_warn(0,
		 "Slow request: container %s(init %d, cgroup %s) %s '%s' took %.1f ms: queue %.1f "
		 "ms, nsenter %.1f ms in %u round trips, cgroup reads %.1f ms, the rest %.1f ms%s",
		 name, (int)u->init_pid, u->cgroup, usage_kind_name(d->kind),
		 d->path ? d->path : "?", ms(d->total_ns), ms(d->queue_ns), ms(ns_ns),
		 rc ? rc->nsenter_trips : 0, ms(cg_ns),
		 ms(d->total_ns > known ? d->total_ns - known : 0), skipped ? " (and more)" : "");
	if (skipped)
		log_warn(0, "%" PRIu64 " more slow requests were not logged", skipped);
}

void usage_record(struct usage *u, const struct usage_done *d)
{
	struct usage_counters *c = &u->c;

	add(&c->requests[d->kind < _USAGE_KIND_MAX ? d->kind : 0], 1);
	if (d->r < 0)
		add(&c->errors[-d->r < USAGE_ERRNO_MAX ? -d->r : 0], 1);
	if (d->bytes_read)
		add(&c->bytes_read, d->bytes_read);
	if (d->bytes_written)
		add(&c->bytes_written, d->bytes_written);
	add(&c->latency[bucket_of(d->total_ns)], 1);
	add(&c->latency_ns, d->total_ns);
	if (d->queue_ns)
		add(&c->queue_ns, d->queue_ns);
	if (d->clock) {
		if (d->clock->nsenter_trips) {
			add(&c->nsenter_trips, d->clock->nsenter_trips);
			add(&c->nsenter_ns, d->clock->nsenter_ns);
		}
		if (d->clock->cgroup_ns)
			add(&c->cgroup_ns, d->clock->cgroup_ns);
	}
	if (config.slow_ns && d->total_ns >= config.slow_ns) {
		add(&c->slow, 1);
		log_slow(u, d);
	}
}

void usage_file_opened(struct usage *u)
{
	__atomic_fetch_add(&u->files, 1, __ATOMIC_RELAXED);
}

void usage_file_closed(struct usage *u)
{
	__atomic_fetch_sub(&u->files, 1, __ATOMIC_RELAXED);
}

uint64_t usage_requests(const struct usage_counters *c)
{
	uint64_t n = 0;

	for (int k = 0; k < _USAGE_KIND_MAX; k++)
		n += c->requests[k];
	return n;
}

uint64_t usage_errors(const struct usage_counters *c)
{
	uint64_t n = 0;

	for (int e = 0; e < USAGE_ERRNO_MAX; e++)
		n += c->errors[e];
	return n;
}

uint64_t usage_quantile_us(const struct usage_counters *c, double q)
{
	uint64_t total = 0, seen = 0, want;

	for (int i = 0; i < USAGE_BUCKETS; i++)
		total += c->latency[i];
	if (!total)
		return 0;
	want = (uint64_t)(q * (double)total + 0.999999);
	if (want < 1)
		want = 1;
	for (int i = 0; i < USAGE_BUCKETS - 1; i++) {
		seen += c->latency[i];
		if (seen >= want)
			return usage_bucket_us[i];
	}
	return UINT64_MAX;
}

void usage_tick(void)
{
	pthread_mutex_lock(&lock);
	for (struct usage *u = live; u; u = u->next) {
		uint64_t n = 0;

		for (int k = 0; k < _USAGE_KIND_MAX; k++)
			n += load(&u->c.requests[k]);
		u->ring[u->ticks++ % (RATE_WINDOW + 1)] = n;
	}
	pthread_mutex_unlock(&lock);
}

/* Requests per second over the ticks in the ring (under lock). */
static double rate_of(const struct usage *u, uint64_t now_requests)
{
	unsigned have = u->ticks < RATE_WINDOW ? u->ticks : RATE_WINDOW;
	uint64_t then;

	if (have == 0)
		return 0;
	then = u->ring[(u->ticks - have) % (RATE_WINDOW + 1)];
	return now_requests >= then ? (double)(now_requests - then) / have : 0;
}

static void copy_name(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static int by_load(const void *a, const void *b)
{
	const struct usage_entry *x = a, *y = b;
	uint64_t nx = usage_requests(&x->c), ny = usage_requests(&y->c);

	if (x->rate != y->rate)
		return x->rate < y->rate ? 1 : -1;
	if (nx != ny)
		return nx < ny ? 1 : -1;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

int usage_report_take(struct usage_report *ret)
{
	struct usage_report r = {0};
	size_t n = 0, i = 0;

	pthread_mutex_lock(&lock);
	for (struct usage *u = live; u; u = u->next)
		n++;
	r.entries = calloc(n ? n : 1, sizeof(*r.entries));
	if (!r.entries) {
		pthread_mutex_unlock(&lock);
		return -ENOMEM;
	}
	r.totals = ended_counters;
	r.ended = ended;
	for (struct usage *u = live; u; u = u->next, i++) {
		struct usage_entry *e = &r.entries[i];

		e->serial = u->serial;
		e->init_pid = u->init_pid;
		e->host = u->host;
		copy_name(e->id, sizeof(e->id), u->id);
		copy_name(e->pod, sizeof(e->pod), u->pod);
		copy_name(e->ns, sizeof(e->ns), u->ns);
		copy_name(e->cgroup, sizeof(e->cgroup), u->cgroup);
		counters_add(&e->c, &u->c);
		counters_add(&r.totals, &e->c);
		e->rate = rate_of(u, usage_requests(&e->c));
		e->files = __atomic_load_n(&u->files, __ATOMIC_RELAXED);
		pthread_mutex_lock(&u->qlock);
		e->in_flight = u->in_flight;
		e->waiting = u->waiting;
		pthread_mutex_unlock(&u->qlock);
		r.in_flight += e->in_flight;
	}
	pthread_mutex_unlock(&lock);
	r.n = n;
	for (i = 0; i < n && nsenter; i++)
		nsenter_service_count_tag(nsenter, r.entries[i].serial, &r.entries[i].agents,
					  &r.entries[i].agent_fds);
	qsort(r.entries, n, sizeof(*r.entries), by_load);
	r.uptime_s = (double)(reqclock_now_ns() - started_ns) / 1e9;
	*ret = r;
	return 0;
}

void usage_report_done(struct usage_report *r)
{
	free(r->entries);
	r->entries = NULL;
}

void usage_entry_name(const struct usage_entry *e, char *buf, size_t size)
{
	if (e->host)
		snprintf(buf, size, "host");
	else if (e->pod[0])
		snprintf(buf, size, "%s%s%s", e->ns, e->ns[0] ? "/" : "", e->pod);
	else if (e->id[0])
		snprintf(buf, size, "%.12s", e->id);
	else
		snprintf(buf, size, "pid-%d", (int)e->init_pid);
}
