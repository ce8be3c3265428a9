/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/parse.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/reqclock.h"

/* Descendants deeper than this are not scanned for tasks (the kernel allows any depth). */
#define TASKS_DEPTH_MAX 16

static const char *const v1_names[_CGROUP_CONTROLLER_MAX] = {
    [CGROUP_MEMORY] = "memory", [CGROUP_CPU] = "cpu",	  [CGROUP_CPUACCT] = "cpuacct",
    [CGROUP_CPUSET] = "cpuset", [CGROUP_BLKIO] = "blkio",
};

static const char *const v2_names[_CGROUP_CONTROLLER_MAX] = {
    [CGROUP_MEMORY] = "memory", [CGROUP_CPU] = "cpu",  [CGROUP_CPUACCT] = "cpu",
    [CGROUP_CPUSET] = "cpuset", [CGROUP_BLKIO] = "io",
};

struct hierarchy {
	int version;
	char *mount;  /* root + mount point */
	char *fsroot; /* the subtree of the hierarchy mounted there, "/" normally */
};

struct cgroup_layout {
	char *root;
	struct hierarchy h[_CGROUP_CONTROLLER_MAX];
};

struct cgroup {
	char *proc; /* root + "/proc" */
	int version[_CGROUP_CONTROLLER_MAX];
	char *mount[_CGROUP_CONTROLLER_MAX];
	char *dir[_CGROUP_CONTROLLER_MAX];
	int error[_CGROUP_CONTROLLER_MAX]; /* why dir is NULL */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cgroup_layout *, cgroup_layout_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cgroup *, cgroup_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* one_record: READ_ONE_RECORD (util/fileio.h) */
static int read_at(int dirfd, const char *path, bool one_record, char **ret)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t start = reqclock_start();
	int r;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		r = negative_errno();
	else
		r = read_full_fd_flags(fd, one_record ? READ_ONE_RECORD : 0, ret, NULL);
	if (start)
		reqclock_note_cgroup(start);
	return r;
}

static int read_file_at(int dirfd, const char *path, char **ret)
{
	return read_at(dirfd, path, true, ret);
}

static int read_list_at(int dirfd, const char *path, char **ret)
{
	return read_at(dirfd, path, false, ret);
}

static char *path_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s%s%s", a, b[0] == '/' ? "" : "/", b) < 0)
		return NULL;
	return p;
}

/* ---- layout ---- */

void cgroup_layout_free(struct cgroup_layout *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
		free(l->h[i].mount);
		free(l->h[i].fsroot);
	}
	free(l->root);
	free(l);
}

/* A controller may be mounted more than once (bind mounts, a container's view of a subtree):
 * the mount of the whole hierarchy can reach every cgroup, so it wins. */
static int hierarchy_offer(struct hierarchy *h, int version, const char *root,
			   const struct mountinfo_entry *e)
{
	char *mount = NULL, *fsroot;

	if (h->version && (strcmp(h->fsroot, "/") == 0 || strcmp(e->root, "/") != 0))
		return 0;
	if (asprintf(&mount, "%s%s", root, e->mount_point) < 0)
		return -ENOMEM;
	fsroot = strdup(e->root);
	if (!fsroot) {
		free(mount);
		return -ENOMEM;
	}
	free(h->mount);
	free(h->fsroot);
	*h = (struct hierarchy){.version = version, .mount = mount, .fsroot = fsroot};
	return 0;
}

static bool word_in(const char *list, const char *sep, const char *word)
{
	size_t wlen = strlen(word);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, sep);

		if (l == wlen && memcmp(p, word, l) == 0)
			return true;
		p += l;
		p += strspn(p, sep);
	}
	return false;
}

