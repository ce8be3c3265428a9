/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/*
 * File handles (fuse_file_info.fh) as the kernel keeps them: the number of the daemon
 * that opened the file (the state's generation) and a slot. A daemon that takes over a
 * connection gets handles of earlier daemons in requests; they never point into its
 * memory. The FUSE layer opens such a file anew for the caller that uses it and
 * adopts it under the old handle.
 */
struct fs_handles;

int fs_handles_new(uint32_t generation, struct fs_handles **ret);
/* Frees the table only; what it points to is the caller's. */
/* free_fn (may be NULL) is called for every handle still open. */
void fs_handles_free(struct fs_handles *h, void (*free_fn)(void *p));

/* A handle for p, 0 on ENOMEM. */
uint64_t fs_handle_put(struct fs_handles *h, void *p);
/* What fh stands for, or NULL if it is not this daemon's nor adopted. */
void *fs_handle_get(struct fs_handles *h, uint64_t fh);
/* Whether fh was handed out by an earlier daemon. */
int fs_handle_foreign(struct fs_handles *h, uint64_t fh);
/* Adopts p under a foreign fh; if another thread was first, returns its pointer
 * (the caller frees p), else p. NULL on ENOMEM. */
void *fs_handle_adopt(struct fs_handles *h, uint64_t fh, void *p);
/* Removes fh and returns what it stood for, NULL if nothing. */
void *fs_handle_take(struct fs_handles *h, uint64_t fh);
