/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "container/container.h"
#include "lib/testns.h"
#include "usage/usage.h"

static void on_release(struct container *c, void *userdata)
{
}

static struct container_registry *reg;
static struct container *self;

static void setup(void)
{
	cr_assert_eq(container_registry_new(on_release, NULL, &reg), 0);
	cr_assert_eq(container_registry_get(reg, getpid(), &self), 0);
}

static void teardown(void)
{
	container_unref(self);
	container_registry_free(reg);
}

TestSuite(usage, .init = setup, .fini = teardown);

/* One slot: the second request waits, and the waiters are handed the slot in order. */
Test(usage, a_full_container_queues_its_own_requests_in_order)
{
	struct usage_config cfg = {.max_in_flight = 1};
	struct usage_waiter w1, w2;
	struct usage *u;

	usage_setup(&cfg, NULL);
	u = usage_get(self);
	cr_assert_not_null(u);
	cr_assert_eq(usage_get(self), u, "one record per container");
	cr_assert(usage_enter(u));
	cr_assert_not(usage_enter(u), "a second request may not run beside the first");
	cr_assert_not(usage_queue(u, &w1));
	cr_assert_not(usage_queue(u, &w2));
	cr_assert_eq(usage_leave(u), &w1);
	cr_assert_eq(usage_leave(u), &w2);
	cr_assert_null(usage_leave(u));
	cr_assert(usage_enter(u), "the slot is free again");
	cr_assert_null(usage_leave(u));
	/* a slot freed between usage_enter() failing and usage_queue(): no wait */
	cr_assert(usage_queue(u, &w1));
	cr_assert_null(usage_leave(u));
}

/* One slot and room for one waiter: a third request of the same container is refused at once,
 * and another container is served as if nothing happened. */
Test(usage, a_full_queue_refuses_with_eagain_and_no_other_container_notices)
{
	struct usage_config cfg = {.max_in_flight = 1, .max_queued = 1};
	struct testns t = {0};
	struct container *other = NULL;
	struct usage_waiter w1, w2, w3;
	struct usage *u, *v;
	const char *why;

	if (!testns_supported(&why))
		cr_skip_test("%s", why);
	cr_assert_eq(
	    testns_start(&(struct testns_opts){.clone_flags = CLONE_NEWUSER | CLONE_NEWNET}, &t),
	    0);
	cr_assert_eq(container_registry_get(reg, t.pid, &other), 0);
	cr_assert_neq(container_serial(other), container_serial(self), "two containers");

	usage_setup(&cfg, NULL);
	u = usage_get(self);
	v = usage_get(other);
	cr_assert(u && v && u != v);
	cr_assert(usage_enter(u), "the first request is served");
	cr_assert_eq(usage_queue(u, &w1), 0, "the second waits");
	cr_assert_eq(usage_queue(u, &w2), -EAGAIN, "the third is refused at once");
	cr_assert_eq(usage_queue(u, &w3), -EAGAIN, "and so is the next, while one waits");
	cr_assert(usage_enter(v), "another container is served meanwhile");
	cr_assert_eq(usage_queue(v, &w2), 0, "and has its own queue");
	cr_assert_eq(usage_leave(v), &w2);
	cr_assert_null(usage_leave(v));
	/* The waiter gets the slot; the queue has room again. */
	cr_assert_eq(usage_leave(u), &w1);
	cr_assert_eq(usage_queue(u, &w2), 0, "room again once the waiter was served");
	cr_assert_eq(usage_leave(u), &w2);
	cr_assert_null(usage_leave(u));

	container_unref(other);
	testns_stop(&t);
}

Test(usage, counts_and_quantiles)
{
	struct usage_config cfg = {.max_in_flight = 0};
	struct usage_report r;
	struct usage *u;
	bool found = false;

	if (!PROCBOX_FIGURES)
		cr_skip_test("built with -Dfigures=false: nothing is recorded");
	usage_setup(&cfg, NULL);
	u = usage_get(self);
	for (int i = 0; i < 98; i++)
		usage_record(u,
			     &(struct usage_done){
				 .kind = USAGE_READ, .r = 10, .bytes_read = 10, .total_ns = 20000});
	usage_record(u,
		     &(struct usage_done){.kind = USAGE_OPEN, .r = -ENOENT, .total_ns = 3000000});
	usage_record(u,
		     &(struct usage_done){.kind = USAGE_OPEN, .r = -EACCES, .total_ns = 3000000});
	cr_assert_eq(usage_report_take(&r), 0);
	for (size_t i = 0; i < r.n; i++) {
		const struct usage_counters *c = &r.entries[i].c;

		if (r.entries[i].serial != container_serial(self))
			continue;
		found = true;
		cr_assert_eq(c->requests[USAGE_READ], 98);
		cr_assert_eq(c->requests[USAGE_OPEN], 2);
		cr_assert_eq(c->errors[ENOENT], 1);
		cr_assert_eq(c->errors[EACCES], 1);
		cr_assert_eq(usage_errors(c), 2);
		cr_assert_eq(c->bytes_read, 980);
		cr_assert_eq(usage_quantile_us(c, 0.5), 25, "p50 in the 10..25 us bucket");
		cr_assert_eq(usage_quantile_us(c, 0.99), 5000, "p99 in the 2.5..5 ms bucket");
	}
	cr_assert(found);
	cr_assert_geq(usage_requests(&r.totals), 100);
	usage_report_done(&r);
}

