/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "cgroup/parse.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/reqclock.h"

enum part {
	PART_MEMORY,
	PART_CPU,
	PART_CPU_USAGE,
	PART_TASKS,
	PART_IO,
	_PART_MAX,
};

struct cpu_part {
	int version;
	int cpuset_fd; /* the nearest level's effective CPUs; -EBADF: no cpuset */
	/* v1: cpu.cfs_quota_us and cpu.cfs_period_us of every level that has both; v2:
	 * cpu.max of every level (in quotas) */
	struct fd_list quotas, periods;
};

struct usage_part {
	int version;
	/* v1 split by the kernel itself since 4.11: cpuacct.usage_percpu_{user,sys}; older
	 * kernels: cpuacct.usage_percpu (in user_fd) and cpuacct.stat (in stat_fd). v2: cpu.stat
	 * in stat_fd. */
	bool split;
	int user_fd, sys_fd, stat_fd;
};

struct tasks_part {
	enum cgroup_controller controller;
	int dfd;
	const char *list; /* v1 tasks; v2 cgroup.threads lists every thread, in domain cgroups
			     as well */
};

struct io_part {
	int version;
	int bytes_fd, ios_fd; /* v1 blkio.*io_service_bytes*, blkio.*io_serviced*; v2 io.stat */
};

struct cgroup_reader {
	const struct cgroup *cg;
	pthread_mutex_t lock; /* opening parts */
	unsigned tried;	      /* parts opened, or whose open failed for good (error[]) */
	int error[_PART_MAX];
	struct cg_memory_part mem;
	struct cpu_part cpu;
	struct usage_part usage;
	struct tasks_part tasks;
	struct io_part io;
};

/* ---- files read again and again through one fd ---- */

int cg_fd_text(int fd, char **ret, size_t *ret_len)
{
	return cg_errno(read_full_fd_flags(fd, READ_FROM_START | READ_ONE_RECORD, ret, ret_len));
}

