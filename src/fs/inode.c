/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs/inode.h"
#include "util/macro.h"

#define N_BUCKETS 4096

struct node {
	struct node *next; /* in the path hash */
	uint64_t id;
	uint64_t nlookup;
	char *path;
};

struct inode_table {
	pthread_mutex_t lock;
	struct node *bucket[N_BUCKETS];
	struct node **by_id; /* id - 2 -> node; ids are handed out densely and reused */
	uint64_t cap;
	uint64_t *free_ids;
	uint64_t n_free, next_id;
	unsigned count;
	void (*log)(uint64_t id, const char *path, void *userdata);
	void *log_userdata;
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % N_BUCKETS;
}

int inode_table_new(struct inode_table **ret)
{
	struct inode_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->next_id = 2; /* 1 is FUSE_ROOT_ID */
	*ret = t;
	return 0;
}

void inode_table_free(struct inode_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < N_BUCKETS; i++)
		for (struct node *n = t->bucket[i]; n;) {
			struct node *next = n->next;
			free(n->path);
			free(n);
			n = next;
		}
	free(t->by_id);
	free(t->free_ids);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static int grow_locked(struct inode_table *t, uint64_t id)
{
	uint64_t cap = t->cap ? t->cap : 1024;
	struct node **b;
	uint64_t *f;

	while (id - 2 >= cap)
		cap *= 2;
	if (cap == t->cap)
		return 0;
	b = realloc(t->by_id, cap * sizeof(*b));
	if (b)
		t->by_id = b;
	f = realloc(t->free_ids, cap * sizeof(*f));
	if (f)
		t->free_ids = f;
	if (!b || !f)
		return -ENOMEM;
	memset(t->by_id + t->cap, 0, (cap - t->cap) * sizeof(*b));
	t->cap = cap;
	return 0;
}

static struct node *by_id_locked(struct inode_table *t, uint64_t id)
{
	if (id < 2 || id - 2 >= t->cap)
		return NULL;
	return t->by_id[id - 2];
}

uint64_t inode_get(struct inode_table *t, const char *path)
{
	uint32_t h = hash(path);
	struct node *n;
	uint64_t id = 0;

	if (!*path)
		return FUSE_ROOT_ID;
	pthread_mutex_lock(&t->lock);
	for (n = t->bucket[h]; n; n = n->next)
		if (strcmp(n->path, path) == 0)
			break;
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n || !(n->path = strdup(path)))
			goto fail;
		if (t->n_free > 0)
			n->id = t->free_ids[--t->n_free];
		else {
			if (grow_locked(t, t->next_id) < 0)
				goto fail;
			n->id = t->next_id++;
		}
		t->by_id[n->id - 2] = n;
		n->next = t->bucket[h];
		t->bucket[h] = n;
		t->count++;
		if (t->log)
			t->log(n->id, n->path, t->log_userdata);
	}
	n->nlookup++;
	id = n->id;
	pthread_mutex_unlock(&t->lock);
	return id;
fail:
	if (n)
		free(n->path);
	free(n);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

char *inode_path(struct inode_table *t, uint64_t nodeid)
{
	struct node *n;
	char *p = NULL;

	if (nodeid == FUSE_ROOT_ID)
		return strdup("");
	pthread_mutex_lock(&t->lock);
	n = by_id_locked(t, nodeid);
	if (n)
		p = strdup(n->path);
	pthread_mutex_unlock(&t->lock);
	return p;
}

void inode_forget(struct inode_table *t, uint64_t nodeid, uint64_t nlookup)
{
	struct node *n;

	pthread_mutex_lock(&t->lock);
	n = by_id_locked(t, nodeid);
	if (n) {
		n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
		if (n->nlookup == 0) {
			for (struct node **p = &t->bucket[hash(n->path)]; *p; p = &(*p)->next)
				if (*p == n) {
					*p = n->next;
					break;
				}
			t->by_id[nodeid - 2] = NULL;
			t->free_ids[t->n_free++] = nodeid;
			t->count--;
			free(n->path);
			free(n);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

unsigned inode_count(struct inode_table *t)
{
	unsigned n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void inode_table_set_log(struct inode_table *t,
			 void (*log)(uint64_t id, const char *path, void *userdata), void *userdata)
{
	pthread_mutex_lock(&t->lock);
	t->log = log;
	t->log_userdata = userdata;
	pthread_mutex_unlock(&t->lock);
}

static void unhash_locked(struct inode_table *t, struct node *n)
{
	for (struct node **p = &t->bucket[hash(n->path)]; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			return;
		}
}

int inode_restore(struct inode_table *t, uint64_t nodeid, const char *path)
{
	uint32_t h = hash(path);
	struct node *n, *old;
	int r = -ENOMEM;

	if (nodeid < 2 || nodeid > UINT32_MAX || !*path)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	if (grow_locked(t, nodeid) < 0)
		goto out;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->path = strdup(path))) {
		free(n);
		goto out;
	}
	/* The id was handed out again after a FORGET: the earlier node is gone. */
	old = t->by_id[nodeid - 2];
	if (old) {
		unhash_locked(t, old);
		free(old->path);
		free(old);
		t->count--;
	}
	/* The path got a new id after a FORGET: lookups get the newest, and the older id
	 * keeps its path for the kernel that may still hold it. */
	for (old = t->bucket[h]; old; old = old->next)
		if (strcmp(old->path, path) == 0) {
			unhash_locked(t, old);
			break;
		}
	n->id = nodeid;
	/* The kernel's count is unknown; its FORGET, whatever it says, drops the node. */
	n->nlookup = 1;
	t->by_id[nodeid - 2] = n;
	n->next = t->bucket[h];
	t->bucket[h] = n;
	t->count++;
	if (t->next_id <= nodeid)
		t->next_id = nodeid + 1;
	r = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return r;
}
