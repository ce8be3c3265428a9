/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"
#include "util/macro.h"
#include "util/procstat.h"

/* The decimal number at *p, which moves past it and the one space after it. */
static int field_number(const char **p, bool last, unsigned long long *ret)
{
	const char *s = *p;
	unsigned long long v = 0;
	bool neg = false;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (!isdigit((unsigned char)*s))
		return -EBADMSG;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -EBADMSG;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	if (last ? *s != ' ' && *s != '\n' && *s != 0 : *s != ' ')
		return -EBADMSG;
	*p = *s ? s + 1 : s;
	*ret = neg ? (unsigned long long)-(long long)v : v;
	return 0;
}

int proc_stat_parse(const char *text, struct proc_stat *ret)
{
	const char *p = strrchr(text, ')');
	unsigned long long v, ppid = 0;
	struct proc_stat st = {0};

	if (!p || p[1] != ' ' || !isalpha((unsigned char)p[2]) || p[3] != ' ')
		return -EBADMSG;
	st.state = p[2];
	p += 4;
	/* Fields 4 (ppid) to 22 (starttime). */
	for (int field = 4; field <= 22; field++) {
		if (field_number(&p, field == 22, &v) < 0)
			return -EBADMSG;
		if (field == 4)
			ppid = v;
	}
	if (ppid > INT32_MAX)
		return -EBADMSG;
	st.ppid = (pid_t)ppid;
	st.start_time = v;
	*ret = st;
	return 0;
}

int proc_stat_read(pid_t pid, struct proc_stat *ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *text = NULL;
	char path[64];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	r = read_full_fd_flags(fd, READ_ONE_RECORD, &text, &len);
	/* A task reaped between open and read reads as empty or fails with ESRCH. */
	if (r == -ESRCH || (r >= 0 && len == 0))
		return -ESRCH;
	if (r < 0)
		return r;
	return proc_stat_parse(text, ret);
}
