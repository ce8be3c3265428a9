/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "holder/fdstore.h"
#include "holder/handover.h"
#include "holder/holder.h"
#include "util/log.h"
#include "util/macro.h"

#define FDNAME_FUSE "procbox-fuse"
#define FDNAME_STATE "procbox-state"

static int take_exec_fds(int *ret_fuse, int *ret_state)
{
	const char *e = getenv(HANDOVER_ENV);
	int a, b;

	if (!e)
		return 0;
	if (sscanf(e, "%d,%d", &a, &b) != 2 || a < 3 || b < 3 || a == b)
		return -EBADF;
	(void)unsetenv(HANDOVER_ENV);
	if (fcntl(a, F_SETFD, FD_CLOEXEC) < 0 || fcntl(b, F_SETFD, FD_CLOEXEC) < 0)
		return -EBADF;
	*ret_fuse = a;
	*ret_state = b;
	return 1;
}

/* A connection is only taken over while it still serves the mount at mountpoint: the
 * device is read without asking the FUSE daemon (there is none yet to answer). */
static int mount_dev(const char *mountpoint, dev_t *ret)
{
	struct statx stx;

	if (statx(AT_FDCWD, mountpoint, AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
		return negative_errno();
	*ret = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	return 0;
}

static bool connection_alive(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) >= 0 && !(p.revents & (POLLERR | POLLNVAL));
}

int handover_acquire(struct handover *h, const char *state_dir, const char *mountpoint)
{
	int fuse_fd = -EBADF, state_fd = -EBADF, r;
	char init[STATE_INIT_MAX];
	size_t len;
	dev_t dev;

	*h = (struct handover){.fuse_fd = -EBADF};
	r = holder_dir(state_dir, mountpoint, &h->dir);
	if (r < 0)
		return r;

	r = take_exec_fds(&fuse_fd, &state_fd);
	if (r > 0)
		h->from = HANDOVER_EXEC;
	if (r == 0 && fdstore_available()) {
		fuse_fd = fdstore_take(FDNAME_FUSE);
		state_fd = fdstore_take(FDNAME_STATE);
		if (fuse_fd >= 0 && state_fd >= 0)
			h->from = HANDOVER_FDSTORE;
	}
	if (h->from == HANDOVER_NONE) {
		fuse_fd = safe_close(fuse_fd);
		state_fd = safe_close(state_fd);
		r = holder_get(h->dir, &fuse_fd, &state_fd, &h->holder_pid);
		if (r == -EBUSY)
			return r;
		if (r < 0)
			log_warn(r, "The holder of %s refused the connection: %m", mountpoint);
		if (r > 0)
			h->from = HANDOVER_HOLDER;
	}
	if (h->from == HANDOVER_NONE)
		return 0;

	r = state_open(state_fd, &h->state);
	if (r < 0) {
		safe_close(state_fd);
		goto discard;
	}
	if (state_get_init(h->state, init, sizeof(init), &len) < 0 ||
	    mount_dev(mountpoint, &dev) < 0 || dev != state_mount_dev(h->state) ||
	    !connection_alive(fuse_fd))
		goto discard;
	h->fuse_fd = fuse_fd;
	return 1;

discard:
	/* Not the connection of this mountpoint any more (it was unmounted, or aborted):
	 * start afresh; the dead mounts are re-attached as after a crash. */
	log_info("The kept FUSE connection of %s is not usable; mounting afresh", mountpoint);
	safe_close(fuse_fd);
	state_free(h->state);
	h->state = NULL;
	if (h->from == HANDOVER_HOLDER)
		(void)holder_stop(h->dir);
	h->from = HANDOVER_NONE;
	return 0;
}

int handover_new_state(struct handover *h, const char *state_dir, const char *mountpoint)
{
	dev_t dev;
	int r;

	/* Until FUSE_INIT is answered a stat of the root would wait for this very
	 * process; statx without sync reads the device from the superblock. */
	r = mount_dev(mountpoint, &dev);
	if (r < 0)
		return r;
	if (!h->dir) {
		r = holder_dir(state_dir, mountpoint, &h->dir);
		if (r < 0)
			return r;
	}
	r = state_create(&h->state);
	if (r < 0)
		return r;
	return state_set_mount_dev(h->state, dev);
}

int handover_keep(struct handover *h, int fuse_fd)
{
	int a = -EBADF, b = -EBADF, r;

	if (fdstore_available()) {
		r = fdstore_push(fuse_fd, FDNAME_FUSE);
		if (r >= 0)
			r = fdstore_push(state_fd(h->state), FDNAME_STATE);
		return r;
	}
	/* A holder that answers already keeps this connection (it gave it to us). */
	r = holder_get(h->dir, &a, &b, &h->holder_pid);
	safe_close(a);
	safe_close(b);
	if (r > 0 && h->from != HANDOVER_NONE)
		return 0;
	if (r > 0)
		(void)holder_stop(h->dir); /* another connection's: this mount replaced it */
	return holder_start(h->dir, fuse_fd, state_fd(h->state), &h->holder_pid);
}

void handover_release(struct handover *h)
{
	_cleanup_free_ char *pid = NULL, *values = NULL;

	if (!h->dir)
		return;
	(void)holder_stop(h->dir);
	/* Values of containers that still run stay for the next start; an empty folder
	 * goes. */
	if (asprintf(&pid, "%s/daemon.pid", h->dir) >= 0)
		(void)unlink(pid);
	if (asprintf(&values, "%s/values", h->dir) >= 0)
		(void)rmdir(values);
	(void)rmdir(h->dir);
}

int handover_exec(struct handover *h, int fuse_fd, const char *exe, char **argv)
{
	char v[32];
	int sfd = state_fd(h->state);

	snprintf(v, sizeof(v), "%d,%d", fuse_fd, sfd);
	if (fcntl(fuse_fd, F_SETFD, 0) < 0 || fcntl(sfd, F_SETFD, 0) < 0 ||
	    setenv(HANDOVER_ENV, v, 1) < 0)
		return negative_errno();
	execv(exe, argv);
	return negative_errno();
}

void handover_done(struct handover *h)
{
	_cleanup_free_ char *values = NULL;

	/* A folder nothing was left in (a daemon that did not start) goes. */
	if (h->dir && asprintf(&values, "%s/values", h->dir) >= 0) {
		(void)rmdir(values);
		(void)rmdir(h->dir);
	}
	state_free(h->state);
	h->state = NULL;
	free(h->dir);
	h->dir = NULL;
}

int handover_write_pid(struct handover *h, uint32_t generation)
{
	_cleanup_free_ char *tmp = NULL, *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	char buf[64];
	int n;

	if (asprintf(&tmp, "%s/daemon.pid.tmp", h->dir) < 0 ||
	    asprintf(&path, "%s/daemon.pid", h->dir) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	n = snprintf(buf, sizeof(buf), "%d %u %d\n", (int)getpid(), generation, (int)h->holder_pid);
	if (write(fd, buf, (size_t)n) != n)
		return -EIO;
	if (rename(tmp, path) < 0)
		return negative_errno();
	return 0;
}

static int read_pid_file(const char *dir, pid_t *ret_pid, unsigned *ret_gen)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int pid;
	unsigned gen;

	if (asprintf(&path, "%s/daemon.pid", dir) < 0)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	if (fscanf(f, "%d %u", &pid, &gen) != 2 || pid <= 0)
		return -EBADMSG;
	*ret_pid = pid;
	*ret_gen = gen;
	return 0;
}

int handover_upgrade_command(int argc, char **argv, const char *default_mountpoint,
			     const char *default_state_dir)
{
	const char *mountpoint = default_mountpoint, *state_dir = default_state_dir;
	_cleanup_free_ char *dir = NULL;
	unsigned gen, gen2;
	pid_t pid, pid2;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc)
			state_dir = argv[++i];
		else if (argv[i][0] != '-')
			mountpoint = argv[i];
		else {
			fprintf(stderr, "Usage: procbox upgrade [--state-dir DIR] [MOUNTPOINT]\n");
			return 2;
		}
	}
	r = holder_dir(state_dir, mountpoint, &dir);
	if (r >= 0)
		r = read_pid_file(dir, &pid, &gen);
	if (r < 0) {
		fprintf(stderr, "procbox: no procbox serves %s: %s\n", mountpoint, strerror(-r));
		return 1;
	}
	if (kill(pid, SIGUSR2) < 0) {
		fprintf(stderr, "procbox: cannot signal procbox (pid %d): %m\n", (int)pid);
		return 1;
	}
	/* The new binary writes the pid file once it serves: same pid, next generation. */
	for (int i = 0; i < 3000; i++) {
		struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
		if (read_pid_file(dir, &pid2, &gen2) == 0 && gen2 != gen) {
			printf("procbox on %s upgraded (pid %d)\n", mountpoint, (int)pid2);
			return 0;
		}
		if (kill(pid, 0) < 0 && errno == ESRCH)
			break;
	}
	fprintf(stderr, "procbox: the upgraded procbox did not start serving %s\n", mountpoint);
	return 1;
}
