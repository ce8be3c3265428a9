/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/*
 * FUSE node ids for paths below the mount root. A node lives while the kernel holds
 * lookups on it (FORGET drops them). The root is FUSE_ROOT_ID with path "".
 */
struct inode_table;

int inode_table_new(struct inode_table **ret);
void inode_table_free(struct inode_table *t);

/* The node for path, with one more lookup; returns its node id, 0 on ENOMEM. */
uint64_t inode_get(struct inode_table *t, const char *path);
/* A copy of the node's path (caller frees); NULL if the id is unknown or on ENOMEM. */
char *inode_path(struct inode_table *t, uint64_t nodeid);
void inode_forget(struct inode_table *t, uint64_t nodeid, uint64_t nlookup);
unsigned inode_count(struct inode_table *t);

/* Called, under the table's lock, with every node id handed out for the first time, so
 * that a daemon taking over the connection knows what the kernel's ids mean. */
void inode_table_set_log(struct inode_table *t,
			 void (*log)(uint64_t id, const char *path, void *userdata),
			 void *userdata);
/* Puts back a node an earlier daemon handed out (later calls for an id or a path win);
 * new ids continue above it. Returns 0 or -ENOMEM. */
int inode_restore(struct inode_table *t, uint64_t nodeid, const char *path);
