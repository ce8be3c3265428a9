/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/*
 * What main.c calls: the subcommands that give containers procbox's files
 *   procbox attach|detach [--mountpoint DIR] PID
 *   procbox hook [--mountpoint DIR]          (an OCI hook: state JSON on stdin)
 *   procbox runc ARGS... / procbox-runc ARGS... (a runtime wrapper around runc)
 *   procbox reattach [--mountpoint DIR] [--dev MAJ:MIN]...
 * and the daemon's re-attach of containers left with dead mounts by an earlier run.
 */

bool attach_is_command(int argc, char **argv);
/* Runs the subcommand; returns the process's exit status. */
int attach_command_main(int argc, char **argv);

/* Notes which dead procbox mounts sit on mountpoint: call it before they are unmounted, so
 * that the re-attach takes only the containers of the daemon that served there. */
int attach_restart_prepare(const char *mountpoint);

/* Starts a detached thread that runs `procbox reattach` for mountpoint and the dead
 * mounts attach_restart_prepare() found (none found: nothing to do) and logs how it went. The
 * re-attach works while the daemon serves: call it right before the FUSE loop starts. */
int attach_restart_start(const char *mountpoint);
