/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "holder/holder.h"
#include "util/macro.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define SOCK_NAME "holder.sock"
#define REQ_GET "GET"
#define REQ_STOP "STOP"

int holder_dir(const char *state_dir, const char *mountpoint, char **ret)
{
	_cleanup_free_ char *copy = strdup(mountpoint), *parent = NULL;
	uint64_t h = 14695981039346656037ull; /* FNV-1a 64 */
	const char *base;
	char *dir, *slash;

	if (!copy)
		return -ENOMEM;
	/* The parent only: resolving the mountpoint itself would ask the FUSE daemon for
	 * its root's attributes, and there may be none yet. */
	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = 0;
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = 0;
		base = slash + 1;
		parent = realpath(*copy ? copy : "/", NULL);
	} else {
		base = copy;
		parent = realpath(".", NULL);
	}
	if (!parent)
		return negative_errno();
	for (const char *p = parent; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	h = (h ^ (uint8_t)'/') * 1099511628211ull;
	for (const char *p = base; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	/* Only root may enter: the socket and the values containers wrote live there. */
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	if (asprintf(&dir, "%s/%016llx", state_dir, (unsigned long long)h) < 0)
		return -ENOMEM;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int r = negative_errno();
		free(dir);
		return r;
	}
	*ret = dir;
	return 0;
}

static int sock_addr(const char *dir, struct sockaddr_un *sa, socklen_t *len)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/" SOCK_NAME, dir) >=
	    sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sa->sun_path) + 1);
	return 0;
}

static int connect_holder(const char *dir)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 5};
	struct sockaddr_un sa;
	socklen_t len;
	int r;

	if (fd < 0)
		return negative_errno();
	r = sock_addr(dir, &sa, &len);
	if (r < 0)
		return r;
	/* -ENOENT: no holder (none started, or a dead one's socket). */
	if (connect(fd, (struct sockaddr *)&sa, len) < 0)
		return errno == ENOENT || errno == ECONNREFUSED ? -ENOENT : negative_errno();
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return TAKE_FD(fd);
}

int holder_get(const char *dir, int *ret_fuse_fd, int *ret_state_fd, pid_t *ret_pid)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	_cleanup_close_ int fd = connect_holder(dir);
	char buf[16] = {0};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} c;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &c, .msg_controllen = sizeof(c)};
	struct cmsghdr *cm;
	ssize_t n;
	int fds[2];

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	if (send(fd, REQ_GET, strlen(REQ_GET), MSG_NOSIGNAL) < 0)
		return negative_errno();
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return negative_errno();
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(2 * sizeof(int))) {
		if (cm && cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++)
				safe_close(((int *)CMSG_DATA(cm))[i]);
		}
		if (strcmp(buf, "EBUSY") == 0)
			return -EBUSY;
		return strcmp(buf, "EPERM") == 0 ? -EPERM : -EPROTO;
	}
	memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	if (ret_pid)
		*ret_pid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0 ? cr.pid : 0;
	*ret_fuse_fd = fds[0];
	*ret_state_fd = fds[1];
	return 1;
}

int holder_stop(const char *dir)
{
	_cleanup_close_ int fd = connect_holder(dir);
	char buf[16];

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	if (send(fd, REQ_STOP, strlen(REQ_STOP), MSG_NOSIGNAL) < 0)
		return negative_errno();
	/* The holder closes the socket as it exits. */
	(void)recv(fd, buf, sizeof(buf), 0);
	return 1;
}

int holder_start(const char *dir, int fuse_fd, int state_fd, pid_t *ret_pid)
{
	_cleanup_close_ int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	_cleanup_close_ int p_rd = -EBADF, p_wr = -EBADF;
	int pfd[2];
	char exe[PATH_MAX];
	struct sockaddr_un sa;
	socklen_t len;
	pid_t pid, holder = 0;
	ssize_t n;
	int r;

	if (lfd < 0)
		return negative_errno();
	r = sock_addr(dir, &sa, &len);
	if (r < 0)
		return r;
	/* Called only when no holder answered: what is there is a dead one's. */
	(void)unlink(sa.sun_path);
	if (bind(lfd, (struct sockaddr *)&sa, len) < 0 || chmod(sa.sun_path, 0600) < 0 ||
	    listen(lfd, 16) < 0)
		return negative_errno();
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return negative_errno();
	exe[n] = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return negative_errno();
	p_rd = pfd[0];
	p_wr = pfd[1];

	/* Twice forked, so the holder is nobody's child here and outlives the daemon. */
	pid = fork();
	if (pid < 0)
		return negative_errno();
	if (pid == 0) {
		char a[4][16];
		pid_t p, owner = getppid();

		(void)setsid();
		p = fork();
		if (p != 0) {
			(void)!write(p_wr, &p, sizeof(p));
			_exit(p < 0 ? 1 : 0);
		}
		/* Out of the way first: any of them may already be 3, 4 or 5. */
		int l = fcntl(lfd, F_DUPFD_CLOEXEC, 10), f = fcntl(fuse_fd, F_DUPFD_CLOEXEC, 10),
		    st = fcntl(state_fd, F_DUPFD_CLOEXEC, 10);

		if (l < 0 || f < 0 || st < 0 || dup2(l, 3) < 0 || dup2(f, 4) < 0 || dup2(st, 5) < 0)
			_exit(1);
		syscall(SYS_close_range, 6U, ~0U, 0);
		snprintf(a[0], sizeof(a[0]), "3");
		snprintf(a[1], sizeof(a[1]), "4");
		snprintf(a[2], sizeof(a[2]), "5");
		snprintf(a[3], sizeof(a[3]), "%d", (int)owner);
		execl(exe, exe, HOLDER_ARG, a[0], a[1], a[2], a[3], (char *)NULL);
		_exit(127);
	}
	p_wr = safe_close(p_wr);
	if (read(p_rd, &holder, sizeof(holder)) != (ssize_t)sizeof(holder))
		holder = 0;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (holder <= 0)
		return -ECHILD;
	if (ret_pid)
		*ret_pid = holder;
	return 0;
}

