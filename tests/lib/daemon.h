/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* The real procbox binary, started on a temporary mountpoint for a test. */
struct test_daemon {
	pid_t pid;
	char mnt[128];
	char log[160];
};

/* Starts PROCBOX_BUILD_ROOT/procbox -f on a new temp folder with extra args (NULL-ended),
 * waits until it serves. Returns 0 or a negative errno. */
int daemon_start(struct test_daemon *d, const char *const *extra_args);
/* SIGTERM, wait; returns the exit status (0..255), or -1 if it died of a signal or had
 * to be killed. Unmounts and removes the mountpoint. */
int daemon_stop(struct test_daemon *d);
/* Number of children of the daemon now, and their pids (up to max). */
int daemon_children(const struct test_daemon *d, pid_t *pids, int max);
int daemon_fd_count(const struct test_daemon *d);
/* Path below the mountpoint, in a static buffer per call site's buffer. */
void daemon_path(const struct test_daemon *d, const char *rel, char *buf, size_t size);
