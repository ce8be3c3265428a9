/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "cgroup/parse.h"
#include "nsenter/namespaces.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/procstat.h"

struct task_seen {
	uint64_t start;
	pid_t tid;
};

struct task_scan {
	const char *proc;
	pid_t reader;
	bool want_seen; /* candidates for the last pid are kept */
	struct cgroup_tasks t;
	size_t n, cap;
	struct task_seen *seen;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

enum cgroup_controller cg_tasks_controller(const struct cgroup *cg)
{
	static const enum cgroup_controller order[] = {
	    CGROUP_CPU, CGROUP_CPUACCT, CGROUP_MEMORY, CGROUP_CPUSET, CGROUP_BLKIO,
	};

	for (size_t i = 0; i < ELEMENTSOF(order); i++)
		if (cg->dir[order[i]])
			return order[i];
	return _CGROUP_CONTROLLER_MAX;
}

static void scan_task(struct task_scan *s, const char *tid)
{
	char path[PATH_MAX], buf[1024];
	_cleanup_close_ int fd = -EBADF;
	pid_t t = (pid_t)atol(tid);
	struct proc_stat st;
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s/stat", s->proc, tid) >= (int)sizeof(path))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	/* A thread that exited since the list was read is simply not counted. */
	if (fd < 0)
		return;
	/* The fields up to the state and start time fit well within the buffer. */
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return;
	buf[n] = 0;
	if (proc_stat_parse(buf, &st) < 0)
		return;
	s->t.total++;
	if (s->reader > 0 && t == s->reader) {
		s->t.running++;
		s->t.reader_seen = true;
	} else if (st.state == 'R') {
		s->t.running++;
	} else if (st.state == 'D') {
		s->t.blocked++;
	}
	if (!s->want_seen)
		return;
	if (ARRAY_GROW(s->seen, s->cap, s->n, 64) < 0)
		return; /* the count stands; only this candidate for the last pid is lost */
	s->seen[s->n++] = (struct task_seen){.start = st.start_time, .tid = t};
}

static int scan_dir(struct task_scan *s, int dfd, const char *list, unsigned depth)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_free_ char *text = NULL;
	struct dirent *de;
	int r, fd;

	/* tasks and cgroup.threads hand out a record per task: read on until 0. */
	r = cg_errno(cg_read_at(dfd, list, false, &text));
	if (r < 0)
		return r;
	for (char *line = text, *eol; line && *line; line = eol) {
		eol = strchr(line, '\n');
		if (eol)
			*eol++ = 0;
		if (*line && line[strspn(line, "0123456789")] == 0)
			scan_task(s, line);
	}
	if (depth >= CGROUP_TASKS_DEPTH_MAX)
		return 0;
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cg_errno(negative_errno());
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		safe_close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		_cleanup_close_ int sub = -EBADF;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue; /* removed meanwhile */
		r = scan_dir(s, sub, list, depth + 1);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

static int by_newest(const void *a, const void *b)
{
	const struct task_seen *x = a, *y = b;

	if (x->start != y->start)
		return x->start > y->start ? -1 : 1;
	return x->tid > y->tid ? -1 : x->tid < y->tid;
}

/* The last NSpid field of /proc/<tid>/status: the pid in the task's own pid namespace. */
static int nspid_inner(pid_t tid, pid_t *ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	const char *p, *eol;
	long v = -1;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	r = read_full_file(path, &text, NULL);
	if (r < 0)
		return r;
	p = strstr(text, "\nNSpid:");
	if (!p)
		return -EBADMSG;
	p += strlen("\nNSpid:");
	eol = strchrnul(p, '\n');
	while (p < eol) {
		char *end;
		long x;

		p += strspn(p, " \t");
		if (p >= eol)
			break;
		x = strtol(p, &end, 10);
		if (end == p)
			return -EBADMSG;
		v = x;
		p = end;
	}
	if (v <= 0)
		return -EBADMSG;
	*ret = (pid_t)v;
	return 0;
}

static int ns_last_pid_of_daemon(pid_t *ret)
{
	_cleanup_free_ char *text = NULL;
	uint64_t v;
	int r;

	r = read_full_file("/proc/sys/kernel/ns_last_pid", &text, NULL);
	if (r < 0)
		return r;
	r = cg_parse_u64(text, &v);
	if (r < 0)
		return r;
	*ret = (pid_t)v;
	return 0;
}

static int last_pid(struct task_scan *s, pid_t *ret)
{
	uint64_t reader_ns;
	int r;

	r = ns_is_host(s->reader, NS_PID);
	if (r < 0)
		return r;
	if (r > 0)
		return ns_last_pid_of_daemon(ret);
	r = ns_get_inode(s->reader, NS_PID, &reader_ns);
	if (r < 0)
		return r;

	qsort(s->seen, s->n, sizeof(*s->seen), by_newest);
	for (size_t i = 0; i < s->n; i++) {
		uint64_t ns;

		/* Tasks of the cgroup outside the reader's namespace (a runtime's helper in the
		 * host's, a nested container's) have pids the reader must not see. */
		if (ns_get_inode(s->seen[i].tid, NS_PID, &ns) < 0 || ns != reader_ns)
			continue;
		if (nspid_inner(s->seen[i].tid, ret) == 0)
			return 0;
	}
	return nspid_inner(s->reader, ret);
}

int cg_tasks_scan(int dfd, const char *list, const char *proc, pid_t reader,
		  struct cgroup_tasks *ret_tasks, pid_t *ret_last_pid)
{
	struct task_scan s = {.proc = proc, .reader = reader, .want_seen = ret_last_pid};
	int r;

	r = scan_dir(&s, dfd, list, 0);
	if (r >= 0 && ret_last_pid)
		r = last_pid(&s, ret_last_pid);
	if (r >= 0)
		*ret_tasks = s.t;
	free(s.seen);
	return r < 0 ? r : 0;
}
