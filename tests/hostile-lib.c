/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
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

#include "hostile-lib.h"
#include "lib/testns.h"

int64_t hct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int xread(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		got += (size_t)r;
	}
	return 0;
}

static int xwrite(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n) == (ssize_t)n ? 0 : -EIO;
}

static void write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	(void)write_file(path, map);
}

_Noreturn static void container_main(const struct hct_opts *o, int up, int down)
{
	int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (o->netns ? CLONE_NEWNET : 0) |
		    (o->pidns ? CLONE_NEWPID : 0);
	pid_t me = 0, parent = getppid();
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (o->file_src &&
	    (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	     mount(o->file_src, o->file_dst, NULL, MS_BIND, NULL) < 0))
		_exit(9);
	/* The user namespace first and mapped, then the others (runc's order): a netns made
	 * before the map exists would give its sysfs files to the host's root. */
	if (o->userns) {
		if (unshare(CLONE_NEWUSER) < 0 || xwrite(up, "u", 1) < 0 || xread(down, &c, 1) < 0)
			_exit(10);
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			_exit(11);
		/* The id change reset the death signal: a test that fails before hct_stop()
		 * must not leave the container behind. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(11);
	}
	if (unshare(flags) < 0)
		_exit(12);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(13);
	if (o->procsys && mount(o->procsys, "/proc/sys", NULL, MS_BIND, NULL) < 0)
		_exit(14);

	if (o->pidns) {
		pid_t p = fork();

		if (p < 0)
			_exit(15);
		if (p > 0) {
			/* The outer half reports the init's pid as the host sees it (and only
			 * it writes: two writers would race). */
			if (xwrite(up, &p, sizeof(p)) < 0 || xwrite(up, "r", 1) < 0)
				_exit(16);
			while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	} else if (xwrite(up, &me, sizeof(me)) < 0 || xwrite(up, "r", 1) < 0)
		_exit(16);
	close(up);
	close(down);
	for (;;)
		pause();
}

int hct_start(const struct hct_opts *o, struct hct *ret)
{
	int up[2], down[2], r = 0;
	pid_t pid, init = 0;
	char c;

	if (pipe2(up, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(down, O_CLOEXEC) < 0) {
		r = -errno;
		close(up[0]);
		close(up[1]);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0)
		container_main(o, up[1], down[0]);
	close(up[1]);
	close(down[0]);
	up[1] = down[0] = -1;
	if (o->userns) {
		if (xread(up[0], &c, 1) < 0) {
			r = -ECHILD;
			goto fail;
		}
		if (o->setgroups_deny)
			write_map(pid, "setgroups", "deny");
		write_map(pid, "uid_map", HCT_MAP);
		write_map(pid, "gid_map", HCT_MAP);
		if (xwrite(down[1], "g", 1) < 0) {
			r = -ECHILD;
			goto fail;
		}
	}
	if (xread(up[0], &init, sizeof(init)) < 0 || xread(up[0], &c, 1) < 0) {
		r = -ECHILD;
		goto fail;
	}
	*ret = (struct hct){.init = init > 0 ? init : pid, .outer = pid, .userns = o->userns};
	goto out;
fail:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
out:
	for (int i = 0; i < 2; i++) {
		if (up[i] >= 0)
			close(up[i]);
		if (down[i] >= 0)
			close(down[i]);
	}
	return r;
}

void hct_stop(struct hct *c)
{
	if (c->outer <= 0)
		return;
	/* The init first, so that the outer half reaps it and exits: killed first, it
	 * would leave the init to a reaper that may never come (the host's pid 1 here). */
	kill(c->init, SIGKILL);
	for (int i = 0; i < 400; i++) {
		if (waitpid(c->outer, NULL, WNOHANG) == c->outer)
			goto done;
		usleep(5000);
	}
	kill(c->outer, SIGKILL);
	while (waitpid(c->outer, NULL, 0) < 0 && errno == EINTR)
		;
done:
	c->outer = c->init = 0;
}

static int ns_inode(pid_t pid, const char *type, ino_t *ret)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, type);
	if (stat(path, &st) < 0)
		return -errno;
	*ret = st.st_ino;
	return 0;
}

/* Docker's default capability set (moby oci/caps/defaults.go). */
static const int docker_caps[] = {
    CAP_CHOWN,	 CAP_DAC_OVERRIDE, CAP_FSETID,		 CAP_FOWNER,
    CAP_MKNOD,	 CAP_NET_RAW,	   CAP_SETGID,		 CAP_SETUID,
    CAP_SETFCAP, CAP_SETPCAP,	   CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
    CAP_KILL,	 CAP_AUDIT_WRITE,
};

static int drop_to_docker_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	uint64_t keep = 0;

	for (size_t i = 0; i < sizeof(docker_caps) / sizeof(docker_caps[0]); i++)
		keep |= 1ull << docker_caps[i];
	for (int cap = 0; cap < 64; cap++)
		if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return -errno;
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
	data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

