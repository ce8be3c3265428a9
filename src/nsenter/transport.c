/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nsenter/transport.h"
#include "util/macro.h"

int transport_send(int sock, const struct nsenter_message *m, int fd)
{
	_cleanup_free_ char *buf = NULL;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	size_t len;
	int r;

	r = nsenter_message_encode(m, &buf, &len);
	if (r < 0)
		return r;
	iov.iov_base = buf;
	iov.iov_len = len;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EPIPE ? -ECONNRESET : negative_errno();
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int transport_recv(int sock, int timeout_ms, struct nsenter_message **ret, int *ret_fd)
{
	_cleanup_free_ char *buf = NULL;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov;
	struct msghdr mh = {0};
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	_cleanup_close_ int fd = -EBADF;
	const char *why = NULL;
	ssize_t n;
	int r;

	/* One byte more than the limit, so an oversized datagram shows as MSG_TRUNC. */
	buf = malloc(NSENTER_MSG_MAX_SIZE + 1);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int wait = -1;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			wait = (int)left;
		}
		r = poll(&p, 1, wait);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (r == 0)
			return -ETIMEDOUT;

		iov.iov_base = buf;
		iov.iov_len = NSENTER_MSG_MAX_SIZE + 1;
		mh = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return negative_errno();
		}
		break;
	}

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[4];

			memcpy(fds, CMSG_DATA(c), MIN(nfds, ELEMENTSOF(fds)) * sizeof(int));
			for (size_t i = 0; i < MIN(nfds, ELEMENTSOF(fds)); i++) {
				if (fd < 0)
					fd = fds[i];
				else
					safe_close(fds[i]);
			}
		}
	}
	if (n == 0)
		return -ECONNRESET; /* SEQPACKET: zero-length read is end of stream */
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EBADMSG;

	r = nsenter_message_decode(buf, (size_t)n, ret, &why);
	if (r < 0)
		return r;
	if (ret_fd)
		*ret_fd = TAKE_FD(fd);
	return 0;
}
