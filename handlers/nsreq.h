/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "handlers/handler.h"
#include "nsenter/message.h"
#include "nsenter/namespaces.h"
#include "util/fileio.h"

/* The namespaces a request for a container's kernel files joins: all but mount and pid
 * (mount: the child must read the kernel's files, not the container's procbox mounts;
 * pid: an agent there would show in the container's `ps`). */
#define NSREQ_DEFAULT_MASK                                                                         \
	(NS_FLAG(NS_USER) | NS_FLAG(NS_NET) | NS_FLAG(NS_UTS) | NS_FLAG(NS_IPC) |                  \
	 NS_FLAG(NS_CGROUP))

/*
 * Sends req (ownership taken) into the caller's namespaces with the caller's credentials
 * and waits. Returns 0 with *ret_resp (never an error response; may be NULL if not
 * wanted) and *ret_fd (if non-NULL; -EBADF if none), or the negative errno of the error
 * response or of the transport.
 */
int nsreq_send(const struct pb_caller *c, unsigned ns_mask, unsigned long clone_flags,
	       struct nsenter_message *req, struct nsenter_message **ret_resp, int *ret_fd);

/* Convenience wrappers building the request. */
int nsreq_lookup(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		 const char *kpath, struct nsenter_stat *ret);
int nsreq_open(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
	       const char *kpath, int flags, bool pass_fd, int *ret_fd);
/* The same with pass_fd, for a kept fd that failed (ENOENT: its file or namespace went
 * away): opened anew in the caller's namespaces, never from the agent's kept fds, and
 * kept there in place of the old one. */
int nsreq_reopen(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		 const char *kpath, int flags, int *ret_fd);
int nsreq_read(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
	       const char *kpath, char **ret, size_t *ret_len);
int nsreq_write(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		const char *kpath, const char *buf, size_t size, off_t off);
/* A kernel file's attributes as FUSE must report them to the caller: the child's ids
 * (in the caller's user namespace) mapped back to host ids, a non-zero file size. */
int nsreq_stat(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
	       const char *kpath, struct stat *st);
int nsreq_readdir(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		  const char *kpath, struct pb_dir *d);
int nsreq_readlink(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		   const char *kpath, char *buf, size_t size);

/* Reads a whole kernel file through an fd opened in a container (pread from 0), at most
 * what one message carries: procfs and sysfs hand over all there is at once when the
 * buffer is large enough, so a short read is the end. */
static inline int nsreq_read_fd(int fd, char **ret, size_t *ret_len)
{
	return read_full_fd_at_most(fd, READ_FROM_START | READ_ONE_RECORD | READ_TRUNCATE,
				    NSENTER_MSG_MAX_DATA, ret, ret_len);
}
