/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach/mountinfo.h"
#include "attach/nsmount.h"
#include "nsenter/namespaces.h"
#include "util/fdutil.h"
#include "util/macro.h"

/* What the child reports per operation, after one record for its own set-up. */
struct result {
	int32_t outcome;
	int32_t error;
	uint32_t removed;
};

struct child_ctx {
	pid_t parent;
	int mnt_fd;	  /* -EBADF: the target shares our namespace */
	int base_fd;	  /* where op paths start, in the target's namespace */
	int mountinfo_fd; /* the target's /proc/<pid>/mountinfo, opened from the host */
	int proc_fd;	  /* the host's /proc: umount by /proc/self/fd/N */
	int result_fd;
};

const char *nsmount_outcome_to_string(enum nsmount_outcome o)
{
	static const char *const names[] = {
	    [NSMOUNT_PENDING] = "not run",
	    [NSMOUNT_ATTACHED] = "attached",
	    [NSMOUNT_REPLACED] = "replaced a dead procbox mount",
	    [NSMOUNT_ALREADY] = "already attached",
	    [NSMOUNT_MISSING] = "not in the container, skipped",
	    [NSMOUNT_MASKED] = "masked by the runtime, skipped",
	    [NSMOUNT_TYPE_DIFFERS] = "a different file type in the container, skipped",
	    [NSMOUNT_SHARED] = "on a shared mount (would propagate to other namespaces), skipped",
	    [NSMOUNT_DETACHED] = "detached",
	    [NSMOUNT_NOT_ATTACHED] = "not attached",
	    [NSMOUNT_FAILED] = "failed",
	};

	return (size_t)o < ELEMENTSOF(names) ? names[o] : NULL;
}

static int resolve(int base_fd, const char *path)
{
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, base_fd, path, &how, sizeof(how));

	return fd < 0 ? negative_errno() : fd;
}

/* What is at the target now: the mount it lies on (the top one), and whether the target
 * is that mount's root. DONT_SYNC: a dead FUSE mount would answer a getattr with
 * ENOTCONN, and this must work on dead mounts too. */
struct target {
	int fd;
	struct statx sx;
	bool mount_root;
	const struct mountinfo_entry *mnt;
};

static int inspect(const struct child_ctx *c, const char *path, struct mountinfo **mi,
		   struct target *t)
{
	int r;

