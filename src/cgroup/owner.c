/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/owner.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/macro.h"

/* The line of text whose "ID:CONTROLLERS:" is key's (keylen bytes, colon included), or NULL. */
static const char *find_line(const char *text, const char *key, size_t keylen)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');

		if (strncmp(p, key, keylen) == 0)
			return p;
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* The path of a line (after the second colon) and its length up to the newline. */
static const char *line_path(const char *line, size_t *ret_len)
{
	const char *c = strchr(line, ':'), *nl;

	c = c ? strchr(c + 1, ':') : NULL;
	if (!c)
		return NULL;
	c++;
	nl = strchrnul(c, '\n');
	*ret_len = (size_t)(nl - c);
	return c;
}

/* Whether path (len bytes) is dir or below it. */
static bool is_at_or_below(const char *path, size_t len, const char *dir, size_t dirlen)
{
	if (dirlen == 1 && dir[0] == '/')
		return true;
	return len >= dirlen && strncmp(path, dir, dirlen) == 0 &&
	       (len == dirlen || path[dirlen] == '/');
}

int cgroup_owner_text(const char *reader, const char *reader_in_ns, const char *init, char **ret)
{
	_cleanup_free_ char *out = NULL;
	size_t outlen = 0;
	FILE *f;

	f = open_memstream(&out, &outlen);
	if (!f)
		return -ENOMEM;
	for (const char *p = reader; *p;) {
		const char *nl = strchrnul(p, '\n'), *path, *c2, *other;
		size_t keylen, len, olen;

		path = line_path(p, &len);
		if (!path || path > nl) {
			fclose(f);
			return -EBADMSG;
		}
		c2 = path; /* just past "ID:CONTROLLERS:" */
		keylen = (size_t)(c2 - p);

		other = reader_in_ns ? find_line(reader_in_ns, p, keylen) : NULL;
		if (other) {
			/* Seen from inside its cgroup namespace the reader's path is relative to
			 * the namespace's root: the host's path less that suffix is the root. A
			 * reader moved out of its namespace's root shows "/.." there; it keeps
			 * its own cgroup. */
			const char *rel = line_path(other, &olen);

			if (rel && olen > 0 && rel[0] == '/' && strncmp(rel, "/..", 3) != 0) {
				size_t rootlen = olen == 1 ? len : len - olen;

				if (olen == 1 ||
				    (len > olen && strncmp(path + rootlen, rel, olen) == 0)) {
					fprintf(f, "%.*s%.*s\n", (int)keylen, p,
						(int)(rootlen ? rootlen : 1), rootlen ? path : "/");
					goto next;
				}
			}
		}
		other = init ? find_line(init, p, keylen) : NULL;
		if (other) {
			const char *ipath = line_path(other, &olen);

			if (ipath && olen > 0 && is_at_or_below(path, len, ipath, olen)) {
				fprintf(f, "%.*s%.*s\n", (int)keylen, p, (int)olen, ipath);
				goto next;
			}
		}
		fprintf(f, "%.*s\n", (int)(nl - p), p);
	next:
		p = *nl ? nl + 1 : nl;
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

int cgroup_read_in_cgroupns(pid_t pid, char **ret)
{
	_cleanup_close_ int target = -EBADF, own = -EBADF;
	_cleanup_free_ char *text = NULL;
	char path[64];
	struct stat a, b;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/ns/cgroup", (int)pid);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	own = open("/proc/thread-self/ns/cgroup", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return negative_errno();
	if (fstat(target, &a) < 0 || fstat(own, &b) < 0)
		return negative_errno();
	if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		*ret = NULL;
		return 0;
	}
	/*
	 * A cgroup namespace changes nothing but how this thread's reads show cgroup paths:
	 * no mount, no credentials, no file system state, so unlike the namespaces the
	 * nsenter children join it may be entered by a worker thread, for the length of one
	 * read of a file of the host's /proc.
	 */
	if (setns(target, CLONE_NEWCGROUP) < 0)
		return negative_errno();
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	r = read_full_file(path, &text, NULL);
	if (setns(own, CLONE_NEWCGROUP) < 0) {
		/* Every later cgroup path this thread read would be the container's. */
		log_error(-errno, "Cannot return to the daemon's cgroup namespace: %m");
		abort();
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(text);
	return 0;
}

int cgroup_owner_of(pid_t reader, pid_t init, char **ret)
{
	_cleanup_free_ char *rtext = NULL, *ns_text = NULL, *itext = NULL;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)reader);
	r = read_full_file(path, &rtext, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	r = cgroup_read_in_cgroupns(reader, &ns_text);
	if (r < 0)
		return r;
	if (init > 0) {
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)init);
		r = read_full_file(path, &itext, NULL);
		if (r < 0)
			return r == -ENOENT ? -ESRCH : r;
	}
	return cgroup_owner_text(rtext, ns_text, itext, ret);
}
