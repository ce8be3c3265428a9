/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsenter/namespaces.h"
#include "util/macro.h"
#include "util/procstat.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static const struct {
	const char *name;
	int clone_flag;
} ns_table[_NS_TYPE_MAX] = {
    [NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP}, [NS_IPC] = {"ipc", CLONE_NEWIPC},
    [NS_UTS] = {"uts", CLONE_NEWUTS},	       [NS_NET] = {"net", CLONE_NEWNET},
    [NS_PID] = {"pid", CLONE_NEWPID},	       [NS_MNT] = {"mnt", CLONE_NEWNS},
    [NS_USER] = {"user", CLONE_NEWUSER},
};

const char *ns_type_to_string(enum ns_type t)
{
	return t < _NS_TYPE_MAX ? ns_table[t].name : NULL;
}

int ns_type_clone_flag(enum ns_type t)
{
	return t < _NS_TYPE_MAX ? ns_table[t].clone_flag : 0;
}

/*
 * The link's text, "net:[4026531840]", names the inode: reading it costs a third of a
 * stat() of the same path, which makes the kernel build a dentry and an inode for the
 * namespace and drop them again (this runs on every open of a container's file).
 */
int ns_get_inode(pid_t pid, enum ns_type t, uint64_t *ret)
{
	char path[64], digits[16], link[64], *p, *end;
	unsigned long long ino;
	size_t nd = 0;
	ssize_t n;

	if (t >= _NS_TYPE_MAX || pid <= 0)
		return -EINVAL;
	/* By hand: snprintf() would be most of this function's instructions. */
	for (unsigned v = (unsigned)pid; v; v /= 10)
		digits[nd++] = (char)('0' + v % 10);
	p = stpcpy(path, "/proc/");
	while (nd)
		*p++ = digits[--nd];
	p = stpcpy(p, "/ns/");
	strcpy(p, ns_table[t].name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return negative_errno();
	link[n] = 0;
	p = strstr(link, ":[");
	if (!p || p[2] < '0' || p[2] > '9')
		return -EBADMSG;
	errno = 0;
	ino = strtoull(p + 2, &end, 10);
	if (errno != 0 || end[0] != ']' || end[1] != 0 || ino == 0)
		return -EBADMSG;
	*ret = ino;
	return 0;
}

int ns_is_host(pid_t pid, enum ns_type t)
{
	uint64_t theirs, ours;
	int r;

	r = ns_get_inode(pid, t, &theirs);
	if (r < 0)
		return r;
	r = ns_get_inode(getpid(), t, &ours);
	if (r < 0)
		return r;
	return theirs == ours;
}

int ns_pidfd_open(pid_t pid)
{
	int fd;

	if (pid <= 0)
		return -EINVAL;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* a thread that is not a group leader: EINVAL before 6.9, ENOENT since */
	if (fd < 0 && (errno == EINVAL || errno == ENOENT))
		fd = (int)syscall(SYS_pidfd_open, pid, PIDFD_THREAD);
	return fd < 0 ? negative_errno() : fd;
}

void ns_close_all(int fds[_NS_TYPE_MAX])
{
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		fds[t] = safe_close(fds[t]);
}

static int ns_is_own(int fd, enum ns_type t)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_table[t].name);
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
		return negative_errno();
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int ns_pid_start_time(pid_t pid, uint64_t *ret)
{
	struct proc_stat st;
	int r;

	r = proc_stat_read(pid, &st);
	if (r < 0)
		return r;
	*ret = st.start_time;
	return 0;
}

int ns_open(int pidfd, pid_t pid, unsigned mask, int fds[_NS_TYPE_MAX])
{
	uint64_t start_before = 0, start_after = 0;
	char path[64];

	for (int t = 0; t < _NS_TYPE_MAX; t++)
		fds[t] = -EBADF;
	if (pidfd < 0 && ns_pid_start_time(pid, &start_before) < 0)
		return -ESRCH;

	for (int t = 0; t < _NS_TYPE_MAX; t++) {
		if (!(mask & NS_FLAG(t)))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns_table[t].name);
		fds[t] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[t] < 0) {
			int r = negative_errno();
			ns_close_all(fds);
			return r;
		}
		/* Joining the namespace one is already in is pointless, and for a user
		 * namespace setns(2) refuses it with EINVAL. */
		if (ns_is_own(fds[t], t) > 0)
			fds[t] = safe_close(fds[t]);
	}

	/* The pidfd pins the process we were asked about: if it is still alive, the pid
	 * has not been recycled and the fds above are its namespaces. */
	if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
		int r = negative_errno();
		ns_close_all(fds);
		return r;
	}
	/* Without pidfds (valgrind, kernels before 5.3): the same pid with the same start
	 * time before and after is the same process. */
	if (pidfd < 0 &&
	    (ns_pid_start_time(pid, &start_after) < 0 || start_after != start_before)) {
		ns_close_all(fds);
		return -ESRCH;
	}
	return 0;
}

int ns_join(const int fds[_NS_TYPE_MAX])
{
	/* enum order is the join order, user last */
	for (int t = 0; t < _NS_TYPE_MAX; t++) {
		if (fds[t] < 0)
			continue;
		if (setns(fds[t], ns_table[t].clone_flag) < 0)
			return negative_errno();
	}
	return 0;
}
