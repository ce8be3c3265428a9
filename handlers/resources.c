/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/loadavg.h"
#include "cgroup/owner.h"
#include "cgroup/views.h"
#include "handlers/resources.h"
#include "util/fileio.h"
#include "util/macro.h"

#define CPU_DIR "sys/devices/system/cpu"
#define HOST_CPU_DIR "/sys/devices/system/cpu"

/* ---- files read again and again through one fd ---- */

/* The whole content of an open proc, sys or cgroup file, from offset 0 (READ_ONE_RECORD:
 * see util/fileio.h). */
static int pread_whole(int fd, bool one_record, char **ret, size_t *ret_len)
{
	return read_full_fd_flags(fd, READ_FROM_START | (one_record ? READ_ONE_RECORD : 0), ret,
				  ret_len);
}

/* The host's files the views start from, opened once for the daemon's life. */
enum host_file {
	HOST_MEMINFO,
	HOST_STAT,
	HOST_CPUINFO,
	HOST_DISKSTATS,
	HOST_ONLINE,
	HOST_LOADAVG,
	_HOST_FILE_MAX,
};

static const struct {
	const char *path;
	bool one_record;
} host_files[_HOST_FILE_MAX] = {
    /* clang-format off */
    [HOST_MEMINFO] = {"/proc/meminfo", true},
    [HOST_STAT] = {"/proc/stat", true},
    [HOST_CPUINFO] = {"/proc/cpuinfo", false},
    [HOST_DISKSTATS] = {"/proc/diskstats", false},
    [HOST_ONLINE] = {HOST_CPU_DIR "/online", true},
    [HOST_LOADAVG] = {"/proc/loadavg", true},
    /* clang-format on */
};

