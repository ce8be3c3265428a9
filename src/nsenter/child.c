/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nsenter/child.h"
#include "nsenter/transport.h"
#include "util/fdutil.h"
#include "util/macro.h"

enum { ROOT_PROC_SYS, ROOT_SYS, _ROOT_MAX };

static const char *const root_path[_ROOT_MAX] = {"/proc/sys", "/sys"};
static int root_fd[_ROOT_MAX] = {-EBADF, -EBADF};
/* Tests set PROCBOX_TEST_NO_OPENAT2 to check the fallback of systems without openat2. */
static bool walk_only;

int nsenter_child_open_roots(void)
{
	walk_only = getenv("PROCBOX_TEST_NO_OPENAT2") != NULL;
	for (int i = 0; i < _ROOT_MAX; i++) {
		root_fd[i] = safe_close(root_fd[i]);
		root_fd[i] = open(root_path[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root_fd[i] < 0)
			return negative_errno();
	}
	return 0;
}

/*
 * Splits an absolute request path into one of the roots and a relative rest. Components
 * "", "." and ".." are refused, so nothing a container writes into a path can climb out;
 * openat2() below refuses symlinks and mount crossings on top of that.
 */
static int resolve_root(const char *path, int *ret_dirfd, const char **ret_rel)
{
	for (int i = 0; i < _ROOT_MAX; i++) {
		size_t n = strlen(root_path[i]);
		const char *rel;

		if (strncmp(path, root_path[i], n) != 0 || (path[n] != 0 && path[n] != '/'))
			continue;
		rel = path[n] == '/' ? path + n + 1 : path + n;
		if (*rel == 0)
			rel = ".";
		else {
			for (const char *c = rel; *c;) {
				const char *e = strchrnul(c, '/');
				size_t l = (size_t)(e - c);

				if (l == 0 || (l == 1 && c[0] == '.') ||
				    (l == 2 && c[0] == '.' && c[1] == '.'))
					return -EINVAL;
				c = *e ? e + 1 : e;
			}
		}
		if (root_fd[i] < 0)
			return -ENOENT;
		*ret_dirfd = root_fd[i];
		*ret_rel = rel;
		return 0;
	}
	return -EACCES;
}

/*
 * What openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV) does, one component
 * at a time, for systems without it (before 5.6, valgrind): every step O_NOFOLLOW, every
 * step on the root's device; "." and ".." never reach here (resolve_root()).
 */
static int open_beneath_walk(int dirfd, const char *rel, int flags)
{
	_cleanup_close_ int cur = -EBADF;
	_cleanup_free_ char *copy = strdup(rel);
	struct stat root, st;
	char *comp, *next;
	int fd;

	if (!copy)
		return -ENOMEM;
	if (fstat(dirfd, &root) < 0)
		return negative_errno();
	cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return negative_errno();
	for (comp = copy; (next = strchr(comp, '/')); comp = next + 1) {
		*next = 0;
		fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int r = negative_errno();

			if (r == -ENOTDIR && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				return -ELOOP; /* as RESOLVE_NO_SYMLINKS says it */
			return r;
		}
		safe_close(cur);
		cur = fd;
		if (fstat(cur, &st) < 0)
			return negative_errno();
		if (st.st_dev != root.st_dev)
			return -EXDEV;
	}
	fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0 || (st.st_dev != root.st_dev && !S_ISLNK(st.st_mode))) {
		safe_close(fd);
		return -EXDEV;
	}
	return fd;
}

static int open_beneath(const char *path, int flags)
{
	/* openat2() refuses O_PATH combined with anything but O_DIRECTORY/O_NOFOLLOW. */
	struct open_how how = {
	    .flags = (uint64_t)flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY),
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	const char *rel;
	int dirfd, r, fd;

	r = resolve_root(path, &dirfd, &rel);
	if (r < 0)
		return r;
	if (walk_only)
		return open_beneath_walk(dirfd, rel, (int)how.flags);
	fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		return open_beneath_walk(dirfd, rel, (int)how.flags);
	return fd < 0 ? negative_errno() : fd;
}

