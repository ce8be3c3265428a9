/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attach/attach.h"
#include "attach/mountinfo.h"
#include "attach/restart.h"
#include "nsenter/namespaces.h"
#include "util/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

enum { DEV_UNKNOWN, DEV_LIVE, DEV_DEAD };

struct dev_state {
	dev_t dev;
	int state;
};

struct scan {
	const char *mountpoint;
	dev_t live_dev;
	const dev_t *only; /* the dead connections to look for; NULL: any dead one */
	size_t n_only;
	uint64_t *seen; /* mount namespace inodes */
	size_t n_seen, cap_seen;
	struct dev_state *devs;
	size_t n_devs, cap_devs;
	reattach_report_fn report;
	void *userdata;
	struct reattach_stats stats;
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (n < *cap)
		return 0;
	q = reallocarray(*p, *cap ? *cap * 2 : 16, size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = *cap ? *cap * 2 : 16;
	return 0;
}

/* 1 if the namespace was not seen before (and is now), 0 if it was. */
static int see_namespace(struct scan *s, uint64_t ino)
{
	for (size_t i = 0; i < s->n_seen; i++)
		if (s->seen[i] == ino)
			return 0;
	if (grow((void **)&s->seen, &s->cap_seen, s->n_seen, sizeof(*s->seen)) < 0)
		return -ENOMEM;
	s->seen[s->n_seen++] = ino;
	return 1;
}

/* Whether a FUSE connection is dead shows on any of its mounts: statfs answers ENOTCONN.
 * The path is the container's: no symlinks, nothing outside the process's root. */
static int probe_dead(pid_t pid, const char *mountpoint)
{
	_cleanup_close_ int root = -EBADF, fd = -EBADF;
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char path[64];
	struct statfs sf;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return negative_errno();
	while (*mountpoint == '/')
		mountpoint++;
	fd = (int)syscall(SYS_openat2, root, *mountpoint ? mountpoint : ".", &how, sizeof(how));
	if (fd < 0)
		return negative_errno();
	if (fstatfs(fd, &sf) < 0)
		return errno == ENOTCONN ? 1 : negative_errno();
	return 0;
}

static int dev_state(struct scan *s, pid_t pid, const struct mountinfo_entry *e)
{
	dev_t dev = makedev(e->major, e->minor);
	struct dev_state *d = NULL;
	int r;

	if (dev == s->live_dev)
		return DEV_LIVE;
	if (s->only) {
		for (size_t i = 0; i < s->n_only; i++)
			if (s->only[i] == dev)
				return DEV_DEAD;
		return DEV_LIVE;
	}
	for (size_t i = 0; i < s->n_devs; i++)
		if (s->devs[i].dev == dev)
			d = &s->devs[i];
	if (d && d->state != DEV_UNKNOWN)
		return d->state;
	if (!d) {
		if (grow((void **)&s->devs, &s->cap_devs, s->n_devs, sizeof(*s->devs)) < 0)
			return DEV_UNKNOWN;
		d = &s->devs[s->n_devs++];
		*d = (struct dev_state){.dev = dev};
	}
	/* A mount covered by another one cannot be probed; another mount of the same
	 * connection may tell later. */
	r = probe_dead(pid, e->mountpoint);
	if (r >= 0)
		d->state = r ? DEV_DEAD : DEV_LIVE;
	return d->state;
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

static int open_tree_at(const char *mountpoint, const char *root, mode_t *ret_type)
{
	_cleanup_close_ int fd = -EBADF;
	char full[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(full, sizeof(full), "%s%s", mountpoint,
			     strcmp(root, "/") == 0 ? "" : root) >= sizeof(full))
		return -ENAMETOOLONG;
	fd = open_tree(AT_FDCWD, full, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	*ret_type = st.st_mode & S_IFMT;
	return TAKE_FD(fd);
}

static void reattach_namespace(struct scan *s, pid_t pid, uint64_t ino, const struct mountinfo *mi)
{
	_cleanup_free_ const struct mountinfo_entry **dead = NULL;
	_cleanup_free_ struct nsmount_op *ops = NULL;
	_cleanup_free_ size_t *which = NULL;
	size_t n_dead = 0, n = 0;
	int r;

	dead = calloc(mi->n, sizeof(*dead));
	ops = calloc(mi->n, sizeof(*ops));
	which = calloc(mi->n, sizeof(*which));
	if (!dead || !ops || !which)
		return;
	for (size_t i = 0; i < mi->n; i++) {
		const struct mountinfo_entry *e = &mi->entries[i];
		bool nested = false;

		if (!mountinfo_entry_is_procbox(e) || dev_state(s, pid, e) != DEV_DEAD)
			continue;
		/* Unmounting the outer dead mount takes the inner ones with it; a mount stacked
		 * on another at the same place is handled with it. */
		for (size_t k = 0; k < n_dead; k++)
			if (below(e->mountpoint, dead[k]->mountpoint) ||
			    strcmp(e->mountpoint, dead[k]->mountpoint) == 0)
				nested = true;
		s->stats.dead++;
		if (nested)
			continue;
		dead[n_dead++] = e;
	}

	for (size_t i = 0; i < n_dead; i++) {
		const struct mountinfo_entry *e = dead[i];
		mode_t type = 0;
		int fd;

		if (strcmp(e->mountpoint, "/") == 0) {
			report(s, pid, ino, e, -EBUSY, NULL);
			continue;
		}
		fd = open_tree_at(s->mountpoint, e->root, &type);
		if (fd < 0) {
			report(s, pid, ino, e, fd, NULL);
			continue;
		}
		ops[n] = (struct nsmount_op){
		    .path = e->mountpoint + 1,
		    .action = NSMOUNT_ATTACH,
		    .tree_fd = fd,
		    .tree_type = type,
		};
		which[n++] = i;
	}
	if (n == 0)
		return;
	r = nsmount_run(pid, NULL, ops, n, ATTACH_TIMEOUT_MS);
	for (size_t i = 0; i < n; i++) {
		report(s, pid, ino, dead[which[i]], r < 0 ? r : 0, r < 0 ? NULL : &ops[i]);
		safe_close(ops[i].tree_fd);
	}
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
	    .only = n_devs > 0 ? devs : NULL,
	    .n_only = n_devs,
	    .report = report_fn,
	    .userdata = userdata,
	};
	struct dirent *de;
	struct stat st;

	if (stat(mountpoint, &st) < 0)
		return negative_errno();
	s.live_dev = st.st_dev;
	d = opendir("/proc");
	if (!d)
		return negative_errno();
	while ((de = readdir(d))) {
		_cleanup_mountinfo_ struct mountinfo *mi = NULL;
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
		if (mountinfo_read_pid((pid_t)pid, &mi) < 0)
			continue;
		for (size_t i = 0; i < mi->n && !any; i++)
			any = mountinfo_entry_is_procbox(&mi->entries[i]) &&
			      makedev(mi->entries[i].major, mi->entries[i].minor) != s.live_dev;
		if (any)
			reattach_namespace(&s, (pid_t)pid, ino, mi);
	}
	free(s.seen);
	free(s.devs);
	if (ret)
		*ret = s.stats;
	return 0;
}