static int host_fds[_HOST_FILE_MAX];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void host_open(void)
{
	for (size_t i = 0; i < _HOST_FILE_MAX; i++) {
		int fd = open(host_files[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

		host_fds[i] = fd >= 0 ? fd : negative_errno();
	}
}

static int host_read(enum host_file f, char **ret, size_t *ret_len)
{
	pthread_once(&host_once, host_open);
	if (host_fds[f] < 0)
		return host_fds[f];
	return pread_whole(host_fds[f], host_files[f].one_record, ret, ret_len);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * How old the host's /proc/meminfo may be when a view uses it. The kernel's own figures lag
 * more: the per-CPU vmstat deltas behind /proc/meminfo are folded every second
 * (vm.stat_interval). The container's figures are as fresh as its reader keeps them
 * (cgroup_read_memory()).
 */
#define MEMINFO_MAX_AGE_NS 1000000u

/* The host's /proc/meminfo as of at most MEMINFO_MAX_AGE_NS ago; gen changes with the text. */
struct host_meminfo {
	atomic_uint refs;
	uint64_t gen;
	size_t len;
	char *text;
};

static struct {
	pthread_mutex_t lock;
	struct host_meminfo *cur;
	uint64_t read_ns;
} host_meminfo_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void host_meminfo_unref(struct host_meminfo *h)
{
	if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
		free(h->text);
		free(h);
	}
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct host_meminfo *, host_meminfo_unref);

static int host_meminfo_get(struct host_meminfo **ret)
{
	struct host_meminfo *h, *old;
	uint64_t now = now_ns();
	char *text = NULL;
	size_t len;
	int r;

	pthread_mutex_lock(&host_meminfo_cache.lock);
	h = host_meminfo_cache.cur;
	if (h && now - host_meminfo_cache.read_ns < MEMINFO_MAX_AGE_NS) {
		atomic_fetch_add(&h->refs, 1);
		pthread_mutex_unlock(&host_meminfo_cache.lock);
		*ret = h;
		return 0;
	}
	r = host_read(HOST_MEMINFO, &text, &len);
	if (r < 0) {
		pthread_mutex_unlock(&host_meminfo_cache.lock);
		return r;
	}
	host_meminfo_cache.read_ns = now;
	old = host_meminfo_cache.cur;
	if (old && old->len == len && memcmp(old->text, text, len) == 0) {
		free(text);
	} else {
		h = calloc(1, sizeof(*h));
		if (!h) {
			free(text);
			pthread_mutex_unlock(&host_meminfo_cache.lock);
			return -ENOMEM;
		}
		atomic_init(&h->refs, 1);
		h->gen = old ? old->gen + 1 : 1;
		h->text = text;
		h->len = len;
		host_meminfo_cache.cur = h;
		host_meminfo_unref(old);
	}
	h = host_meminfo_cache.cur;
	atomic_fetch_add(&h->refs, 1);
	pthread_mutex_unlock(&host_meminfo_cache.lock);
	*ret = h;
	return 0;
}

/* Detected once: the daemon's cgroup mounts do not move while it runs. */
static struct cgroup_layout *layout;
static int layout_error;
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

static void layout_detect(void)
{
	layout_error = cgroup_layout_detect("", &layout);
}

static int layout_get(const struct cgroup_layout **ret)
{
	pthread_once(&layout_once, layout_detect);
	if (layout_error < 0)
		return layout_error;
	*ret = layout;
	return 0;
}

/* ---- per-container state ---- */

struct res_cgroup {
	struct cgroup *cg;
	struct cgroup_reader *reader;
	pthread_mutex_t lock; /* history */
	struct view_stat_history history;

	pthread_mutex_t load_lock;
	struct loadavg load; /* sampled every 5 s by the sampler, never by a read */

	/* proc/meminfo as last rendered, and what from: view_meminfo() is a pure function of
	 * the two, and both stay the same between most reads (see stat_values()). */
	pthread_mutex_t memo_lock;
	bool memo_valid;
	struct cgroup_memory memo_mem;
	uint64_t memo_host_gen;
	char *memo_text;
	size_t memo_text_len;
};

static void res_cgroup_free(void *p)
{
	struct res_cgroup *rc = p;

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
 * reference. At most RES_CGROUPS_MAX; beyond, readers share the container init's.
 */
#define RES_CGROUPS_MAX 32

struct res_cgroups {
	pthread_mutex_t lock;
	size_t n;
	struct {
		char *owner; /* cgroup_owner_text() of the readers it serves */
		struct res_cgroup *rc;
	} v[RES_CGROUPS_MAX];
};

static void res_cgroups_free(void *p)
{
	struct res_cgroups *all = p;

	if (!all)
		return;
	for (size_t i = 0; i < all->n; i++) {
		free(all->v[i].owner);
		res_cgroup_free(all->v[i].rc);
	}
	pthread_mutex_destroy(&all->lock);
	free(all);
}

static struct res_cgroups *res_cgroups_of(struct container *ct)
{
	struct res_cgroups *all = container_slot_get(ct, CONTAINER_SLOT_CGROUP);

	if (all)
		return all;
	all = calloc(1, sizeof(*all));
	if (!all)
		return NULL;
	pthread_mutex_init(&all->lock, NULL);
	return container_slot_set(ct, CONTAINER_SLOT_CGROUP, all, res_cgroups_free);
}

static int res_cgroup_new(const struct cgroup_layout *l, const char *owner, struct res_cgroup **ret)
{
	struct res_cgroup *rc;
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
		res_cgroup_free(rc);
		return r;
	}
	*ret = rc;
	return 0;
}

/* The views of the cgroup whose owner text is owner; made on first use. */
static int res_cgroup_lookup(struct container *ct, const char *owner, struct res_cgroup **ret)
{
	const struct cgroup_layout *l;
	struct res_cgroups *all;
	struct res_cgroup *rc = NULL;
	int r = 0;

	r = layout_get(&l);
	if (r < 0)
		return r;
	all = res_cgroups_of(ct);
	if (!all)
		return -ENOMEM;
	pthread_mutex_lock(&all->lock);
	for (size_t i = 0; i < all->n && !rc; i++)
		if (strcmp(all->v[i].owner, owner) == 0)
			rc = all->v[i].rc;
	if (!rc && all->n < RES_CGROUPS_MAX) {
		char *key = strdup(owner);

		r = key ? res_cgroup_new(l, owner, &rc) : -ENOMEM;
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

/* The views of the cgroup of the container's init. */
static int res_cgroup_init(struct container *ct, struct res_cgroup **ret)
{
	_cleanup_free_ char *owner = NULL;
	int r;

	r = cgroup_owner_of(container_init_pid(ct), 0, &owner);
	/* The init is gone: the container is being torn down, and its cgroup with it. */
	if (r == -ESRCH)
		return -ENOENT;
	if (r < 0)
		return r;
	return res_cgroup_lookup(ct, owner, ret);
}

/* The views of the caller's cgroup, as cgroup/owner.h decides it: a pod member's own, a
 * system container's whole. */
static int res_cgroup_get(const struct pb_caller *c, struct res_cgroup **ret)
{
	_cleanup_free_ char *owner = NULL;
	int r;

	r = cgroup_owner_of(c->pid, container_init_pid(c->container), &owner);
	if (r == -ESRCH)
		return -ENOENT;
	if (r < 0)
		return r;
	return res_cgroup_lookup(c->container, owner, ret);
}

static int container_memory(const struct pb_caller *c, struct res_cgroup **ret_rc,
			    struct cgroup_memory *ret)
{
	struct res_cgroup *rc;
	int r;

	r = res_cgroup_get(c, &rc);
	if (r < 0)
		return r;
	if (ret_rc)
		*ret_rc = rc;
	return cgroup_read_memory(rc->reader, ret);
}

static bool memory_equal(const struct cgroup_memory *a, const struct cgroup_memory *b)
{
	return a->limit == b->limit && a->usage == b->usage &&
	       a->swap_accounted == b->swap_accounted && a->swap_limit == b->swap_limit &&
	       a->swap_usage == b->swap_usage && a->has_slab == b->has_slab && a->anon == b->anon &&
	       a->file == b->file && a->shmem == b->shmem && a->file_mapped == b->file_mapped &&
	       a->file_dirty == b->file_dirty && a->file_writeback == b->file_writeback &&
	       a->active_anon == b->active_anon && a->inactive_anon == b->inactive_anon &&
	       a->active_file == b->active_file && a->inactive_file == b->inactive_file &&
	       a->unevictable == b->unevictable && a->slab == b->slab &&
	       a->slab_reclaimable == b->slab_reclaimable && a->swapcached == b->swapcached;
}

static char *memdup_str(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = 0;
	}
	return p;
}

/* The container's CPUs as host CPU numbers (view_cpus()), or the host's online ones. */
static int shown_cpus(const struct pb_caller *c, struct cpulist *ret)
{
	_cleanup_free_ char *text = NULL;
	struct cgroup_cpu cpu;
	struct cpulist online;
	struct res_cgroup *rc;
	int r;

	r = host_read(HOST_ONLINE, &text, NULL);
	if (r < 0)
		return r;
	r = cpulist_parse(text, &online);
	if (r < 0)
		return r;
	if (pb_caller_is_host(c)) {
		*ret = online;
		return 0;
	}
	r = res_cgroup_get(c, &rc);
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

static int text_result(int r, char *text, char **ret, size_t *ret_len)
{
	if (r < 0)
		return r;
	*ret = text;
	*ret_len = strlen(text);
	return 0;
}

/* ---- proc/meminfo, proc/swaps ---- */

static int meminfo_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	_cleanup_(host_meminfo_unrefp) struct host_meminfo *host = NULL;
	struct cgroup_memory mem;
	struct res_cgroup *rc = NULL;
	char *text = NULL, *copy;
	int r;

	if (pb_caller_is_host(c))
		return host_read(HOST_MEMINFO, ret, ret_len);
	r = container_memory(c, &rc, &mem);
	if (r < 0)
		return r;
	r = host_meminfo_get(&host);
	if (r < 0)
		return r;

	pthread_mutex_lock(&rc->memo_lock);
	if (rc->memo_valid && rc->memo_host_gen == host->gen && memory_equal(&rc->memo_mem, &mem)) {
		text = memdup_str(rc->memo_text, rc->memo_text_len);
		*ret_len = rc->memo_text_len;
		pthread_mutex_unlock(&rc->memo_lock);
		if (!text)
			return -ENOMEM;
		*ret = text;
		return 0;
	}
	pthread_mutex_unlock(&rc->memo_lock);

	r = view_meminfo(host->text, &mem, &text);
	if (r < 0)
		return r;
	*ret = text;
	*ret_len = strlen(text);
	copy = memdup_str(text, *ret_len);
	if (!copy)
		return 0; /* served all the same, just not remembered */
	pthread_mutex_lock(&rc->memo_lock);
	free(rc->memo_text);
	rc->memo_text = copy;
	rc->memo_text_len = *ret_len;
	rc->memo_host_gen = host->gen;
	rc->memo_mem = mem;
	rc->memo_valid = true;
	pthread_mutex_unlock(&rc->memo_lock);
	return 0;
}

int resources_swaps_content(const struct pb_caller *c, char **ret, size_t *ret_len)
{
	_cleanup_(host_meminfo_unrefp) struct host_meminfo *host = NULL;
	struct cgroup_memory mem;
	char *text = NULL;
	int r;

	if (pb_caller_is_host(c))
		return read_full_file("/proc/swaps", ret, ret_len);
	r = container_memory(c, NULL, &mem);
	/* No memory controller: the kernel keeps no swap figures for the container, and it
	 * has no swap of its own to show. */
	if (r == -EOPNOTSUPP)
		mem = (struct cgroup_memory){.swap_accounted = false};
	else if (r < 0)
		return r;
	r = host_meminfo_get(&host);
	if (r < 0)
		return r;
	r = view_swaps(host->text, &mem, &text);
	return text_result(r, text, ret, ret_len);
}

/* ---- proc/cpuinfo, proc/stat ---- */

static int cpuinfo_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	_cleanup_free_ char *host = NULL;
	struct cpulist cpus;
	char *text = NULL;
	int r;

	if (pb_caller_is_host(c))
		return host_read(HOST_CPUINFO, ret, ret_len);
	r = shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	r = host_read(HOST_CPUINFO, &host, NULL);
	if (r < 0)
		return r;
	r = view_cpuinfo(host, &cpus, &text);
	return text_result(r, text, ret, ret_len);
}

static int stat_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *host = NULL;
	struct cgroup_cpu_usage usage;
	struct cgroup_tasks tasks;
	struct res_cgroup *rc;
	struct cpulist cpus;
	char *text = NULL;
	int r;

	if (pb_caller_is_host(c))
		return host_read(HOST_STAT, ret, ret_len);
	r = shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	r = res_cgroup_get(c, &rc);
	if (r < 0)
		return r;
	r = cgroup_read_tasks(rc->reader, c->pid, &tasks, NULL);
	if (r < 0)
		return r;
	r = host_read(HOST_STAT, &host, NULL);
	if (r < 0)
		return r;
	r = cgroup_read_cpu_usage(rc->reader, &usage);
	if (r < 0)
		return r;
	pthread_mutex_lock(&rc->lock);
	r = view_stat(host, &cpus, &usage, &tasks, &rc->history, &text);
	pthread_mutex_unlock(&rc->lock);
	cgroup_cpu_usage_done(&usage);
	return text_result(r, text, ret, ret_len);
}

int resources_cpu_time(const struct pb_caller *c, unsigned *ret_ncpus, uint64_t *ret_busy_ns)
{
	struct cgroup_cpu_usage usage;
	struct res_cgroup *rc;
	struct cpulist cpus;
	int r;

	r = shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	r = res_cgroup_get(c, &rc);
	if (r < 0)
		return r;
	r = cgroup_read_cpu_usage(rc->reader, &usage);
	if (r < 0)
		return r;
	*ret_ncpus = cpulist_count(&cpus);
	*ret_busy_ns = usage.user_ns + usage.system_ns;
	cgroup_cpu_usage_done(&usage);
	return 0;
}

/* ---- proc/loadavg ---- */

static int loadavg_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	struct cgroup_tasks tasks;
	struct res_cgroup *rc;
	struct loadavg now_load;
	char *text = NULL;
	pid_t last;
	int r;

	if (pb_caller_is_host(c))
		return host_read(HOST_LOADAVG, ret, ret_len);
	r = res_cgroup_get(c, &rc);
	if (r < 0)
		return r;
	r = cgroup_read_tasks(rc->reader, c->pid, &tasks, &last);
	if (r < 0)
		return r;
	/* A read samples nothing: the sampler does, every 5 s (resources_sampler_start()). */
	pthread_mutex_lock(&rc->load_lock);
	now_load = rc->load;
	pthread_mutex_unlock(&rc->load_lock);
	r = view_loadavg(&now_load, &tasks, last, &text);
	return text_result(r, text, ret, ret_len);
}

