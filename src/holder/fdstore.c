/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "holder/fdstore.h"
#include "util/macro.h"

#define SD_LISTEN_FDS_START 3

bool fdstore_available(void)
{
	const char *e = getenv("NOTIFY_SOCKET");

	return e && (e[0] == '/' || e[0] == '@');
}

int fdstore_push(int fd, const char *name)
{
	const char *e = getenv("NOTIFY_SOCKET");
	_cleanup_close_ int s = -EBADF;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char msg[256];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c = {0};
	struct iovec iov;
	struct msghdr mh = {.msg_name = &sa,
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = &c,
			    .msg_controllen = sizeof(c)};
	struct cmsghdr *cm;
	size_t len;
	int n;

	if (!fdstore_available())
		return -ENOENT;
	len = strlen(e);
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, e, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* abstract */
	mh.msg_namelen =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (e[0] == '@' ? 0 : 1));
	n = snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -EINVAL;
	iov = (struct iovec){.iov_base = msg, .iov_len = (size_t)n};
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return negative_errno();
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0)
		return negative_errno();
	return 0;
}

int fdstore_take(const char *name)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS"),
		   *names = getenv("LISTEN_FDNAMES");
	_cleanup_free_ char *copy = NULL;
	char *save = NULL, *tok;
	long n;
	int i = 0;

	if (!pid || !nfds || !names || atol(pid) != (long)getpid())
		return -ENOENT;
	n = atol(nfds);
	copy = strdup(names);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ":", &save); tok && i < n;
	     tok = strtok_r(NULL, ":", &save), i++) {
		int fd = SD_LISTEN_FDS_START + i;

		if (strcmp(tok, name) != 0)
			continue;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return negative_errno();
		return fd;
	}
	return -ENOENT;
}
