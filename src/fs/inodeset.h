/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Sets of kernel inodes, one per container. The kernel keeps state per inode: the page
 * cache (sendfile, private mmap), inotify watches, locks, the size and st_ino. Through
 * the plain tree every container that binds a path gets the same inode, so that state
 * would pass from one container to another.
 *
 * `.inodes/NAME/` mirrors the whole tree: a path below it is served as the path with the
 * prefix taken off, but it is another path to the inode table, so every NAME has node
 * ids of its own, and a container whose binds come from `.inodes/NAME/` shares no kernel
 * inode with another. `.inodes` lists nothing and is not listed in the root; the FUSE
 * layer answers lookups of it and of `.inodes/NAME` only for the host's root (and
 * containers it made), like lookups in the root, and never lets the kernel cache them.
 */
#define INODESET_DIR ".inodes"
#define INODESET_NAME_MAX 128

/* Whether name may name a set: 1 to 128 of [A-Za-z0-9_.+-], not starting with '.'. */
bool inodeset_name_valid(const char *name);
/* 0 if name may name a set; else the errno a lookup of it in `.inodes` gets. */
int inodeset_name_check(const char *name);

/* The tree's path for the node path `path`: what follows `.inodes/NAME/` (the root,
 * "", for `.inodes/NAME`), or path itself outside the sets. Points into path. */
const char *inodeset_tree_path(const char *path);

/* Whether path is the folder `.inodes` itself. */
bool inodeset_is_folder(const char *path);

/* Whether a lookup in the folder at path is a way in from the host's side: the root,
 * `.inodes`, and every set's root `.inodes/NAME`. */
bool inodeset_is_gate(const char *path);

/* Writes `.inodes/NAME/path` (path relative to the mount, "" for the root) to buf;
 * -EINVAL if name is not a valid set name, -ENAMETOOLONG if buf is too small. */
int inodeset_path(const char *name, const char *path, char *buf, size_t size);

/* The tree's getattr and readdir for the node path `path` (fs/fs.c): `.inodes` is a
 * folder like the root that lists nothing; every other path is the tree's. */
struct pb_caller;
struct stat;
struct tree_dirent;
int inodeset_getattr(const struct pb_caller *c, const char *path, struct stat *st);
int inodeset_readdir(const struct pb_caller *c, const char *path, struct tree_dirent **ret,
		     size_t *ret_n);
