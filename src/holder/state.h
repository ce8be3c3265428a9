/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * What a daemon that takes over a FUSE connection needs to know of the one that served
 * it before, kept in a memfd that travels with the /dev/fuse fd (holder, systemd's fd
 * store, exec): the kernel's FUSE_INIT request (the kernel sends it once per
 * connection), the device of the mount, a counter of daemons that served the connection
 * (file handles carry it, so a handle of a dead daemon is never taken for a live one),
 * and a log of the node ids handed to the kernel with their paths.
 *
 * The memfd outlives the daemon that writes it, so every write is one that a crash can
 * cut at any point: the header's fields are written once before anyone reads them, node
 * records are appended, each with a checksum, and a reader stops at the first record
 * that does not check.
 */
#define STATE_INIT_MAX 256

struct handover_state;

/* A new, empty state; *ret_fd is the memfd to hand on (CLOEXEC). */
int state_create(struct handover_state **ret);
/* The state of fd (taken over: closed on state_free()); -EBADMSG if it is not one. */
int state_open(int fd, struct handover_state **ret);
void state_free(struct handover_state *s);
int state_fd(struct handover_state *s);

/* The FUSE_INIT request as the kernel sent it; -ENOENT if none was recorded. */
int state_set_init(struct handover_state *s, const void *req, size_t len);
int state_get_init(struct handover_state *s, void *buf, size_t size, size_t *ret_len);

int state_set_mount_dev(struct handover_state *s, dev_t dev);
dev_t state_mount_dev(struct handover_state *s);

/* Counts this daemon in and returns its number (1 for the first), never 0. */
int state_next_generation(struct handover_state *s, uint32_t *ret);

/* Node ids: append one; call cb for every valid record, oldest first. */
int state_log_node(struct handover_state *s, uint64_t id, const char *path);
int state_for_each_node(struct handover_state *s,
			void (*cb)(uint64_t id, const char *path, void *userdata), void *userdata);