/* ---- the load average sampler ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	struct container_registry *reg;
} sampler = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* One sample of one cgroup's views: its running and uninterruptible tasks, at the tick's
 * time. */
static void sample_cgroup(struct res_cgroup *rc, uint64_t tick_ns)
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
	struct res_cgroup *rc, *v[RES_CGROUPS_MAX];
	struct res_cgroups *all;
	size_t n;

	if (container_is_host(ct) || res_cgroup_init(ct, &rc) < 0)
		return;
	all = res_cgroups_of(ct);
	if (!all)
		return;
	/* Entries stay as long as the container, which the registry holds during the call. */
	pthread_mutex_lock(&all->lock);
	n = all->n;
	for (size_t i = 0; i < n; i++)
		v[i] = all->v[i].rc;
	pthread_mutex_unlock(&all->lock);
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

int resources_sampler_start(struct container_registry *reg)
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

void resources_sampler_stop(void)
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

/* ---- proc/diskstats ---- */

static int diskstats_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			     size_t *ret_len)
{
	_cleanup_free_ char *host = NULL;
	struct cgroup_io io;
	struct res_cgroup *rc;
	char *text = NULL;
	int r;

	if (pb_caller_is_host(c))
		return host_read(HOST_DISKSTATS, ret, ret_len);
	r = res_cgroup_get(c, &rc);
	if (r < 0)
		return r;
	r = cgroup_read_io(rc->reader, &io);
	if (r < 0)
		return r;
	r = host_read(HOST_DISKSTATS, &host, NULL);
	if (r >= 0)
		r = view_diskstats(host, &io, &text);
	cgroup_io_done(&io);
	return text_result(r, text, ret, ret_len);
}