/*
 * Threads racing for two slots of one container, as FUSE workers do: a request either
 * takes a slot, or waits and is served by whoever gives a slot back. No more than two are
 * ever served at once, no waiter is lost, and every thread's figures add up exactly.
 */
#define RACE_THREADS 4
#define RACE_REQUESTS 20000

struct race {
	struct usage *u;
	int serving, most;
	long served;
};

static void race_serve(struct race *r)
{
	int now = __atomic_add_fetch(&r->serving, 1, __ATOMIC_SEQ_CST);
	int most = __atomic_load_n(&r->most, __ATOMIC_RELAXED);

	while (now > most && !__atomic_compare_exchange_n(&r->most, &most, now, false,
							  __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		;
	__atomic_add_fetch(&r->served, 1, __ATOMIC_SEQ_CST);
	usage_record(r->u, &(struct usage_done){.kind = USAGE_READ, .r = 1, .bytes_read = 1});
	__atomic_sub_fetch(&r->serving, 1, __ATOMIC_SEQ_CST);
}

/* Serves in the slot this thread holds, then the waiters it is handed. */
static void race_run(struct race *r, struct usage_waiter *w)
{
	do {
		race_serve(r);
		free(w);
		w = usage_leave(r->u);
	} while (w);
}

static void *race_thread(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < RACE_REQUESTS; i++) {
		struct usage_waiter *w;

		if (usage_enter(r->u)) {
			race_run(r, NULL);
			continue;
		}
		w = malloc(sizeof(*w));
		cr_assert_not_null(w);
		if (usage_queue(r->u, w) > 0)
			race_run(r, w);
	}
	return NULL;
}

Test(usage, racing_threads_share_two_slots_and_count_exactly)
{
	struct usage_config cfg = {.max_in_flight = 2};
	struct race r = {0};
	pthread_t t[RACE_THREADS];
	struct usage_report rep;
	bool found = false;

	usage_setup(&cfg, NULL);
	r.u = usage_get(self);
	for (int i = 0; i < RACE_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, race_thread, &r), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(r.served, (long)RACE_THREADS * RACE_REQUESTS, "every request served once");
	cr_assert_leq(r.most, 2, "at most two at once, saw %d", r.most);
	cr_assert_eq(usage_report_take(&rep), 0);
	for (size_t i = 0; i < rep.n; i++) {
		const struct usage_entry *e = &rep.entries[i];

		if (e->serial != container_serial(self))
			continue;
		found = true;
		cr_assert_eq(e->in_flight, 0);
		cr_assert_eq(e->waiting, 0);
		if (PROCBOX_FIGURES) {
			cr_assert_eq(e->c.requests[USAGE_READ],
				     (uint64_t)RACE_THREADS * RACE_REQUESTS);
			cr_assert_eq(e->c.bytes_read, (uint64_t)RACE_THREADS * RACE_REQUESTS);
		}
	}
	cr_assert(found);
	usage_report_done(&rep);
}

/* The default limit: half the CPUs and half the workers, never 0, so that one container's
 * flood leaves CPUs and workers to the others on any machine. */
Test(usage, the_default_limit_leaves_half_the_cpus_and_workers_to_the_others)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned half_cpus = cpus > 1 ? (unsigned)(cpus / 2) : 1;
	unsigned threads[] = {1, 2, 3, 16, 100000};

	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		unsigned n = usage_default_max_in_flight(threads[i]);

		cr_expect_geq(n, 1, "threads %u", threads[i]);
		cr_expect_leq(n, threads[i] < 2 ? 1 : threads[i] / 2, "threads %u: %u", threads[i],
			      n);
		cr_expect_leq(n, half_cpus, "threads %u: %u with %ld CPUs", threads[i], n, cpus);
	}
	/* With more workers than CPUs, the CPUs decide. */
	cr_expect_eq(usage_default_max_in_flight(100000), half_cpus);
}
