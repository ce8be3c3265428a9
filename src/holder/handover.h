/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "holder/state.h"

/*
 * Where a daemon finds the FUSE connection of the one before it, and where it leaves
 * its own for the one after: the fds a daemon that exec'd itself kept
 * (PROCBOX_HANDOVER_FDS), systemd's fd store, or the holder.
 */
enum handover_source { HANDOVER_NONE, HANDOVER_EXEC, HANDOVER_FDSTORE, HANDOVER_HOLDER };

struct handover {
	enum handover_source from;
	int fuse_fd;
	struct handover_state *state;
	char *dir;	  /* root-only folder of this mountpoint (socket, pid file, values) */
	pid_t holder_pid; /* 0: none known (under systemd) */
};

#define HANDOVER_ENV "PROCBOX_HANDOVER_FDS"

/* Finds a live connection of mountpoint: 1 (h filled in), 0 (start afresh), <0. */
int handover_acquire(struct handover *h, const char *state_dir, const char *mountpoint);
/* After a fresh mount: a new state for fuse_fd, the device of the mount recorded. */
int handover_new_state(struct handover *h, const char *state_dir, const char *mountpoint);
/* Makes sure the connection outlives this process: in the fd store under systemd, else
 * with a holder (one is started if none answers). */
int handover_keep(struct handover *h, int fuse_fd);
/* The daemon stops for good: the holder lets go. */
void handover_release(struct handover *h);
/* Replaces this process with exe, fuse_fd and the state handed on; returns only on
 * failure. */
int handover_exec(struct handover *h, int fuse_fd, const char *exe, char **argv);
void handover_done(struct handover *h);

/* The pid file dir/daemon.pid: "PID GENERATION HOLDERPID", written once a daemon
 * serves. */
int handover_write_pid(struct handover *h, uint32_t generation);

/* procbox upgrade [--state-dir DIR] [MOUNTPOINT]: SIGUSR2 to the daemon, then waits
 * until the new binary serves. */
int handover_upgrade_command(int argc, char **argv, const char *default_mountpoint,
			     const char *default_state_dir);