int resources_diskstats_content(const struct pb_caller *c, char **ret, size_t *ret_len)
{
	return diskstats_content(c, NULL, ret, ret_len);
}

/* ---- sys/devices/system/cpu ---- */

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static int cpu_online_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			      size_t *ret_len)
{
	struct cpulist cpus;
	char *text = NULL;
	int r;

	if (pb_caller_is_host(c)) {
		char path[64];

		snprintf(path, sizeof(path), "/%s", f->path);
		return read_full_file(path, ret, ret_len);
	}
	r = shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	r = view_cpu_online(&cpus, &text);
	return text_result(r, text, ret, ret_len);
}

/* possible == online for a container: no CPU of its is ever offline. */
static int cpu_offline_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			       size_t *ret_len)
{
	if (pb_caller_is_host(c))
		return read_full_file(HOST_CPU_DIR "/offline", ret, ret_len);
	*ret = strdup("\n");
	if (!*ret)
		return -ENOMEM;
	*ret_len = 1;
	return 0;
}

/* N for a "cpuN" name of len bytes, -1 for any other name. */
static int cpu_number(const char *name, size_t len)
{
	unsigned long v = 0;

	if (len < 4 || len > 8 || memcmp(name, "cpu", 3) != 0)
		return -1;
	for (size_t i = 3; i < len; i++) {
		if (name[i] < '0' || name[i] > '9' || (i == 3 && name[i] == '0' && len > 4))
			return -1;
		v = v * 10 + (unsigned long)(name[i] - '0');
	}
	return v < CPULIST_MAX ? (int)v : -1;
}

