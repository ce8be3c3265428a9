/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "nsenter/creds.h"
#include "nsenter/namespaces.h"

/*
 * The child side of the nsenter service: runs in a freshly forked,
 * single-threaded copy of the daemon, enters the target's namespaces and serves requests
 * arriving on sock. It never returns.
 */
struct nsenter_child_params {
	int sock;
	int ns_fds[_NS_TYPE_MAX]; /* opened by the parent through the target's pidfd */
	/* CLONE_NEWNS: a private mount namespace with a fresh sysfs (and, after joining a
	 * pid namespace, a fresh procfs), so the child reads the kernel's files for its
	 * namespaces and never the container's (procbox-covered) mounts. */
	unsigned long clone_flags;
	bool has_creds; /* take on creds after joining; else keep the daemon's privileges */
	struct creds creds;
	bool agent; /* serve requests until the socket closes; else exactly one */
};

_Noreturn void nsenter_child_main(const struct nsenter_child_params *p);

/*
 * The same, in a fresh image of the daemon's binary: a child forked from the
 * multithreaded daemon inherits every lock another thread held at the fork (malloc's in
 * sanitizer builds, the locale's, stdio's), and only an exec leaves them behind. Called
 * in the child after the fork, with the fds of p already where they must stay; the new
 * image finds p in its arguments (nsenter_child_exec_main()). exe_fd is the daemon's
 * binary, opened at start-up (nsenter_service_new()).
 */
_Noreturn void nsenter_child_exec(const struct nsenter_child_params *p, int exe_fd);

#define NSENTER_CHILD_ARG "--nsenter-child"
/* main() of the exec'd image: procbox --nsenter-child <params>. */
_Noreturn void nsenter_child_exec_main(const char *params);

/*
 * Serves one request in the current process's namespaces, with its credentials. Exposed
 * for tests; the child calls it for every request. *ret_fd is an fd to pass back, or
 * -EBADF. Paths must be absolute and lie under /proc/sys or /sys.
 */
struct nsenter_message *nsenter_child_handle(const struct nsenter_message *req, int *ret_fd);

/* Sets up the per-process roots used by nsenter_child_handle() (/proc/sys, /sys). */
int nsenter_child_open_roots(void);