	t->fd = resolve(c->base_fd, path);
	if (t->fd < 0)
		return t->fd;
	if (statx(t->fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_MNT_ID, &t->sx) < 0)
		return negative_errno();
	/* O_NOFOLLOW opened the link itself: refuse it like the ones on the way. */
	if (S_ISLNK(t->sx.stx_mode))
		return -ELOOP;
	t->mount_root = (t->sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			(t->sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	mountinfo_free(*mi);
	*mi = NULL;
	r = mountinfo_read_fd(c->mountinfo_fd, mi);
	if (r < 0)
		return r;
	t->mnt = mountinfo_find_id(*mi, (int)t->sx.stx_mnt_id);
	return 0;
}

static bool is_dead(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) < 0 && errno == ENOTCONN;
}

/* umount2() takes no fd: the magic link of the host's /proc/self/fd/N names exactly the
 * mount resolved before, where a path could be swapped by the container in between. */
static int umount_fd(const struct child_ctx *c, int fd)
{
	char p[32];

	snprintf(p, sizeof(p), "self/fd/%d", fd);
	if (fchdir(c->proc_fd) < 0)
		return negative_errno();
	if (umount2(p, MNT_DETACH) < 0)
		return negative_errno();
	return 0;
}

static bool is_masked(const struct target *t)
{
	/* What runc's maskPath() leaves: /dev/null bound over a file, a read-only tmpfs over
	 * a folder. Both are the runtime's decision; covering them would undo it. */
	if (S_ISCHR(t->sx.stx_mode) && t->sx.stx_rdev_major == 1 && t->sx.stx_rdev_minor == 3)
		return true;
	return t->mount_root && t->mnt && t->mnt->readonly && strcmp(t->mnt->fstype, "tmpfs") == 0;
}

static void run_attach(const struct child_ctx *c, struct nsmount_op *op, struct mountinfo **mi)
{
	bool stack = false;

	for (;;) {
		_cleanup_close_ int fd = -EBADF;
		struct target t;
		int r;

		r = inspect(c, op->path, mi, &t);
		fd = t.fd;
		if (r < 0) {
			op->outcome = r == -ENOENT ? NSMOUNT_MISSING : NSMOUNT_FAILED;
			op->error = r;
			return;
		}
		if (is_masked(&t)) {
			op->outcome = NSMOUNT_MASKED;
			return;
		}
		if (t.mount_root && mountinfo_entry_is_procbox(t.mnt) && !stack) {
			if (!is_dead(fd)) {
				op->outcome = NSMOUNT_ALREADY;
				return;
			}
			r = umount_fd(c, fd);
			/* A mount a user namespace inherited is locked to what it covers
			 * (mount_namespaces(7)) and refuses umount: cover it instead. */
			if (r == -EINVAL) {
				stack = true;
				continue;
			}
			if (r < 0) {
				op->outcome = NSMOUNT_FAILED;
				op->error = r;
				return;
			}
			op->removed++;
			continue;
		}
		if ((t.sx.stx_mode & S_IFMT) != (op->tree_type & S_IFMT)) {
			op->outcome = NSMOUNT_TYPE_DIFFERS;
			return;
		}
		if (!t.mnt) {
			op->outcome = NSMOUNT_FAILED;
			op->error = -ESTALE;
			return;
		}
		if (t.mnt->shared) {
			op->outcome = NSMOUNT_SHARED;
			return;
		}
		if (move_mount(op->tree_fd, "", fd, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			op->outcome = NSMOUNT_FAILED;
			op->error = negative_errno();
			return;
		}
		op->outcome = op->removed || stack ? NSMOUNT_REPLACED : NSMOUNT_ATTACHED;
		return;
	}
}

static void run_detach(const struct child_ctx *c, struct nsmount_op *op, struct mountinfo **mi)
{
	for (;;) {
		_cleanup_close_ int fd = -EBADF;
		struct target t;
		int r;

		r = inspect(c, op->path, mi, &t);
		fd = t.fd;
		if (r < 0) {
			op->outcome = r == -ENOENT ? NSMOUNT_MISSING : NSMOUNT_FAILED;
			op->error = r;
			return;
		}
		if (!t.mount_root || !mountinfo_entry_is_procbox(t.mnt))
			break;
		r = umount_fd(c, fd);
		if (r < 0) {
			op->outcome = NSMOUNT_FAILED;
			op->error = r;
			return;
		}
		op->removed++;
	}
	op->outcome = op->removed ? NSMOUNT_DETACHED : NSMOUNT_NOT_ATTACHED;
}

static void send_result(int fd, const struct result *res)
{
	/* A short write means the parent is gone or gave up; nothing left to tell. */
	if (write(fd, res, sizeof(*res)) != (ssize_t)sizeof(*res))
		_exit(EXIT_FAILURE);
}

_Noreturn static void child_main(const struct child_ctx *c, struct nsmount_op *ops, size_t n)
{
	_cleanup_free_ int *keep = NULL;
	struct mountinfo *mi = NULL;
	struct result res = {0};
	size_t k = 0;
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->parent)
		_exit(EXIT_FAILURE);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);

	keep = calloc(n + 5, sizeof(int));
	if (!keep)
		_exit(EXIT_FAILURE);
	keep[k++] = c->mnt_fd;
	keep[k++] = c->base_fd;
	keep[k++] = c->mountinfo_fd;
	keep[k++] = c->proc_fd;
	keep[k++] = c->result_fd;
	for (size_t i = 0; i < n; i++)
		keep[k++] = ops[i].tree_fd;
	close_all_fds_but(keep, k);

