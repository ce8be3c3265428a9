/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * The holder: a small process that keeps a copy of the FUSE connection's /dev/fuse fd
 * and of its state memfd (holder/state.h) while daemons come and go. It is started by
 * the first daemon, outlives it (its own session, no parent-death signal), and hands
 * both fds, over a unix socket in a root-only folder, only to a client that is root in
 * the holder's user namespace and runs the file installed where the holder's own binary
 * is (the same installation; an upgraded file there counts). It exits when a daemon
 * stops for good (HOLDER_STOP).
 */
#define HOLDER_ARG "--procbox-holder"
/* procbox --procbox-holder-probe STATE_DIR MOUNTPOINT: asks the holder for the fds and
 * prints "granted", "refused", "busy" or "unreachable" (for tests). */
#define HOLDER_PROBE_ARG "--procbox-holder-probe"

/* The folder of one mountpoint's socket and saved values (root only, created). */
int holder_dir(const char *state_dir, const char *mountpoint, char **ret);

/* Starts a holder of fuse_fd and state_fd at dir/holder.sock; returns its pid. */
int holder_start(const char *dir, int fuse_fd, int state_fd, pid_t *ret_pid);
/* The fds a live holder keeps: 1 and both set, 0 if there is no holder, or a
 * negative errno (-EPERM: this process may not have them; -EBUSY: another daemon
 * that lives serves the connection). */
int holder_get(const char *dir, int *ret_fuse_fd, int *ret_state_fd, pid_t *ret_pid);
/* Asks the holder to let go of the connection and exit; 0 if there was none. */
int holder_stop(const char *dir);

int holder_probe_main(int argc, char **argv);

/* main() of the holder process: argv = HOLDER_ARG SOCKFD FUSEFD STATEFD OWNERPID. */
_Noreturn void holder_main(int argc, char **argv);