_Noreturn static void call_child(const struct hct *c, unsigned how, hct_fn fn, const void *arg,
				 int wfd)
{
	static const struct {
		const char *name;
		int flag;
	} types[] = {
	    {"user", CLONE_NEWUSER},	 {"mnt", CLONE_NEWNS},	{"net", CLONE_NEWNET},
	    {"uts", CLONE_NEWUTS},	 {"ipc", CLONE_NEWIPC}, {"pid", CLONE_NEWPID},
	    {"cgroup", CLONE_NEWCGROUP},
	};
	int pidfd, flags = 0, status;
	bool joined_user = false;
	pid_t p;

	pidfd = (int)syscall(SYS_pidfd_open, c->init, 0);
	if (pidfd < 0)
		_exit(100);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ino_t theirs, mine;

		if ((types[i].flag == CLONE_NEWPID && (how & HCT_NO_PIDNS)) ||
		    (types[i].flag == CLONE_NEWUSER && (how & HCT_NO_USERNS)))
			continue;
		if (ns_inode(c->init, types[i].name, &theirs) < 0 ||
		    ns_inode(getpid(), types[i].name, &mine) < 0)
			_exit(101);
		if (theirs != mine)
			flags |= types[i].flag;
	}
	joined_user = flags & CLONE_NEWUSER;
	if (flags && setns(pidfd, flags) < 0)
		_exit(102);
	close(pidfd);
	p = fork();
	if (p < 0)
		_exit(103);
	if (p > 0) {
		while (waitpid(p, &status, 0) < 0)
			if (errno != EINTR)
				_exit(104);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 105);
	}
	{
		static char out[65536];
		int32_t r;
		uint32_t len;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* setgroups() fails with EPERM where setgroups is "deny" */
		if (joined_user && ((setgroups(0, NULL) < 0 && errno != EPERM) ||
				    setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
			_exit(106);
		if (chdir("/") < 0)
			_exit(107);
		if ((how & HCT_DOCKER_CAPS) && drop_to_docker_caps() < 0)
			_exit(108);
		out[0] = 0;
		r = fn(arg, out, sizeof(out));
		len = (uint32_t)strnlen(out, sizeof(out) - 1);
		if (xwrite(wfd, &r, sizeof(r)) < 0 || xwrite(wfd, &len, sizeof(len)) < 0 ||
		    xwrite(wfd, out, len) < 0)
			_exit(109);
		_exit(0);
	}
}

int hct_call(const struct hct *c, unsigned how, hct_fn fn, const void *arg, char *out, size_t outsz)
{
	int pfd[2], status;
	int32_t r = INT32_MIN;
	uint32_t len = 0;
	pid_t pid;

	if (out && outsz)
		out[0] = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return INT32_MIN;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return INT32_MIN;
	}
	if (pid == 0) {
		close(pfd[0]);
		call_child(c, how, fn, arg, pfd[1]);
	}
	close(pfd[1]);
	if (xread(pfd[0], &r, sizeof(r)) < 0 || xread(pfd[0], &len, sizeof(len)) < 0)
		r = INT32_MIN;
	else {
		char sink[4096];

		for (uint32_t got = 0; got < len;) {
			uint32_t n = len - got;
			bool keep = out && got + 1 < outsz;
			char *dst = keep ? out + got : sink;

			if (keep && n > outsz - 1 - got)
				n = (uint32_t)(outsz - 1 - got);
			if (!keep && n > sizeof(sink))
				n = sizeof(sink);
			if (xread(pfd[0], dst, n) < 0)
				break;
			got += n;
			if (keep)
				out[got] = 0;
		}
	}
	close(pfd[0]);
	status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			break;
	if (r == INT32_MIN && out && outsz)
		snprintf(out, outsz, "helper failed: exit %d, signal %d", WEXITSTATUS(status),
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return r;
}

int hct_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		if (n == 0 || len + (size_t)n >= size - 1) {
			len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = 0;
	return (int)len;
}

ssize_t hct_write_file(const char *path, const void *buf, size_t len, off_t off)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = off > 0 ? pwrite(fd, buf, len, off) : write(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

int hct_daemon_fds(const struct test_daemon *d)
{
	char path[320], link[256];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", d->pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		ssize_t l;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", d->pid, de->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l < 0)
			continue;
		link[l] = 0;
		/* libfuse opens a /dev/fuse clone per worker thread, and keeps workers as it
		 * likes: those are not procbox's to count. */
		if (strcmp(link, "/dev/fuse") != 0)
			n++;
	}
	closedir(dir);
	return n;
}

int hct_daemon_children(const struct test_daemon *d, int *ret_zombies)
{
	pid_t kids[4096];
	int n = daemon_children(d, kids, 4096), z = 0;

	for (int i = 0; i < n && i < 4096; i++) {
		char path[64], buf[512], *p;

		snprintf(path, sizeof(path), "/proc/%d/stat", kids[i]);
		if (read_line(path, buf, sizeof(buf)) < 0)
			continue;
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'Z')
			z++;
	}
	if (ret_zombies)
		*ret_zombies = z;
	return n;
}

long hct_daemon_rss_kib(const struct test_daemon *d)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", d->pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

bool hct_daemon_settle(const struct test_daemon *d, int fds, int children, int ms, int *ret_fds,
		       int *ret_children)
{
	int64_t end = hct_now_ms() + ms;
	int f, c;

	for (;;) {
		f = hct_daemon_fds(d);
		c = hct_daemon_children(d, NULL);
		if ((f <= fds && c <= children) || hct_now_ms() > end)
			break;
		usleep(50 * 1000);
	}
	if (ret_fds)
		*ret_fds = f;
	if (ret_children)
		*ret_children = c;
	return f <= fds && c <= children;
}