int cg_fd_u64(int fd, bool limit, uint64_t *ret)
{
	char buf[64];
	ssize_t n;

	do
		n = pread(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cg_errno(negative_errno());
	buf[n] = 0;
	return limit ? cg_parse_limit(buf, ret) : cg_parse_u64(buf, ret);
}

void cg_fd_list_done(struct fd_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		safe_close(l->fds[i]);
	free(l->fds);
	*l = (struct fd_list){};
}

int cg_fd_list_add(struct fd_list *l, int fd)
{
	if (ARRAY_GROW(l->fds, l->cap, l->n, 4) < 0) {
		safe_close(fd);
		return -ENOMEM;
	}
	l->fds[l->n++] = fd;
	return 0;
}

/* ---- opening ---- */

/* The cgroup's directory for c as an O_PATH fd: -ENOENT once the cgroup is removed. */
int cg_open_dir(const struct cgroup *cg, enum cgroup_controller c)
{
	int fd;

	if (!cg->dir[c])
		return cg->error[c];
	fd = open(cg->dir[c], O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : cg_errno(negative_errno());
}

int cg_open_in(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	return fd >= 0 ? fd : cg_errno(negative_errno());
}

/* A file every cgroup of c has: missing means the cgroup is gone or c not enabled for it. */
int cg_open_leaf(const struct cgroup *cg, enum cgroup_controller c, int dfd, const char *name)
{
	int fd = cg_open_in(dfd, name);

	return fd == -ENOENT ? cg_file_missing(cg, c) : fd;
}

/* Opens <level>/name on every level from the cgroup up to the mount point that has it (v2
 * shows a controller's files only where the parent enables it; the root has no limits). */
int cg_open_path_files(const struct cgroup *cg, enum cgroup_controller c, const char *name,
		       struct fd_list *ret)
{
	_cleanup_free_ char *d = strdup(cg->dir[c]);
	size_t mountlen = strlen(cg->mount[c]);
	struct fd_list l = {};
	int r;

	if (!d)
		return -ENOMEM;
	do {
		_cleanup_free_ char *path = cg_path_join(d, name);
		int fd;

		if (!path) {
			cg_fd_list_done(&l);
			return -ENOMEM;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			r = negative_errno();
			if (r == -ENOENT || r == -ENODEV)
				continue;
			cg_fd_list_done(&l);
			return r;
		}
		r = cg_fd_list_add(&l, fd);
		if (r < 0) {
			cg_fd_list_done(&l);
			return r;
		}
	} while (cg_dir_up(d, mountlen));
	*ret = l;
	return 0;
}

/* name at the nearest level from the cgroup up to the mount point that has it; -ENOENT if no
 * level has it. */
static int open_nearest(const struct cgroup *cg, enum cgroup_controller c, const char *name)
{
	_cleanup_free_ char *d = strdup(cg->dir[c]);
	size_t mountlen = strlen(cg->mount[c]);

	if (!d)
		return -ENOMEM;
	do {
		_cleanup_free_ char *path = cg_path_join(d, name);
		int fd;

		if (!path)
			return -ENOMEM;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT && errno != ENODEV)
			return negative_errno();
	} while (cg_dir_up(d, mountlen));
	return -ENOENT;
}

/* v1 keeps quota and period apart: a level counts where it has both. */
static int open_v1_quotas(const struct cgroup *cg, struct cpu_part *c)
{
	_cleanup_free_ char *d = strdup(cg->dir[CGROUP_CPU]);
	size_t mountlen = strlen(cg->mount[CGROUP_CPU]);

	if (!d)
		return -ENOMEM;
	do {
		_cleanup_close_ int q = -EBADF, p = -EBADF;
		int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

		if (dfd < 0)
			return cg_errno(negative_errno());
		q = cg_open_in(dfd, "cpu.cfs_quota_us");
		p = cg_open_in(dfd, "cpu.cfs_period_us");
		safe_close(dfd);
		if (q == -ENOENT || p == -ENOENT)
			continue;
		if (q < 0)
			return q;
		if (p < 0)
			return p;
		r = cg_fd_list_add(&c->quotas, TAKE_FD(q));
		if (r < 0)
			return r;
		r = cg_fd_list_add(&c->periods, TAKE_FD(p));
		if (r < 0)
			return r;
	} while (cg_dir_up(d, mountlen));
	return 0;
}

static int cpu_open(const struct cgroup *cg, struct cpu_part *c)
{
	int r;

	if (!cg->dir[CGROUP_CPUSET] && !cg->dir[CGROUP_CPU])
		return cg->error[CGROUP_CPUSET] == -ENOENT ? -ENOENT : cg->error[CGROUP_CPU];

	if (cg->dir[CGROUP_CPUSET]) {
		bool v1 = cg->version[CGROUP_CPUSET] == 1;

		r = cg_open_dir(cg, CGROUP_CPUSET);
		if (r < 0)
			return r;
		safe_close(r);
		r = open_nearest(cg, CGROUP_CPUSET,
				 v1 ? "cpuset.effective_cpus" : "cpuset.cpus.effective");
		if (r == -ENOENT && v1)
			r = open_nearest(cg, CGROUP_CPUSET, "cpuset.cpus");
		if (r < 0 && r != -ENOENT)
			return r;
		if (r >= 0)
			c->cpuset_fd = r;
	}
	if (cg->dir[CGROUP_CPU]) {
		r = cg_open_dir(cg, CGROUP_CPU);
		if (r < 0)
			return r;
		safe_close(r);
		c->version = cg->version[CGROUP_CPU];
		r = c->version == 1 ? open_v1_quotas(cg, c)
				    : cg_open_path_files(cg, CGROUP_CPU, "cpu.max", &c->quotas);
		if (r < 0)
			return r;
	}
	return 0;
}

static int usage_open(const struct cgroup *cg, struct usage_part *u)
{
	_cleanup_close_ int dfd = -EBADF;

	dfd = cg_open_dir(cg, CGROUP_CPUACCT);
	if (dfd < 0)
		return dfd;
	u->version = cg->version[CGROUP_CPUACCT];
	if (u->version == 2) {
		u->stat_fd = cg_open_leaf(cg, CGROUP_CPUACCT, dfd, "cpu.stat");
		return u->stat_fd < 0 ? u->stat_fd : 0;
	}
	u->user_fd = cg_open_leaf(cg, CGROUP_CPUACCT, dfd, "cpuacct.usage_percpu_user");
	if (u->user_fd >= 0) {
		u->sys_fd = cg_open_leaf(cg, CGROUP_CPUACCT, dfd, "cpuacct.usage_percpu_sys");
		if (u->sys_fd >= 0) {
			u->split = true;
			return 0;
		}
		if (u->sys_fd != -EOPNOTSUPP)
			return u->sys_fd;
		u->user_fd = safe_close(u->user_fd);
	} else if (u->user_fd != -EOPNOTSUPP) {
		return u->user_fd;
	}
	u->user_fd = cg_open_leaf(cg, CGROUP_CPUACCT, dfd, "cpuacct.usage_percpu");
	if (u->user_fd < 0)
		return u->user_fd;
	u->stat_fd = cg_open_leaf(cg, CGROUP_CPUACCT, dfd, "cpuacct.stat");
	return u->stat_fd < 0 ? u->stat_fd : 0;
}

static int tasks_open(const struct cgroup *cg, struct tasks_part *t)
{
	t->controller = cg_tasks_controller(cg);
	if (t->controller == _CGROUP_CONTROLLER_MAX)
		return -EOPNOTSUPP;
	t->dfd = open(cg->dir[t->controller], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dfd < 0)
		return cg_errno(negative_errno());
	t->list = cg->version[t->controller] == 1 ? "tasks" : "cgroup.threads";
	return 0;
}

static int io_open(const struct cgroup *cg, struct io_part *io)
{
	/* The throttle files count every bio once blk-throttle is active on the queue (any
	 * throttle rule on the device); the other pairs come from CFQ and BFQ. */
	static const char *const pairs[][2] = {
	    {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
	    {"blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"},
	    {"blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"},
	    {"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
	};
	_cleanup_close_ int dfd = -EBADF;

	dfd = cg_open_dir(cg, CGROUP_BLKIO);
	if (dfd < 0)
		return dfd;
	io->version = cg->version[CGROUP_BLKIO];
	if (io->version == 2) {
		io->bytes_fd = cg_open_leaf(cg, CGROUP_BLKIO, dfd, "io.stat");
		return io->bytes_fd < 0 ? io->bytes_fd : 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
		io->bytes_fd = cg_open_in(dfd, pairs[i][0]);
		if (io->bytes_fd == -ENOENT)
			continue;
		if (io->bytes_fd < 0)
			return io->bytes_fd;
		io->ios_fd = cg_open_leaf(cg, CGROUP_BLKIO, dfd, pairs[i][1]);
		return io->ios_fd < 0 ? io->ios_fd : 0;
	}
	return cg_file_missing(cg, CGROUP_BLKIO);
}

static int part_open(struct cgroup_reader *r, enum part p)
{
	switch (p) {
	case PART_MEMORY:
		return cg_memory_open(r->cg, &r->mem);
	case PART_CPU:
		return cpu_open(r->cg, &r->cpu);
	case PART_CPU_USAGE:
		return usage_open(r->cg, &r->usage);
	case PART_TASKS:
		return tasks_open(r->cg, &r->tasks);
	case PART_IO:
		return io_open(r->cg, &r->io);
	default:
		return -EINVAL;
	}
}

static void part_close(struct cgroup_reader *r, enum part p)
{
	switch (p) {
	case PART_MEMORY:
		cg_memory_close(&r->mem);
		break;
	case PART_CPU:
		r->cpu.cpuset_fd = safe_close(r->cpu.cpuset_fd);
		cg_fd_list_done(&r->cpu.quotas);
		cg_fd_list_done(&r->cpu.periods);
		break;
	case PART_CPU_USAGE:
		r->usage.user_fd = safe_close(r->usage.user_fd);
		r->usage.sys_fd = safe_close(r->usage.sys_fd);
		r->usage.stat_fd = safe_close(r->usage.stat_fd);
		break;
	case PART_TASKS:
		r->tasks.dfd = safe_close(r->tasks.dfd);
		break;
	case PART_IO:
		r->io.bytes_fd = safe_close(r->io.bytes_fd);
		r->io.ios_fd = safe_close(r->io.ios_fd);
		break;
	default:
		break;
	}
}

/* Opens part p on first use. A failed open fails every later read the same way, as the
 * cgroup it would open stays gone or without the controller; only -ENOMEM is tried again. */
static int part_get(struct cgroup_reader *r, enum part p)
{
	int e;

	pthread_mutex_lock(&r->lock);
	if (r->tried & (1u << p)) {
		e = r->error[p];
	} else {
		e = part_open(r, p);
		if (e < 0)
			part_close(r, p);
		if (e != -ENOMEM) {
			r->error[p] = e < 0 ? e : 0;
			r->tried |= 1u << p;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return e < 0 ? e : 0;
}

void cgroup_reader_free(struct cgroup_reader *r)
{
	if (!r)
		return;
	for (enum part p = 0; p < _PART_MAX; p++)
		part_close(r, p);
	cg_memory_done(&r->mem);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cgroup_reader *, cgroup_reader_free);

int cgroup_reader_open(const struct cgroup *cg, unsigned parts, struct cgroup_reader **ret)
{
	_cleanup_(cgroup_reader_freep) struct cgroup_reader *r = NULL;
	uint64_t start = reqclock_start();
	int e = 0;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cg = cg;
	pthread_mutex_init(&r->lock, NULL);
	cg_memory_init(&r->mem);
	r->cpu.cpuset_fd = -EBADF;
	r->usage.user_fd = r->usage.sys_fd = r->usage.stat_fd = -EBADF;
	r->tasks.dfd = -EBADF;
	r->io.bytes_fd = r->io.ios_fd = -EBADF;

	for (enum part p = 0; p < _PART_MAX && e >= 0; p++) {
		if (!(parts & (1u << p)))
			continue;
		e = part_get(r, p);
		/* Without one controller the other parts still work. */
		if (e == -EOPNOTSUPP)
			e = 0;
	}
	if (start)
		reqclock_note_cgroup(start);
	if (e < 0)
		return e;
	*ret = TAKE_PTR(r);
	return 0;
}

/* ---- CPU limits ---- */

/* Keeps the smaller of two quotas, compared as quota/period in 128 bits: both come as 64-bit
 * microseconds. */
static void quota_offer(struct cgroup_cpu *cpu, uint64_t quota, uint64_t period)
{
	if (quota == CGROUP_UNLIMITED || period == 0)
		return;
	if (cpu->quota_us == CGROUP_UNLIMITED ||
	    (unsigned __int128)quota * cpu->period_us < (unsigned __int128)cpu->quota_us * period) {
		cpu->quota_us = quota;
		cpu->period_us = period;
	}
}

static int read_cpu(struct cgroup_reader *r, struct cgroup_cpu *ret)
{
	const struct cpu_part *c = &r->cpu;
	struct cgroup_cpu cpu = {.quota_us = CGROUP_UNLIMITED};
	int e;

	e = part_get(r, PART_CPU);
	if (e < 0)
		return e;
	if (c->cpuset_fd >= 0) {
		_cleanup_free_ char *text = NULL;

		e = cg_fd_text(c->cpuset_fd, &text, NULL);
		if (e < 0)
			return e;
		e = cpulist_parse(text, &cpu.cpuset);
		if (e < 0)
			return e;
		cpu.has_cpuset = true;
	}
	for (size_t i = 0; i < c->quotas.n; i++) {
		uint64_t quota, period;

		if (c->version == 1) {
			e = cg_fd_u64(c->quotas.fds[i], true, &quota);
			if (e >= 0)
				e = cg_fd_u64(c->periods.fds[i], false, &period);
		} else {
			_cleanup_free_ char *text = NULL;

			e = cg_fd_text(c->quotas.fds[i], &text, NULL);
			if (e >= 0)
				e = cg_parse_cpu_max(text, &quota, &period);
		}
		if (e < 0)
			return e;
		quota_offer(&cpu, quota, period);
	}
	if (cpu.quota_us == CGROUP_UNLIMITED)
		cpu.period_us = 0;
	*ret = cpu;
	return 0;
}

/* ---- CPU time ---- */

void cgroup_cpu_usage_done(struct cgroup_cpu_usage *u)
{
	free(u->percpu_user_ns);
	free(u->percpu_system_ns);
	*u = (struct cgroup_cpu_usage){};
}

static int fd_list_u64(int fd, uint64_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = cg_fd_text(fd, &text, NULL);
	if (r < 0)
		return r;
	return cg_parse_u64_list(text, ret, ret_n);
}

static int usage_v1(const struct usage_part *p, struct cgroup_cpu_usage *u)
{
	_cleanup_free_ uint64_t *user = NULL, *sys = NULL;
	size_t nu = 0, ns = 0;
	int r;

	r = fd_list_u64(p->user_fd, &user, &nu);
	if (r < 0)
		return r;
	if (p->split) {
		r = fd_list_u64(p->sys_fd, &sys, &ns);
		if (r < 0)
			return r;
	} else {
		static const char *const keys[] = {"user", "system"};
		_cleanup_free_ char *stat = NULL;
		uint64_t v[2] = {};

		/* user holds the per-CPU totals: cpuacct.stat's user:system ratio (USER_HZ
		 * ticks) splits each. */
		r = cg_fd_text(p->stat_fd, &stat, NULL);
		if (r < 0)
			return r;
		(void)cg_parse_keyed(stat, keys, v, 2);
		sys = calloc(nu ? nu : 1, sizeof(*sys));
		if (!sys)
			return -ENOMEM;
		for (size_t i = 0; i < nu; i++) {
			long double share = (v[0] + v[1]) ? (long double)v[0] / (v[0] + v[1]) : 1;
			uint64_t total = user[i];

			user[i] = (uint64_t)(total * share);
			sys[i] = total - user[i];
		}
		ns = nu;
	}
	if (nu != ns)
		return -EBADMSG;
	u->n_percpu = nu;
	for (size_t i = 0; i < nu; i++) {
		u->user_ns += user[i];
		u->system_ns += sys[i];
	}
	u->percpu_user_ns = TAKE_PTR(user);
	u->percpu_system_ns = TAKE_PTR(sys);
	return 0;
}

static int usage_v2(const struct usage_part *p, struct cgroup_cpu_usage *u)
{
	static const char *const keys[] = {"user_usec", "system_usec"};
	_cleanup_free_ char *stat = NULL;
	uint64_t v[2] = {};
	int r;

	r = cg_fd_text(p->stat_fd, &stat, NULL);
	if (r < 0)
		return r;
	if (cg_parse_keyed(stat, keys, v, 2) != 3)
		return -EBADMSG;
	u->user_ns = v[0] * 1000;
	u->system_ns = v[1] * 1000;
	return 0;
}

static int read_cpu_usage(struct cgroup_reader *r, struct cgroup_cpu_usage *ret)
{
	struct cgroup_cpu_usage u = {};
	int e;

	e = part_get(r, PART_CPU_USAGE);
	if (e < 0)
		return e;
	e = r->usage.version == 1 ? usage_v1(&r->usage, &u) : usage_v2(&r->usage, &u);
	if (e < 0) {
		cgroup_cpu_usage_done(&u);
		return e;
	}
	*ret = u;
	return 0;
}

/* ---- tasks ---- */

static int read_tasks(struct cgroup_reader *r, pid_t reader, struct cgroup_tasks *ret,
		      pid_t *ret_last_pid)
{
	int e;

	e = part_get(r, PART_TASKS);
	if (e < 0)
		return e;
	e = cg_tasks_scan(r->tasks.dfd, r->tasks.list, r->cg->proc, reader, ret, ret_last_pid);
	if (e == -ENOENT)
		return cg_file_missing(r->cg, r->tasks.controller);
	return e;
}

/* ---- I/O ---- */

void cgroup_io_done(struct cgroup_io *io)
{
	free(io->devs);
	*io = (struct cgroup_io){};
}

static int read_io(struct cgroup_reader *r, struct cgroup_io *ret)
{
	_cleanup_free_ char *bytes = NULL, *ios = NULL;
	struct cgroup_io io = {};
	int e;

	e = part_get(r, PART_IO);
	if (e < 0)
		return e;
	e = cg_fd_text(r->io.bytes_fd, &bytes, NULL);
	if (e >= 0 && r->io.version == 1)
		e = cg_fd_text(r->io.ios_fd, &ios, NULL);
	if (e >= 0 && r->io.version == 2)
		e = cg_parse_io_stat(bytes, &io);
	if (e >= 0 && r->io.version == 1)
		e = cg_parse_blkio(bytes, true, &io);
	if (e >= 0 && r->io.version == 1)
		e = cg_parse_blkio(ios, false, &io);
	if (e < 0) {
		cgroup_io_done(&io);
		return e;
	}
	*ret = io;
	return 0;
}

/* ---- the public reads: each notes its time on the request's clock ---- */

#define TIMED(call)                                                                                \
	({                                                                                         \
		uint64_t _start = reqclock_start();                                                \
		int _r = (call);                                                                   \
		if (_start)                                                                        \
			reqclock_note_cgroup(_start);                                              \
		_r;                                                                                \
	})

static int read_memory(struct cgroup_reader *r, struct cgroup_memory *ret)
{
	int e = part_get(r, PART_MEMORY);

	return e < 0 ? e : cg_memory_read(&r->mem, ret);
}

int cgroup_read_memory(struct cgroup_reader *r, struct cgroup_memory *ret)
{
	return TIMED(read_memory(r, ret));
}

int cgroup_read_cpu(struct cgroup_reader *r, struct cgroup_cpu *ret)
{
	return TIMED(read_cpu(r, ret));
}

int cgroup_read_cpu_usage(struct cgroup_reader *r, struct cgroup_cpu_usage *ret)
{
	return TIMED(read_cpu_usage(r, ret));
}

int cgroup_read_tasks(struct cgroup_reader *r, pid_t reader, struct cgroup_tasks *ret,
		      pid_t *ret_last_pid)
{
	return TIMED(read_tasks(r, reader, ret, ret_last_pid));
}

int cgroup_read_io(struct cgroup_reader *r, struct cgroup_io *ret)
{
	return TIMED(read_io(r, ret));
}

/* ---- one-shot reads: a reader opened for one read ---- */

int cgroup_get_memory(const struct cgroup *cg, struct cgroup_memory *ret)
{
	_cleanup_(cgroup_reader_freep) struct cgroup_reader *r = NULL;
	int e = cgroup_reader_open(cg, 0, &r);

	return e < 0 ? e : cgroup_read_memory(r, ret);
}

int cgroup_get_cpu(const struct cgroup *cg, struct cgroup_cpu *ret)
{
	_cleanup_(cgroup_reader_freep) struct cgroup_reader *r = NULL;
	int e = cgroup_reader_open(cg, 0, &r);

	return e < 0 ? e : cgroup_read_cpu(r, ret);
}

int cgroup_get_cpu_usage(const struct cgroup *cg, struct cgroup_cpu_usage *ret)
{
	_cleanup_(cgroup_reader_freep) struct cgroup_reader *r = NULL;
	int e = cgroup_reader_open(cg, 0, &r);

	return e < 0 ? e : cgroup_read_cpu_usage(r, ret);
}

int cgroup_get_tasks(const struct cgroup *cg, pid_t reader_tid, struct cgroup_tasks *ret)
{
	_cleanup_(cgroup_reader_freep) struct cgroup_reader *r = NULL;
	int e = cgroup_reader_open(cg, 0, &r);

	return e < 0 ? e : cgroup_read_tasks(r, reader_tid, ret, NULL);
}

int cgroup_get_io(const struct cgroup *cg, struct cgroup_io *ret)
{
	_cleanup_(cgroup_reader_freep) struct cgroup_reader *r = NULL;
	int e = cgroup_reader_open(cg, 0, &r);

	return e < 0 ? e : cgroup_read_io(r, ret);
}
