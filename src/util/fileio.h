/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Largest file these read (-EFBIG beyond): procfs and cgroup files are far smaller, a
 * big cgroup's task list aside. */
#define READ_FULL_MAX (16u * 1024u * 1024u)

enum {
	/* The file is a seq_file shown by a single ->show() (cgroup value and stat files,
	 * /proc/meminfo, /proc/<pid>/stat): a read shorter than asked has it all, which saves
	 * the read that would return 0. Lists (tasks, mountinfo, cpuinfo) are shown a record
	 * at a time, and there a short read only means the kernel's buffer was full. */
	READ_ONE_RECORD = 1 << 0,
	/* From offset 0 with pread(2), whatever the fd's offset: for fds read again and
	 * again. */
	READ_FROM_START = 1 << 1,
	/* read_full_fd_at_most(): a file longer than max is cut there, not refused. */
	READ_TRUNCATE = 1 << 2,
};

/* Reads a whole (proc, sys, cgroup) file into a NUL-terminated buffer. */
int read_full_file(const char *path, char **ret, size_t *ret_len);
int read_full_fd(int fd, char **ret, size_t *ret_len);
/* The same with READ_* flags. */
int read_full_fd_flags(int fd, unsigned flags, char **ret, size_t *ret_len);
/* The same for at most max bytes: -EFBIG for a longer file, or with READ_TRUNCATE its first
 * max bytes. */
int read_full_fd_at_most(int fd, unsigned flags, size_t max, char **ret, size_t *ret_len);

/* Writes s to path (O_WRONLY|O_CLOEXEC, no O_CREAT) in one write(). */
int write_string_file(const char *path, const char *s);
