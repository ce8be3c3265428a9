/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
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
#include "container/container.h"
#include "fs/inodeset.h"
#include "handlers/families.h"
#include "nsenter/namespaces.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/mountinfo.h"
#include "util/procstat.h"

#define FUSE_SUPER_MAGIC 0x65735546

/* The points of the last items_init(), which items point into. */
static struct handler_binds points;

size_t attach_n_items(const struct attach_item *items)
{
	size_t n = 0;

	while (n < ATTACH_MAX_POINTS && items[n].path)
		n++;
	return n;
}

int attach_check_mountpoint(const char *mountpoint)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;
	const struct mountinfo_entry *top;
	char real[PATH_MAX];
	struct statfs sf;
	int r;

	if (statfs(mountpoint, &sf) < 0)
		return errno == ENOTCONN ? -ENOTCONN : -ENODEV;
	if (sf.f_type != FUSE_SUPER_MAGIC || !realpath(mountpoint, real))
		return -ENODEV;
	r = mountinfo_read_pid(getpid(), &mi);
	if (r < 0)
		return r;
	top = mountinfo_find_top(mi, real);
	return mountinfo_entry_is_procbox(top) ? 0 : -ENODEV;
}

int attach_shares_mount_ns(pid_t pid)
{
	uint64_t a, b;
	int r;

	r = ns_get_inode(pid, NS_MNT, &a);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	r = ns_get_inode(getpid(), NS_MNT, &b);
	if (r < 0)
		return r;
	return a == b;
}

static struct attach_item item_make(const char *source, const char *target,
				    enum nsmount_action action)
{
	return (struct attach_item){
	    .path = target,
	    .source = source,
	    .op = {.path = target,
		   .action = action,
		   .tree_fd = -EBADF,
		   .keep_readonly = strcmp(target, "proc/sys") == 0},
	};
}

/* Fills items (ATTACH_MAX_POINTS entries) from the handler table and returns how many are
 * used, or a negative errno. */
static int items_init(struct attach_item *items, enum nsmount_action action)
{
	size_t n = 0, n_instances = 0;
	int r;

	handler_binds_done(&points);
	r = handler_bind_points(&points);
	if (r < 0)
		return r;
	if (points.n_rows > ATTACH_MAX_POINTS - ATTACH_MAX_DISKS)
		return -E2BIG;
	for (size_t i = 0; i < points.n; i++) {
		if (i >= points.n_rows && n_instances++ == ATTACH_MAX_DISKS)
			break;
		items[n++] = item_make(points.p[i].source, points.p[i].target, action);
	}
	for (size_t i = n; i < ATTACH_MAX_POINTS; i++)
		items[i] = (struct attach_item){.op.tree_fd = -EBADF};
	return (int)n;
}

int attach_procbox_devs(const char *mountpoint, struct nsmount_devs *ret, dev_t **ret_dead)
{
	_cleanup_free_ dev_t *dead = NULL;
	struct stat st;
	size_t n = 0;
	int r;

	*ret = (struct nsmount_devs){0};
	r = attach_check_mountpoint(mountpoint);
	if (r == 0) {
		if (stat(mountpoint, &st) < 0)
			return negative_errno();
		ret->live = st.st_dev;
	} else if (r == -ENOTCONN) {
		r = reattach_dead_devs_at(mountpoint, &dead, &n);
		if (r < 0)
			return r;
	}
	ret->dead = dead;
	ret->n_dead = n;
	*ret_dead = TAKE_PTR(dead);
	return 0;
}

static void items_close(struct attach_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		items[i].op.tree_fd = safe_close(items[i].op.tree_fd);
}

int attach_container(const char *mountpoint, pid_t pid, const char *base, const char *set,
		     struct attach_item *items)
{
	struct nsmount_op ops[ATTACH_MAX_POINTS];
	struct nsmount_devs devs = {0};
	struct stat st;
	size_t n = 0, n_items;
	int r;

	r = items_init(items, NSMOUNT_ATTACH);
	if (r < 0)
		return r;
	n_items = (size_t)r;
	if (stat(mountpoint, &st) < 0)
		return negative_errno();
	devs.live = st.st_dev;
	for (size_t i = 0; i < n_items; i++) {
		char rel[PATH_MAX];

		/* the container's own set of kernel inodes (fs/inodeset.h) */
		r = set ? inodeset_path(set, items[i].source, rel, sizeof(rel)) : 0;
		if (r >= 0)
			r = nsmount_clone_tree(mountpoint, set ? rel : items[i].source,
					       &items[i].op.tree_type);
		if (r < 0) {
			items[i].serve_error = r;
		} else {
			items[i].op.tree_fd = r;
			ops[n++] = items[i].op;
		}
	}
	r = n > 0 ? nsmount_run(pid, base, &devs, ops, n, ATTACH_TIMEOUT_MS) : 0;
	for (size_t i = 0, k = 0; r >= 0 && i < n_items; i++)
		if (items[i].serve_error == 0)
			items[i].op = ops[k++];
	items_close(items, n_items);
	return r;
}

