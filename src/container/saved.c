/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/saved.h"
#include "nsenter/namespaces.h"
#include "util/macro.h"

static char *saved_dir;

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

static int file_name(char *buf, size_t size, const struct container_id *id, pid_t pid,
		     uint64_t start)
{
	int n = snprintf(buf, size, "%s/%d-%" PRIu64 "-%d-%" PRIu64, saved_dir, (int)id->type,
			 id->ino, (int)pid, start);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Start time of pid; 0 if the process is gone. */
static uint64_t start_ticks(pid_t pid)
{
	uint64_t start;

	return ns_pid_start_time(pid, &start) < 0 ? 0 : start;
}

/* Files of containers whose init is gone, or whose pid now belongs to another
 * process, are deleted: nothing could ever claim them again. */
static void prune(void)
{
	_cleanup_(closedirp) DIR *d = opendir(saved_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int type, pid;
		uint64_t ino, start;

		if (de->d_name[0] == '.')
			continue;
		if (sscanf(de->d_name, "%d-%" SCNu64 "-%d-%" SCNu64, &type, &ino, &pid, &start) !=
			4 ||
		    pid <= 0 || start_ticks(pid) != start)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
}

int saved_set_dir(const char *dir)
{
	char *d = strdup(dir);

	if (!d)
		return -ENOMEM;
	if (mkdir(d, 0700) < 0 && errno != EEXIST) {
		int r = negative_errno();
		free(d);
		return r;
	}
	free(saved_dir);
	saved_dir = d;
	prune();
	return 0;
}

int saved_enabled(void)
{
	return saved_dir != NULL;
}

int saved_store(const struct container_id *id, pid_t init_pid, uint64_t init_start,
		const char *const *keys, const char *const *values, size_t n)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;
	int r;

	if (!saved_dir)
		return 0;
	r = file_name(path, sizeof(path), id, init_pid, init_start);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		len += strlen(keys[i]) + strlen(values[i]) + 2;
	if (len > SAVED_MAX_BYTES)
		return -EFBIG;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	len = 0;
	/* key NUL value NUL: neither may hold a NUL */
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(keys[i]) + 1, v = strlen(values[i]) + 1;

		memcpy(buf + len, keys[i], k);
		memcpy(buf + len + k, values[i], v);
		len += k + v;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0) {
		r = errno ? negative_errno() : -EIO;
		(void)unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = negative_errno();
		(void)unlink(tmp);
		return r;
	}
	return 0;
}

int saved_load(const struct container_id *id, pid_t init_pid, uint64_t init_start,
	       int (*cb)(const char *key, const char *value, void *userdata), void *userdata)
{
	char path[PATH_MAX];
	char buf[SAVED_MAX_BYTES + 1];
	_cleanup_close_ int fd = -EBADF;
	size_t off = 0;
	ssize_t n;
	int r;

	if (!saved_dir)
		return 0;
	r = file_name(path, sizeof(path), id, init_pid, init_start);
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return negative_errno();
	if ((size_t)n > SAVED_MAX_BYTES)
		return -EFBIG;
	buf[n] = 0;
	while (off < (size_t)n) {
		const char *k = buf + off, *v;
		size_t kl = strnlen(k, (size_t)n - off);

		if (off + kl >= (size_t)n)
			return -EBADMSG;
		v = k + kl + 1;
		off += kl + 1;
		if (off >= (size_t)n + 1)
			return -EBADMSG;
		off += strnlen(v, (size_t)n - off) + 1;
		r = cb(k, v, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

void saved_remove(const struct container_id *id, pid_t init_pid, uint64_t init_start)
{
	char path[PATH_MAX];

	if (saved_dir && file_name(path, sizeof(path), id, init_pid, init_start) == 0)
		(void)unlink(path);
}
