/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum ns_type {
	NS_CGROUP,
	NS_IPC,
	NS_UTS,
	NS_NET,
	NS_PID,
	NS_MNT,
	NS_USER,
	_NS_TYPE_MAX,
};

#define NS_FLAG(t) (1u << (t))
#define NS_ALL_MASK ((1u << _NS_TYPE_MAX) - 1)

const char *ns_type_to_string(enum ns_type t);
int ns_type_clone_flag(enum ns_type t);

/* Inode number of /proc/<pid>/ns/<type> (the namespace's identity while it lives). */
int ns_get_inode(pid_t pid, enum ns_type t, uint64_t *ret);
/* 1 if pid's namespace of type t is this process's (the daemon's: the host's), 0 if not, or
 * a negative errno. */
int ns_is_host(pid_t pid, enum ns_type t);

/*
 * Opens a pidfd for pid. Threads that are not a group leader need PIDFD_THREAD
 * (Linux >= 6.9); FUSE reports the calling thread, so both are tried.
 */
int ns_pidfd_open(pid_t pid);

/* Start time of pid in clock ticks after boot; with the pid, it names one process. */
int ns_pid_start_time(pid_t pid, uint64_t *ret);

/*
 * Opens /proc/<pid>/ns/<type> for every type in mask into fds[type] (others -EBADF),
 * skipping the ones this process is already in,
 * then checks through pidfd that pid still names the same process, so a pid recycled
 * between the caller's check and the opens cannot hand us another task's namespaces.
 * pidfd < 0 (no pidfd_open(2): valgrind, old kernels): the start time is checked instead.
 * On failure every fd opened here is closed again.
 */
int ns_open(int pidfd, pid_t pid, unsigned mask, int fds[_NS_TYPE_MAX]);

/*
 * Joins the namespaces in fds in the order setns(2) demands: all but the user namespace
 * first (network before user: joining a netns needs privilege over its owner, which is
 * lost once inside the user namespace), the user namespace last. Joining a pid namespace
 * only affects children: the caller must fork afterwards. Must run single-threaded.
 */
int ns_join(const int fds[_NS_TYPE_MAX]);

void ns_close_all(int fds[_NS_TYPE_MAX]);