	/* Not dumpable: the container's root can neither ptrace this process nor reach the
	 * host's /proc through its fds. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		res.error = negative_errno();
	else if (c->mnt_fd >= 0 && setns(c->mnt_fd, CLONE_NEWNS) < 0)
		res.error = negative_errno();
	send_result(c->result_fd, &res);
	if (res.error < 0)
		_exit(EXIT_FAILURE);

	for (size_t i = 0; i < n; i++) {
		struct nsmount_op *op = &ops[i];

		if (op->action == NSMOUNT_ATTACH)
			run_attach(c, op, &mi);
		else
			run_detach(c, op, &mi);
		res = (struct result){
		    .outcome = (int32_t)op->outcome,
		    .error = op->error,
		    .removed = op->removed,
		};
		send_result(c->result_fd, &res);
	}
	_exit(EXIT_SUCCESS);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly one record, waiting until deadline. 0 at EOF, 1 for a record. */
static int read_result(int fd, int64_t deadline, struct result *ret)
{
	size_t got = 0;

	while (got < sizeof(*ret)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t k;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)MIN(left, (int64_t)INT32_MAX));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return negative_errno();
		if (r == 0)
			return -ETIMEDOUT;
		k = read(fd, (char *)ret + got, sizeof(*ret) - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			return got == 0 ? 0 : -EPROTO;
		got += (size_t)k;
	}
	return 1;
}

static int open_in_proc(pid_t pid, const char *what, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

static int open_base(int root_fd, const char *base)
{
	/* The base is the runtime's (a bundle's rootfs), not the container's: symlinks on the
	 * way are allowed, but only inside the process's root. */
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*base == '/')
		base++;
	if (!*base)
		base = ".";
	fd = (int)syscall(SYS_openat2, root_fd, base, &how, sizeof(how));
	return fd < 0 ? negative_errno() : fd;
}

int nsmount_run(pid_t pid, const char *base, struct nsmount_op *ops, size_t n, int timeout_ms)
{
	_cleanup_close_ int pidfd = -EBADF, root_fd = -EBADF, base_fd = -EBADF, mi_fd = -EBADF,
			    proc_fd = -EBADF, rfd = -EBADF, wfd = -EBADF;
	int ns_fds[_NS_TYPE_MAX], pipefd[2], status, r;
	struct child_ctx ctx;
	struct result res;
	int64_t deadline = now_ms() + timeout_ms;
	pid_t child;

	for (size_t i = 0; i < n; i++) {
		ops[i].outcome = NSMOUNT_PENDING;
		ops[i].error = 0;
		ops[i].removed = 0;
	}

	pidfd = ns_pidfd_open(pid);
	if (pidfd < 0)
		return pidfd == -ENOENT ? -ESRCH : pidfd;
	root_fd = open_in_proc(pid, "root", O_PATH | O_DIRECTORY);
	if (root_fd < 0)
		return root_fd == -ENOENT ? -ESRCH : root_fd;
	if (base) {
		base_fd = open_base(root_fd, base);
		if (base_fd < 0)
			return base_fd;
	} else {
		base_fd = TAKE_FD(root_fd);
	}
	mi_fd = open_in_proc(pid, "mountinfo", O_RDONLY);
	if (mi_fd < 0)
		return mi_fd == -ENOENT ? -ESRCH : mi_fd;
	proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc_fd < 0)
		return negative_errno();
	/* Checks through the pidfd that every fd above is pid's, not a recycled pid's. */
	r = ns_open(pidfd, pid, NS_FLAG(NS_MNT), ns_fds);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r = negative_errno();
		ns_close_all(ns_fds);
		return r;
	}
	rfd = pipefd[0];
	wfd = pipefd[1];
	ctx = (struct child_ctx){
	    .parent = getpid(),
	    .mnt_fd = ns_fds[NS_MNT],
	    .base_fd = base_fd,
	    .mountinfo_fd = mi_fd,
	    .proc_fd = proc_fd,
	    .result_fd = wfd,
	};
	child = fork();
	if (child < 0) {
		r = negative_errno();
		ns_close_all(ns_fds);
		return r;
	}
	if (child == 0)
		child_main(&ctx, ops, n);
	ns_close_all(ns_fds);
	wfd = safe_close(wfd);

	r = read_result(rfd, deadline, &res);
	if (r == 1 && res.error < 0)
		r = res.error;
	else if (r == 0)
		r = -ECHILD;
	for (size_t i = 0; r == 1 && i < n; i++) {
		r = read_result(rfd, deadline, &res);
		if (r == 0)
			r = -ECHILD;
		if (r != 1)
			break;
		ops[i].outcome = (enum nsmount_outcome)res.outcome;
		ops[i].error = res.error;
		ops[i].removed = res.removed;
	}
	if (r < 0)
		kill(child, SIGKILL);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : 0;
}
