/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "handlers/sampler.h"
#include "handlers/viewstate.h"
#include "util/macro.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	struct container_registry *reg;
} sampler = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* One sample of one cgroup's views: its running and uninterruptible tasks, at the tick's
 * time. */
static void sample_cgroup(struct view_cgroup *rc, uint64_t tick_ns)
{
	struct cgroup_tasks tasks;

	/* A cgroup being removed with its container: the container goes next. */
	if (cgroup_read_tasks(rc->reader, 0, &tasks, NULL) < 0)
		return;
	pthread_mutex_lock(&rc->load_lock);
	/* The first tick that sees a cgroup is a sample of it already, as the kernel's next
	 * 5 s tick is for a task that has just started. */
	if (!rc->load.started) {
		rc->load.started = true;
		rc->load.next_ns = tick_ns;
	}
	loadavg_update(&rc->load, tick_ns, cgroup_tasks_active(&tasks));
	pthread_mutex_unlock(&rc->load_lock);
}

/* Every cgroup the container's views come from: its init's, and each pod member's that
 * has read a view. */
static void sample_container(struct container *ct, void *userdata)
{
	const uint64_t *tick_ns = userdata;
	struct view_cgroup *rc, *v[VIEW_CGROUPS_MAX];
	size_t n;

	if (container_is_host(ct) || view_cgroup_of_init(ct, &rc) < 0)
		return;
	/* Entries stay as long as the container, which the registry holds during the call. */
	n = view_cgroups_list(ct, v, ELEMENTSOF(v));
	for (size_t i = 0; i < n; i++)
		sample_cgroup(v[i], *tick_ns);
}

static void *sampler_main(void *arg)
{
	struct timespec next;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&sampler.lock);
	while (!sampler.stop) {
		uint64_t tick = (uint64_t)next.tv_sec * 1000000000u + (uint64_t)next.tv_nsec;

		pthread_mutex_unlock(&sampler.lock);
		/* Ticks at fixed times, as the kernel's calc_load: each container's first sample
		 * starts its clock, and every later tick is exactly one period after the last. */
		(void)container_registry_foreach(sampler.reg, sample_container, &tick);
		next.tv_sec += LOADAVG_PERIOD_NS / 1000000000u;
		pthread_mutex_lock(&sampler.lock);
		while (!sampler.stop &&
		       pthread_cond_timedwait(&sampler.cond, &sampler.lock, &next) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&sampler.lock);
	return NULL;
}

int sampler_start(struct container_registry *reg)
{
	pthread_condattr_t attr;
	int r;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sampler.cond, &attr);
	pthread_condattr_destroy(&attr);
	sampler.reg = reg;
	sampler.stop = false;
	r = -pthread_create(&sampler.thread, NULL, sampler_main, NULL);
	if (r < 0)
		return r;
	sampler.running = true;
	return 0;
}

void sampler_stop(void)
{
	if (!sampler.running)
		return;
	pthread_mutex_lock(&sampler.lock);
	sampler.stop = true;
	pthread_cond_signal(&sampler.cond);
	pthread_mutex_unlock(&sampler.lock);
	pthread_join(sampler.thread, NULL);
	pthread_cond_destroy(&sampler.cond);
	sampler.running = false;
}
