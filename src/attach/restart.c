/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attach/attach.h"
#include "attach/restart.h"
#include "nsenter/namespaces.h"
#include "util/array.h"
#include "util/macro.h"
#include "util/mountinfo.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* At most this many containers are worked on at once: each is a child process. */
#define REATTACH_PARALLEL 16

/* One mount namespace being re-attached. */
struct ns_work {
	pid_t pid;
	uint64_t ino;
	struct mountinfo *mi;
	const struct mountinfo_entry **dead; /* the outermost dead mounts, one op each */
	struct nsmount_op *ops;
	size_t n;
	struct nsmount_job *job;
};

struct scan {
	const char *mountpoint;
	struct nsmount_devs devs;
	uint64_t *seen; /* mount namespace inodes */
	size_t n_seen, cap_seen;
	struct ns_work *work[REATTACH_PARALLEL];
	size_t n_work;
	reattach_report_fn report;
	void *userdata;
	struct reattach_stats stats;
};

/* 1 if the namespace was not seen before (and is now), 0 if it was. */
static int see_namespace(struct scan *s, uint64_t ino)
{
	for (size_t i = 0; i < s->n_seen; i++)
		if (s->seen[i] == ino)
			return 0;
	if (ARRAY_GROW(s->seen, s->cap_seen, s->n_seen, 16) < 0)
		return -ENOMEM;
	s->seen[s->n_seen++] = ino;
	return 1;
}

/* A mount of a connection the host saw die at the mountpoint: the device number is the
 * kernel's, so a container's own FUSE mount cannot pass for one, whatever it calls itself. */
static bool is_dead_procbox(const struct scan *s, const struct mountinfo_entry *e)
{
	dev_t dev = makedev(e->major, e->minor);

	for (size_t i = 0; i < s->devs.n_dead; i++)
		if (s->devs.dead[i] == dev)
			return true;
	return false;
}

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return strcmp(path, "/") != 0;
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static void report(struct scan *s, pid_t pid, uint64_t ino, const struct mountinfo_entry *e,
		   int error, const struct nsmount_op *op)
{
	struct reattach_report r = {
	    .pid = pid,
	    .ns_ino = ino,
	    .mountpoint = e->mountpoint,
	    .root = e->root,
	    .error = error,
	    .op = op,
	};

	if (error < 0 || !op || (op->outcome != NSMOUNT_REPLACED && op->outcome != NSMOUNT_ALREADY))
		s->stats.failed++;
	else if (op->outcome == NSMOUNT_REPLACED)
		s->stats.replaced++;
	if (s->report)
		s->report(&r, s->userdata);
}

static void work_free(struct ns_work *w)
{
	if (!w)
		return;
	for (size_t i = 0; w->ops && i < w->n; i++)
		safe_close(w->ops[i].tree_fd);
	mountinfo_free(w->mi);
	free(w->dead);
	free(w->ops);
	free(w);
}

/* Collects the results of one namespace's child (at most its time limit) and reports. */
static void work_finish(struct scan *s, struct ns_work *w)
{
	int r = nsmount_finish(w->job);

	for (size_t i = 0; i < w->n; i++)
		report(s, w->pid, w->ino, w->dead[i], r < 0 ? r : 0, r < 0 ? NULL : &w->ops[i]);
	work_free(w);
}

static void reattach_namespace(struct scan *s, pid_t pid, uint64_t ino, struct mountinfo *mi)
{
	struct ns_work *w = calloc(1, sizeof(*w));
	size_t n_dead = 0;
	int r;

	if (!w || !(w->dead = calloc(mi->n, sizeof(*w->dead))) ||
	    !(w->ops = calloc(mi->n, sizeof(*w->ops)))) {
		mountinfo_free(mi);
		work_free(w);
		return;
	}
	w->pid = pid;
	w->ino = ino;
	w->mi = mi;
	for (size_t i = 0; i < mi->n; i++) {
		const struct mountinfo_entry *e = &mi->entries[i];
		bool nested = false;

		if (!is_dead_procbox(s, e))
			continue;
		/* Replacing the outer dead mount takes the inner ones with it; a mount stacked
		 * on another at the same place is handled with it. */
		for (size_t k = 0; k < n_dead; k++)
			if (below(e->mountpoint, w->dead[k]->mountpoint) ||
			    strcmp(e->mountpoint, w->dead[k]->mountpoint) == 0)
				nested = true;
		s->stats.dead++;
		if (!nested)
			w->dead[n_dead++] = e;
	}

	for (size_t i = 0; i < n_dead; i++) {
		const struct mountinfo_entry *e = w->dead[i];
		mode_t type = 0;
		int fd;

		if (strcmp(e->mountpoint, "/") == 0) {
			report(s, pid, ino, e, -EBUSY, NULL);
			continue;
		}
		fd = nsmount_clone_tree(s->mountpoint, e->root, &type);
		if (fd < 0) {
			report(s, pid, ino, e, fd, NULL);
			continue;
		}
		w->dead[w->n] = e;
		w->ops[w->n++] = (struct nsmount_op){
		    .path = e->mountpoint + 1,
		    .action = NSMOUNT_ATTACH,
		    .tree_fd = fd,
		    .tree_type = type,
		    .keep_readonly = strcmp(e->mountpoint, "/proc/sys") == 0,
		};
	}
	if (w->n == 0) {
		work_free(w);
		return;
	}
	/* Containers are worked on side by side: one whose child hangs costs the others
	 * nothing, and the whole scan at most about one time limit per REATTACH_PARALLEL. */
	if (s->n_work == REATTACH_PARALLEL) {
		work_finish(s, s->work[0]);
		memmove(s->work, s->work + 1, (REATTACH_PARALLEL - 1) * sizeof(*s->work));
		s->n_work--;
	}
	r = nsmount_start(pid, NULL, &s->devs, w->ops, w->n, REATTACH_TIMEOUT_MS, &w->job);
	if (r < 0) {
		for (size_t i = 0; i < w->n; i++)
			report(s, pid, ino, w->dead[i], r, NULL);
		work_free(w);
		return;
	}
	s->work[s->n_work++] = w;
}

