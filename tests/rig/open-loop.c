/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a container root does to catch the real /proc/sys uncovered: open a host-wide
 * sysctl for writing as fast as it can. It never writes. Each fd that is the real
 * procfs's (it would write the host's value) prints a line "procfs"; SIGTERM prints
 * "opens N procfs M" and ends it. Built static, bound into a busybox container.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <sys/statfs.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/proc/sys/kernel/core_pattern";
	unsigned long opens = 0, procfs = 0;

	signal(SIGTERM, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop) {
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		struct statfs sf;

		if (fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC) {
			procfs++;
			printf("procfs\n");
		}
		if (fd >= 0)
			close(fd);
		opens++;
	}
	printf("opens %lu procfs %lu\n", opens, procfs);
	return 0;
}
