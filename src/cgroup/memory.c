/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "cgroup/parse.h"
#include "util/macro.h"

/*
 * How old a cgroup's memory.stat may be when a read uses it. The kernel's own figures lag
 * more: memcg statistics are flushed only past a batch of updates or every 2 s. The used
 * memory (usage_in_bytes, memory.current) is read on every read all the same, and a change of
 * it re-reads memory.stat at once.
 */
#define STAT_MAX_AGE_NS 1000000u

#define BIT(i) (UINT64_C(1) << (i))

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cg_memory_init(struct cg_memory_part *m)
{
	*m = (struct cg_memory_part){.usage_fd = -EBADF, .stat_fd = -EBADF, .swap_fd = -EBADF};
	pthread_mutex_init(&m->lock, NULL);
}

void cg_memory_close(struct cg_memory_part *m)
{
	m->usage_fd = safe_close(m->usage_fd);
	m->stat_fd = safe_close(m->stat_fd);
	m->swap_fd = safe_close(m->swap_fd);
	cg_fd_list_done(&m->limits);
	cg_fd_list_done(&m->swap_limits);
}

void cg_memory_done(struct cg_memory_part *m)
{
	cg_memory_close(m);
	free(m->stat_text);
	m->stat_text = NULL;
	pthread_mutex_destroy(&m->lock);
}

int cg_memory_open(const struct cgroup *cg, struct cg_memory_part *m)
{
	_cleanup_close_ int dfd = -EBADF;
	bool v1 = cg->version[CGROUP_MEMORY] == 1;
	int r;

	dfd = cg_open_dir(cg, CGROUP_MEMORY);
	if (dfd < 0)
		return dfd;
	m->version = cg->version[CGROUP_MEMORY];
	m->usage_fd =
	    cg_open_leaf(cg, CGROUP_MEMORY, dfd, v1 ? "memory.usage_in_bytes" : "memory.current");
	if (m->usage_fd < 0)
		return m->usage_fd;
	m->stat_fd = cg_open_leaf(cg, CGROUP_MEMORY, dfd, "memory.stat");
	if (m->stat_fd < 0)
		return m->stat_fd;

	if (v1) {
		_cleanup_free_ char *stat = NULL;
		uint64_t v[_CG_MEMSTAT_V1_MAX], found;

		r = cg_fd_text(m->stat_fd, &stat, NULL);
		if (r < 0)
			return r;
		found = cg_parse_keyed(stat, cg_memstat_v1_keys, v, _CG_MEMSTAT_V1_MAX);
		m->hier_limit = found & BIT(CG_MEMSTAT_V1_HIER_LIMIT);
		m->hier_memsw_limit = found & BIT(CG_MEMSTAT_V1_HIER_MEMSW_LIMIT);
		m->total_swap = found & BIT(CG_MEMSTAT_V1_SWAP);
		if (!m->hier_limit) {
			r = cg_open_path_files(cg, CGROUP_MEMORY, "memory.limit_in_bytes",
					       &m->limits);
			if (r < 0)
				return r;
		}
		/* memsw files exist only with swap accounting (CONFIG_MEMCG_SWAP,
		 * swapaccount=1). */
		r = cg_open_in(dfd, "memory.memsw.usage_in_bytes");
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		m->swap_accounted = true;
		if (m->total_swap)
			safe_close(r);
		else
			m->swap_fd = r;
		if (!m->hier_memsw_limit) {
			r = cg_open_path_files(cg, CGROUP_MEMORY, "memory.memsw.limit_in_bytes",
					       &m->swap_limits);
			if (r < 0)
				return r;
		}
		return 0;
	}

	r = cg_open_path_files(cg, CGROUP_MEMORY, "memory.max", &m->limits);
	if (r < 0)
		return r;
	/* memory.swap.* exist only with swap accounting. */
	r = cg_open_in(dfd, "memory.swap.max");
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	safe_close(r);
	m->swap_accounted = true;
	m->swap_fd = cg_open_leaf(cg, CGROUP_MEMORY, dfd, "memory.swap.current");
	if (m->swap_fd < 0)
		return m->swap_fd;
	return cg_open_path_files(cg, CGROUP_MEMORY, "memory.swap.max", &m->swap_limits);
}

static int min_limit(const struct fd_list *l, uint64_t *ret)
{
	uint64_t min = CGROUP_UNLIMITED;

	for (size_t i = 0; i < l->n; i++) {
		uint64_t v;
		int r = cg_fd_u64(l->fds[i], true, &v);

		if (r < 0)
			return r;
		min = min_u64(min, v);
	}
	*ret = min;
	return 0;
}

