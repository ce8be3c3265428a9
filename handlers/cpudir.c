/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/cpudir.h"
#include "handlers/viewstate.h"
#include "util/fileio.h"
#include "util/macro.h"

#define HOST_CPU_DIR "/" CPUDIR

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* N for a "cpuN" name of len bytes, -1 for any other name. */
static int cpu_number(const char *name, size_t len)
{
	unsigned long v = 0;

	if (len < 4 || len > 8 || memcmp(name, "cpu", 3) != 0)
		return -1;
	for (size_t i = 3; i < len; i++) {
		if (name[i] < '0' || name[i] > '9' || (i == 3 && name[i] == '0' && len > 4))
			return -1;
		v = v * 10 + (unsigned long)(name[i] - '0');
	}
	return v < CPULIST_MAX ? (int)v : -1;
}

/* The host's path for a path at or below CPUDIR: a container has the cpuN folders of its own
 * CPUs only, under their host ids; every other entry is the host's own. */
static int cpu_host_path(const struct pb_caller *c, const char *path, char *buf, size_t size)
{
	const char *rest = path + strlen(CPUDIR), *end;
	struct cpulist cpus;
	int n, r;

	if (*rest == 0 || pb_caller_is_host(c))
		goto same;
	rest++;
	end = strchrnul(rest, '/');
	n = cpu_number(rest, (size_t)(end - rest));
	if (n < 0)
		goto same;
	r = view_shown_cpus(c, &cpus);
	if (r < 0)
		return r;
	if (!cpulist_contains(&cpus, (unsigned)n))
		return -ENOENT;
	r = snprintf(buf, size, "%s/cpu%d%s", HOST_CPU_DIR, n, end);
	return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
same:
	r = snprintf(buf, size, "/%s", path);
	return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

static int cpu_dir_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	char host[PATH_MAX];
	struct stat hst;
	mode_t perm;
	int r;

	r = cpu_host_path(c, path, host, sizeof(host));
	if (r < 0)
		return r;
	if (lstat(host, &hst) < 0)
		return negative_errno();
	/* Read-only: the container changes nothing of the host's CPUs here. */
	perm = S_ISLNK(hst.st_mode) ? 0777 : (hst.st_mode & 07555);
	pb_default_stat(c, (hst.st_mode & S_IFMT) | perm, st);
	if (!S_ISREG(hst.st_mode))
		st->st_size = 0;
	return 0;
}

static int cpu_dir_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	_cleanup_(closedirp) DIR *dir = NULL;
	bool top = strcmp(path, CPUDIR) == 0 && !pb_caller_is_host(c);
	char host[PATH_MAX];
	struct dirent *de;
	int r;

	r = cpu_host_path(c, path, host, sizeof(host));
	if (r < 0)
		return r;
	dir = opendir(host);
	if (!dir)
		return negative_errno();
	while ((de = readdir(dir))) {
		mode_t type = de->d_type == DT_DIR   ? S_IFDIR
			      : de->d_type == DT_LNK ? S_IFLNK
						     : S_IFREG;

		if (de->d_name[0] == '.')
			continue;
		/* The views' rows (online, possible, ...) are listed once: the tree merges
		 * them with these entries by name. */
		if (top && cpu_number(de->d_name, strlen(de->d_name)) >= 0)
			continue;
		r = pb_dir_add(d, de->d_name, type);
		if (r < 0)
			return r;
	}
	if (top) {
		struct cpulist cpus;

		r = view_shown_cpus(c, &cpus);
		if (r < 0)
			return r;
		for (unsigned i = 0, id; cpulist_nth(&cpus, i, &id) == 0; i++) {
			char name[16];

			snprintf(name, sizeof(name), "cpu%u", id);
			r = pb_dir_add(d, name, S_IFDIR);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int cpu_dir_readlink(const struct pb_caller *c, const char *path, char *buf, size_t size)
{
	char host[PATH_MAX];
	ssize_t n;
	int r;

	r = cpu_host_path(c, path, host, sizeof(host));
	if (r < 0)
		return r;
	n = readlink(host, buf, size);
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}

static int cpu_dir_open(const struct pb_caller *c, struct pb_file *f)
{
	char host[PATH_MAX];
	struct stat st;
	int r, fd;

	r = cpu_host_path(c, f->path, host, sizeof(host));
	if (r < 0)
		return r;
	fd = open(host, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0) {
		r = negative_errno();
		safe_close(fd);
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		safe_close(fd);
		return -EISDIR;
	}
	/* The daemon reads as host root: a file the host keeps from others (0400) is only for
	 * a caller that is host root itself, as the kernel would decide. */
	if (!(st.st_mode & S_IROTH) && c->uid != 0) {
		safe_close(fd);
		return -EACCES;
	}
	f->fd = fd;
	return 0;
}

static int cpu_dir_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	if (f->fd < 0)
		return -EBADF;
	return read_full_fd_flags(f->fd, READ_FROM_START, ret, ret_len);
}
const struct handler cpudir_handlers[] = {
    /* Bound whole: htop, sysstat and psutil count the cpuN folders, which must be the
     * container's; the host's other entries (cpufreq, vulnerabilities, ...) are served
     * read-only through it. */
    {
	.path = CPUDIR,
	.subtree = true,
	.mode = S_IFDIR | 0555,
	.bind = true,
	.getattr = cpu_dir_getattr,
	.readdir = cpu_dir_readdir,
	.readlink = cpu_dir_readlink,
	.open = cpu_dir_open,
	.content = cpu_dir_content,
    },
};

const size_t n_cpudir_handlers = ELEMENTSOF(cpudir_handlers);