int reattach_dead_devs_at(const char *mountpoint, dev_t **ret, size_t *ret_n)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;
	_cleanup_free_ char *copy = strdup(mountpoint), *dir = NULL, *path = NULL;
	_cleanup_free_ dev_t *devs = NULL;
	struct statfs sf;
	char *slash;
	size_t n = 0;
	int r;

	if (!copy)
		return -ENOMEM;
	/* realpath() of the mountpoint itself would stat the dead mount: ENOTCONN. */
	slash = strrchr(copy, '/');
	if (slash && slash != copy) {
		*slash = 0;
		dir = realpath(copy, NULL);
	} else if (slash) {
		dir = strdup("");
	} else {
		dir = realpath(".", NULL);
	}
	if (!dir)
		return negative_errno();
	if (asprintf(&path, "%s/%s", dir, slash ? slash + 1 : copy) < 0)
		return -ENOMEM;
	r = mountinfo_read_pid(getpid(), &mi);
	if (r < 0)
		return r;
	devs = calloc(mi->n + 1, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	/* statfs() answers through the top mount only: ENOTCONN there is a daemon gone. */
	if (statfs(path, &sf) < 0 && errno == ENOTCONN)
		for (size_t i = 0; i < mi->n; i++) {
			const struct mountinfo_entry *e = &mi->entries[i];

			/* The host's own mount table: its strings are procbox's own. */
			if (mountinfo_entry_is_procbox(e) && strcmp(e->mountpoint, path) == 0)
				devs[n++] = makedev(e->major, e->minor);
		}
	*ret = TAKE_PTR(devs);
	*ret_n = n;
	return 0;
}

int reattach_dead_mounts(const char *mountpoint, const dev_t *devs, size_t n_devs,
			 reattach_report_fn report_fn, void *userdata, struct reattach_stats *ret)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct scan s = {
	    .mountpoint = mountpoint,
	    .devs = {.dead = devs, .n_dead = n_devs},
	    .report = report_fn,
	    .userdata = userdata,
	};
	struct dirent *de;
	struct stat st;

	if (n_devs == 0)
		return -EINVAL;
	if (stat(mountpoint, &st) < 0)
		return negative_errno();
	s.devs.live = st.st_dev;
	d = opendir("/proc");
	if (!d)
		return negative_errno();
	while ((de = readdir(d))) {
		struct mountinfo *mi = NULL;
		bool any = false;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		uint64_t ino;
		int r;

		if (*end || pid <= 0)
			continue;
		if (ns_get_inode((pid_t)pid, NS_MNT, &ino) < 0)
			continue; /* gone, or a kernel thread */
		r = see_namespace(&s, ino);
		if (r <= 0)
			continue;
		s.stats.namespaces++;
		/* Reading mountinfo asks no FUSE server anything. */
		if (mountinfo_read_pid((pid_t)pid, &mi) < 0)
			continue;
		for (size_t i = 0; i < mi->n && !any; i++)
			any = is_dead_procbox(&s, &mi->entries[i]);
		if (any)
			reattach_namespace(&s, (pid_t)pid, ino, mi);
		else
			mountinfo_free(mi);
	}
	for (size_t i = 0; i < s.n_work; i++)
		work_finish(&s, s.work[i]);
	free(s.seen);
	if (ret)
		*ret = s.stats;
	return 0;
}
