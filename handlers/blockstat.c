/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/views.h"
#include "handlers/blockstat.h"
#include "handlers/views.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/macro.h"

#define HOST_BLOCK_DIR "/sys/block"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

enum node {
	NODE_TOP,  /* sys/block */
	NODE_DISK, /* sys/block/<disk> */
	NODE_STAT, /* sys/block/<disk>/stat */
};

/* Whether the host has a whole disk called name (the kernel lists only those in /sys/block). */
static bool host_has_disk(const char *name)
{
	char path[PATH_MAX];

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	if ((size_t)snprintf(path, sizeof(path), HOST_BLOCK_DIR "/%s/stat", name) >= sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

/* What path names, and the disk's name in name (NAME_MAX + 1 bytes). */
static int parse(const char *path, enum node *ret, char *name)
{
	const char *p;
	size_t len;

	if (strcmp(path, BLOCKSTAT_DIR) == 0) {
		*ret = NODE_TOP;
		return 0;
	}
	if (strncmp(path, BLOCKSTAT_DIR "/", strlen(BLOCKSTAT_DIR "/")) != 0)
		return -ENOENT;
	p = path + strlen(BLOCKSTAT_DIR "/");
	len = strcspn(p, "/");
	if (len == 0 || len > NAME_MAX)
		return -ENOENT;
	memcpy(name, p, len);
	name[len] = 0;
	if (!host_has_disk(name))
		return -ENOENT;
	p += len;
	if (!*p)
		*ret = NODE_DISK;
	else if (strcmp(p, "/stat") == 0)
		*ret = NODE_STAT;
	else
		return -ENOENT;
	return 0;
}

static int blockstat_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	char name[NAME_MAX + 1];
	enum node n;
	int r;

	r = parse(path, &n, name);
	if (r < 0)
		return r;
	pb_default_stat(c, n == NODE_STAT ? S_IFREG | 0444 : S_IFDIR | 0555, st);
	return 0;
}

static int blockstat_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	_cleanup_(closedirp) DIR *dir = NULL;
	char name[NAME_MAX + 1];
	struct dirent *de;
	enum node n;
	int r;

	r = parse(path, &n, name);
	if (r < 0)
		return r;
	if (n == NODE_STAT)
		return -ENOTDIR;
	if (n == NODE_DISK)
		return pb_dir_add(d, "stat", S_IFREG);
	dir = opendir(HOST_BLOCK_DIR);
	if (!dir)
		return negative_errno();
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		r = pb_dir_add(d, de->d_name, S_IFDIR);
		if (r < 0)
			return r;
	}
	return 0;
}

static int blockstat_open(const struct pb_caller *c, struct pb_file *f)
{
	char name[NAME_MAX + 1];
	enum node n;
	int r;

	r = parse(f->path, &n, name);
	if (r < 0)
		return r;
	return n == NODE_STAT ? 0 : -EISDIR;
}

static int blockstat_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			     size_t *ret_len)
{
	_cleanup_free_ char *diskstats = NULL;
	char name[NAME_MAX + 1], path[PATH_MAX];
	enum node n;
	size_t len;
	int r;

	r = parse(f->path, &n, name);
	if (r < 0)
		return r;
	if (n != NODE_STAT)
		return -EISDIR;
	if (pb_caller_is_host(c)) {
		snprintf(path, sizeof(path), HOST_BLOCK_DIR "/%s/stat", name);
		return read_full_file(path, ret, ret_len);
	}
	r = views_diskstats_content(c, &diskstats, &len);
	if (r < 0)
		return r;
	r = view_disk_stat(diskstats, name, ret);
	if (r < 0)
		return r;
	*ret_len = strlen(*ret);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds name's point: procbox's BLOCKSTAT_DIR/<disk>/stat over the file its /sys/block/<disk>
 * link leads to (targets are never reached through a link). None for a disk without media
 * (an unused loop device: its counters are 0 for everyone, and a point per container for
 * each would only make attaching and re-attaching slower), nor where /sys/block/<disk> is no
 * link to a folder below /sys/devices (what every kernel since 2.6.25 makes it). */
static int disk_bind_add(struct handler_binds *b, const char *name)
{
	char path[PATH_MAX], link[PATH_MAX], source[PATH_MAX], target[PATH_MAX];
	_cleanup_free_ char *size = NULL;
	ssize_t n;

	snprintf(path, sizeof(path), HOST_BLOCK_DIR "/%s/size", name);
	if (read_full_file(path, &size, NULL) < 0 || strcmp(size, "0\n") == 0)
		return 0;
	snprintf(path, sizeof(path), HOST_BLOCK_DIR "/%s", name);
	n = readlink(path, link, sizeof(link));
	if (n <= 0 || (size_t)n >= sizeof(link))
		return 0;
	link[n] = 0;
	if (strncmp(link, "../devices/", 11) != 0 || strstr(link, "/../") || strstr(link, "/./"))
		return 0;
	if ((size_t)snprintf(source, sizeof(source), BLOCKSTAT_DIR "/%s/stat", name) >=
		sizeof(source) ||
	    (size_t)snprintf(target, sizeof(target), "sys/%s/stat", link + 3) >= sizeof(target))
		return 0;
	return handler_binds_add(b, source, target);
}

/* The whole disks the host has now, by name. None if /sys/block cannot be read: the other
 * points are bound all the same. */
static int blockstat_bind_instances(struct handler_binds *b)
{
	_cleanup_(closedirp) DIR *dir = NULL;
	_cleanup_free_ char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	dir = opendir(HOST_BLOCK_DIR);
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (ARRAY_GROW(names, cap, n, 32) < 0 || !(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	if (r >= 0 && n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (r >= 0)
			r = disk_bind_add(b, names[i]);
		free(names[i]);
	}
	return r;
}

const struct handler blockstat_handlers[] = {
    {
	.path = BLOCKSTAT_DIR,
	.subtree = true,
	.mode = S_IFDIR | 0555,
	.bind_instances = blockstat_bind_instances,
	.getattr = blockstat_getattr,
	.readdir = blockstat_readdir,
	.open = blockstat_open,
	.content = blockstat_content,
    },
};

const size_t n_blockstat_handlers = ELEMENTSOF(blockstat_handlers);