static bool cpu_dir_emulated(const char *name)
{
	return strcmp(name, "online") == 0 || strcmp(name, "possible") == 0 ||
	       strcmp(name, "present") == 0 || strcmp(name, "offline") == 0;
}

/* The host's path for a path at or below CPU_DIR: a container has the cpuN folders of its own
 * CPUs only, under their host ids; every other entry is the host's own. */
static int cpu_host_path(const struct pb_caller *c, const char *path, char *buf, size_t size)
{
	const char *rest = path + strlen(CPU_DIR), *end;
	struct cpulist cpus;
	int n, r;

	if (*rest == 0 || pb_caller_is_host(c))
		goto same;
	rest++;
	end = strchrnul(rest, '/');
	n = cpu_number(rest, (size_t)(end - rest));
	if (n < 0)
		goto same;
	r = shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	if (!cpulist_contains(&cpus, (unsigned)n))
		return -ENOENT;
	r = snprintf(buf, size, "%s/cpu%d%s", HOST_CPU_DIR, n, end);
	return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
same:
	r = snprintf(buf, size, "/%s", path);
	return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

static int cpu_dir_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	char host[PATH_MAX];
	struct stat hst;
	mode_t perm;
	int r;

	r = cpu_host_path(c, path, host, sizeof(host));
	if (r < 0)
		return r;
	if (lstat(host, &hst) < 0)
		return negative_errno();
	/* Read-only: the container changes nothing of the host's CPUs here. */
	perm = S_ISLNK(hst.st_mode) ? 0777 : (hst.st_mode & 07555);
	pb_default_stat(c, (hst.st_mode & S_IFMT) | perm, st);
	if (!S_ISREG(hst.st_mode))
		st->st_size = 0;
	return 0;
}

