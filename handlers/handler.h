/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "container/container.h"
#include "nsenter/message.h"
#include "nsenter/namespaces.h"
#include "nsenter/service.h"

/*
 * What a handler sees of a request: who asks, never a FUSE request. Handlers return a
 * negative errno, 0, or a byte count.
 */
struct pb_caller {
	pid_t pid; /* host view; the thread that made the system call */
	uid_t uid; /* host view (fsuid/fsgid) */
	gid_t gid;
	struct container *container;
	struct nsenter_service *nsenter;
	struct container_registry *containers;
};

/* One open file. A handler may keep a kernel fd or private data in it. */
struct pb_file {
	const struct handler *h;
	char *path; /* below the mount root, e.g. "proc/sys/net/ipv4/ip_forward" */
	int flags;
	struct container *container; /* a reference, taken at open */
	/* The container whose quota the open file and its snapshot are charged to (a
	 * reference): the opener, also for a file opened without container. */
	struct container *charged;

	pthread_mutex_t lock; /* snapshot, fd */
	char *snap;	      /* the content, as of the last read at offset 0 */
	size_t snap_len;
	bool snap_valid;
	int fd; /* a kernel file opened in the caller's namespaces, or -EBADF */
	void *priv;
};

/* Collects readdir entries; a name appears once even if added twice. */
struct pb_dir;
int pb_dir_add(struct pb_dir *d, const char *name, mode_t type);

/* A point attach, the OCI hook and the runtime wrapper bind (src/attach): procbox's source,
 * below the mount root, over the container's own target, below its root. */
struct handler_bind_point {
	char *source;
	char *target;
};
struct handler_binds {
	struct handler_bind_point *p;
	size_t n, cap;
	size_t n_rows; /* handler_bind_points(): the first n_rows are rows', the rest instances */
};
/* Adds a point (copies of both strings). */
int handler_binds_add(struct handler_binds *b, const char *source, const char *target);
void handler_binds_done(struct handler_binds *b);

struct handler {
	const char *path; /* below the mount root, no leading or trailing '/' */
	bool subtree;	  /* also serves every path below */
	mode_t mode;	  /* of path itself: S_IFREG|0444, S_IFDIR|0555, ... */
	/* st_size of a file, 0: PB_FILE_SIZE. At least the longest content it can have:
	 * sendfile(2) readers stop at st_size. */
	off_t size;
	/* A proc/sys entry served by this handler even on kernels that keep it per namespace
	 * (where others give way to the passthrough, tree_init()). */
	bool namespaced_too;
	/* Bound over the container's own path (a folder: whole) by attach, the OCI hook and
	 * the runtime wrapper: the table is their only list (handler_bind_points()). */
	bool bind;
	/* For points found at run time (one per host disk, say): adds each, in a stable
	 * order, with handler_binds_add(). Runs in the attaching process, which is in the
	 * host's namespaces. */
	int (*bind_instances)(struct handler_binds *b);

	/* The row's own data, for operations shared by many rows (as the kernel's ctl_table
	 * carries .data): they find it through f->h or the row they are given. */
	const void *data;

	/* All optional. Defaults: getattr from mode, owned by the container's root,
	 * st_size 4096 for files; read from content(); no write (EACCES). */
	/* For a row without getattr(): whether its path exists at all (a file this kernel
	 * may not have); -ENOENT when not. Default: it does. */
	bool (*exists)(const struct handler *h);
	int (*getattr)(const struct pb_caller *c, const char *path, struct stat *st);
	int (*readdir)(const struct pb_caller *c, const char *path, struct pb_dir *d);
	int (*readlink)(const struct pb_caller *c, const char *path, char *buf, size_t size);
	int (*open)(const struct pb_caller *c, struct pb_file *f);
	/* A read-only open that needs neither the caller's container nor its credentials,
	 * tried before open() with only the caller's pid: 0 when it served the open (f has
	 * no container then), -EAGAIN when open() must. Nothing else. */
	int (*open_fast)(pid_t pid, struct pb_file *f);
	/* The file's whole content, for the generic snapshot read. */
	int (*content)(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len);
	int (*read)(const struct pb_caller *c, struct pb_file *f, char *buf, size_t size,
		    off_t off);
	int (*write)(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
		     off_t off);
	void (*release)(struct pb_file *f);
	/* Subtree handlers: whether path exists, as the same node, for every caller, so the
	 * kernel may cache the entry (never the attributes) for everyone. Default: no. */
	bool (*shared)(const char *path);
};

/* The size every emulated or passed-through file reports: non-zero, so that readers
 * that trust st_size (busybox cat uses sendfile) read at all. */
#define PB_FILE_SIZE 4096
/* For views whose length grows with the host (a line or block per CPU or disk). */
#define PB_VIEW_SIZE (1024 * 1024)
/* The largest write a handler takes in one call: a write reaches the kernel's file through
 * an nsenter agent in one message. The FUSE layer caps max_write at it, and the kernel splits
 * larger writes into requests of this size at increasing offsets. */
#define PB_WRITE_MAX NSENTER_MSG_MAX_DATA

/* Fills st for a handler-less default: mode, owner = the container's root, now. */
void pb_default_stat(const struct pb_caller *c, mode_t mode, struct stat *st);

/* True if the caller is its container's root (uid 0 inside), as the kernel sees it. */
bool pb_caller_is_root(const struct pb_caller *c);

/* True if the caller is the host's: no container, or the host's own. Such a caller sees the
 * kernel's files as they are. */
bool pb_caller_is_host(const struct pb_caller *c);

/* 1 if the caller's namespace of type t is the daemon's (the host's), 0 if it has its own,
 * or a negative errno (the caller is gone). */
int pb_caller_ns_is_host(const struct pb_caller *c, enum ns_type t);

/* The kernel's file for a path below the mount root: "/" + path. Returns buf. */
const char *pb_kernel_path(const char *path, char *buf, size_t size);
