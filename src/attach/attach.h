/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "attach/nsmount.h"

#define ATTACH_DEFAULT_MOUNTPOINT "/var/lib/procbox"
/* A child that takes longer is stuck (on a FUSE daemon that does not answer, say). */
#define ATTACH_TIMEOUT_MS 10000

/*
 * The paths procbox covers in a container are the handler table's (handler_bind_points():
 * rows marked bind, relative to both the container's root and procbox's mountpoint,
 * "proc/sys" is <mountpoint>/proc/sys over the container's /proc/sys; folders are covered
 * whole), and the points its rows find at run time: the stat file of every whole disk of
 * the host with media, procbox's sys/block/<disk>/stat over the container's
 * sys/devices/.../block/<disk>/stat (handlers/blockstat.h). A path the daemon does not
 * serve is left alone. Of the points found at run time, at most ATTACH_MAX_DISKS, the
 * first by name.
 */
#define ATTACH_MAX_DISKS 224
/* The size of the items array that attach_container() and detach_container() fill. */
#define ATTACH_MAX_POINTS (32 + ATTACH_MAX_DISKS)

/* One point's fate. items arrays end at the first item without path (or at
 * ATTACH_MAX_POINTS); their paths stay valid until the next call. */
struct attach_item {
	const char *path;   /* below the container's root */
	const char *source; /* below procbox's mountpoint */
	int serve_error;    /* attach: 0, or why procbox's mount has no tree for it (-ENOENT) */
	struct nsmount_op op;
};

/* How many items an array that attach_container() or detach_container() filled holds. */
size_t attach_n_items(const struct attach_item *items);

/* 0 if mountpoint carries a live procbox mount; -ENOTCONN if its daemon is gone, -ENODEV
 * if it is something else (or nothing). */
int attach_check_mountpoint(const char *mountpoint);

/* 1 if pid is in the caller's own mount namespace, 0 if not, or a negative errno. */
int attach_shares_mount_ns(pid_t pid);

/*
 * Covers every attach point the daemon serves at mountpoint in pid's mount namespace,
 * targets resolved below base (NULL: pid's root; an OCI hook passes the bundle's rootfs).
 * Every source is taken from the container's own set of kernel inodes,
 * <mountpoint>/.inodes/<set>/ (fs/inodeset.h; NULL: the shared tree, whose inodes every
 * container that binds it shares). items holds ATTACH_MAX_POINTS entries
 * (attach_n_items() of them are used). Returns 0 when the child ran (see each item's
 * outcome) or a negative errno.
 */
int attach_container(const char *mountpoint, pid_t pid, const char *base, const char *set,
		     struct attach_item *items);

/* The name of the set of kernel inodes of pid's container for `procbox attach`:
 * pid-<init's host pid>-<init's start time in clock ticks>, unique for the container's
 * life and the same when it is attached again. */
int attach_set_name_of_pid(pid_t pid, char *buf, size_t size);
/* For an OCI hook: the container's id if it is a valid set name, else the pid form. */
int attach_set_name_of_container(const char *id, pid_t pid, char *buf, size_t size);

/* Removes procbox's mounts from every attach point of pid's container: those of the
 * daemon serving mountpoint, or, if it is gone, those of its dead mount there. The
 * container's /proc/sys is left read-only, never its writable real one. -ENODEV if there
 * is neither. */
int detach_container(const char *mountpoint, pid_t pid, const char *base,
		     struct attach_item *items);

/* procbox's FUSE connections for mountpoint: the live one, or the dead ones still mounted
 * there. ret->dead points into *ret_dead (malloc'ed, may be NULL). */
int attach_procbox_devs(const char *mountpoint, struct nsmount_devs *ret, dev_t **ret_dead);

/* An outcome that leaves procbox serving the path, or a skip the user asked for: none of
 * them is an error. */
bool attach_outcome_ok(const struct attach_item *it);
