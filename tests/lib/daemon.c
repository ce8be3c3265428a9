/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "testns.h"

#ifndef PROCBOX_BUILD_ROOT
#error PROCBOX_BUILD_ROOT must be defined by the build
#endif

void daemon_path(const struct test_daemon *d, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", d->mnt, rel);
}

int daemon_start(struct test_daemon *d, const char *const *extra_args)
{
	char probe[256];
	pid_t pid;

	snprintf(d->mnt, sizeof(d->mnt), "/tmp/procbox-test-XXXXXX");
	if (!mkdtemp(d->mnt))
		return -errno;
	snprintf(d->log, sizeof(d->log), "%s.log", d->mnt);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		const char *argv[32];
		size_t n = 0;
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		argv[n++] = PROCBOX_BUILD_ROOT "/procbox";
		argv[n++] = "-f";
		for (size_t i = 0; extra_args && extra_args[i] && n < 30; i++)
			argv[n++] = extra_args[i];
		argv[n++] = d->mnt;
		argv[n] = NULL;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	d->pid = pid;
	daemon_path(d, "proc", probe, sizeof(probe));
	for (int i = 0; i < 500; i++) {
		struct stat st;
		int status;

		if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			rmdir(d->mnt);
			return -ECHILD;
		}
		usleep(10000);
	}
	daemon_stop(d);
	return -ETIMEDOUT;
}

int daemon_stop(struct test_daemon *d)
{
	int status = 0;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			goto done;
		usleep(10000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	status = -1;
done:
	d->pid = 0;
	/* a daemon that died (or was killed) leaves its mount behind, disconnected */
	umount2(d->mnt, MNT_DETACH);
	rmdir(d->mnt);
	if (status == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int daemon_children(const struct test_daemon *d, pid_t *pids, int max)
{
	char path[300], buf[8192];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", d->pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", d->pid, de->d_name);
		if (read_line(path, buf, sizeof(buf)) < 0)
			continue;
		for (char *p = strtok(buf, " "); p; p = strtok(NULL, " ")) {
			if (pids && n < max)
				pids[n] = atoi(p);
			n++;
		}
	}
	closedir(dir);
	return n;
}

int daemon_fd_count(const struct test_daemon *d)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", d->pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}