int cgroup_layout_parse(const char *root, const char *mountinfo, struct cgroup_layout **ret)
{
	_cleanup_(cgroup_layout_freep) struct cgroup_layout *l = NULL;
	struct hierarchy unified = {};
	_cleanup_free_ char *controllers = NULL, *cpath = NULL;
	int r = 0;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->root = strdup(root);
	if (!l->root)
		return -ENOMEM;

	for (const char *line = mountinfo; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		struct mountinfo_entry e;

		r = cg_parse_mountinfo_line(line, len, &e);
		line = eol ? eol + 1 : NULL;
		if (r == -ENOMEM)
			goto out;
		if (r < 0)
			continue;
		r = 0;
		if (strcmp(e.fstype, "cgroup") == 0) {
			for (size_t c = 0; c < _CGROUP_CONTROLLER_MAX && r >= 0; c++)
				if (word_in(e.super_options, ",", v1_names[c]))
					r = hierarchy_offer(&l->h[c], 1, root, &e);
		} else if (strcmp(e.fstype, "cgroup2") == 0) {
			r = hierarchy_offer(&unified, 2, root, &e);
		}
		mountinfo_entry_done(&e);
		if (r < 0)
			goto out;
	}

	/* A controller bound to a v1 hierarchy is absent from v2's cgroup.controllers, so the
	 * two never claim the same controller. */
	if (unified.version) {
		cpath = path_join(unified.mount, "cgroup.controllers");
		if (!cpath) {
			r = -ENOMEM;
			goto out;
		}
		if (read_file_at(AT_FDCWD, cpath, &controllers) < 0)
			controllers = NULL;
	}
	for (size_t c = 0; c < _CGROUP_CONTROLLER_MAX && controllers; c++) {
		if (l->h[c].version || !word_in(controllers, " \n", v2_names[c]))
			continue;
		l->h[c].mount = strdup(unified.mount);
		l->h[c].fsroot = strdup(unified.fsroot);
		if (!l->h[c].mount || !l->h[c].fsroot) {
			r = -ENOMEM;
			goto out;
		}
		l->h[c].version = 2;
	}
	*ret = TAKE_PTR(l);
	r = 0;
out:
	free(unified.mount);
	free(unified.fsroot);
	return r;
}

int cgroup_layout_detect(const char *root, struct cgroup_layout **ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	if (asprintf(&path, "%s/proc/self/mountinfo", root) < 0)
		return -ENOMEM;
	r = read_list_at(AT_FDCWD, path, &text);
	if (r < 0)
		return r;
	return cgroup_layout_parse(root, text, ret);
}

int cgroup_layout_version(const struct cgroup_layout *l, enum cgroup_controller c)
{
	return c < _CGROUP_CONTROLLER_MAX ? l->h[c].version : 0;
}

const char *cgroup_layout_mount(const struct cgroup_layout *l, enum cgroup_controller c)
{
	return c < _CGROUP_CONTROLLER_MAX ? l->h[c].mount : NULL;
}

/* ---- resolution ---- */

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
		free(cg->mount[i]);
		free(cg->dir[i]);
	}
	free(cg->proc);
	free(cg);
}

/* The kernel never prints "." or ".." components, nor empty ones: refuse any that would let a
 * path step outside the mount. */
static bool path_is_clean(const char *p)
{
	for (const char *s = p; *s;) {
		size_t l;

		s += strspn(s, "/");
		l = strcspn(s, "/");
		if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += l;
	}
	return true;
}

int cgroup_resolve_text(const struct cgroup_layout *l, const char *proc_pid_cgroup,
			struct cgroup **ret)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r;

	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	if (asprintf(&cg->proc, "%s/proc", l->root) < 0) {
		cg->proc = NULL;
		return -ENOMEM;
	}

	for (size_t c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
		const struct hierarchy *h = &l->h[c];
		_cleanup_free_ char *path = NULL;
		const char *rel;
		size_t rootlen;

		cg->error[c] = -EOPNOTSUPP;
		if (!h->version)
			continue;
		r = cg_parse_proc_cgroup(proc_pid_cgroup, h->version == 1 ? v1_names[c] : NULL,
					 &path);
		if (r == -ENXIO) /* no line for this controller: it stays unavailable */
			continue;
		if (r < 0)
			return r;
		if (!path_is_clean(path))
			return -EINVAL;

		rootlen = strcmp(h->fsroot, "/") == 0 ? 0 : strlen(h->fsroot);
		if (strncmp(path, h->fsroot, rootlen) != 0 ||
		    (path[rootlen] != '/' && path[rootlen] != 0)) {
			/* Outside the subtree that is mounted here: unreachable for us. */
			cg->error[c] = -ENOENT;
			continue;
		}
		rel = path + rootlen;
		rel += strspn(rel, "/");
		cg->dir[c] = *rel ? path_join(h->mount, rel) : strdup(h->mount);
		cg->mount[c] = strdup(h->mount);
		if (!cg->dir[c] || !cg->mount[c])
			return -ENOMEM;
		cg->version[c] = h->version;
		cg->error[c] = 0;
	}
	*ret = TAKE_PTR(cg);
	return 0;
}

