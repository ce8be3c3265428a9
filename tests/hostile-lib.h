/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the hostile-container, fault and churn tests share: containers made the way runc
 * makes them (user namespace first and mapped, then the others, procbox's proc/sys bound
 * over /proc/sys), code run inside them as their root (optionally with only Docker's
 * default capabilities), and the daemon's resources seen from outside.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/daemon.h"

#define HCT_MAP "0 100000 65536"

struct hct {
	pid_t init; /* pid 1 of the container's pid namespace, host view */
	pid_t outer;
	bool userns;
};

struct hct_opts {
	bool userns; /* own user namespace (HCT_MAP); else the container's root is host uid 0 */
	bool pidns;  /* own pid namespace */
	bool netns;
	bool setgroups_deny; /* with userns: setgroups "deny", as unshare -r makes it */
	const char *procsys; /* bound over /proc/sys in the container; NULL: nothing bound */
	/* One more bind, made as the host's root before any namespace but the mount
	 * namespace: the path walk through procbox is then the host's, not the container's. */
	const char *file_src, *file_dst;
};

/* 0, or a negative errno. */
int hct_start(const struct hct_opts *o, struct hct *ret);
/* Kills the container (its pid namespace with it) and reaps it. */
void hct_stop(struct hct *c);

/* How hct_call() runs fn. */
enum {
	HCT_DOCKER_CAPS = 1 << 0, /* only Docker's default capabilities */
	HCT_NO_PIDNS = 1 << 1,	  /* join every namespace but the pid namespace */
	HCT_NO_USERNS = 1 << 2,	  /* join every namespace but the user namespace (host root) */
};

/* Runs in the container; returns a value passed back to the caller and may print to out. */
typedef int (*hct_fn)(const void *arg, char *out, size_t outsz);

/*
 * Runs fn in c's namespaces as its root (uid 0 inside), in a process forked after joining,
 * so it is in the container's pid namespace. Returns fn's result, or INT32_MIN if the
 * process could not get there or died. out (may be NULL) gets what fn printed.
 */
int hct_call(const struct hct *c, unsigned how, hct_fn fn, const void *arg, char *out,
	     size_t outsz);

/* fn helpers: a whole read (-errno on failure), a write as one write(2) (count or -errno). */
int hct_read_file(const char *path, char *buf, size_t size);
ssize_t hct_write_file(const char *path, const void *buf, size_t len, off_t off);

/* The daemon's fds, without libfuse's per-worker /dev/fuse clones. */
int hct_daemon_fds(const struct test_daemon *d);
/* Its children, and how many of them are zombies. */
int hct_daemon_children(const struct test_daemon *d, int *ret_zombies);
/* VmRSS in KiB. */
long hct_daemon_rss_kib(const struct test_daemon *d);
/* Waits up to ms for the daemon's fds and children to drop to at most fds/children;
 * returns true if they did. ret_* get the last counts. */
bool hct_daemon_settle(const struct test_daemon *d, int fds, int children, int ms, int *ret_fds,
		       int *ret_children);

int64_t hct_now_ms(void);
