/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* The fields of /proc/<pid>/stat (proc(5)) that procbox uses. */
struct proc_stat {
	char state;	     /* field 3: R, S, D, Z, ... */
	pid_t ppid;	     /* field 4 */
	uint64_t start_time; /* field 22: clock ticks after boot */
};

/* Parses a /proc/<pid>/stat line. comm (field 2) may hold spaces and parentheses, so fields
 * are counted from the last ')'. -EBADMSG if the line is cut short or malformed. */
int proc_stat_parse(const char *text, struct proc_stat *ret);

/* Reads and parses /proc/<pid>/stat: -ESRCH if pid is gone. */
int proc_stat_read(pid_t pid, struct proc_stat *ret);