int cgroup_resolve_pid(const struct cgroup_layout *l, pid_t pid, struct cgroup **ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	if (pid <= 0)
		return -EINVAL;
	if (asprintf(&path, "%s/proc/%d/cgroup", l->root, (int)pid) < 0)
		return -ENOMEM;
	r = read_file_at(AT_FDCWD, path, &text);
	if (r < 0)
		return r;
	return cgroup_resolve_text(l, text, ret);
}

const char *cgroup_path(const struct cgroup *cg, enum cgroup_controller c)
{
	return c < _CGROUP_CONTROLLER_MAX ? cg->dir[c] : NULL;
}

/* ---- reading values ---- */

/* Opens the cgroup's directory for c: -ENOENT once the cgroup is removed. */
static int open_leaf(const struct cgroup *cg, enum cgroup_controller c)
{
	int fd;

	if (!cg->dir[c])
		return cg->error[c];
	fd = open(cg->dir[c], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	return fd;
}

/* A file of the cgroup was missing: either the cgroup went away meanwhile, or (v2) the
 * controller is not enabled for it. */
static int leaf_file_missing(const struct cgroup *cg, enum cgroup_controller c)
{
	if (access(cg->dir[c], F_OK) < 0)
		return errno == ENOENT ? -ENOENT : negative_errno();
	return -EOPNOTSUPP;
}

static int read_leaf(const struct cgroup *cg, enum cgroup_controller c, int dfd, const char *name,
		     char **ret)
{
	int r = read_file_at(dfd, name, ret);

	if (r == -ENOENT || r == -ENODEV)
		return leaf_file_missing(cg, c);
	return r;
}

static int read_leaf_u64(const struct cgroup *cg, enum cgroup_controller c, int dfd,
			 const char *name, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = read_leaf(cg, c, dfd, name, &text);
	if (r < 0)
		return r;
	return cg_parse_u64(text, ret);
}

/* Strips the last component of dir, unless dir is the mount point already. */
static bool dir_up(char *dir, size_t mountlen)
{
	char *slash;

	if (strlen(dir) <= mountlen)
		return false;
	slash = strrchr(dir, '/');
	if (!slash || (size_t)(slash - dir) < mountlen)
		return false;
	*slash = 0;
	return true;
}

typedef int (*level_fn)(const char *text, void *userdata);

/* Calls fn with the content of <dir>/name for the cgroup and every ancestor up to the mount
 * point, skipping levels without the file (v2 shows a controller's files only where the parent
 * enables it; the root has no limits at all). Returns how many levels had the file. */
static int walk_up(const struct cgroup *cg, enum cgroup_controller c, const char *name, level_fn fn,
		   void *userdata)
{
	_cleanup_free_ char *dir = NULL;
	size_t mountlen = strlen(cg->mount[c]);
	int n = 0, r;

	dir = strdup(cg->dir[c]);
	if (!dir)
		return -ENOMEM;
	do {
		_cleanup_free_ char *path = NULL, *text = NULL;

		path = path_join(dir, name);
		if (!path)
			return -ENOMEM;
		r = read_file_at(AT_FDCWD, path, &text);
		if (r == -ENOENT || r == -ENODEV)
			continue;
		if (r < 0)
			return r;
		r = fn(text, userdata);
		if (r < 0)
			return r;
		n++;
		if (r > 0)
			break;
	} while (dir_up(dir, mountlen));
	return n;
}

static int min_limit_fn(const char *text, void *userdata)
{
	uint64_t *min = userdata, v;
	int r;

	r = cg_parse_limit(text, &v);
	if (r < 0)
		return r;
	*min = min_u64(*min, v);
	return 0;
}

static int path_min_limit(const struct cgroup *cg, enum cgroup_controller c, const char *name,
			  uint64_t *ret)
{
	uint64_t min = CGROUP_UNLIMITED;
	int r;

	r = walk_up(cg, c, name, min_limit_fn, &min);
	if (r < 0)
		return r;
	*ret = min;
	return 0;
}

static int memory_v1(const struct cgroup *cg, int dfd, struct cgroup_memory *m)
{
	_cleanup_free_ char *stat = NULL, *memsw = NULL;
	uint64_t v[_CG_MEMSTAT_V1_MAX] = {}, found, memsw_limit, memsw_usage;
	int r;

	r = read_leaf_u64(cg, CGROUP_MEMORY, dfd, "memory.usage_in_bytes", &m->usage);
	if (r < 0)
		return r;
	r = read_leaf(cg, CGROUP_MEMORY, dfd, "memory.stat", &stat);
	if (r < 0)
		return r;
	found = cg_parse_keyed(stat, cg_memstat_v1_keys, v, _CG_MEMSTAT_V1_MAX);

	/* hierarchical_memory_limit is the kernel's own minimum over every ancestor, those above
	 * a mounted subtree included (and none when use_hierarchy is off on old kernels, where
	 * the ancestors' limits do not apply): walk the path only when it is missing. */
	if (found & (UINT64_C(1) << CG_MEMSTAT_V1_HIER_LIMIT))
		m->limit = cg_memstat_v1_limit(v[CG_MEMSTAT_V1_HIER_LIMIT]);
	else {
		r = path_min_limit(cg, CGROUP_MEMORY, "memory.limit_in_bytes", &m->limit);
		if (r < 0)
			return r;
	}

	cg_memstat_v1_apply(v, m);

	/* memsw files exist only with swap accounting (CONFIG_MEMCG_SWAP, swapaccount=1). */
	r = read_file_at(dfd, "memory.memsw.usage_in_bytes", &memsw);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = cg_parse_u64(memsw, &memsw_usage);
	if (r < 0)
		return r;
	if (found & (UINT64_C(1) << CG_MEMSTAT_V1_HIER_MEMSW_LIMIT))
		memsw_limit = cg_memstat_v1_limit(v[CG_MEMSTAT_V1_HIER_MEMSW_LIMIT]);
	else {
		r = path_min_limit(cg, CGROUP_MEMORY, "memory.memsw.limit_in_bytes", &memsw_limit);
		if (r < 0)
			return r;
	}

	m->swap_accounted = true;
	m->swap_limit = cg_memsw_swap_limit(memsw_limit, m->limit);
	if (found & (UINT64_C(1) << CG_MEMSTAT_V1_SWAP))
		m->swap_usage = v[CG_MEMSTAT_V1_SWAP];
	else
		m->swap_usage = sub_sat(memsw_usage, m->usage);
	return 0;
}

static int memory_v2(const struct cgroup *cg, int dfd, struct cgroup_memory *m)
{
	_cleanup_free_ char *stat = NULL, *swap = NULL;
	uint64_t v[_CG_MEMSTAT_V2_MAX] = {}, found;
	int r;

	r = read_leaf_u64(cg, CGROUP_MEMORY, dfd, "memory.current", &m->usage);
	if (r < 0)
		return r;
	r = read_leaf(cg, CGROUP_MEMORY, dfd, "memory.stat", &stat);
	if (r < 0)
		return r;
	found = cg_parse_keyed(stat, cg_memstat_v2_keys, v, _CG_MEMSTAT_V2_MAX);
	r = path_min_limit(cg, CGROUP_MEMORY, "memory.max", &m->limit);
	if (r < 0)
		return r;

	cg_memstat_v2_apply(v, found, m);

	/* memory.swap.* exist only with swap accounting. */
	r = read_file_at(dfd, "memory.swap.max", &swap);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = path_min_limit(cg, CGROUP_MEMORY, "memory.swap.max", &m->swap_limit);
	if (r < 0)
		return r;
	r = read_leaf_u64(cg, CGROUP_MEMORY, dfd, "memory.swap.current", &m->swap_usage);
	if (r < 0)
		return r;
	m->swap_accounted = true;
	return 0;
}

int cgroup_get_memory(const struct cgroup *cg, struct cgroup_memory *ret)
{
	_cleanup_close_ int dfd = -EBADF;
	struct cgroup_memory m = {};
	int r;

	dfd = open_leaf(cg, CGROUP_MEMORY);
	if (dfd < 0)
		return dfd;
	if (cg->version[CGROUP_MEMORY] == 1)
		r = memory_v1(cg, dfd, &m);
	else
		r = memory_v2(cg, dfd, &m);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

static int cpuset_fn(const char *text, void *userdata)
{
	int r = cpulist_parse(text, userdata);

	return r < 0 ? r : 1;
}

struct quota {
	uint64_t quota, period;
};

static void quota_offer(struct quota *q, uint64_t quota, uint64_t period)
{
	if (quota == CGROUP_UNLIMITED || period == 0)
		return;
	/* quota/period < q->quota/q->period, in 128 bits: both come as 64-bit microseconds. */
	if (q->quota == CGROUP_UNLIMITED ||
	    (unsigned __int128)quota * q->period < (unsigned __int128)q->quota * period) {
		q->quota = quota;
		q->period = period;
	}
}

static int cpu_max_fn(const char *text, void *userdata)
{
	uint64_t quota, period;
	int r;

	r = cg_parse_cpu_max(text, &quota, &period);
	if (r < 0)
		return r;
	quota_offer(userdata, quota, period);
	return 0;
}

/* v1 splits quota and period into two files: read both at each level. */
static int quota_v1(const struct cgroup *cg, struct quota *q)
{
	_cleanup_free_ char *dir = NULL;
	size_t mountlen = strlen(cg->mount[CGROUP_CPU]);
	int r;

	dir = strdup(cg->dir[CGROUP_CPU]);
	if (!dir)
		return -ENOMEM;
	do {
		_cleanup_free_ char *qtext = NULL, *ptext = NULL, *qpath = NULL, *ppath = NULL;
		uint64_t quota, period;

		qpath = path_join(dir, "cpu.cfs_quota_us");
		ppath = path_join(dir, "cpu.cfs_period_us");
		if (!qpath || !ppath)
			return -ENOMEM;
		r = read_file_at(AT_FDCWD, qpath, &qtext);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		r = read_file_at(AT_FDCWD, ppath, &ptext);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		r = cg_parse_limit(qtext, &quota);
		if (r < 0)
			return r;
		r = cg_parse_u64(ptext, &period);
		if (r < 0)
			return r;
		quota_offer(q, quota, period);
	} while (dir_up(dir, mountlen));
	return 0;
}

int cgroup_get_cpu(const struct cgroup *cg, struct cgroup_cpu *ret)
{
	struct cgroup_cpu cpu = {.quota_us = CGROUP_UNLIMITED};
	struct quota q = {.quota = CGROUP_UNLIMITED};
	int r;

	if (!cg->dir[CGROUP_CPUSET] && !cg->dir[CGROUP_CPU])
		return cg->error[CGROUP_CPUSET] == -ENOENT ? -ENOENT : cg->error[CGROUP_CPU];

	if (cg->dir[CGROUP_CPUSET]) {
		_cleanup_close_ int dfd = open_leaf(cg, CGROUP_CPUSET);
		const char *name = cg->version[CGROUP_CPUSET] == 1 ? "cpuset.effective_cpus"
								   : "cpuset.cpus.effective";

		if (dfd < 0)
			return dfd;
		r = walk_up(cg, CGROUP_CPUSET, name, cpuset_fn, &cpu.cpuset);
		if (r == 0 && cg->version[CGROUP_CPUSET] == 1)
			r = walk_up(cg, CGROUP_CPUSET, "cpuset.cpus", cpuset_fn, &cpu.cpuset);
		if (r < 0)
			return r;
		cpu.has_cpuset = r > 0;
	}

	if (cg->dir[CGROUP_CPU]) {
		_cleanup_close_ int dfd = open_leaf(cg, CGROUP_CPU);

		if (dfd < 0)
			return dfd;
		if (cg->version[CGROUP_CPU] == 1)
			r = quota_v1(cg, &q);
		else
			r = walk_up(cg, CGROUP_CPU, "cpu.max", cpu_max_fn, &q);
		if (r < 0)
			return r;
		cpu.quota_us = q.quota;
		cpu.period_us = q.quota == CGROUP_UNLIMITED ? 0 : q.period;
	}
	*ret = cpu;
	return 0;
}

void cgroup_cpu_usage_done(struct cgroup_cpu_usage *u)
{
	free(u->percpu_user_ns);
	free(u->percpu_system_ns);
	*u = (struct cgroup_cpu_usage){};
}

static int read_leaf_list(const struct cgroup *cg, int dfd, const char *name, uint64_t **ret,
			  size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = read_leaf(cg, CGROUP_CPUACCT, dfd, name, &text);
	if (r < 0)
		return r;
	return cg_parse_u64_list(text, ret, ret_n);
}

static int usage_v1(const struct cgroup *cg, int dfd, struct cgroup_cpu_usage *u)
{
	_cleanup_free_ uint64_t *user = NULL, *sys = NULL, *total = NULL;
	size_t nu = 0, ns = 0, nt = 0;
	int r;

	/* Split by the kernel itself since 4.11; older kernels have only the per-CPU total. */
	r = read_leaf_list(cg, dfd, "cpuacct.usage_percpu_user", &user, &nu);
	if (r >= 0)
		r = read_leaf_list(cg, dfd, "cpuacct.usage_percpu_sys", &sys, &ns);
	if (r == -EOPNOTSUPP) {
		_cleanup_free_ char *stat = NULL;
		static const char *const keys[] = {"user", "system"};
		uint64_t v[2] = {};

		free(user);
		free(sys);
		user = sys = NULL;
		r = read_leaf_list(cg, dfd, "cpuacct.usage_percpu", &total, &nt);
		if (r < 0)
			return r;
		r = read_leaf(cg, CGROUP_CPUACCT, dfd, "cpuacct.stat", &stat);
		if (r < 0)
			return r;
		(void)cg_parse_keyed(stat, keys, v, 2);
		user = calloc(nt ? nt : 1, sizeof(*user));
		sys = calloc(nt ? nt : 1, sizeof(*sys));
		if (!user || !sys)
			return -ENOMEM;
		for (size_t i = 0; i < nt; i++) {
			/* cpuacct.stat's user:system ratio (USER_HZ ticks) applied to each CPU. */
			long double share = (v[0] + v[1]) ? (long double)v[0] / (v[0] + v[1]) : 1;

			user[i] = (uint64_t)(total[i] * share);
			sys[i] = total[i] - user[i];
		}
		nu = ns = nt;
	} else if (r < 0) {
		return r;
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

static int usage_v2(const struct cgroup *cg, int dfd, struct cgroup_cpu_usage *u)
{
	static const char *const keys[] = {"user_usec", "system_usec"};
	_cleanup_free_ char *stat = NULL;
	uint64_t v[2] = {};
	int r;

	r = read_leaf(cg, CGROUP_CPUACCT, dfd, "cpu.stat", &stat);
	if (r < 0)
		return r;
	if (cg_parse_keyed(stat, keys, v, 2) != 3)
		return -EBADMSG;
	u->user_ns = v[0] * 1000;
	u->system_ns = v[1] * 1000;
	return 0;
}

int cgroup_get_cpu_usage(const struct cgroup *cg, struct cgroup_cpu_usage *ret)
{
	_cleanup_close_ int dfd = -EBADF;
	struct cgroup_cpu_usage u = {};
	int r;

	dfd = open_leaf(cg, CGROUP_CPUACCT);
	if (dfd < 0)
		return dfd;
	if (cg->version[CGROUP_CPUACCT] == 1)
		r = usage_v1(cg, dfd, &u);
	else
		r = usage_v2(cg, dfd, &u);
	if (r < 0) {
		cgroup_cpu_usage_done(&u);
		return r;
	}
	*ret = u;
	return 0;
}

static void count_task(const struct cgroup *cg, const char *tid, pid_t reader_tid,
		       struct cgroup_tasks *t)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	char state;

	if (asprintf(&path, "%s/%s/stat", cg->proc, tid) < 0)
		return;
	/* A thread that exited since the list was read is simply not counted. */
	if (read_file_at(AT_FDCWD, path, &text) < 0 || cg_parse_proc_stat_state(text, &state) < 0)
		return;
	t->total++;
	if (reader_tid > 0 && atol(tid) == (long)reader_tid) {
		t->running++;
		t->reader_seen = true;
	} else if (state == 'R') {
		t->running++;
	} else if (state == 'D') {
		t->blocked++;
	}
}

static int count_tasks_in(const struct cgroup *cg, int dfd, const char *list, pid_t reader_tid,
			  unsigned depth, struct cgroup_tasks *t)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r, fd;

	r = read_list_at(dfd, list, &text);
	if (r < 0)
		return r;
	for (char *line = text, *eol; line && *line; line = eol) {
		eol = strchr(line, '\n');
		if (eol)
			*eol++ = 0;
		if (line[strspn(line, "0123456789")] == 0 && *line)
			count_task(cg, line, reader_tid, t);
	}

	if (depth >= TASKS_DEPTH_MAX)
		return 0;
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		_cleanup_close_ int sub = -EBADF;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue; /* removed meanwhile */
		r = count_tasks_in(cg, sub, list, reader_tid, depth + 1, t);
		if (r < 0 && r != -ENOENT && r != -ENODEV)
			return r;
	}
	return 0;
}

int cgroup_get_tasks(const struct cgroup *cg, pid_t reader_tid, struct cgroup_tasks *ret)
{
	static const enum cgroup_controller order[] = {
	    CGROUP_CPU, CGROUP_CPUACCT, CGROUP_MEMORY, CGROUP_CPUSET, CGROUP_BLKIO,
	};
	struct cgroup_tasks t = {};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(order); i++) {
		enum cgroup_controller c = order[i];
		_cleanup_close_ int dfd = -EBADF;

		if (!cg->dir[c])
			continue;
		dfd = open(cg->dir[c], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return negative_errno();
		/* v2's cgroup.threads lists every thread, in domain cgroups as well. */
		r = count_tasks_in(cg, dfd, cg->version[c] == 1 ? "tasks" : "cgroup.threads",
				   reader_tid, 0, &t);
		if (r == -ENOENT || r == -ENODEV)
			return leaf_file_missing(cg, c);
		if (r < 0)
			return r;
		*ret = t;
		return 0;
	}
	return -EOPNOTSUPP;
}

void cgroup_io_done(struct cgroup_io *io)
{
	free(io->devs);
	*io = (struct cgroup_io){};
}

static int io_v1(const struct cgroup *cg, int dfd, struct cgroup_io *io)
{
	/* The throttle files count every bio once blk-throttle is active on the queue (any
	 * throttle rule on the device); the other pairs come from CFQ and BFQ. */
	static const char *const pairs[][2] = {
	    {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
	    {"blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"},
	    {"blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"},
	    {"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
	};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
		_cleanup_free_ char *bytes = NULL, *ios = NULL;

		r = read_file_at(dfd, pairs[i][0], &bytes);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		r = read_leaf(cg, CGROUP_BLKIO, dfd, pairs[i][1], &ios);
		if (r < 0)
			return r;
		r = cg_parse_blkio(bytes, true, io);
		if (r < 0)
			return r;
		return cg_parse_blkio(ios, false, io);
	}
	return leaf_file_missing(cg, CGROUP_BLKIO);
}

int cgroup_get_io(const struct cgroup *cg, struct cgroup_io *ret)
{
	_cleanup_close_ int dfd = -EBADF;
	struct cgroup_io io = {};
	int r;

	dfd = open_leaf(cg, CGROUP_BLKIO);
	if (dfd < 0)
		return dfd;
	if (cg->version[CGROUP_BLKIO] == 1) {
		r = io_v1(cg, dfd, &io);
	} else {
		_cleanup_free_ char *text = NULL;

		r = read_leaf(cg, CGROUP_BLKIO, dfd, "io.stat", &text);
		if (r >= 0)
			r = cg_parse_io_stat(text, &io);
	}
	if (r < 0) {
		cgroup_io_done(&io);
		return r;
	}
	*ret = io;
	return 0;
}
