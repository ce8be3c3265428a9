/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testns.h"

int read_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

int count_children(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[300], buf[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		if (read_line(path, buf, sizeof(buf)) < 0)
			continue;
		for (char *p = strtok(buf, " "); p; p = strtok(NULL, " "))
			n++;
	}
	closedir(d);
	return n;
}

bool testns_supported(const char **ret_reason)
{
	struct stat st;

	if (geteuid() != 0) {
		*ret_reason = "needs root";
		return false;
	}
	if (stat("/proc/self/ns/user", &st) < 0 || stat("/proc/self/ns/net", &st) < 0) {
		*ret_reason = "no user or network namespaces";
		return false;
	}
	return true;
}

static int xread(int fd, void *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)n ? 0 : -EIO;
}

static int xwrite(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n) == (ssize_t)n ? 0 : -EIO;
}

_Noreturn static void child(const struct testns_opts *o, int tx, int rx)
{
	char c;
	pid_t me;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(o->clone_flags) < 0)
		_exit(10);
	if (o->clone_flags & CLONE_NEWUSER) {
		if (xwrite(tx, "u", 1) < 0 || xread(rx, &c, 1) < 0 || c != 'g')
			_exit(11);
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			_exit(12);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	if ((o->clone_flags & CLONE_NEWUTS) && o->hostname &&
	    sethostname(o->hostname, strlen(o->hostname)) < 0)
		_exit(13);
	if ((o->clone_flags & CLONE_NEWNS) && o->bind_src) {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(14);
		if (mount(o->bind_src, o->bind_dst, NULL, MS_BIND | MS_REC, NULL) < 0)
			_exit(15);
	}
	if (o->clone_flags & CLONE_NEWPID) {
		pid_t p = fork();
		int status;

		if (p < 0)
			_exit(16);
		if (p > 0) {
			/* Outer: report the inner pid (our view is the parent namespace). */
			if (xwrite(tx, &p, sizeof(p)) < 0)
				_exit(17);
			while (waitpid(p, &status, 0) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	if (o->gid && (setgroups(0, NULL), setresgid(o->gid, o->gid, o->gid) < 0))
		_exit(18);
	if (o->uid && setresuid(o->uid, o->uid, o->uid) < 0)
		_exit(19);
	/* A change of credentials clears the parent-death signal: set it again, or a
	 * container would outlive a test that crashed. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	me = 0; /* "ready"; the parent knows our pid unless a pid namespace hid it */
	if (!(o->clone_flags & CLONE_NEWPID) && xwrite(tx, &me, sizeof(me)) < 0)
		_exit(20);
	if ((o->clone_flags & CLONE_NEWPID) && xwrite(tx, &me, sizeof(me)) < 0)
		_exit(20);
	for (;;)
		pause();
}

int testns_start(const struct testns_opts *o, struct testns *ret)
{
	int up[2], down[2];
	pid_t pid, inner = 0;
	char c;

	if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(o, up[1], down[0]);
	close(up[1]);
	close(down[0]);

	if (o->clone_flags & CLONE_NEWUSER) {
		char path[64];
		int r = 0;

		if (xread(up[0], &c, 1) < 0 || c != 'u')
			r = -EIO;
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		if (!r && !o->setgroups_allow)
			r = write_file(path, "deny");
		snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
		if (!r)
			r = write_file(path, o->uid_map ? o->uid_map : "0 0 1");
		snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
		if (!r)
			r = write_file(path, o->gid_map ? o->gid_map : "0 0 1");
		if (r < 0 || xwrite(down[1], "g", 1) < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(up[0]);
			close(down[1]);
			return r < 0 ? r : -EIO;
		}
	}
	{
		/* With a pid namespace the outer child writes the inner pid and the inner one
		 * its "ready" 0, in either order: the pid is whichever is not 0. */
		pid_t ready, second = 0;
		if (xread(up[0], &ready, sizeof(ready)) < 0 ||
		    ((o->clone_flags & CLONE_NEWPID) && xread(up[0], &second, sizeof(second)) < 0))
			inner = -1;
		else if (o->clone_flags & CLONE_NEWPID)
			inner = ready ? ready : second;
		if (inner < 0 || ((o->clone_flags & CLONE_NEWPID) && inner == 0)) {
			int status = 0;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(up[0]);
			close(down[1]);
			return -ECHILD;
		}
	}
	close(up[0]);
	close(down[1]);
	ret->outer = pid;
	ret->pid = inner > 0 ? inner : pid;
	return 0;
}

void testns_stop(struct testns *t)
{
	if (t->outer <= 0)
		return;
	if (t->pid != t->outer)
		kill(t->pid, SIGKILL);
	kill(t->outer, SIGKILL);
	while (waitpid(t->outer, NULL, 0) < 0 && errno == EINTR)
		;
	t->outer = t->pid = 0;
}

int testns_run(const struct testns *t, char *const argv[], char *out, size_t outsz)
{
	int pfd[2], status;
	size_t len = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char pidstr[32], uidstr[32], gidstr[32], path[64];
		const char *args[64];
		struct stat st;
		size_t n = 0;

		dup2(pfd[1], 1);
		snprintf(pidstr, sizeof(pidstr), "%d", t->pid);
		snprintf(path, sizeof(path), "/proc/%d/status", t->pid);
		/* Take the process's own ids (as seen in its namespace) from its status. */
		snprintf(path, sizeof(path), "/proc/%d", t->pid);
		if (stat(path, &st) < 0)
			_exit(126);
		args[n++] = "nsenter";
		args[n++] = "-t";
		args[n++] = pidstr;
		args[n++] = "-a";
		{
			char buf[4096], *l;
			unsigned u = 0, g = 0;

			snprintf(path, sizeof(path), "/proc/%d/status", t->pid);
			FILE *f = fopen(path, "re");
			if (!f)
				_exit(126);
			while (fgets(buf, sizeof(buf), f)) {
				if ((l = strstr(buf, "Uid:")) == buf)
					sscanf(buf + 4, "%u", &u);
				if ((l = strstr(buf, "Gid:")) == buf)
					sscanf(buf + 4, "%u", &g);
			}
			fclose(f);
			/* Host view ids: translate through the maps nsenter would apply. The
			 * tests map ids 1:1 or from 0, so read them from the namespace. */
			snprintf(path, sizeof(path), "/proc/%d/uid_map", t->pid);
			f = fopen(path, "re");
			if (f) {
				unsigned in, outb, cnt;
				while (fscanf(f, "%u %u %u", &in, &outb, &cnt) == 3)
					if (u >= outb && u - outb < cnt) {
						u = in + (u - outb);
						break;
					}
				fclose(f);
			}
			snprintf(path, sizeof(path), "/proc/%d/gid_map", t->pid);
			f = fopen(path, "re");
			if (f) {
				unsigned in, outb, cnt;
				while (fscanf(f, "%u %u %u", &in, &outb, &cnt) == 3)
					if (g >= outb && g - outb < cnt) {
						g = in + (g - outb);
						break;
					}
				fclose(f);
			}
			snprintf(uidstr, sizeof(uidstr), "%u", u);
			snprintf(gidstr, sizeof(gidstr), "%u", g);
		}
		args[n++] = "-S";
		args[n++] = uidstr;
		args[n++] = "-G";
		args[n++] = gidstr;
		args[n++] = "--";
		for (size_t i = 0; argv[i] && n < 63; i++)
			args[n++] = argv[i];
		args[n] = NULL;
		execvp("nsenter", (char *const *)args);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t r;
		char sink[256];

		if (out && len + 1 < outsz)
			r = read(pfd[0], out + len, outsz - 1 - len);
		else
			r = read(pfd[0], sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out && len + 1 < outsz)
			len += (size_t)r;
	}
	close(pfd[0]);
	if (out && outsz)
		out[len] = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

int testns_sh(const struct testns *t, const char *cmd, char *out, size_t outsz)
{
	char *const argv[] = {(char *)"sh", (char *)"-c", (char *)cmd, NULL};
	return testns_run(t, argv, out, outsz);
}
