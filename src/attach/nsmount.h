/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Mount operations inside another process's mount namespace. move_mount(2) attaches only
 * to mounts of the caller's own namespace, so a forked, single-threaded child joins the
 * target's namespace (setns(2) refuses a process that shares fs state with threads) and
 * runs every operation there; the parent collects one result per operation.
 *
 * Targets are resolved from the target process's root (or a folder below it, the bundle's
 * rootfs for an OCI hook) one component at a time with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS): the container owns every component, and a symlink it planted must
 * not move procbox's mount elsewhere. No lookup is ever made inside a FUSE mount: one the
 * container made could leave the child waiting for an answer that never comes, in a wait
 * that not even SIGKILL ends. The target itself may be a FUSE mount's root (crossing into
 * it asks its server nothing).
 *
 * procbox's mounts are recognised by their FUSE connection's device number, which the
 * kernel allocates and a container cannot choose, never by the type or source strings
 * the container could give its own mount.
 */

enum nsmount_action {
	NSMOUNT_ATTACH, /* move tree_fd onto path */
	NSMOUNT_DETACH, /* remove the procbox mounts on path */
};

enum nsmount_outcome {
	NSMOUNT_PENDING,
	NSMOUNT_ATTACHED,	 /* tree moved onto the target */
	NSMOUNT_REPLACED,	 /* the tree put in place of (or over) a dead procbox mount */
	NSMOUNT_ALREADY,	 /* a live procbox mount is on the target already */
	NSMOUNT_MISSING,	 /* the target does not exist */
	NSMOUNT_MASKED,		 /* the runtime masked it: a /dev/null bind or a read-only tmpfs */
	NSMOUNT_TYPE_DIFFERS,	 /* a file where the tree is a folder, or the reverse */
	NSMOUNT_SHARED,		 /* on a shared mount: the tree would propagate to its peers */
	NSMOUNT_DETACHED,	 /* procbox mounts removed */
	NSMOUNT_NOT_ATTACHED,	 /* detach: no procbox mount there */
	NSMOUNT_FUSE_IN_THE_WAY, /* a FUSE mount the container made on the way: not entered */
	NSMOUNT_FAILED,		 /* error holds the negative errno; always the last */
};

/* Which FUSE connections are procbox's. */
struct nsmount_devs {
	dev_t live;	   /* the serving daemon's; 0 if none */
	const dev_t *dead; /* those of daemons that are gone */
	size_t n_dead;
};

struct nsmount_op {
	const char *path; /* relative to the base, without a leading '/' */
	enum nsmount_action action;
	int tree_fd;	  /* attach: from open_tree(OPEN_TREE_CLONE); consumed */
	mode_t tree_type; /* attach: S_IFDIR or S_IFREG, the tree root's type */
	/* /proc/sys: the container's own folder is made read-only (a read-only bind of it)
	 * before procbox covers it, and detach leaves it read-only: whatever uncovers it, a
	 * failure or a detach, never hands out the host's writable sysctls. */
	bool keep_readonly;
	enum nsmount_outcome outcome;
	int error;
	unsigned removed; /* procbox mounts unmounted (detach, or dead ones on attach) */
};

const char *nsmount_outcome_to_string(enum nsmount_outcome o);

/* A detached copy (open_tree(2) OPEN_TREE_CLONE) of the mount at path below mountpoint
 * (path relative or absolute, "" or "/" for mountpoint itself), with its file type in
 * *ret_type. Closing the fd unmounts it again unless it was moved somewhere. */
int nsmount_clone_tree(const char *mountpoint, const char *path, mode_t *ret_type);

/*
 * Runs ops in pid's mount namespace, from pid's root or, if base is not NULL, from the
 * folder base inside pid's root (resolved there with RESOLVE_IN_ROOT). pid may share the
 * caller's namespace (no setns then). Fills each op's outcome. Returns 0 once the child
 * ran (the per-op outcomes tell what happened), or a negative errno: -ESRCH if pid is
 * gone, -ETIMEDOUT if the child did not finish within timeout_ms. It never waits longer:
 * a child that does not die when killed is left behind (nsmount_reap_abandoned()).
 */
int nsmount_run(pid_t pid, const char *base, const struct nsmount_devs *devs,
		struct nsmount_op *ops, size_t n, int timeout_ms);

/* The same in two halves, to run many containers at once: nsmount_start() forks the
 * child, nsmount_finish() collects its results (ops must live until then) and frees job. */
struct nsmount_job;
int nsmount_start(pid_t pid, const char *base, const struct nsmount_devs *devs,
		  struct nsmount_op *ops, size_t n, int timeout_ms, struct nsmount_job **ret);
int nsmount_finish(struct nsmount_job *job);

/* Reaps the children given up on before that have died since; returns how many are left. */
size_t nsmount_reap_abandoned(void);
