/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "holder/state.h"
#include "util/macro.h"

#define MAGIC "PBSTATE1"
#define LOG_START 4096u
/* Distinct paths a mount shows are a few thousand plus a few per network interface;
 * past this, new nodes are served but not kept for a successor. */
#define LOG_MAX (64u << 20)
#define PATH_MAX_LEN 4096u

struct header {
	char magic[8];
	uint32_t generation;
	uint32_t init_len; /* 0 until the kernel's FUSE_INIT was recorded */
	uint64_t mount_dev;
	uint8_t init[STATE_INIT_MAX];
};

struct record {
	uint32_t len; /* of the path, without NUL */
	uint32_t sum; /* over id, len and path; never 0 for a valid record */
	uint64_t id;
};

struct handover_state {
	int fd;
	pthread_mutex_t lock;
	uint64_t end; /* where the next record goes */
	bool full;
};

static uint32_t checksum(uint64_t id, uint32_t len, const char *path)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const uint8_t *p = (const uint8_t *)&id;

	for (size_t i = 0; i < sizeof(id); i++)
		h = (h ^ p[i]) * 16777619u;
	p = (const uint8_t *)&len;
	for (size_t i = 0; i < sizeof(len); i++)
		h = (h ^ p[i]) * 16777619u;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)path[i]) * 16777619u;
	return h ? h : 1;
}

static int read_header(int fd, struct header *h)
{
	ssize_t n = pread(fd, h, sizeof(*h), 0);

	if (n < 0)
		return negative_errno();
	if ((size_t)n != sizeof(*h) || memcmp(h->magic, MAGIC, 8) != 0 ||
	    h->init_len > STATE_INIT_MAX)
		return -EBADMSG;
	return 0;
}

static int write_field(struct handover_state *s, size_t off, const void *p, size_t len)
{
	ssize_t n = pwrite(s->fd, p, len, (off_t)off);

	if (n < 0)
		return negative_errno();
	return (size_t)n == len ? 0 : -EIO;
}

static struct handover_state *state_alloc(int fd)
{
	struct handover_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = fd;
	s->end = LOG_START;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

int state_create(struct handover_state **ret)
{
	_cleanup_close_ int fd = memfd_create("procbox-state", MFD_CLOEXEC);
	struct header h = {.magic = MAGIC};
	struct handover_state *s;

	if (fd < 0)
		return negative_errno();
	if (ftruncate(fd, LOG_START) < 0)
		return negative_errno();
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EIO;
	s = state_alloc(fd);
	if (!s)
		return -ENOMEM;
	fd = -EBADF;
	*ret = s;
	return 0;
}

static void find_end(uint64_t id, const char *path, void *userdata)
{
}

int state_open(int fd, struct handover_state **ret)
{
	struct handover_state *s;
	struct header h;
	int r;

	r = read_header(fd, &h);
	if (r < 0)
		return r;
	s = state_alloc(fd);
	if (!s)
		return -ENOMEM;
	/* Sets s->end past the last valid record. */
	r = state_for_each_node(s, find_end, NULL);
	if (r < 0) {
		s->fd = -EBADF;
		state_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void state_free(struct handover_state *s)
{
	if (!s)
		return;
	safe_close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int state_fd(struct handover_state *s)
{
	return s->fd;
}

int state_set_init(struct handover_state *s, const void *req, size_t len)
{
	uint32_t l = (uint32_t)len;
	int r;

	if (len == 0 || len > STATE_INIT_MAX)
		return -EINVAL;
	/* The request first, its length last: a reader sees all of it or nothing. */
	r = write_field(s, offsetof(struct header, init), req, len);
	if (r < 0)
		return r;
	return write_field(s, offsetof(struct header, init_len), &l, sizeof(l));
}

int state_get_init(struct handover_state *s, void *buf, size_t size, size_t *ret_len)
{
	struct header h;
	int r = read_header(s->fd, &h);

	if (r < 0)
		return r;
	if (h.init_len == 0)
		return -ENOENT;
	if (h.init_len > size)
		return -ENOBUFS;
	memcpy(buf, h.init, h.init_len);
	*ret_len = h.init_len;
	return 0;
}

int state_set_mount_dev(struct handover_state *s, dev_t dev)
{
	uint64_t d = dev;

	return write_field(s, offsetof(struct header, mount_dev), &d, sizeof(d));
}

dev_t state_mount_dev(struct handover_state *s)
{
	struct header h;

	if (read_header(s->fd, &h) < 0)
		return 0;
	return (dev_t)h.mount_dev;
}

int state_next_generation(struct handover_state *s, uint32_t *ret)
{
	struct header h;
	int r = read_header(s->fd, &h);

	if (r < 0)
		return r;
	h.generation++;
	if (h.generation == 0)
		h.generation = 1;
	r = write_field(s, offsetof(struct header, generation), &h.generation,
			sizeof(h.generation));
	if (r < 0)
		return r;
	*ret = h.generation;
	return 0;
}

int state_log_node(struct handover_state *s, uint64_t id, const char *path)
{
	size_t len = strlen(path);
	struct record rec = {.len = (uint32_t)len, .id = id};
	uint64_t size;
	int r = 0;

	if (len > PATH_MAX_LEN)
		return -ENAMETOOLONG;
	rec.sum = checksum(id, rec.len, path);
	size = (sizeof(rec) + len + 7) & ~(uint64_t)7;
	pthread_mutex_lock(&s->lock);
	if (s->end + size > LOG_MAX) {
		r = s->full ? -ENOSPC : -EFBIG;
		s->full = true;
		goto out;
	}
	/* The path before the header: a record whose header is written is whole. */
	r = write_field(s, s->end + sizeof(rec), path, len);
	if (r >= 0)
		r = write_field(s, s->end, &rec, sizeof(rec));
	if (r >= 0)
		s->end += size;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int state_for_each_node(struct handover_state *s,
			void (*cb)(uint64_t id, const char *path, void *userdata), void *userdata)
{
	_cleanup_free_ char *path = malloc(PATH_MAX_LEN + 1);
	uint64_t off = LOG_START;
	struct stat st;

	if (!path)
		return -ENOMEM;
	if (fstat(s->fd, &st) < 0)
		return negative_errno();
	for (;;) {
		struct record rec;

		if (off + sizeof(rec) > (uint64_t)st.st_size)
			break;
		if (pread(s->fd, &rec, sizeof(rec), (off_t)off) != (ssize_t)sizeof(rec))
			break;
		if (rec.sum == 0 || rec.len > PATH_MAX_LEN ||
		    off + sizeof(rec) + rec.len > (uint64_t)st.st_size)
			break;
		if (pread(s->fd, path, rec.len, (off_t)(off + sizeof(rec))) != (ssize_t)rec.len)
			break;
		path[rec.len] = 0;
		if (checksum(rec.id, rec.len, path) != rec.sum || strlen(path) != rec.len)
			break;
		cb(rec.id, path, userdata);
		off += (sizeof(rec) + rec.len + 7) & ~(uint64_t)7;
	}
	pthread_mutex_lock(&s->lock);
	s->end = off;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