static int cpu_dir_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	_cleanup_(closedirp) DIR *dir = NULL;
	bool top = strcmp(path, CPU_DIR) == 0 && !pb_caller_is_host(c);
	char host[PATH_MAX];
	struct dirent *de;
	int r;

	r = cpu_host_path(c, path, host, sizeof(host));
	if (r < 0)
		return r;
	dir = opendir(host);
	if (!dir)
		return negative_errno();
	while ((de = readdir(dir))) {
		mode_t type = de->d_type == DT_DIR   ? S_IFDIR
			      : de->d_type == DT_LNK ? S_IFLNK
						     : S_IFREG;

		if (de->d_name[0] == '.')
			continue;
		if (top && (cpu_number(de->d_name, strlen(de->d_name)) >= 0 ||
			    cpu_dir_emulated(de->d_name)))
			continue;
		r = pb_dir_add(d, de->d_name, type);
		if (r < 0)
			return r;
	}
	if (top) {
		struct cpulist cpus;

		r = shown_cpus(c, &cpus);
		if (r < 0)
			return r;
		for (unsigned i = 0, id; cpulist_nth(&cpus, i, &id) == 0; i++) {
			char name[16];

			snprintf(name, sizeof(name), "cpu%u", id);
			r = pb_dir_add(d, name, S_IFDIR);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int cpu_dir_readlink(const struct pb_caller *c, const char *path, char *buf, size_t size)
{
	char host[PATH_MAX];
	ssize_t n;
	int r;

	r = cpu_host_path(c, path, host, sizeof(host));
	if (r < 0)
		return r;
	n = readlink(host, buf, size);
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}

static int cpu_dir_open(const struct pb_caller *c, struct pb_file *f)
{
	char host[PATH_MAX];
	struct stat st;
	int r, fd;

	r = cpu_host_path(c, f->path, host, sizeof(host));
	if (r < 0)
		return r;
	fd = open(host, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0) {
		r = negative_errno();
		safe_close(fd);
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		safe_close(fd);
		return -EISDIR;
	}
	/* The daemon reads as host root: a file the host keeps from others (0400) is only for
	 * a caller that is host root itself, as the kernel would decide. */
	if (!(st.st_mode & S_IROTH) && c->uid != 0) {
		safe_close(fd);
		return -EACCES;
	}
	f->fd = fd;
	return 0;
}

static int cpu_dir_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	if (f->fd < 0)
		return -EBADF;
	return pread_whole(f->fd, false, ret, ret_len);
}

const struct handler resources_handlers[] = {
    {.path = "proc/meminfo", .mode = S_IFREG | 0444, .bind = true, .content = meminfo_content},
    {.path = "proc/cpuinfo",
     .mode = S_IFREG | 0444,
     .size = PB_VIEW_SIZE,
     .bind = true,
     .content = cpuinfo_content},
    {.path = "proc/stat",
     .mode = S_IFREG | 0444,
     .size = PB_VIEW_SIZE,
     .bind = true,
     .content = stat_content},
    {.path = "proc/loadavg", .mode = S_IFREG | 0444, .bind = true, .content = loadavg_content},
    {.path = "proc/diskstats",
     .mode = S_IFREG | 0444,
     .size = PB_VIEW_SIZE,
     .bind = true,
     .content = diskstats_content},
    /* Bound whole: htop, sysstat and psutil count the cpuN folders, which must be the
     * container's; the host's other entries (cpufreq, vulnerabilities, ...) are served
     * read-only through it. */
    {
	.path = CPU_DIR,
	.subtree = true,
	.mode = S_IFDIR | 0555,
	.bind = true,
	.getattr = cpu_dir_getattr,
	.readdir = cpu_dir_readdir,
	.readlink = cpu_dir_readlink,
	.open = cpu_dir_open,
	.content = cpu_dir_content,
    },
    {.path = CPU_DIR "/online", .mode = S_IFREG | 0444, .content = cpu_online_content},
    {.path = CPU_DIR "/possible", .mode = S_IFREG | 0444, .content = cpu_online_content},
    {.path = CPU_DIR "/present", .mode = S_IFREG | 0444, .content = cpu_online_content},
    {.path = CPU_DIR "/offline", .mode = S_IFREG | 0444, .content = cpu_offline_content},
};

const size_t n_resources_handlers = ELEMENTSOF(resources_handlers);