static int memory_v1(const struct cg_memory_part *m, const uint64_t *v, uint64_t found,
		     struct cgroup_memory *mem)
{
	uint64_t memsw_limit, memsw_usage;
	int r;

	if (m->hier_limit) {
		if (!(found & BIT(CG_MEMSTAT_V1_HIER_LIMIT)))
			return -EBADMSG;
		mem->limit = cg_memstat_v1_limit(v[CG_MEMSTAT_V1_HIER_LIMIT]);
	} else {
		r = min_limit(&m->limits, &mem->limit);
		if (r < 0)
			return r;
	}
	cg_memstat_v1_apply(v, mem);
	if (!m->swap_accounted)
		return 0;

	if (m->hier_memsw_limit) {
		if (!(found & BIT(CG_MEMSTAT_V1_HIER_MEMSW_LIMIT)))
			return -EBADMSG;
		memsw_limit = cg_memstat_v1_limit(v[CG_MEMSTAT_V1_HIER_MEMSW_LIMIT]);
	} else {
		r = min_limit(&m->swap_limits, &memsw_limit);
		if (r < 0)
			return r;
	}
	mem->swap_accounted = true;
	mem->swap_limit = cg_memsw_swap_limit(memsw_limit, mem->limit);
	if (m->total_swap) {
		if (!(found & BIT(CG_MEMSTAT_V1_SWAP)))
			return -EBADMSG;
		mem->swap_usage = v[CG_MEMSTAT_V1_SWAP];
	} else {
		r = cg_fd_u64(m->swap_fd, false, &memsw_usage);
		if (r < 0)
			return r;
		mem->swap_usage = sub_sat(memsw_usage, mem->usage);
	}
	return 0;
}

static int memory_v2(const struct cg_memory_part *m, const uint64_t *v, uint64_t found,
		     struct cgroup_memory *mem)
{
	int r;

	r = min_limit(&m->limits, &mem->limit);
	if (r < 0)
		return r;
	cg_memstat_v2_apply(v, found, mem);
	if (!m->swap_accounted)
		return 0;
	r = min_limit(&m->swap_limits, &mem->swap_limit);
	if (r < 0)
		return r;
	r = cg_fd_u64(m->swap_fd, false, &mem->swap_usage);
	if (r < 0)
		return r;
	mem->swap_accounted = true;
	return 0;
}

/* memory.stat's values: the last ones while usage is what it was when they were read, for
 * STAT_MAX_AGE_NS at most; otherwise read again, and parsed again if the text changed. */
static int stat_values(struct cg_memory_part *m, uint64_t usage, uint64_t *v, uint64_t *ret_found)
{
	size_t n = m->version == 1 ? _CG_MEMSTAT_V1_MAX : _CG_MEMSTAT_V2_MAX;
	uint64_t now = now_ns();
	char *text = NULL;
	size_t len;
	int r;

	pthread_mutex_lock(&m->lock);
	if (m->stat_text && m->stat_usage == usage && now - m->stat_read_ns < STAT_MAX_AGE_NS)
		goto cached;
	pthread_mutex_unlock(&m->lock);

	r = cg_fd_text(m->stat_fd, &text, &len);
	if (r < 0)
		return r;

	pthread_mutex_lock(&m->lock);
	m->stat_read_ns = now;
	m->stat_usage = usage;
	if (m->stat_text && m->stat_len == len && memcmp(m->stat_text, text, len) == 0) {
		free(text);
		goto cached;
	}
	memset(m->stat_values, 0, sizeof(m->stat_values));
	m->stat_found = cg_parse_keyed(
	    text, m->version == 1 ? cg_memstat_v1_keys : cg_memstat_v2_keys, m->stat_values, n);
	free(m->stat_text);
	m->stat_text = text;
	m->stat_len = len;
cached:
	memcpy(v, m->stat_values, n * sizeof(*v));
	*ret_found = m->stat_found;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int cg_memory_read(struct cg_memory_part *m, struct cgroup_memory *ret)
{
	uint64_t v[CG_MEMSTAT_KEYS_MAX], found;
	struct cgroup_memory mem = {};
	int e;

	e = cg_fd_u64(m->usage_fd, false, &mem.usage);
	if (e < 0)
		return e;
	e = stat_values(m, mem.usage, v, &found);
	if (e < 0)
		return e;
	e = m->version == 1 ? memory_v1(m, v, found, &mem) : memory_v2(m, v, found, &mem);
	if (e < 0)
		return e;
	*ret = mem;
	return 0;
}
