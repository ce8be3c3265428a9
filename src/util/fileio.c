/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/macro.h"

int read_full_fd_at_most(int fd, unsigned flags, size_t max, char **ret, size_t *ret_len)
{
	bool truncate = flags & READ_TRUNCATE;
	_cleanup_free_ char *buf = NULL;
	/* max bytes, one more to tell a longer file, the NUL */
	size_t size = 0, len = 0, limit = max + 2;

	if (max > SIZE_MAX / 2)
		return -EINVAL;
	for (;;) {
		size_t want;
		ssize_t n;

		if (len > max)
			return -EFBIG;
		if (truncate && len == max)
			break;
		if (size - len < 4096 && size < limit) {
			size_t a = MIN(size ? size * 2 : 8192, limit);
			char *b = realloc(buf, a);

			if (!b)
				return -ENOMEM;
			buf = b;
			size = a;
		}
		want = MIN(size - len - 1, (truncate ? max : max + 1) - len);
		if (flags & READ_FROM_START)
			n = pread(fd, buf + len, want, (off_t)len);
		else
			n = read(fd, buf + len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		len += (size_t)n;
		if (n == 0 || ((flags & READ_ONE_RECORD) && (size_t)n < want))
			break;
	}
	if (len > max)
		return -EFBIG;
	if (!buf) {
		/* max 0 with READ_TRUNCATE: nothing read, nothing allocated */
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = 0;
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int read_full_fd_flags(int fd, unsigned flags, char **ret, size_t *ret_len)
{
	return read_full_fd_at_most(fd, flags, READ_FULL_MAX, ret, ret_len);
}

int read_full_fd(int fd, char **ret, size_t *ret_len)
{
	return read_full_fd_flags(fd, 0, ret, ret_len);
}

int read_full_file(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	return read_full_fd(fd, ret, ret_len);
}

int write_string_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(s);
	ssize_t n;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	n = write(fd, s, len);
	if (n < 0)
		return negative_errno();
	return (size_t)n == len ? 0 : -EIO;
}
