/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/owner.h"
#include "handlers/hostfiles.h"
#include "handlers/viewstate.h"
#include "util/macro.h"

/* Detected once: the daemon's cgroup mounts do not move while it runs. */
static struct {
	pthread_mutex_t lock;
	bool detected;
	int error;
	struct cgroup_layout *layout;
} layout = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int layout_get(const struct cgroup_layout **ret)
{
	int r;

	pthread_mutex_lock(&layout.lock);
	if (!layout.detected) {
		layout.error = cgroup_layout_detect("", &layout.layout);
		layout.detected = true;
	}
	r = layout.error;
	*ret = layout.layout;
	pthread_mutex_unlock(&layout.lock);
	return r;
}

void viewstate_free(void)
{
	pthread_mutex_lock(&layout.lock);
	cgroup_layout_free(layout.layout);
	layout.layout = NULL;
	layout.detected = false;
	pthread_mutex_unlock(&layout.lock);
	hostfiles_free();
}

static void view_cgroup_free(struct view_cgroup *rc)
{

	if (!rc)
		return;
	cgroup_reader_free(rc->reader);
	cgroup_free(rc->cg);
	view_stat_history_done(&rc->history);
	pthread_mutex_destroy(&rc->lock);
	pthread_mutex_destroy(&rc->load_lock);
	free(rc->memo_text);
	pthread_mutex_destroy(&rc->memo_lock);
	free(rc);
}

/*
 * A container's views, one per cgroup its readers' views come from (cgroup/owner.h): one
 * for most containers, one per member for a pod whose members share the container's
 * namespaces. Entries live as long as the container: readers hold them without a
 * reference. At most VIEW_CGROUPS_MAX; beyond, readers share the container init's.
 */

struct view_cgroups {
	pthread_mutex_t lock;
	size_t n;
	struct {
		char *owner; /* cgroup_owner_text() of the readers it serves */
		struct view_cgroup *rc;
	} v[VIEW_CGROUPS_MAX];
};

static void view_cgroups_free(void *p)
{
	struct view_cgroups *all = p;

	if (!all)
		return;
	for (size_t i = 0; i < all->n; i++) {
		free(all->v[i].owner);
		view_cgroup_free(all->v[i].rc);
	}
	pthread_mutex_destroy(&all->lock);
	free(all);
}

static struct container_slot views_slot = {.free_fn = view_cgroups_free};

static struct view_cgroups *view_cgroups_of(struct container *ct)
{
	struct view_cgroups *all = container_slot_get(ct, &views_slot);

	if (all)
		return all;
	all = calloc(1, sizeof(*all));
	if (!all)
		return NULL;
	pthread_mutex_init(&all->lock, NULL);
	return container_slot_set(ct, &views_slot, all);
}

static int view_cgroup_new(const struct cgroup_layout *l, const char *owner,
			   struct view_cgroup **ret)
{
	struct view_cgroup *rc;
	struct cgroup *cg = NULL;
	int r;

	r = cgroup_resolve_text(l, owner, &cg);
	if (r < 0)
		return r;
	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		cgroup_free(cg);
		return -ENOMEM;
	}
	rc->cg = cg;
	pthread_mutex_init(&rc->lock, NULL);
	pthread_mutex_init(&rc->load_lock, NULL);
	pthread_mutex_init(&rc->memo_lock, NULL);
	/* Without a memory or CPU controller the other views still work; with a cgroup that
	 * is already gone nothing does, and nothing is kept. */
	r = cgroup_reader_open(cg, CGROUP_READ_MEMORY | CGROUP_READ_CPU, &rc->reader);
	if (r < 0) {
		view_cgroup_free(rc);
		return r;
	}
	*ret = rc;
	return 0;
}

/* The views of the cgroup whose owner text is owner; made on first use. */
static int view_cgroup_lookup(struct container *ct, const char *owner, struct view_cgroup **ret)
{
	const struct cgroup_layout *l;
	struct view_cgroups *all;
	struct view_cgroup *rc = NULL;
	int r = 0;

	r = layout_get(&l);
	if (r < 0)
		return r;
	all = view_cgroups_of(ct);
	if (!all)
		return -ENOMEM;
	pthread_mutex_lock(&all->lock);
	for (size_t i = 0; i < all->n && !rc; i++)
		if (strcmp(all->v[i].owner, owner) == 0)
			rc = all->v[i].rc;
	if (!rc && all->n < VIEW_CGROUPS_MAX) {
		char *key = strdup(owner);

		r = key ? view_cgroup_new(l, owner, &rc) : -ENOMEM;
		if (r >= 0) {
			all->v[all->n].owner = key;
			all->v[all->n].rc = rc;
			all->n++;
		} else
			free(key);
	}
	/* Full: the first entry, which is the init's whenever the init's were asked for
	 * first (the sampler asks at the first tick that sees the container). */
	if (!rc && r >= 0)
		rc = all->v[0].rc;
	pthread_mutex_unlock(&all->lock);
	if (r < 0)
		return r;
	*ret = rc;
	return 0;
}

int view_cgroup_of_init(struct container *ct, struct view_cgroup **ret)
{
	_cleanup_free_ char *owner = NULL;
	int r;

	r = cgroup_owner_of(container_init_pid(ct), 0, &owner);
	/* The init is gone: the container is being torn down, and its cgroup with it. */
	if (r == -ESRCH)
		return -ENOENT;
	if (r < 0)
		return r;
	return view_cgroup_lookup(ct, owner, ret);
}

int view_cgroup_of_caller(const struct pb_caller *c, struct view_cgroup **ret)
{
	_cleanup_free_ char *owner = NULL;
	int r;

	r = cgroup_owner_of(c->pid, container_init_pid(c->container), &owner);
	if (r == -ESRCH)
		return -ENOENT;
	if (r < 0)
		return r;
	return view_cgroup_lookup(c->container, owner, ret);
}
size_t view_cgroups_list(struct container *ct, struct view_cgroup **v, size_t max)
{
	struct view_cgroups *all = view_cgroups_of(ct);
	size_t n;

	if (!all)
		return 0;
	pthread_mutex_lock(&all->lock);
	n = all->n < max ? all->n : max;
	for (size_t i = 0; i < n; i++)
		v[i] = all->v[i].rc;
	pthread_mutex_unlock(&all->lock);
	return n;
}

static struct host_file host_online = HOST_FILE("/sys/devices/system/cpu/online", true);

int view_shown_cpus(const struct pb_caller *c, struct cpulist *ret)
{
	_cleanup_free_ char *text = NULL;
	struct cgroup_cpu cpu;
	struct cpulist online;
	struct view_cgroup *rc;
	int r;

	r = host_file_read(&host_online, &text, NULL);
	if (r < 0)
		return r;
	r = cpulist_parse(text, &online);
	if (r < 0)
		return r;
	if (pb_caller_is_host(c)) {
		*ret = online;
		return 0;
	}
	r = view_cgroup_of_caller(c, &rc);
	if (r < 0)
		return r;
	r = cgroup_read_cpu(rc->reader, &cpu);
	/* Neither cpu nor cpuset controller on this host: nothing limits the container. */
	if (r == -EOPNOTSUPP)
		cpu = (struct cgroup_cpu){.quota_us = CGROUP_UNLIMITED};
	else if (r < 0)
		return r;
	return view_cpus(&cpu, &online, ret);
}
