/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/views.h"
#include "handlers/cpudir.h"
#include "handlers/hostfiles.h"
#include "handlers/viewstate.h"
#include "handlers/views.h"
#include "util/fileio.h"
#include "util/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct host_meminfo *, host_meminfo_unref);

/* The host's files the views start from (a caller in the host's namespaces gets them as
 * they are). */
static struct host_file host_meminfo = HOST_FILE("/proc/meminfo", true);
static struct host_file host_cpuinfo = HOST_FILE("/proc/cpuinfo", false);
static struct host_file host_stat = HOST_FILE("/proc/stat", true);
static struct host_file host_loadavg = HOST_FILE("/proc/loadavg", true);
static struct host_file host_diskstats = HOST_FILE("/proc/diskstats", false);

static int container_memory(const struct pb_caller *c, struct view_cgroup **ret_rc,
			    struct cgroup_memory *ret)
{
	struct view_cgroup *rc;
	int r;

	r = view_cgroup_of_caller(c, &rc);
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

static int text_result(int r, char *text, char **ret, size_t *ret_len)
{
	if (r < 0)
		return r;
	*ret = text;
	*ret_len = strlen(text);
	return 0;
}

/*
 * Most views start from a host file: a caller in the host's namespaces gets the file as it is;
 * for a container, the row's render() makes the view from the host's text. Such a row is
 *	{.path = ..., .content = view_content, .data = &(const struct view_row){&host_x, x_render}}
 */
struct view_row {
	struct host_file *host;
	int (*render)(const struct pb_caller *c, const char *host, char **ret);
};

static int view_row_content(const struct view_row *v, const struct pb_caller *c, char **ret,
			    size_t *ret_len)
{
	_cleanup_free_ char *host = NULL;
	char *text = NULL;
	int r;

	if (pb_caller_is_host(c))
		return host_file_read(v->host, ret, ret_len);
	r = host_file_read(v->host, &host, NULL);
	if (r < 0)
		return r;
	r = v->render(c, host, &text);
	return text_result(r, text, ret, ret_len);
}

static int view_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	return view_row_content(f->h->data, c, ret, ret_len);
}

/* ---- proc/meminfo, proc/swaps ---- */

static int meminfo_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	_cleanup_(host_meminfo_unrefp) struct host_meminfo *host = NULL;
	struct cgroup_memory mem;
	struct view_cgroup *rc = NULL;
	char *text = NULL, *copy;
	int r;

	if (pb_caller_is_host(c))
		return host_file_read(&host_meminfo, ret, ret_len);
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

/* The same per-container memory figures as proc/meminfo, so that the two agree. */
static int swaps_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
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

static int cpuinfo_render(const struct pb_caller *c, const char *host, char **ret)
{
	struct cpulist cpus;
	int r;

	r = view_shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	return view_cpuinfo(host, &cpus, ret);
}

static int stat_render(const struct pb_caller *c, const char *host, char **ret)
{
	struct cgroup_cpu_usage usage;
	struct cgroup_tasks tasks;
	struct view_cgroup *rc;
	struct cpulist cpus;
	int r;

	r = view_shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	r = view_cgroup_of_caller(c, &rc);
	if (r < 0)
		return r;
	r = cgroup_read_tasks(rc->reader, c->pid, &tasks, NULL);
	if (r < 0)
		return r;
	r = cgroup_read_cpu_usage(rc->reader, &usage);
	if (r < 0)
		return r;
	pthread_mutex_lock(&rc->lock);
	r = view_stat(host, &cpus, &usage, &tasks, &rc->history, ret);
	pthread_mutex_unlock(&rc->lock);
	cgroup_cpu_usage_done(&usage);
	return r;
}

/* The number of CPUs the container is shown (as in online) and the CPU time its cgroup has
 * used (user + system), for proc/uptime's idle field. */
