/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*
 * What one thread adds for one container: written by that thread alone, with relaxed
 * loads and stores (plain moves: no locked instruction, no line another thread writes),
 * and read the same way by reports. Errors, waits and slow requests are rare: they go to
 * the container's shared counters, with atomic adds.
 */
struct shard {
	uint64_t requests[_USAGE_KIND_MAX];
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t latency[USAGE_BUCKETS];
	uint64_t latency_ns;
	uint64_t queue_ns;
	uint64_t nsenter_ns;
	uint64_t cgroup_ns;
	uint64_t nsenter_trips;
};

/* Threads with a shard index of their own at once: the FUSE workers (--threads, 16 by
 * default), the control thread and the others. A thread beyond them adds to the shared
 * counters with atomics: exact all the same, only slower. */
#define SHARDS 64

/* in_flight in the low 32 bits of `state`, waiting in the high ones: one compare-and-swap
 * takes or gives back a slot, and sees the queue in the same step. */
#define WAITING_ONE (1ull << 32)

struct usage {
	struct usage *next, *prev; /* under `lock` below */
	bool listed;
	uint64_t serial;
	pid_t init_pid;
	bool host;
	char *id, *pod, *ns, *cgroup; /* under `lock` */

	/* One per thread index, made on the thread's first request for this container;
	 * published with a release store, freed with the record. */
	struct shard **shards;
	/* Rare events, and threads without a shard index: atomic adds. */
	struct usage_counters c;
	unsigned files;

	uint64_t state; /* in_flight | waiting << 32, atomic */
	pthread_mutex_t qlock;
	struct usage_waiter *head, *tail; /* under qlock */

	/* Requests at each of the last RATE_WINDOW ticks; under `lock`. */
	uint64_t ring[RATE_WINDOW + 1];
	unsigned ticks;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct usage *live;
static struct usage_counters ended_counters; /* under lock */
static uint64_t ended;
static struct usage_config config = {
    .max_in_flight = 0, /* no limit until usage_setup() sets one */
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

unsigned usage_default_max_in_flight(unsigned threads)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus > 1 ? (unsigned)(cpus / 2) : 1;

