/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "holder/state.h"

/*
 * Taking over a FUSE connection that another daemon initialised, with libfuse's public
 * API only (libfuse 3.14 has no call for it).
 *
 * The kernel sends FUSE_INIT once per connection, and libfuse answers every request but
 * FUSE_INIT with EIO until it has seen one. So every session reads and writes
 * /dev/fuse through fuse_session_custom_io(): the read hook records the kernel's
 * FUSE_INIT request in the state that travels with the fd; a session that takes over
 * gets that same request fed to fuse_session_process_buf() before its loop starts, and
 * the writev hook drops libfuse's reply to it (the kernel negotiated once and waits
 * for no answer). libfuse then computes the same parameters from the same request.
 *
 * Requests the previous daemon had read but not answered sit in the kernel's
 * processing list of the /dev/fuse file; since the holder keeps that file open they
 * are neither answered nor failed. FUSE_NOTIFY_RESEND (Linux 6.9) puts them back in
 * the queue, where the new daemon reads them.
 */
struct fs_resume;

int fs_resume_new(struct handover_state *state, struct fs_resume **ret);
void fs_resume_free(struct fs_resume *r);

/* The custom io hooks on fd; userdata of the session must be a struct procbox_fs. */
int fs_resume_attach(struct fuse_session *se, int fd);

/* Brings se to the initialised state of the connection and asks the kernel to resend
 * what the previous daemon left unanswered. -ENOTCONN: the connection is gone. */
int fs_resume_session(struct fuse_session *se, struct fs_resume *r, int fd);

/* 1 if fd's connection is aborted (no mount or holder keeps it, or it was aborted). */
int fs_connection_dead(int fd);