static struct nsenter_message *error_from(int r, const char *what, const char *path)
{
	return nsenter_message_new_error(r, "%s '%s': %s", what, path, strerror(r < 0 ? -r : r));
}

static struct nsenter_message *do_lookup(const struct nsenter_message *req)
{
	_cleanup_close_ int fd = -EBADF;
	struct nsenter_message *m;
	struct stat st;

	fd = open_beneath(req->path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return error_from(fd, "lookup", req->path);
	if (fstat(fd, &st) < 0)
		return error_from(negative_errno(), "stat", req->path);
	m = nsenter_message_new(NSENTER_MSG_LOOKUP_RESP);
	if (!m)
		return NULL;
	m->st = (struct nsenter_stat){
	    .ino = st.st_ino,
	    .mode = st.st_mode,
	    .nlink = (uint32_t)st.st_nlink,
	    .uid = st.st_uid,
	    .gid = st.st_gid,
	    .size = st.st_size,
	    .mtime_sec = st.st_mtim.tv_sec,
	    .mtime_nsec = st.st_mtim.tv_nsec,
	};
	return m;
}

static struct nsenter_message *do_open(const struct nsenter_message *req, int *ret_fd)
{
	int accmode = req->flags & O_ACCMODE;
	int fd;

	if (accmode != O_RDONLY && accmode != O_WRONLY && accmode != O_RDWR)
		return error_from(-EINVAL, "open", req->path);
	/* Only the access mode and O_TRUNC/O_APPEND matter here; creation, O_PATH and the
	 * like are never a container's to ask for. */
	fd = open_beneath(req->path, accmode | (req->flags & (O_TRUNC | O_APPEND)) | O_NOFOLLOW);
	if (fd < 0)
		return error_from(fd, "open", req->path);
	/* The open above is the permission check. The daemon never holds a writable fd of a
	 * kernel file: a write through it would be checked against the daemon, the host's
	 * root (capable(CAP_NET_ADMIN) at write time), so what is passed back only reads. */
	if (req->pass_fd && accmode != O_RDONLY) {
		safe_close(fd);
		fd = accmode == O_RDWR ? open_beneath(req->path, O_RDONLY | O_NOFOLLOW) : -EBADF;
		if (fd < 0 && fd != -EBADF)
			return error_from(fd, "open", req->path);
	}
	if (req->pass_fd)
		*ret_fd = fd;
	else
		safe_close(fd);
	return nsenter_message_new(NSENTER_MSG_OPEN_RESP);
}

static struct nsenter_message *do_read(const struct nsenter_message *req)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct nsenter_message *m;
	size_t len = MIN(req->length, (uint64_t)NSENTER_MSG_MAX_DATA);
	ssize_t n;

	fd = open_beneath(req->path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return error_from(fd, "open", req->path);
	buf = malloc(len + 1);
	if (!buf)
		return NULL;
	n = pread(fd, buf, len, req->offset);
	if (n < 0)
		return error_from(negative_errno(), "read", req->path);
	m = nsenter_message_new(NSENTER_MSG_READ_RESP);
	if (!m || nsenter_message_set_data(m, buf, (size_t)n) < 0) {
		nsenter_message_free(m);
		return NULL;
	}
	return m;
}

static struct nsenter_message *do_write(const struct nsenter_message *req)
{
	_cleanup_close_ int fd = -EBADF;
	struct nsenter_message *m;
	ssize_t n;

	fd = open_beneath(req->path, O_WRONLY | O_NOFOLLOW);
	if (fd < 0)
		return error_from(fd, "open", req->path);
	n = pwrite(fd, req->data ? (const void *)req->data : "", req->data_len, req->offset);
	if (n < 0)
		return error_from(negative_errno(), "write", req->path);
	m = nsenter_message_new(NSENTER_MSG_WRITE_RESP);
	if (m)
		m->length = (uint64_t)n;
	return m;
}

static struct nsenter_message *do_readdir(const struct nsenter_message *req)
{
	_cleanup_message_ struct nsenter_message *m = NULL;
	DIR *d;
	int fd;

