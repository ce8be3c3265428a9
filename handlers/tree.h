/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "handlers/handler.h"

/*
 * The handler table: every handler of every family, in one trie keyed by path
 * components. A path is served by the deepest handler at or above it; folders between
 * the root and a handler exist implicitly (0555, owned by the container's root).
 *
 * These are the entry points of the FUSE layer: it resolves names to paths and calls
 * these, and never knows what a path means.
 */

int tree_init(void);
/* The trie of these rows alone, as given: no family's init, no probe of the host. For
 * tests of the dispatch itself; tree_free() ends it. */
int tree_init_table(const struct handler *rows, size_t n);
void tree_free(void);

/* Validates a name from a lookup: not empty, ".", "..", no '/', at most 255 bytes. */
bool tree_name_valid(const char *name);

/* Whether path exists, as the same node, for every caller (see struct handler.shared):
 * the FUSE layer lets the kernel cache such entries. */
bool tree_entry_shared(const char *path);

int tree_getattr(const struct pb_caller *c, const char *path, struct stat *st);

/* Entries of a folder (names and types); the caller frees with tree_dir_free(). */
struct tree_dirent {
	char *name;
	mode_t type; /* S_IFDIR, S_IFREG, S_IFLNK */
};
int tree_readdir(const struct pb_caller *c, const char *path, struct tree_dirent **ret,
		 size_t *ret_n);
void tree_dir_free(struct tree_dirent *d, size_t n);

int tree_readlink(const struct pb_caller *c, const char *path, char *buf, size_t size);

/* open returns a new pb_file (owning a container reference) or a negative errno. The
 * open file is charged to the caller's container's quota of open files (-EMFILE, -ENFILE
 * when it has no room), and its snapshots to its quota of snapshot bytes (-ENOMEM). */
int tree_open(const struct pb_caller *c, const char *path, int flags, struct pb_file **ret);
/* The handler's open_fast(), with only the caller's pid: 0 and a new pb_file without a
 * container (charged to `charge`, the caller's container), -EMFILE/-ENFILE when that has
 * no room, or -EAGAIN: call tree_open(). */
int tree_open_fast(pid_t pid, struct container *charge, const char *path, int flags,
		   struct pb_file **ret);
int tree_read(const struct pb_caller *c, struct pb_file *f, char *buf, size_t size, off_t off);
int tree_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
	       off_t off);
void tree_release(struct pb_file *f);
