/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/resume.h"
#include "util/macro.h"

#ifndef FUSE_NOTIFY_RESEND
#define FUSE_NOTIFY_RESEND 7
#endif

struct fs_resume {
	struct handover_state *state;
	atomic_bool recorded;
	/* unique + 1 of the synthetic FUSE_INIT whose reply is dropped; 0: none */
	atomic_uint_fast64_t swallow;
	atomic_int swallowed_error;
};

int fs_resume_new(struct handover_state *state, struct fs_resume **ret)
{
	struct fs_resume *r = calloc(1, sizeof(*r));
	size_t len;
	char buf[STATE_INIT_MAX];

	if (!r)
		return -ENOMEM;
	r->state = state;
	atomic_store(&r->recorded, state_get_init(state, buf, sizeof(buf), &len) == 0);
	*ret = r;
	return 0;
}

void fs_resume_free(struct fs_resume *r)
{
	free(r);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct procbox_fs *fs = userdata;
	ssize_t n = read(fd, buf, len);

	if (n >= (ssize_t)sizeof(struct fuse_in_header) && fs->resume &&
	    !atomic_load_explicit(&fs->resume->recorded, memory_order_relaxed)) {
		const struct fuse_in_header *in = buf;

		if (in->opcode == FUSE_INIT && (size_t)n <= STATE_INIT_MAX &&
		    state_set_init(fs->resume->state, buf, (size_t)n) == 0)
			atomic_store(&fs->resume->recorded, true);
	}
	return n;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct procbox_fs *fs = userdata;
	const struct fuse_out_header *out = iov[0].iov_base;
	uint_fast64_t s = fs->resume ? atomic_load(&fs->resume->swallow) : 0;

	if (s && iov[0].iov_len >= sizeof(*out) && out->unique == s - 1) {
		ssize_t total = 0;

		atomic_store(&fs->resume->swallowed_error, out->error);
		atomic_store(&fs->resume->swallow, 0);
		for (int i = 0; i < count; i++)
			total += (ssize_t)iov[i].iov_len;
		return total;
	}
	return writev(fd, iov, count);
}

static const struct fuse_custom_io io = {
    .read = io_read,
    .writev = io_writev,
};

int fs_resume_attach(struct fuse_session *se, int fd)
{
	return fuse_session_custom_io(se, &io, fd) < 0 ? -EINVAL : 0;
}

int fs_connection_dead(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, 0) < 0)
		return negative_errno();
	return (p.revents & (POLLERR | POLLNVAL)) ? 1 : 0;
}

int fs_resume_session(struct fuse_session *se, struct fs_resume *r, int fd)
{
	struct fuse_out_header oh = {.len = sizeof(oh), .error = FUSE_NOTIFY_RESEND};
	uint8_t init[STATE_INIT_MAX] __attribute__((aligned(8)));
	struct fuse_buf buf = {0};
	size_t len;
	int e;

	if (state_get_init(r->state, init, sizeof(init), &len) < 0 ||
	    len < sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in))
		return -EBADMSG;
	if (fs_connection_dead(fd) > 0)
		return -ENOTCONN;
	atomic_store(&r->swallow, ((const struct fuse_in_header *)init)->unique + 1);
	buf.mem = init;
	buf.size = len;
	fuse_session_process_buf(se, &buf);
	if (atomic_load(&r->swallow) != 0 || fuse_session_exited(se))
		return -EPROTO;
	e = atomic_load(&r->swallowed_error);
	if (e)
		return e < 0 ? e : -EPROTO;
	/* Kernels before 6.9 refuse the notification (EINVAL): requests the dead daemon
	 * had read then wait for an answer that never comes, until their caller is killed. */
	if (write(fd, &oh, sizeof(oh)) < 0)
		return errno == ENODEV ? -ENOTCONN : -EOPNOTSUPP;
	return 0;
}