	fd = open_beneath(req->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		return error_from(fd, "open", req->path);
	d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		safe_close(fd);
		return error_from(r, "opendir", req->path);
	}
	m = nsenter_message_new(NSENTER_MSG_READDIR_RESP);
	if (!m) {
		closedir(d);
		return NULL;
	}
	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				int r = negative_errno();
				closedir(d);
				return error_from(r, "readdir", req->path);
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (m->n_entries >= NSENTER_MSG_MAX_ENTRIES) {
			closedir(d);
			return error_from(-E2BIG, "readdir", req->path);
		}
		if (nsenter_message_add_entry(m, de->d_name, de->d_ino, de->d_type) < 0) {
			closedir(d);
			return NULL;
		}
	}
	closedir(d);
	return TAKE_PTR(m);
}

static struct nsenter_message *do_readlink(const struct nsenter_message *req)
{
	_cleanup_close_ int fd = -EBADF;
	struct nsenter_message *m;
	char buf[4096];
	ssize_t n;

	fd = open_beneath(req->path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return error_from(fd, "lookup", req->path);
	n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0)
		return error_from(negative_errno(), "readlink", req->path);
	m = nsenter_message_new(NSENTER_MSG_READLINK_RESP);
	if (m && nsenter_message_set_data(m, buf, (size_t)n) < 0) {
		nsenter_message_free(m);
		return NULL;
	}
	return m;
}

static struct nsenter_message *do_sleep(const struct nsenter_message *req)
{
	struct timespec ts = {.tv_sec = (time_t)(req->length / 1000),
			      .tv_nsec = (long)(req->length % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return nsenter_message_new(NSENTER_MSG_SLEEP_RESP);
}

static struct nsenter_message *do_sethostname(const struct nsenter_message *req)
{
	const char *name = req->data ? (const char *)req->data : "";
	size_t len = req->data_len;
	int r;