static int cpu_time(const struct pb_caller *c, unsigned *ret_ncpus, uint64_t *ret_busy_ns)
{
	struct cgroup_cpu_usage usage;
	struct view_cgroup *rc;
	struct cpulist cpus;
	int r;

	r = view_shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	r = view_cgroup_of_caller(c, &rc);
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

/* ---- proc/uptime ---- */

static int uptime_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	struct timespec now;
	uint64_t busy_ns;
	unsigned ncpus;
	char buf[64];
	long tck;
	int r;

	if (pb_caller_is_host(c))
		return read_full_file("/proc/uptime", ret, ret_len);
	/* Without a cgroup to read (no CPU accounting controller, a cgroup being removed)
	 * the age is still right: idle then counts one CPU never busy. */
	if (cpu_time(c, &ncpus, &busy_ns) < 0) {
		ncpus = 1;
		busy_ns = 0;
	}
	/* The init's start time is in clock ticks since boot: the boot-time clock is the
	 * one it is measured against, suspend included. */
	if (clock_gettime(CLOCK_BOOTTIME, &now) < 0)
		return negative_errno();
	tck = sysconf(_SC_CLK_TCK);
	if (tck <= 0)
		return -EINVAL;
	r = view_uptime((double)now.tv_sec + (double)now.tv_nsec / 1e9,
			(double)container_init_start_ticks(c->container) / (double)tck, ncpus,
			(double)busy_ns / 1e9, buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret = strdup(buf);
	if (!*ret)
		return -ENOMEM;
	*ret_len = (size_t)r;
	return 0;
}

/* ---- proc/loadavg ---- */

static int loadavg_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	struct cgroup_tasks tasks;
	struct view_cgroup *rc;
	struct loadavg now_load;
	char *text = NULL;
	pid_t last;
	int r;

	if (pb_caller_is_host(c))
		return host_file_read(&host_loadavg, ret, ret_len);
	r = view_cgroup_of_caller(c, &rc);
	if (r < 0)
		return r;
	r = cgroup_read_tasks(rc->reader, c->pid, &tasks, &last);
	if (r < 0)
		return r;
	/* A read samples nothing: the sampler does, every 5 s (sampler.h). */
	pthread_mutex_lock(&rc->load_lock);
	now_load = rc->load;
	pthread_mutex_unlock(&rc->load_lock);
	r = view_loadavg(&now_load, &tasks, last, &text);
	return text_result(r, text, ret, ret_len);
}

/* ---- proc/diskstats ---- */

static int diskstats_render(const struct pb_caller *c, const char *host, char **ret)
{
	struct view_cgroup *rc;
	struct cgroup_io io;
	int r;

	r = view_cgroup_of_caller(c, &rc);
	if (r < 0)
		return r;
	r = cgroup_read_io(rc->reader, &io);
	if (r < 0)
		return r;
	r = view_diskstats(host, &io, ret);
	cgroup_io_done(&io);
	return r;
}

static const struct view_row diskstats_row = {&host_diskstats, diskstats_render};

int views_diskstats_content(const struct pb_caller *c, char **ret, size_t *ret_len)
{
	return view_row_content(&diskstats_row, c, ret, ret_len);
}

/* ---- sys/devices/system/cpu/{online,possible,present,offline} ---- */

static int cpu_online_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			      size_t *ret_len)
{
	struct cpulist cpus;
	char *text = NULL;
	int r;

	if (pb_caller_is_host(c)) {
		char path[64];

		return read_full_file(pb_kernel_path(f->path, path, sizeof(path)), ret, ret_len);
	}
	r = view_shown_cpus(c, &cpus);
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
		return read_full_file("/" CPUDIR "/offline", ret, ret_len);
	*ret = strdup("\n");
	if (!*ret)
		return -ENOMEM;
	*ret_len = 1;
	return 0;
}

/* ---- the table: one row per computed file ---- */

const struct handler views_handlers[] = {
    {.path = "proc/meminfo", .mode = S_IFREG | 0444, .bind = true, .content = meminfo_content},
    {.path = "proc/swaps", .mode = S_IFREG | 0444, .bind = true, .content = swaps_content},
    {.path = "proc/cpuinfo",
     .mode = S_IFREG | 0444,
     .size = PB_VIEW_SIZE,
     .bind = true,
     .content = view_content,
     .data = &(const struct view_row){&host_cpuinfo, cpuinfo_render}},
    {.path = "proc/stat",
     .mode = S_IFREG | 0444,
     .size = PB_VIEW_SIZE,
     .bind = true,
     .content = view_content,
     .data = &(const struct view_row){&host_stat, stat_render}},
    {.path = "proc/uptime", .mode = S_IFREG | 0444, .bind = true, .content = uptime_content},
    {.path = "proc/loadavg", .mode = S_IFREG | 0444, .bind = true, .content = loadavg_content},
    {.path = "proc/diskstats",
     .mode = S_IFREG | 0444,
     .size = PB_VIEW_SIZE,
     .bind = true,
     .content = view_content,
     .data = &diskstats_row},
    /* Not bound themselves: the cpudir row binds their folder whole. */
    {.path = CPUDIR "/online", .mode = S_IFREG | 0444, .content = cpu_online_content},
    {.path = CPUDIR "/possible", .mode = S_IFREG | 0444, .content = cpu_online_content},
    {.path = CPUDIR "/present", .mode = S_IFREG | 0444, .content = cpu_online_content},
    {.path = CPUDIR "/offline", .mode = S_IFREG | 0444, .content = cpu_offline_content},
};

const size_t n_views_handlers = ELEMENTSOF(views_handlers);

void views_free(void)
{
	viewstate_free();
}
