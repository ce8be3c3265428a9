/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * Mount operations inside another process's mount namespace. move_mount(2) attaches only
 * to mounts of the caller's own namespace, so a forked, single-threaded child joins the
 * target's namespace (setns(2) refuses a process that shares fs state with threads) and
 * runs every operation there; the parent collects one result per operation.
 *
 * Targets are resolved from the target process's root (or a folder below it, the bundle's
 * rootfs for an OCI hook) with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): the
 * container owns every component, and a symlink it planted must not move procbox's mount
 * elsewhere.
 */

enum nsmount_action {
	NSMOUNT_ATTACH, /* move tree_fd onto path */
	NSMOUNT_DETACH, /* remove the procbox mounts on path */
};

enum nsmount_outcome {
	NSMOUNT_PENDING,
	NSMOUNT_ATTACHED,     /* tree moved onto the target */
	NSMOUNT_REPLACED,     /* dead procbox mounts removed, then the tree moved there */
	NSMOUNT_ALREADY,      /* a live procbox mount is on the target already */
	NSMOUNT_MISSING,      /* the target does not exist */
	NSMOUNT_MASKED,	      /* the runtime masked it: a /dev/null bind or a read-only tmpfs */
	NSMOUNT_TYPE_DIFFERS, /* a file where the tree is a folder, or the reverse */
	NSMOUNT_SHARED,	      /* on a shared mount: the tree would propagate to its peers */
	NSMOUNT_DETACHED,     /* procbox mounts removed */
	NSMOUNT_NOT_ATTACHED, /* detach: no procbox mount there */
	NSMOUNT_FAILED,	      /* error holds the negative errno */
};

struct nsmount_op {
	const char *path; /* relative to the base, without a leading '/' */
	enum nsmount_action action;
	int tree_fd;	  /* attach: from open_tree(OPEN_TREE_CLONE); consumed */
	mode_t tree_type; /* attach: S_IFDIR or S_IFREG, the tree root's type */
	enum nsmount_outcome outcome;
	int error;
	unsigned removed; /* procbox mounts unmounted (detach, or dead ones on attach) */
};

const char *nsmount_outcome_to_string(enum nsmount_outcome o);

/*
 * Runs ops in pid's mount namespace, from pid's root or, if base is not NULL, from the
 * folder base inside pid's root (resolved there with RESOLVE_IN_ROOT). pid may share the
 * caller's namespace (no setns then). Fills each op's outcome. Returns 0 once the child
 * ran (the per-op outcomes tell what happened), or a negative errno: -ESRCH if pid is
 * gone, -ETIMEDOUT if the child did not finish within timeout_ms.
 */
int nsmount_run(pid_t pid, const char *base, struct nsmount_op *ops, size_t n, int timeout_ms);