/* --- the holder process --- */

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int same_link(const char *a, const char *b)
{
	char x[128], y[128];
	ssize_t n = readlink(a, x, sizeof(x) - 1), m = readlink(b, y, sizeof(y) - 1);

	if (n < 0 || m < 0)
		return 0;
	x[n] = y[m] = 0;
	return strcmp(x, y) == 0;
}

/* Root of the holder's own user namespace, running the file installed at the holder's
 * path: whatever else a process is, it gets nothing. The pidfd pins the process the
 * answers are about: had it exited and its pid been reused meanwhile, signalling the
 * pidfd fails. */
static bool peer_allowed(int fd, const char *install)
{
	_cleanup_close_ int pidfd = -EBADF;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char p[64];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0 || cr.pid <= 0)
		return false;
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = -EBADF; /* kernels before 6.5: the checks below still hold */
	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)cr.pid);
	if (!same_link(p, "/proc/self/ns/user"))
		return false;
	snprintf(p, sizeof(p), "/proc/%d/exe", (int)cr.pid);
	if (!same_file(p, install))
		return false;
	if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return false;
	return true;
}

/* The daemon that serves the connection now: another one is refused (EBUSY) while it
 * lives, so two daemons never read one connection. */
static int owner_pidfd = -EBADF;
static pid_t owner_pid;

static bool owner_alive(void)
{
	struct pollfd p = {.fd = owner_pidfd, .events = POLLIN};

	return owner_pidfd >= 0 && poll(&p, 1, 0) == 0;
}

static void set_owner(pid_t pid)
{
	owner_pidfd = safe_close(owner_pidfd);
	owner_pid = pid;
	owner_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
}

static void serve(int cfd, int fuse_fd, int state_fd, const char *install, bool *stop)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	char buf[16] = {0};
	int fds[2] = {fuse_fd, state_fd};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(fds))];
	} c = {0};
	struct iovec iov = {.iov_base = (char *)"OK", .iov_len = 3};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct timeval tv = {.tv_sec = 2};
	struct cmsghdr *cm;

	(void)setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recv(cfd, buf, sizeof(buf) - 1, 0) <= 0)
		return;
	if (!peer_allowed(cfd, install)) {
		(void)send(cfd, "EPERM", 6, MSG_NOSIGNAL);
		return;
	}
	if (strcmp(buf, REQ_STOP) == 0) {
		*stop = true;
		return;
	}
	if (strcmp(buf, REQ_GET) != 0)
		return;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0)
		return;
	if (owner_alive() && owner_pid != cr.pid) {
		(void)send(cfd, "EBUSY", 6, MSG_NOSIGNAL);
		return;
	}
	set_owner(cr.pid);
	mh.msg_control = &c;
	mh.msg_controllen = sizeof(c);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	(void)sendmsg(cfd, &mh, MSG_NOSIGNAL);
}

_Noreturn void holder_main(int argc, char **argv)
{
	char install[PATH_MAX];
	int lfd, fuse_fd, state_fd, nul;
	bool stop = false;
	ssize_t n;

	if (argc != 6)
		_exit(2);
	set_owner(atoi(argv[5]));
	lfd = atoi(argv[2]);
	fuse_fd = atoi(argv[3]);
	state_fd = atoi(argv[4]);
	/* Where this binary is installed: a client must run the file that is there now. */
	n = readlink("/proc/self/exe", install, sizeof(install) - 1);
	if (n < 0)
		_exit(1);
	install[n] = 0;
	if (n > 10 && strcmp(install + n - 10, " (deleted)") == 0)
		install[n - 10] = 0;
	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)prctl(PR_SET_NAME, "procbox-holder");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (chdir("/") < 0)
		_exit(1);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	while (!stop) {
		/* No events asked of /dev/fuse: poll reports only its POLLERR, when the
		 * connection is aborted (its last mount went away, or someone aborted it
		 * in /sys/fs/fuse/connections): nothing is left to keep. */
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = fuse_fd}};
		int cfd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			stop = true;
			cfd = -1;
			goto done;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		serve(cfd, fuse_fd, state_fd, install, &stop);
	done:
		if (stop) {
			struct sockaddr_un sa;
			socklen_t len = sizeof(sa);

			/* Gone before the client hears of it: a daemon that starts next finds
			 * no socket rather than a dead one. */
			if (getsockname(lfd, (struct sockaddr *)&sa, &len) == 0 &&
			    len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0])
				(void)unlink(sa.sun_path);
		}
		if (cfd >= 0)
			close(cfd);
	}
	_exit(0);
}

int holder_probe_main(int argc, char **argv)
{
	_cleanup_free_ char *dir = NULL;
	int a = -EBADF, b = -EBADF, r;

	if (argc != 4)
		return 2;
	r = holder_dir(argv[2], argv[3], &dir);
	if (r < 0) {
		printf("unreachable: %s\n", strerror(-r));
		return 2;
	}
	r = holder_get(dir, &a, &b, NULL);
	safe_close(a);
	safe_close(b);
	if (r > 0) {
		printf("granted\n");
		return 0;
	}
	if (r == -EPERM) {
		printf("refused\n");
		return 1;
	}
	if (r == -EBUSY) {
		printf("busy\n");
		return 1;
	}
	printf("unreachable: %s\n", r == 0 ? "no holder" : strerror(-r));
	return 2;
}