	n = MIN(n, threads / 2);
	return MAX(n, 1u);
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

/* Adds to a counter only this thread writes. */
static inline void bump(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* --- thread indexes: one per live thread, given back when the thread exits --- */

static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t index_used[(SHARDS + 63) / 64]; /* under index_lock */
static pthread_key_t index_key;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static __thread unsigned thread_index = UINT32_MAX; /* SHARDS: none free */

static void index_release(void *p)
{
	unsigned i = (unsigned)((uintptr_t)p - 1);

	pthread_mutex_lock(&index_lock);
	index_used[i / 64] &= ~(1ull << (i % 64));
	pthread_mutex_unlock(&index_lock);
}

static void index_key_make(void)
{
	if (pthread_key_create(&index_key, index_release) != 0)
		index_key = (pthread_key_t)-1;
}

static _unused_ unsigned index_take(void)
{
	unsigned i = SHARDS;

	pthread_once(&index_once, index_key_make);
	if (index_key != (pthread_key_t)-1) {
		pthread_mutex_lock(&index_lock);
		for (unsigned w = 0; w < ELEMENTSOF(index_used) && i == SHARDS; w++)
			if (~index_used[w]) {
				unsigned b = (unsigned)__builtin_ctzll(~index_used[w]);

				if (w * 64 + b < SHARDS) {
					i = w * 64 + b;
					index_used[w] |= 1ull << b;
				}
			}
		pthread_mutex_unlock(&index_lock);
		/* The thread's exit gives the index back; a shard it wrote goes on
		 * counting for the next thread that gets the index. */
		if (i < SHARDS && pthread_setspecific(index_key, (void *)(uintptr_t)(i + 1)) != 0) {
			index_release((void *)(uintptr_t)(i + 1));
			i = SHARDS;
		}
	}
	thread_index = i;
	return i;
}

/* This thread's shard of u, made on first use; NULL: add to u->c with atomics. */
static _unused_ struct shard *shard_of(struct usage *u)
{
	unsigned i = thread_index;
	struct shard *sh;

	if (__builtin_expect(i >= SHARDS, 0)) {
		if (i != UINT32_MAX)
			return NULL;
		i = index_take();
		if (i >= SHARDS)
			return NULL;
	}
	if (!u->shards)
		return NULL;
	sh = __atomic_load_n(&u->shards[i], __ATOMIC_RELAXED);
	if (__builtin_expect(!sh, 0)) {
		sh = calloc(1, sizeof(*sh));
		if (!sh)
			return NULL;
		__atomic_store_n(&u->shards[i], sh, __ATOMIC_RELEASE);
	}
	return sh;
}

static void shard_fold(struct usage_counters *to, const struct shard *sh)
{
	for (int k = 0; k < _USAGE_KIND_MAX; k++)
		to->requests[k] += load(&sh->requests[k]);
	to->bytes_read += load(&sh->bytes_read);
	to->bytes_written += load(&sh->bytes_written);
	for (int b = 0; b < USAGE_BUCKETS; b++)
		to->latency[b] += load(&sh->latency[b]);
	to->latency_ns += load(&sh->latency_ns);
	to->queue_ns += load(&sh->queue_ns);
	to->nsenter_ns += load(&sh->nsenter_ns);
	to->cgroup_ns += load(&sh->cgroup_ns);
	to->nsenter_trips += load(&sh->nsenter_trips);
}

/* Field by field: the record is written while it is read. */
static void counters_add(struct usage_counters *to, const struct usage_counters *from)
{
	const uint64_t *f = (const uint64_t *)from;
	uint64_t *t = (uint64_t *)to;

	for (size_t i = 0; i < sizeof(*from) / sizeof(uint64_t); i++)
		t[i] += load(&f[i]);
}

/* u's figures: its shared counters and every thread's shard. */
static void usage_sum(const struct usage *u, struct usage_counters *to)
{
	counters_add(to, &u->c);
	if (!u->shards)
		return;
	for (unsigned i = 0; i < SHARDS; i++) {
		const struct shard *sh = __atomic_load_n(&u->shards[i], __ATOMIC_ACQUIRE);

		if (sh)
			shard_fold(to, sh);
	}
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
		usage_sum(u, &ended_counters);
		ended++;
	}
	pthread_mutex_unlock(&lock);
	if (u->shards)
		for (unsigned i = 0; i < SHARDS; i++)
			free(u->shards[i]);
	free(u->shards);
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
	/* Without it, every thread adds to the shared counters. */
	u->shards = calloc(SHARDS, sizeof(*u->shards));
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

static unsigned state_flight(uint64_t st)
{
	return (unsigned)(st & 0xffffffffu);
}

static unsigned state_waiting(uint64_t st)
{
	return (unsigned)(st >> 32);
}

static bool state_room(uint64_t st)
{
	return config.max_in_flight == 0 || state_flight(st) < config.max_in_flight;
}

static bool state_swap(uint64_t *p, uint64_t *old, uint64_t new)
{
	return __atomic_compare_exchange_n(p, old, new, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Nobody waits and a slot is free: one compare-and-swap, no lock. */
bool usage_enter(struct usage *u)
{
	uint64_t st = __atomic_load_n(&u->state, __ATOMIC_RELAXED);

	do {
		if (state_waiting(st) || !state_room(st))
			return false;
	} while (!state_swap(&u->state, &st, st + 1));
	return true;
}

/* Under qlock: waiting changes only here and in usage_leave()'s slow path, so the count
 * and the list agree whenever the lock is free. */
int usage_queue(struct usage *u, struct usage_waiter *w)
{
	uint64_t st;

	pthread_mutex_lock(&u->qlock);
	st = __atomic_load_n(&u->state, __ATOMIC_RELAXED);
	for (;;) {
		if (state_room(st)) {
			if (!state_swap(&u->state, &st, st + 1))
				continue;
			pthread_mutex_unlock(&u->qlock);
			return 1;
		}
		if (config.max_queued && state_waiting(st) >= config.max_queued) {
			pthread_mutex_unlock(&u->qlock);
			return -EAGAIN;
		}
		if (state_swap(&u->state, &st, st + WAITING_ONE))
			break;
	}
	w->next = NULL;
	if (u->tail)
		u->tail->next = w;
	else
		u->head = w;
	u->tail = w;
	/* Before the lock is free: from then on w may be served, and u gone with it. */
	add(&u->c.queued, 1);
	pthread_mutex_unlock(&u->qlock);
	return 0;
}

struct usage_waiter *usage_leave(struct usage *u)
{
	struct usage_waiter *w;
	uint64_t st = __atomic_load_n(&u->state, __ATOMIC_RELAXED);

	/* Nobody waits: give the slot back without the lock. A request queued meanwhile
	 * sees the slot free (its swap fails, it looks again) and takes it. */
	while (!state_waiting(st))
		if (state_swap(&u->state, &st, st - 1))
			return NULL;
	pthread_mutex_lock(&u->qlock);
	st = __atomic_load_n(&u->state, __ATOMIC_RELAXED);
	for (;;) {
		if (!state_waiting(st)) {
			if (!state_swap(&u->state, &st, st - 1))
				continue;
			pthread_mutex_unlock(&u->qlock);
			return NULL;
		}
		/* the slot passes on to the first waiter: in_flight stays */
		if (state_swap(&u->state, &st, st - WAITING_ONE))
			break;
	}
	w = u->head;
	u->head = w->next;
	if (!u->head)
		u->tail = NULL;
	pthread_mutex_unlock(&u->qlock);
	return w;
}

/* Most requests take under 250 us: the first buckets are looked at first. */
static _unused_ unsigned bucket_of(uint64_t ns)
{
	unsigned i = 0;

	while (i < USAGE_BUCKETS - 1 && ns > usage_bucket_us[i] * 1000)
		i++;
	return i;
}

static _unused_ double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* One line a second at most, saying how many it left out. */
static _unused_ void log_slow(const struct usage *u, const struct usage_done *d)
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

#if PROCBOX_FIGURES
static void record_shared(struct usage_counters *c, const struct usage_done *d, unsigned kind,
			  unsigned bucket)
{
	add(&c->requests[kind], 1);
	if (d->bytes_read)
		add(&c->bytes_read, d->bytes_read);
	if (d->bytes_written)
		add(&c->bytes_written, d->bytes_written);
	add(&c->latency[bucket], 1);
	add(&c->latency_ns, d->total_ns);
	if (d->queue_ns)
		add(&c->queue_ns, d->queue_ns);
	if (d->clock && d->clock->nsenter_trips) {
		add(&c->nsenter_trips, d->clock->nsenter_trips);
		add(&c->nsenter_ns, d->clock->nsenter_ns);
	}
	if (d->clock && d->clock->cgroup_ns)
		add(&c->cgroup_ns, d->clock->cgroup_ns);
}

void usage_record(struct usage *u, const struct usage_done *d)
{
	unsigned kind = d->kind < _USAGE_KIND_MAX ? d->kind : 0, bucket = bucket_of(d->total_ns);
	struct shard *sh = shard_of(u);

	if (d->r < 0)
		add(&u->c.errors[-d->r < USAGE_ERRNO_MAX ? -d->r : 0], 1);
	if (__builtin_expect(!sh, 0))
		record_shared(&u->c, d, kind, bucket);
	else {
		bump(&sh->requests[kind], 1);
		bump(&sh->bytes_read, d->bytes_read);
		bump(&sh->bytes_written, d->bytes_written);
		bump(&sh->latency[bucket], 1);
		bump(&sh->latency_ns, d->total_ns);
		bump(&sh->queue_ns, d->queue_ns);
		if (d->clock && d->clock->nsenter_trips) {
			bump(&sh->nsenter_trips, d->clock->nsenter_trips);
			bump(&sh->nsenter_ns, d->clock->nsenter_ns);
		}
		if (d->clock && d->clock->cgroup_ns)
			bump(&sh->cgroup_ns, d->clock->cgroup_ns);
	}
	if (config.slow_ns && d->total_ns >= config.slow_ns) {
		add(&u->c.slow, 1);
		log_slow(u, d);
	}
}
#endif

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
		struct usage_counters c = {0};

		usage_sum(u, &c);
		u->ring[u->ticks++ % (RATE_WINDOW + 1)] = usage_requests(&c);
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
	uint64_t st;

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
		usage_sum(u, &e->c);
		counters_add(&r.totals, &e->c);
		e->rate = rate_of(u, usage_requests(&e->c));
		e->files = __atomic_load_n(&u->files, __ATOMIC_RELAXED);
		st = __atomic_load_n(&u->state, __ATOMIC_RELAXED);
		e->in_flight = state_flight(st);
		e->waiting = state_waiting(st);
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
