/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Largest file read_full_file() reads: procfs and cgroup files are far smaller. */
#define READ_FULL_MAX (4u * 1024u * 1024u)

/* Reads a whole (proc, sys, cgroup) file into a NUL-terminated buffer. */
int read_full_file(const char *path, char **ret, size_t *ret_len);
int read_full_fd(int fd, char **ret, size_t *ret_len);

/* Writes s to path (O_WRONLY|O_CLOEXEC, no O_CREAT) in one write(). */
int write_string_file(const char *path, const char *s);
