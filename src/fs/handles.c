/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "fs/handles.h"
#include "util/array.h"

/* Two levels, allocated once and never moved: a read looks a handle up without a lock. */
#define CHUNK 4096u
#define N_CHUNKS 4096u
#define N_ADOPT 1024u

struct adopted {
	struct adopted *next;
	uint64_t fh;
	void *p;
};

struct fs_handles {
	uint32_t generation;
	pthread_mutex_t lock;
	_Atomic(void *) *chunk[N_CHUNKS];
	uint32_t *free_slots;
	size_t n_free, cap_free;
	uint32_t next_slot;
	struct adopted *adopt[N_ADOPT];
};

int fs_handles_new(uint32_t generation, struct fs_handles **ret)
{
	struct fs_handles *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->generation = generation;
	pthread_mutex_init(&h->lock, NULL);
	*ret = h;
	return 0;
}

void fs_handles_free(struct fs_handles *h, void (*free_fn)(void *p))
{
	if (!h)
		return;
	for (size_t i = 0; i < N_CHUNKS; i++) {
		if (h->chunk[i] && free_fn)
			for (size_t k = 0; k < CHUNK; k++) {
				void *p = atomic_load(&h->chunk[i][k]);

				if (p)
					free_fn(p);
			}
		free((void *)h->chunk[i]);
	}
	for (size_t i = 0; i < N_ADOPT; i++)
		for (struct adopted *a = h->adopt[i], *n; a; a = n) {
			n = a->next;
			if (free_fn && a->p)
				free_fn(a->p);
			free(a);
		}
	free(h->free_slots);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

uint64_t fs_handle_put(struct fs_handles *h, void *p)
{
	uint32_t slot;

	pthread_mutex_lock(&h->lock);
	if (h->n_free > 0)
		slot = h->free_slots[--h->n_free];
	else {
		if (h->next_slot >= CHUNK * N_CHUNKS)
			goto fail;
		slot = h->next_slot;
		if (!h->chunk[slot / CHUNK]) {
			void *c = calloc(CHUNK, sizeof(void *));
			if (!c)
				goto fail;
			h->chunk[slot / CHUNK] = c;
		}
		h->next_slot++;
	}
	atomic_store(&h->chunk[slot / CHUNK][slot % CHUNK], p);
	pthread_mutex_unlock(&h->lock);
	/* slot + 1: a handle is never 0 */
	return (uint64_t)h->generation << 32 | (slot + 1);
fail:
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int fs_handle_foreign(struct fs_handles *h, uint64_t fh)
{
	return (uint32_t)(fh >> 32) != h->generation;
}

static struct adopted **adopted_find(struct fs_handles *h, uint64_t fh)
{
	struct adopted **a = &h->adopt[(fh ^ (fh >> 32)) % N_ADOPT];

	while (*a && (*a)->fh != fh)
		a = &(*a)->next;
	return a;
}

void *fs_handle_get(struct fs_handles *h, uint64_t fh)
{
	uint32_t slot = (uint32_t)fh - 1;
	struct adopted *a;
	void *p;

	if (!fs_handle_foreign(h, fh)) {
		_Atomic(void *) *c;

		if ((uint32_t)fh == 0 || slot >= CHUNK * N_CHUNKS)
			return NULL;
		c = h->chunk[slot / CHUNK];
		return c ? atomic_load(&c[slot % CHUNK]) : NULL;
	}
	pthread_mutex_lock(&h->lock);
	a = *adopted_find(h, fh);
	p = a ? a->p : NULL;
	pthread_mutex_unlock(&h->lock);
	return p;
}

void *fs_handle_adopt(struct fs_handles *h, uint64_t fh, void *p)
{
	struct adopted **a, *n;

	pthread_mutex_lock(&h->lock);
	a = adopted_find(h, fh);
	if (*a) {
		p = (*a)->p;
		goto out;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		p = NULL;
		goto out;
	}
	n->fh = fh;
	n->p = p;
	*a = n;
out:
	pthread_mutex_unlock(&h->lock);
	return p;
}

void *fs_handle_take(struct fs_handles *h, uint64_t fh)
{
	uint32_t slot = (uint32_t)fh - 1;
	void *p = NULL;

	pthread_mutex_lock(&h->lock);
	if (!fs_handle_foreign(h, fh)) {
		if ((uint32_t)fh != 0 && slot < CHUNK * N_CHUNKS && h->chunk[slot / CHUNK]) {
			p = atomic_exchange(&h->chunk[slot / CHUNK][slot % CHUNK], NULL);
			if (p)
				(void)ARRAY_GROW(h->free_slots, h->cap_free, h->n_free, 256);
			/* A slot not put back for want of memory is lost, not reused. */
			if (p && h->n_free < h->cap_free)
				h->free_slots[h->n_free++] = slot;
		}
	} else {
		struct adopted **a = adopted_find(h, fh), *n = *a;

		if (n) {
			p = n->p;
			*a = n->next;
			free(n);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return p;
}
