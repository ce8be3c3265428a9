/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handlers/hostfiles.h"
#include "util/fileio.h"
#include "util/macro.h"

/* Every file opened, for hostfiles_free(). */
static struct {
	pthread_mutex_t lock;
	struct host_file *opened;
} host = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void host_open(struct host_file *f)
{
	pthread_mutex_lock(&host.lock);
	if (!atomic_load(&f->opened)) {
		f->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (f->fd < 0)
			f->fd = negative_errno();
		f->next = host.opened;
		host.opened = f;
		atomic_store(&f->opened, true);
	}
	pthread_mutex_unlock(&host.lock);
}

int host_file_read(struct host_file *f, char **ret, size_t *ret_len)
{
	if (!atomic_load(&f->opened))
		host_open(f);
	if (f->fd < 0)
		return f->fd;
	return read_full_fd_flags(f->fd, READ_FROM_START | (f->one_record ? READ_ONE_RECORD : 0),
				  ret, ret_len);
}

static struct host_file host_meminfo = HOST_FILE("/proc/meminfo", true);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct {
	pthread_mutex_t lock;
	struct host_meminfo *cur;
	uint64_t read_ns;
} host_meminfo_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

void host_meminfo_unref(struct host_meminfo *h)
{
	if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
		free(h->text);
		free(h);
	}
}

int host_meminfo_get(struct host_meminfo **ret)
{
	struct host_meminfo *h, *old;
	uint64_t now = now_ns();
	char *text = NULL;
	size_t len;
	int r;

	pthread_mutex_lock(&host_meminfo_cache.lock);
	h = host_meminfo_cache.cur;
	if (h && now - host_meminfo_cache.read_ns < HOST_MEMINFO_MAX_AGE_NS) {
		atomic_fetch_add(&h->refs, 1);
		pthread_mutex_unlock(&host_meminfo_cache.lock);
		*ret = h;
		return 0;
	}
	r = host_file_read(&host_meminfo, &text, &len);
	if (r < 0) {
		pthread_mutex_unlock(&host_meminfo_cache.lock);
		return r;
	}
	host_meminfo_cache.read_ns = now;
	old = host_meminfo_cache.cur;
	if (old && old->len == len && memcmp(old->text, text, len) == 0) {
		free(text);
	} else {
		h = calloc(1, sizeof(*h));
		if (!h) {
			free(text);
			pthread_mutex_unlock(&host_meminfo_cache.lock);
			return -ENOMEM;
		}
		atomic_init(&h->refs, 1);
		h->gen = old ? old->gen + 1 : 1;
		h->text = text;
		h->len = len;
		host_meminfo_cache.cur = h;
		host_meminfo_unref(old);
	}
	h = host_meminfo_cache.cur;
	atomic_fetch_add(&h->refs, 1);
	pthread_mutex_unlock(&host_meminfo_cache.lock);
	*ret = h;
	return 0;
}

void hostfiles_free(void)
{
	pthread_mutex_lock(&host.lock);
	while (host.opened) {
		struct host_file *f = host.opened;

		host.opened = f->next;
		safe_close(f->fd);
		f->fd = -EBADF;
		f->next = NULL;
		atomic_store(&f->opened, false);
	}
	pthread_mutex_unlock(&host.lock);
	pthread_mutex_lock(&host_meminfo_cache.lock);
	host_meminfo_unref(host_meminfo_cache.cur);
	host_meminfo_cache.cur = NULL;
	pthread_mutex_unlock(&host_meminfo_cache.lock);
}
