/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "attach/nsmount.h"

/*
 * After a procbox restart: every mount a container got from the daemon that died still
 * points at the dead FUSE connection and answers ENOTCONN (LXCFS's best-known failure).
 * This finds them in every mount namespace on the host and puts a copy of the live
 * daemon's mount in their place, so containers read correct values again without a
 * restart.
 */

struct reattach_report {
	pid_t pid;		     /* the process whose namespace and root were used */
	uint64_t ns_ino;	     /* its mount namespace */
	const char *mountpoint;	     /* as that process sees it */
	const char *root;	     /* the path inside procbox the mount showed */
	int error;		     /* negative errno when it could not be tried at all */
	const struct nsmount_op *op; /* NULL if error is set */
};

typedef void (*reattach_report_fn)(const struct reattach_report *r, void *userdata);

struct reattach_stats {
	unsigned namespaces; /* mount namespaces scanned */
	unsigned dead;	     /* dead procbox mounts found */
	unsigned replaced;
	unsigned failed;
};

/*
 * The devices (one per FUSE connection) of the procbox mounts at mountpoint whose daemon is
 * gone: what an earlier instance served there. Call it before the dead mount is
 * unmounted. *ret is malloc'ed; *ret_n may be 0.
 */
int reattach_dead_devs_at(const char *mountpoint, dev_t **ret, size_t *ret_n);

/* A container's child that takes longer is given up on; the others go on meanwhile. */
#define REATTACH_TIMEOUT_MS 5000

/*
 * Replaces dead procbox mounts in every mount namespace with a clone of the same path of
 * the live mount at mountpoint: the mounts of the connections in devs (n_devs > 0, else
 * -EINVAL), which only the kernel's device numbers identify. The live mount goes in
 * beneath the dead one before that is unmounted, so the path never shows what procbox
 * covered. Up to 16 containers are worked on at once, each within REATTACH_TIMEOUT_MS.
 * report, if not NULL, is called once per dead mount. Returns 0 or a negative errno for a
 * failure of the scan itself.
 */
int reattach_dead_mounts(const char *mountpoint, const dev_t *devs, size_t n_devs,
			 reattach_report_fn report, void *userdata, struct reattach_stats *ret);
