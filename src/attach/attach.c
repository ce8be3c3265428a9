/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
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
#include <unistd.h>

#include "attach/attach.h"
#include "attach/restart.h"
#include "container/container.h"
#include "fs/inodeset.h"
#include "nsenter/namespaces.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/mountinfo.h"
#include "util/procstat.h"

#define FUSE_SUPER_MAGIC 0x65735546

const char *const attach_points[] = {
    "proc/sys",
    "proc/uptime",
    "proc/swaps",
    "proc/meminfo",
    "proc/cpuinfo",
    "proc/stat",
    "proc/loadavg",
    "proc/diskstats",
    "sys/kernel/config",
    "sys/kernel/debug",
    "sys/kernel/tracing",
    "sys/kernel/security",
    "sys/module/nf_conntrack/parameters/hashsize",
    "sys/devices/virtual/net",
    "sys/devices/virtual/dmi/id/product_uuid",
    /* The whole folder: htop, sysstat and psutil count the cpuN folders, which must be the
     * container's; procbox serves the host's other entries (cpufreq, vulnerabilities, ...)
     * read-only through it. */
    "sys/devices/system/cpu",
};
const size_t n_attach_points = ELEMENTSOF(attach_points);
_Static_assert(ELEMENTSOF(attach_points) + ATTACH_MAX_DISKS <= ATTACH_MAX_POINTS,
	       "raise ATTACH_MAX_POINTS");

/* The disks' points of the last items_init(): where each stat file is served, and where the
 * kernel has it. */
struct disk_point {
	char *source; /* sys/block/<disk>/stat */
	char *target; /* sys/devices/.../block/<disk>/stat */
};
static struct disk_point disk_points[ATTACH_MAX_DISKS];
static size_t n_disk_points;

static void disk_points_clear(void)
{
	for (size_t i = 0; i < n_disk_points; i++) {
		free(disk_points[i].source);
		free(disk_points[i].target);
	}
	n_disk_points = 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The source and target of name's point; false if the disk has no media (an unused loop
 * device: its counters are 0 for everyone, and a point per container for each would only
 * make attaching and re-attaching slower) or if /sys/block/name is no link to a folder
 * below /sys/devices (what every kernel since 2.6.25 makes it). */
static bool disk_point_make(const char *name, struct disk_point *ret)
{
	char path[PATH_MAX], link[PATH_MAX];
	_cleanup_free_ char *size = NULL;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/block/%s/size", name);
	if (read_full_file(path, &size, NULL) < 0 || strcmp(size, "0\n") == 0)
		return false;
	snprintf(path, sizeof(path), "/sys/block/%s", name);
	n = readlink(path, link, sizeof(link));
	if (n <= 0 || (size_t)n >= sizeof(link))
		return false;
	link[n] = 0;
	if (strncmp(link, "../devices/", 11) != 0 || strstr(link, "/../") || strstr(link, "/./"))
		return false;
	/* where procbox serves it: handlers/blockstat.h */
	if (asprintf(&ret->source, "sys/block/%s/stat", name) < 0) {
		ret->source = NULL;
		return false;
	}
	if (asprintf(&ret->target, "sys/%s/stat", link + 3) < 0) {
		free(ret->source);
		ret->source = ret->target = NULL;
		return false;
	}
	return true;
}

/* The whole disks the host has now, by name (the host's /sys/block, read by the attaching
 * process, which runs in the host's namespaces). None if it cannot be read: the other
 * points are attached all the same. */
static void disk_points_init(void)
{
	_cleanup_free_ char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;

	disk_points_clear();
	dir = opendir("/sys/block");
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (ARRAY_GROW(names, cap, n, 32) < 0)
			break;
		names[n] = strdup(de->d_name);
		if (!names[n])
			break;
		n++;
	}
	closedir(dir);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (n_disk_points < ATTACH_MAX_DISKS &&
		    disk_point_make(names[i], &disk_points[n_disk_points]))
			n_disk_points++;
		free(names[i]);
	}
}

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

/* Fills items (ATTACH_MAX_POINTS entries) and returns how many are used. */
static size_t items_init(struct attach_item *items, enum nsmount_action action)
{
	size_t n = 0;

	for (size_t i = 0; i < n_attach_points; i++, n++)
		items[n] = item_make(attach_points[i], attach_points[i], action);
	disk_points_init();
	for (size_t i = 0; i < n_disk_points; i++, n++)
		items[n] = item_make(disk_points[i].source, disk_points[i].target, action);
	for (size_t i = n; i < ATTACH_MAX_POINTS; i++)
		items[i] = (struct attach_item){.op.tree_fd = -EBADF};
	return n;
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

	n_items = items_init(items, NSMOUNT_ATTACH);
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

int detach_container(const char *mountpoint, pid_t pid, const char *base, struct attach_item *items)
{
	struct nsmount_op ops[ATTACH_MAX_POINTS];
	_cleanup_free_ dev_t *dead = NULL;
	struct nsmount_devs devs;
	size_t n;
	int r;

	n = items_init(items, NSMOUNT_DETACH);
	r = attach_procbox_devs(mountpoint, &devs, &dead);
	if (r < 0)
		return r;
	/* Nothing to tell procbox's mounts from the container's own by. */
	if (devs.live == 0 && devs.n_dead == 0)
		return -ENODEV;
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