	/* The sysctl file takes a trailing newline; the system call does not. */
	while (len > 0 && name[len - 1] == '\n')
		len--;
	r = req->flags == 1 ? setdomainname(name, len) : sethostname(name, len);
	if (r < 0)
		return error_from(negative_errno(),
				  req->flags == 1 ? "setdomainname" : "sethostname", "uts");
	return nsenter_message_new(NSENTER_MSG_SETHOSTNAME_RESP);
}

struct nsenter_message *nsenter_child_handle(const struct nsenter_message *req, int *ret_fd)
{
	*ret_fd = -EBADF;
	switch (req->type) {
	case NSENTER_MSG_LOOKUP_REQ:
		return do_lookup(req);
	case NSENTER_MSG_OPEN_REQ:
		return do_open(req, ret_fd);
	case NSENTER_MSG_READ_REQ:
		return do_read(req);
	case NSENTER_MSG_WRITE_REQ:
		return do_write(req);
	case NSENTER_MSG_READDIR_REQ:
		return do_readdir(req);
	case NSENTER_MSG_READLINK_REQ:
		return do_readlink(req);
	case NSENTER_MSG_SLEEP_REQ:
		return do_sleep(req);
	case NSENTER_MSG_SETHOSTNAME_REQ:
		return do_sethostname(req);
	default:
		return nsenter_message_new_error(EPROTO, "not a request: %s",
						 strna(nsenter_msg_type_to_string(req->type)));
	}
}

/* Reports a set-up failure as the answer to whatever the parent asks first. */
_Noreturn static void fail(int sock, int r, const char *what)
{
	_cleanup_message_ struct nsenter_message *m = NULL;

	m = nsenter_message_new_error(r, "nsenter child: %s: %s", what, strerror(-r));
	if (m)
		(void)transport_send(sock, m, -EBADF);
	_exit(EXIT_FAILURE);
}

static int setup_mounts(bool fresh_proc)
{
	/* Private propagation first, or the mounts below would show up in the namespace
	 * this one was copied from. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return negative_errno();
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return negative_errno();
	if (fresh_proc &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return negative_errno();
	return 0;
}

/*
 * What the child checks its parent by: the pid getppid() gives while the parent lives,
 * or, for a child inside a pid namespace its parent is not in (getppid() is 0 there
 * before and after the parent's death), a pipe whose other end only the parent holds.
 */
struct parent_check {
	pid_t ppid;
	int alive_fd; /* read end; -EBADF: check by ppid */
};

static bool parent_gone(const struct parent_check *pc)
{
	struct pollfd p = {.fd = pc->alive_fd, .events = POLLIN};

	if (pc->alive_fd >= 0)
		return poll(&p, 1, 0) != 0; /* the parent never writes: readable is POLLHUP */
	return getppid() != pc->ppid;
}

/*
 * After a credential change (setns() into a user namespace, taking on the caller's ids
 * and capabilities): the kernel's commit_creds() then resets the parent-death signal to
 * none and the dumpable flag to fs.suid_dumpable. A child without its death signal
 * outlives its request (a container that stops it piles them up); a dumpable one can be
 * traced by a container process of the same uid, and its /proc/<pid>/{root,cwd,fd}
 * (the host's root, the O_PATH fds of the host's /proc/sys and /sys) opened. The parent
 * is checked after the signal is armed: if it died in between, nothing would send it.
 */
static void rearm_after_cred_change(int sock, const struct parent_check *pc)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		fail(sock, negative_errno(), "PR_SET_PDEATHSIG");
	if (parent_gone(pc))
		_exit(EXIT_FAILURE);
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		fail(sock, negative_errno(), "PR_SET_DUMPABLE");
}

/* After joining a pid namespace only children are in it: fork, and let the parent wait
 * and pass on the exit status. The grandchild dies with the child. */
static void fork_into_pid_namespace(int sock, struct parent_check *pc)
{
	int alive[2];
	pid_t pid;
	int status;

	if (pipe2(alive, O_CLOEXEC) < 0)
		fail(sock, negative_errno(), "pipe");
	pid = fork();
	if (pid < 0)
		fail(sock, negative_errno(), "fork");
	if (pid == 0) {
		safe_close(alive[1]);
		*pc = (struct parent_check){.ppid = 0, .alive_fd = alive[0]};
		rearm_after_cred_change(sock, pc);
		return;
	}
	safe_close(alive[0]);
	/* The request's socket is the grandchild's alone: the daemon sees it close when the
	 * grandchild is gone, not when this process is. */
	safe_close(sock);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(EXIT_FAILURE);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAILURE);
}

_Noreturn void nsenter_child_exec(const struct nsenter_child_params *p, int exe_fd)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = (const unsigned char *)p;
	char arg[2 * sizeof(*p) + 1];
	char *argv[] = {(char *)"procbox", (char *)NSENTER_CHILD_ARG, arg, NULL};
	char exe[sizeof("/proc/self/fd/") + 11];