static bool devs_have(const struct nsmount_devs *devs, dev_t dev)
{
	if (devs->live != 0 && dev == devs->live)
		return true;
	for (size_t i = 0; i < devs->n_dead; i++)
		if (dev == devs->dead[i])
			return true;
	return false;
}

/* Paths of procbox mounts found in a container that the table no longer lists. */
static char *unlisted[ATTACH_MAX_POINTS];

/*
 * Adds a detach item for each bind from procbox's tree in pid's mount table that items do
 * not name: a point whose instance the table no longer lists (the stat file of a disk
 * whose medium went away since attach) would otherwise stay mounted. Looking such a path
 * up is enough for the kernel to drop a mount whose sysfs node is gone; the item then
 * reads "missing". Returns the new number of items.
 */
static size_t items_add_unlisted(struct attach_item *items, size_t n, pid_t pid,
				 const struct nsmount_devs *devs)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;
	size_t k = 0;

	for (size_t i = 0; i < ELEMENTSOF(unlisted); i++) {
		free(unlisted[i]);
		unlisted[i] = NULL;
	}
	if (mountinfo_read_pid(pid, &mi) < 0)
		return n; /* the listed points are still detached */
	for (size_t i = 0; i < mi->n && n < ATTACH_MAX_POINTS; i++) {
		const struct mountinfo_entry *e = &mi->entries[i];
		const char *rel = e->mountpoint + strspn(e->mountpoint, "/");
		bool listed = false;

		/* the whole tree is a copy of procbox's own mountpoint, never one of ours */
		if (*rel == '\0' || strcmp(e->root, "/") == 0 ||
		    !devs_have(devs, makedev(e->major, e->minor)))
			continue;
		for (size_t j = 0; j < n && !listed; j++)
			listed = strcmp(items[j].path, rel) == 0;
		if (listed || !(unlisted[k] = strdup(rel)))
			continue;
		items[n++] = item_make(unlisted[k], unlisted[k], NSMOUNT_DETACH);
		k++;
	}
	return n;
}

int detach_container(const char *mountpoint, pid_t pid, const char *base, struct attach_item *items)
{
	struct nsmount_op ops[ATTACH_MAX_POINTS];
	_cleanup_free_ dev_t *dead = NULL;
	struct nsmount_devs devs;
	size_t n;
	int r;

	r = items_init(items, NSMOUNT_DETACH);
	if (r < 0)
		return r;
	n = (size_t)r;
	r = attach_procbox_devs(mountpoint, &devs, &dead);
	if (r < 0)
		return r;
	/* Nothing to tell procbox's mounts from the container's own by. */
	if (devs.live == 0 && devs.n_dead == 0)
		return -ENODEV;
	if (!base)
		n = items_add_unlisted(items, n, pid, &devs);
	for (size_t i = 0; i < n; i++)
		ops[i] = items[i].op;
	r = nsmount_run(pid, base, &devs, ops, n, ATTACH_TIMEOUT_MS);
	for (size_t i = 0; r >= 0 && i < n; i++)
		items[i].op = ops[i];
	return r;
}

bool attach_outcome_ok(const struct attach_item *it)
{
	if (it->serve_error)
		return it->serve_error == -ENOENT;
	return it->op.outcome != NSMOUNT_FAILED && it->op.outcome != NSMOUNT_PENDING;
}

int attach_set_name_of_pid(pid_t pid, char *buf, size_t size)
{
	struct proc_stat st;
	pid_t init;
	int r;

	r = container_find_init(pid, true, &init);
	if (r >= 0)
		r = proc_stat_read(init, &st);
	if (r < 0)
		return r;
	if ((size_t)snprintf(buf, size, "pid-%d-%" PRIu64, (int)init, st.start_time) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int attach_set_name_of_container(const char *id, pid_t pid, char *buf, size_t size)
{
	if (id && inodeset_name_valid(id)) {
		if ((size_t)snprintf(buf, size, "%s", id) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	return attach_set_name_of_pid(pid, buf, size);
}
