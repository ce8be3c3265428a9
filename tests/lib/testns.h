/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * Small "containers" for tests: a child process in fresh namespaces that waits until it
 * is told to run a command or is killed.
 */
struct testns {
	pid_t pid;   /* the process inside (pid 1 of its pid namespace, if CLONE_NEWPID) */
	pid_t outer; /* the process the test forked (== pid unless CLONE_NEWPID) */
};

struct testns_opts {
	int clone_flags;      /* CLONE_NEW* */
	const char *uid_map;  /* written for CLONE_NEWUSER; default "0 0 1" */
	const char *gid_map;  /* default "0 0 1" */
	bool setgroups_allow; /* default: deny, as unshare -r */
	uid_t uid;	      /* the process then runs as this uid/gid in its namespace */
	gid_t gid;
	const char *hostname; /* set when CLONE_NEWUTS */
	/* bind `bind_src` over `bind_dst` in its mount namespace (CLONE_NEWNS) */
	const char *bind_src;
	const char *bind_dst;
};

/* Returns 0 with *ret filled, or a negative errno. Skips nothing: callers decide. */
int testns_start(const struct testns_opts *o, struct testns *ret);
/* Kills and reaps. */
void testns_stop(struct testns *t);

/*
 * Runs argv inside t's namespaces (setns into all of t's namespaces, then the process's
 * uid/gid), capturing stdout (up to outsz-1 bytes, NUL-terminated). Returns the exit
 * status (0..255) or a negative errno.
 */
int testns_run(const struct testns *t, char *const argv[], char *out, size_t outsz);
/* sh -c cmd inside t. */
int testns_sh(const struct testns *t, const char *cmd, char *out, size_t outsz);

/* True if running as root with user/net namespaces available. */
bool testns_supported(const char **ret_reason);

/* Reads a file into buf (trailing newline stripped). */
int read_line(const char *path, char *buf, size_t size);
int write_file(const char *path, const char *s);

/* Counts entries of /proc/self/fd. */
int count_fds(void);
/* Counts children of this process (from /proc/self/task/<tid>/children of all threads). */
int count_children(void);
