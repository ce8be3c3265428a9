/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach/nsmount.h"
#include "nsenter/namespaces.h"
#include "util/array.h"
#include "util/fdutil.h"
#include "util/macro.h"
#include "util/mountinfo.h"

/* Linux 6.5; the build's headers may be older than the kernel. */
#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif

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
	struct nsmount_devs devs;
	/* The target's mount namespace belongs to another user namespace than ours: only
	 * there can mounts be locked (mount_namespaces(7)). */
	bool may_lock;
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
	    [NSMOUNT_FUSE_IN_THE_WAY] = "below a FUSE mount of the container, skipped",
	    [NSMOUNT_FAILED] = "failed",
	};

	return (size_t)o < ELEMENTSOF(names) ? names[o] : NULL;
}

int nsmount_clone_tree(const char *mountpoint, const char *path, mode_t *ret_type)
{
	_cleanup_close_ int fd = -EBADF;
	char full[PATH_MAX];
	struct stat st;
	int n;

	path += strspn(path, "/");
	n = *path ? snprintf(full, sizeof(full), "%s/%s", mountpoint, path)
		  : snprintf(full, sizeof(full), "%s", mountpoint);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -ENAMETOOLONG;
	fd = open_tree(AT_FDCWD, full, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	*ret_type = st.st_mode & S_IFMT;
	return TAKE_FD(fd);
}

static bool is_fuse(const struct mountinfo_entry *e)
{
	return strcmp(e->fstype, "fuse") == 0 || strcmp(e->fstype, "fuseblk") == 0 ||
	       strncmp(e->fstype, "fuse.", 5) == 0 || strncmp(e->fstype, "fuseblk.", 8) == 0;
}

static dev_t entry_dev(const struct mountinfo_entry *e)
{
	return makedev(e->major, e->minor);
}

static bool is_live(const struct child_ctx *c, const struct mountinfo_entry *e)
{
	return e && c->devs.live != 0 && entry_dev(e) == c->devs.live;
}

static bool is_dead(const struct child_ctx *c, const struct mountinfo_entry *e)
{
	for (size_t i = 0; e && i < c->devs.n_dead; i++)
		if (entry_dev(e) == c->devs.dead[i])
			return true;
	return false;
}

/* The mount fd lies on, from the target's mountinfo (read again once if it is newer than
 * the copy in *mi). DONT_SYNC: a FUSE file system is asked nothing. */
static int mount_of(const struct child_ctx *c, int fd, struct mountinfo **mi, struct statx *sx,
		    const struct mountinfo_entry **ret)
{
	int r;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_MNT_ID, sx) < 0)
		return negative_errno();
	*ret = mountinfo_find_id(*mi, (int)sx->stx_mnt_id);
	if (*ret)
		return 0;
	mountinfo_free(*mi);
	*mi = NULL;
	r = mountinfo_read_fd(c->mountinfo_fd, mi);
	if (r < 0)
		return r;
	*ret = mountinfo_find_id(*mi, (int)sx->stx_mnt_id);
	return *ret ? 0 : -ESTALE;
}

/*
 * Opens path below dir one component at a time. Before each lookup the folder's mount is
 * checked: a lookup inside a FUSE mount is a request to its server, and a server the
 * container runs may never answer (-EXDEV then). Symlinks are refused (-ELOOP), ".." and
 * absolute names cannot leave dir (RESOLVE_BENEATH).
 */
static int walk(const struct child_ctx *c, int dir, const char *path, struct mountinfo **mi)
{
	_cleanup_close_ int cur = fcntl(dir, F_DUPFD_CLOEXEC, 3);
	const char *p = path;

	if (cur < 0)
		return negative_errno();
	for (;;) {
		struct open_how how = {
		    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		const struct mountinfo_entry *e;
		char name[NAME_MAX + 1];
		struct statx sx;
		size_t len;
		int fd, r;

		while (*p == '/')
			p++;
		if (!*p)
			return TAKE_FD(cur);
		len = strcspn(p, "/");
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, p, len);
		name[len] = 0;
		p += len;

		r = mount_of(c, cur, mi, &sx, &e);
		if (r < 0)
			return r;
		if (S_ISLNK(sx.stx_mode))
			return -ELOOP;
		if (is_fuse(e))
			return -EXDEV;
		fd = (int)syscall(SYS_openat2, cur, name, &how, sizeof(how));
		if (fd < 0)
			return negative_errno();
		safe_close(cur);
		cur = fd;
	}
}