	/* The same binary reads it back: its bytes are the whole encoding. */
	for (size_t i = 0; i < sizeof(*p); i++) {
		arg[2 * i] = hex[b[i] >> 4];
		arg[2 * i + 1] = hex[b[i] & 15];
	}
	arg[2 * sizeof(*p)] = 0;
	if (fcntl(p->sock, F_SETFD, 0) < 0)
		fail(p->sock, negative_errno(), "fcntl");
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		if (p->ns_fds[t] >= 0 && fcntl(p->ns_fds[t], F_SETFD, 0) < 0)
			fail(p->sock, negative_errno(), "fcntl");
	/* The daemon's own image even if its file was replaced since. Through an fd left
	 * open across the exec, not /proc/self/exe: a loader that runs the daemon (valgrind)
	 * is what /proc/self/exe names, and it opens the path itself. The new image closes
	 * the fd (nsenter_child_exec_main()). */
	if (exe_fd < 0 || fcntl(exe_fd, F_SETFD, 0) < 0)
		fail(p->sock, exe_fd < 0 ? -EBADF : negative_errno(), "exec");
	snprintf(exe, sizeof(exe), "/proc/self/fd/%d", exe_fd);
	execv(exe, argv);
	fail(p->sock, negative_errno(), "exec");
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

_Noreturn void nsenter_child_exec_main(const char *params)
{
	struct nsenter_child_params p;
	unsigned char *b = (unsigned char *)&p;
	int keep[_NS_TYPE_MAX + 1];
	size_t n = 0;

	if (strlen(params) != 2 * sizeof(p))
		_exit(EXIT_FAILURE);
	for (size_t i = 0; i < sizeof(p); i++) {
		int hi = unhex(params[2 * i]), lo = unhex(params[2 * i + 1]);

		if (hi < 0 || lo < 0)
			_exit(EXIT_FAILURE);
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	/* What the exec let through again: nothing but these must follow the child into a
	 * container's namespaces, and the binary's fd is closed. */
	keep[n++] = p.sock;
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		keep[n++] = p.ns_fds[t];
	close_all_fds_but(keep, n);
	if (fcntl(p.sock, F_SETFD, FD_CLOEXEC) < 0)
		_exit(EXIT_FAILURE);
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		if (p.ns_fds[t] >= 0 && fcntl(p.ns_fds[t], F_SETFD, FD_CLOEXEC) < 0)
			_exit(EXIT_FAILURE);
	nsenter_child_main(&p);
}

_Noreturn void nsenter_child_main(const struct nsenter_child_params *p)
{
	/* Forked by the daemon with its death signal armed, through exec (which keeps it):
	 * the parent now is the daemon, or the daemon is gone and the signal was sent. */
	struct parent_check pc = {.ppid = getppid(), .alive_fd = -EBADF};
	bool stop_before_read;
	int sock = p->sock;
	int r;

	/* Not dumpable: a container's root can then neither ptrace this process nor open
	 * its /proc/<pid>/{mem,exe,fd}, whatever namespaces it joins. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		fail(sock, negative_errno(), "PR_SET_DUMPABLE");
	/* The daemon's supplementary groups must not follow into a user namespace whose
	 * setgroups is "deny": creds_apply() could not replace them there. */
	if (setgroups(0, NULL) < 0)
		fail(sock, negative_errno(), "setgroups");

	r = ns_join(p->ns_fds);
	if (r < 0)
		fail(sock, r, "setns");
	rearm_after_cred_change(sock, &pc);
	if (p->ns_fds[NS_PID] >= 0)
		fork_into_pid_namespace(sock, &pc);
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		safe_close(p->ns_fds[t]);

	if (p->clone_flags & CLONE_NEWNS) {
		if (unshare(CLONE_NEWNS) < 0)
			fail(sock, negative_errno(), "unshare(CLONE_NEWNS)");
		r = setup_mounts(p->ns_fds[NS_PID] >= 0);
		if (r < 0)
			fail(sock, r, "mount");
	}
	r = nsenter_child_open_roots();
	if (r < 0)
		fail(sock, r, "open /proc/sys");
	if (p->has_creds) {
		r = creds_apply(&p->creds);
		if (r < 0)
			fail(sock, r, "set credentials");
		rearm_after_cred_change(sock, &pc);
	}
	safe_close(pc.alive_fd);
	pc.alive_fd = -EBADF;
	/* Tests set PROCBOX_TEST_STOP_CHILDREN to play a container that stops the one-shot
	 * children in its pid namespace (they run with its credentials) before they answer
	 * a read. */
	stop_before_read = !p->agent && getenv("PROCBOX_TEST_STOP_CHILDREN") != NULL;

	do {
		_cleanup_message_ struct nsenter_message *req = NULL, *resp = NULL;
		_cleanup_close_ int fd = -EBADF;

		r = transport_recv(sock, -1, &req, NULL);
		if (r == -ECONNRESET)
			_exit(EXIT_SUCCESS);
		if (r < 0) {
			resp = nsenter_message_new_error(r, "bad request");
		} else {
			if (stop_before_read && req->type == NSENTER_MSG_READ_REQ)
				raise(SIGSTOP);
			resp = nsenter_child_handle(req, &fd);
		}
		if (!resp)
			resp = nsenter_message_new_error(ENOMEM, "out of memory");
		if (!resp || transport_send(sock, resp, fd) < 0)
			_exit(EXIT_FAILURE);
	} while (p->agent);
	_exit(EXIT_SUCCESS);
}
