/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Which cgroup a reader's resource views come from, as the text of a /proc/<pid>/cgroup
 * file for cgroup_resolve_text(): per hierarchy,
 *  1. the root of the reader's cgroup namespace, when it has one of its own (a system
 *     container whose systemd makes sub-cgroups still sees all of itself);
 *  2. else the cgroup of its container's init, when the reader is in it or below it;
 *  3. else the reader's own cgroup (a pod member that shares its pid namespace with the
 *     pause container, in a sibling cgroup).
 */

#include <sys/types.h>

/* From the texts: reader's /proc/<pid>/cgroup as the host sees it, the same file read
 * inside the reader's cgroup namespace (NULL: it shares the host's), and the init's (NULL:
 * none). -EBADMSG for a malformed reader text. */
int cgroup_owner_text(const char *reader, const char *reader_in_ns, const char *init, char **ret);

/* /proc/<pid>/cgroup as shown inside pid's cgroup namespace; *ret = NULL when pid shares
 * the calling thread's. -ESRCH when pid is gone. */
int cgroup_read_in_cgroupns(pid_t pid, char **ret);

/* cgroup_owner_text() for live processes (init <= 0: none). -ESRCH when one is gone. */
int cgroup_owner_of(pid_t reader, pid_t init, char **ret);