/* What is at the target now: the mount it lies on (the top one), and whether the target
 * is that mount's root. DONT_SYNC: a dead FUSE mount would answer a getattr with
 * ENOTCONN, and a FUSE mount the container made might never answer. */
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

	*t = (struct target){.fd = -EBADF};
	/* Always a fresh copy: the previous step may have changed the mounts. */
	mountinfo_free(*mi);
	*mi = NULL;
	r = mountinfo_read_fd(c->mountinfo_fd, mi);
	if (r < 0)
		return r;
	t->fd = walk(c, c->base_fd, path, mi);
	if (t->fd < 0)
		return t->fd;
	r = mount_of(c, t->fd, mi, &t->sx, &t->mnt);
	if (r < 0)
		return r;
	/* O_NOFOLLOW opened the link itself: refuse it like the ones on the way. */
	if (S_ISLNK(t->sx.stx_mode))
		return -ELOOP;
	t->mount_root = (t->sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			(t->sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
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

/* A read-only bind of what fd shows (that mount only, nothing mounted below it). */
static int readonly_clone(int fd)
{
	_cleanup_close_ int tree = -EBADF;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

	tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return negative_errno();
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return negative_errno();
	return TAKE_FD(tree);
}

/* The mount right below the top one at the same place, if any. */
static const struct mountinfo_entry *below(const struct mountinfo *mi,
					   const struct mountinfo_entry *top)
{
	const struct mountinfo_entry *p = mountinfo_find_id(mi, top->parent_id);

	return p && strcmp(p->mountpoint, top->mountpoint) == 0 ? p : NULL;
}

/*
 * A read-only bind of the container's own folder at path, the one its parent folder's
 * mount has there, whatever is mounted on it. A clone of that one mount alone (not
 * recursive) has nothing mounted on it, so the lookup in it reaches the real folder.
 */
static int readonly_clone_of_real(const struct child_ctx *c, const char *path,
				  struct mountinfo **mi)
{
	_cleanup_close_ int parent = -EBADF, alone = -EBADF, real = -EBADF;
	_cleanup_free_ char *dir = strdup(path);
	const struct mountinfo_entry *e;
	struct statx sx;
	char *slash;
	int r;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	parent = walk(c, c->base_fd, dir, mi);
	if (parent < 0)
		return parent;
	r = mount_of(c, parent, mi, &sx, &e);
	if (r < 0)
		return r;
	if (is_fuse(e))
		return -EXDEV;
	alone = open_tree(parent, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (alone < 0)
		return negative_errno();
	real = openat(alone, slash + 1, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (real < 0)
		return negative_errno();
	return readonly_clone(real);
}

/*
 * Puts tree in place of the dead procbox mount on top at t, without a moment where the
 * path shows what is below it: the tree goes beneath the dead mount, then the dead one is
 * unmounted. Where that cannot be done (a mount a user namespace inherited is locked to
 * what it covers, mount_namespaces(7)), a second copy covers the dead mount instead.
 */
/* Unused spare copies, closed only when the child exits, after it reported everything:
 * dropping a detached mount waits for an RCU grace period, which the container, waiting
 * for its next path, need not wait for. */
static int unused_spares[64];
static size_t n_unused_spares;

static void keep_unused(int *fd)
{
	if (*fd >= 0 && n_unused_spares < ELEMENTSOF(unused_spares))
		unused_spares[n_unused_spares++] = TAKE_FD(*fd);
}

static int replace_dead(const struct child_ctx *c, struct nsmount_op *op, const struct target *t)
{
	_cleanup_close_ int spare = -EBADF;
	int r;

	/* Made before the tree is moved (then it could no longer be copied alone), and only
	 * where it may be needed: dropping an unused copy costs an RCU grace period. */
	if (c->may_lock)
		spare =
		    open_tree(op->tree_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (move_mount(op->tree_fd, "", t->fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH | MOVE_MOUNT_BENEATH) ==
	    0) {
		r = umount_fd(c, t->fd);
		if (r == 0) {
			op->removed++;
			keep_unused(&spare);
			return 0;
		}
		if (spare < 0)
			return r;
		/* The dead mount stays on top: cover it with the copy. */
		if (move_mount(spare, "", t->fd, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return negative_errno();
		return 0;
	}
	if (move_mount(spare >= 0 ? spare : op->tree_fd, "", t->fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return negative_errno();
	return 0;
}

static void run_attach(const struct child_ctx *c, struct nsmount_op *op, struct mountinfo **mi)
{
	bool made_readonly = false;

	for (;;) {
		_cleanup_close_ int fd = -EBADF;
		struct target t;
		int r;

		r = inspect(c, op->path, mi, &t);
		fd = t.fd;
		if (r < 0) {
			op->outcome = r == -ENOENT  ? NSMOUNT_MISSING
				      : r == -EXDEV ? NSMOUNT_FUSE_IN_THE_WAY
						    : NSMOUNT_FAILED;
			op->error = r;
			return;
		}
		if (is_masked(&t)) {
			op->outcome = NSMOUNT_MASKED;
			return;
		}
		if (t.mount_root && is_live(c, t.mnt)) {
			op->outcome = NSMOUNT_ALREADY;
			return;
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
		if (t.mount_root && is_dead(c, t.mnt)) {
			r = replace_dead(c, op, &t);
			op->outcome = r < 0 ? NSMOUNT_FAILED : NSMOUNT_REPLACED;
			op->error = r < 0 ? r : 0;
			return;
		}
		/* The container's own folder, writable: first a read-only copy over it, so that
		 * it is never what shows when procbox's mount is gone. */
		if (op->keep_readonly && !made_readonly && !(t.mount_root && t.mnt->readonly)) {
			_cleanup_close_ int ro = readonly_clone(fd);

			if (ro < 0 ||
			    move_mount(ro, "", fd, "",
				       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
				op->outcome = NSMOUNT_FAILED;
				op->error = ro < 0 ? ro : negative_errno();
				return;
			}
			made_readonly = true;
			continue;
		}
		if (move_mount(op->tree_fd, "", fd, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			op->outcome = NSMOUNT_FAILED;
			op->error = negative_errno();
			return;
		}
		op->outcome = NSMOUNT_ATTACHED;
		return;
	}
}

static void run_detach(const struct child_ctx *c, struct nsmount_op *op, struct mountinfo **mi)
{
	for (;;) {
		_cleanup_close_ int fd = -EBADF;
		const struct mountinfo_entry *under;
		struct target t;
		int r;

		r = inspect(c, op->path, mi, &t);
		fd = t.fd;
		if (r < 0) {
			op->outcome = r == -ENOENT  ? NSMOUNT_MISSING
				      : r == -EXDEV ? NSMOUNT_FUSE_IN_THE_WAY
						    : NSMOUNT_FAILED;
			op->error = r;
			return;
		}
		if (!t.mount_root || !(is_live(c, t.mnt) || is_dead(c, t.mnt)))
			break;
		under = below(*mi, t.mnt);
		/* What the unmount would show must not be the writable real folder: put a
		 * read-only one beneath procbox's mount first (never after). */
		if (op->keep_readonly &&
		    !(under && (under->readonly || is_live(c, under) || is_dead(c, under)))) {
			_cleanup_close_ int ro = readonly_clone_of_real(c, op->path, mi);

			if (ro < 0 || move_mount(ro, "", fd, "",
						 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH |
						     MOVE_MOUNT_BENEATH) < 0) {
				op->outcome = NSMOUNT_FAILED;
				op->error = ro < 0 ? ro : negative_errno();
				return;
			}
		}
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

static bool owned_by_other_userns(int mnt_fd)
{
	_cleanup_close_ int owner = -EBADF;
	struct stat a, b;

	if (mnt_fd < 0)
		return false;
	owner = ioctl(mnt_fd, NS_GET_USERNS);
	/* Unknown: assume the worst, a copy to spare. */
	if (owner < 0 || fstat(owner, &a) < 0 || stat("/proc/self/ns/user", &b) < 0)
		return true;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

struct nsmount_job {
	pid_t child;
	int pidfd;
	int rfd;
	struct nsmount_op *ops;
	size_t n;
	int64_t deadline;
};

/* Children killed that did not die: one stuck in a FUSE request its server will never
 * answer sleeps until the connection is aborted. They are reaped when they finally go. */
static pid_t *abandoned;
static size_t n_abandoned, cap_abandoned;

size_t nsmount_reap_abandoned(void)
{
	size_t k = 0;

	for (size_t i = 0; i < n_abandoned; i++)
		if (waitpid(abandoned[i], NULL, WNOHANG) == 0)
			abandoned[k++] = abandoned[i];
	n_abandoned = k;
	return k;
}

static void abandon(pid_t child)
{
	if (ARRAY_GROW(abandoned, cap_abandoned, n_abandoned, 8) < 0)
		return; /* left to the subreaper or init, like at exit */
	abandoned[n_abandoned++] = child;
}

/* Kills the child and reaps it if it dies within a moment; never waits for more. */
static void stop_child(pid_t child, int pidfd, bool kill_it)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	if (kill_it)
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	for (int64_t end = now_ms() + 500;;) {
		int64_t left = end - now_ms();

		if (waitpid(child, NULL, WNOHANG) == child)
			return;
		if (left <= 0 || (poll(&p, 1, (int)left) < 0 && errno != EINTR))
			break;
	}
	abandon(child);
}

static void nsmount_job_free(struct nsmount_job *job)
{
	if (!job)
		return;
	safe_close(job->pidfd);
	safe_close(job->rfd);
	free(job);
}

int nsmount_start(pid_t pid, const char *base, const struct nsmount_devs *devs,
		  struct nsmount_op *ops, size_t n, int timeout_ms, struct nsmount_job **ret)
{
	_cleanup_close_ int pidfd = -EBADF, root_fd = -EBADF, base_fd = -EBADF, mi_fd = -EBADF,
			    proc_fd = -EBADF, rfd = -EBADF, wfd = -EBADF, child_fd = -EBADF;
	int ns_fds[_NS_TYPE_MAX], pipefd[2], r;
	struct nsmount_job *job;
	struct child_ctx ctx;
	pid_t child;

	(void)nsmount_reap_abandoned();
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

	job = calloc(1, sizeof(*job));
	if (!job || pipe2(pipefd, O_CLOEXEC) < 0) {
		r = job ? negative_errno() : -ENOMEM;
		free(job);
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
	    .devs = devs ? *devs : (struct nsmount_devs){0},
	    .may_lock = owned_by_other_userns(ns_fds[NS_MNT]),
	};
	child = fork();
	if (child < 0) {
		r = negative_errno();
		free(job);
		ns_close_all(ns_fds);
		return r;
	}
	if (child == 0)
		child_main(&ctx, ops, n);
	ns_close_all(ns_fds);
	child_fd = ns_pidfd_open(child);
	if (child_fd < 0) {
		/* Without a pidfd the child cannot be watched: do not let it run on. */
		kill(child, SIGKILL);
		abandon(child);
		free(job);
		return child_fd;
	}
	*job = (struct nsmount_job){
	    .child = child,
	    .pidfd = TAKE_FD(child_fd),
	    .rfd = TAKE_FD(rfd),
	    .ops = ops,
	    .n = n,
	    .deadline = now_ms() + timeout_ms,
	};
	*ret = job;
	return 0;
}

int nsmount_finish(struct nsmount_job *job)
{
	struct result res;
	int r;

	r = read_result(job->rfd, job->deadline, &res);
	if (r == 1 && res.error < 0)
		r = res.error;
	else if (r == 0)
		r = -ECHILD;
	for (size_t i = 0; r == 1 && i < job->n; i++) {
		r = read_result(job->rfd, job->deadline, &res);
		if (r == 0)
			r = -ECHILD;
		if (r != 1)
			break;
		job->ops[i].outcome = (enum nsmount_outcome)res.outcome;
		job->ops[i].error = res.error;
		job->ops[i].removed = res.removed;
	}
	stop_child(job->child, job->pidfd, r < 0);
	nsmount_job_free(job);
	return r < 0 ? r : 0;
}

int nsmount_run(pid_t pid, const char *base, const struct nsmount_devs *devs,
		struct nsmount_op *ops, size_t n, int timeout_ms)
{
	struct nsmount_job *job = NULL;
	int r;

	r = nsmount_start(pid, base, devs, ops, n, timeout_ms, &job);
	if (r < 0)
		return r;
	return nsmount_finish(job);
}
