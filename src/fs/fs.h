/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "container/container.h"
#include "nsenter/service.h"

/*
 * The libfuse low-level operations. They turn a request into a path and a caller and
 * hand both to the handler tree; replies carry the handlers' errno unchanged.
 *
 * Nothing a kernel cache keeps may be another container's: one mount serves every
 * container, so attributes are never cached, entries only when every caller has the
 * same (tree_entry_shared()), and file data always comes from the daemon (direct_io).
 * What the kernel keeps per inode (the page cache that sendfile and private mmap read,
 * inotify, the size) is kept apart by giving each container inodes of its own: the
 * sets of fs/inodeset.h, which every node path goes through before the handlers see it.
 * There is no flush: close() has nothing to wait for, and ENOSYS spares the round trip.
 */
struct procbox_fs {
	struct nsenter_service *nsenter;
	struct container_registry *containers;
	struct inode_table *inodes;
	/* fuse_file_info.fh of open files, and of open folders: the kernel gives each back
	 * only to the operations of its kind */
	struct fs_handles *handles;
	struct fs_handles *dir_handles;
	struct fs_resume *resume; /* NULL: the session reads /dev/fuse by itself */
};

const struct fuse_lowlevel_ops *fs_operations(void);

/* At exit, once no worker runs: frees the files and folders the kernel still holds open
 * (a daemon stopped under open files never gets their release). Before the containers
 * they belong to are freed. */
void fs_close_handles(struct procbox_fs *fs);
