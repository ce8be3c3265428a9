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
 * container, so entries and attributes are never cached (timeouts 0) and file data
 * always comes from the daemon (direct_io).
 */
struct procbox_fs {
	struct nsenter_service *nsenter;
	struct container_registry *containers;
	struct inode_table *inodes;
};

const struct fuse_lowlevel_ops *fs_operations(void);
