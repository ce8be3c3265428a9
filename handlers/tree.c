/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>

#include "handlers/families.h"
#include "handlers/procsys.h"
#include "handlers/tree.h"
#include "util/array.h"
#include "util/macro.h"

struct tnode {
	char *name;
	const struct handler *h;
	struct tnode **child;
	size_t n_child, cap_child;
};

struct pb_dir {
	struct tree_dirent *e;
	size_t n, cap;
};

static struct tnode root;

static struct tnode *child_get(struct tnode *n, const char *name, size_t len, bool create)
{
	struct tnode *c;

	for (size_t i = 0; i < n->n_child; i++)
		if (strlen(n->child[i]->name) == len && memcmp(n->child[i]->name, name, len) == 0)
			return n->child[i];
	if (!create)
		return NULL;
	if (ARRAY_GROW(n->child, n->cap_child, n->n_child, 4) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strndup(name, len))) {
		free(c);
		return NULL;
	}
	n->child[n->n_child++] = c;
	return c;
}

static int tree_add(const struct handler *h)
{
	struct tnode *n = &root;
	const char *p = h->path;

	while (*p) {
		const char *e = strchrnul(p, '/');
		n = child_get(n, p, (size_t)(e - p), true);
		if (!n)
			return -ENOMEM;
		p = *e ? e + 1 : e;
	}
	if (n->h)
		return -EEXIST;
	n->h = h;
	return 0;
}

/*
 * An emulated /proc/sys entry exists where the host's kernel has the file: a container
 * must not see sysctls (kernel/sysrq without CONFIG_MAGIC_SYSRQ, yama/ptrace_scope without Yama)
 * that its kernel does not have, any more than a plain namespace would.
 */
static bool host_has(const struct handler *h)
{
	char kpath[4096];

	if (strncmp(h->path, "proc/sys/", 9) != 0 || h->subtree)
		return true;
	snprintf(kpath, sizeof(kpath), "/%s", h->path);
	return access(kpath, F_OK) == 0;
}

/* Fixed proc/sys entries of other families than the passthrough: emulations of values that
 * some kernels keep host-wide. */
static bool emulates_procsys(const struct handler_family *f, const struct handler *h)
{
	return f->table != procsys_handlers && !h->subtree && !h->namespaced_too &&
	       strncmp(h->path, "proc/sys/", 9) == 0 && S_ISREG(h->mode);
}

/*
 * Marks the emulated entries that the running kernel keeps per namespace (pid_max per pid
 * namespace since 6.14, somaxconn per netns): those are the kernel's in the caller's
 * namespace, served by the passthrough; emulation stays for kernels that do not.
 */
static int probe_namespaced(bool **ret)
{
	_cleanup_free_ const char **rels = NULL;
	_cleanup_free_ bool *ns = NULL;
	size_t n = 0, k = 0, j = 0, total = 0;
	int r;

	for (size_t f = 0; f < n_handler_families; f++)
		total += *handler_families[f].n;
	rels = calloc(total + 1, sizeof(*rels));
	ns = calloc(total + 1, sizeof(*ns));
	*ret = calloc(total + 1, sizeof(**ret));
	if (!rels || !ns || !*ret)
		return -ENOMEM;
	for (size_t f = 0; f < n_handler_families; f++)
		for (size_t i = 0; i < *handler_families[f].n; i++)
			if (emulates_procsys(&handler_families[f], &handler_families[f].table[i]))
				rels[n++] = handler_families[f].table[i].path + 9;
	r = procsys_probe_namespaced(rels, n, ns);
	if (r < 0)
		return r;
	for (size_t f = 0; f < n_handler_families; f++)
		for (size_t i = 0; i < *handler_families[f].n; i++, k++)
			if (emulates_procsys(&handler_families[f], &handler_families[f].table[i]))
				(*ret)[k] = ns[j++];
	return 0;
}

int tree_init(void)
{
	_cleanup_free_ bool *namespaced = NULL;
	size_t k = 0;
	int r;

	for (size_t f = 0; f < n_handler_families; f++)
		if (handler_families[f].init) {
			r = handler_families[f].init();
			if (r < 0)
				return r;
		}
	r = probe_namespaced(&namespaced);
	if (r < 0)
		return r;
	for (size_t f = 0; f < n_handler_families; f++)
		for (size_t i = 0; i < *handler_families[f].n; i++, k++) {
			const struct handler *h = &handler_families[f].table[i];

			if (!host_has(h) || namespaced[k])
				continue;
			r = tree_add(h);
			if (r < 0)
				return r;
		}
	return 0;
}

int tree_init_table(const struct handler *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = tree_add(&rows[i]);

		if (r < 0) {
			tree_free();
			return r;
		}
	}
	return 0;
}

static void tnode_free(struct tnode *n)
{
	for (size_t i = 0; i < n->n_child; i++) {
		tnode_free(n->child[i]);
		free(n->child[i]);
	}
	free(n->child);
	free(n->name);
	*n = (struct tnode){0};
}

void tree_free(void)
{
	tnode_free(&root);
	for (size_t f = 0; f < n_handler_families; f++)
		if (handler_families[f].fini)
			handler_families[f].fini();
}

bool tree_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= 255 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       !strchr(name, '/');
}

/*
 * Resolves path: *ret_node is the trie node for the whole path (NULL if the trie ends
 * above it); *ret_h is the deepest handler at the path or a subtree handler above it.
 */
static void resolve(const char *path, struct tnode **ret_node, const struct handler **ret_h)
{
	struct tnode *n = &root;
	const struct handler *h = NULL;
	const char *p = path;

	while (*p) {
		const char *e = strchrnul(p, '/');

		if (n->h && n->h->subtree)
			h = n->h;
		n = child_get(n, p, (size_t)(e - p), false);
		if (!n)
			break;
		p = *e ? e + 1 : e;
	}
	if (n && n->h)
		h = n->h;
	*ret_node = n;
	*ret_h = h;
}

void pb_default_stat(const struct pb_caller *c, mode_t mode, struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	*st = (struct stat){
	    .st_mode = mode,
	    .st_nlink = S_ISDIR(mode) ? 2 : 1,
	    .st_uid = c->container ? container_root_uid(c->container) : 0,
	    .st_gid = c->container ? container_root_gid(c->container) : 0,
	    .st_size = S_ISREG(mode) ? PB_FILE_SIZE : 0,
	    .st_blksize = 4096,
	    .st_atim = now,
	    .st_mtim = now,
	    .st_ctim = now,
	};
}

bool pb_caller_is_root(const struct pb_caller *c)
{
	return c->container && c->uid == container_root_uid(c->container);
}

bool pb_caller_is_host(const struct pb_caller *c)
{
	return !c->container || container_is_host(c->container);
}

int pb_caller_ns_is_host(const struct pb_caller *c, enum ns_type t)
{
	return ns_is_host(c->pid, t);
}

const char *pb_kernel_path(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "/%s", path);
	return buf;
}

bool tree_entry_shared(const char *path)
{
	const struct handler *h;
	struct tnode *n;

	resolve(path, &n, &h);
	/* A fixed entry of the table, or a folder leading to one outside any subtree:
	 * every caller has it. */
	if (n && n->h && !n->h->subtree)
		return true;
	if (h && h->subtree)
		return h->shared ? h->shared(path) : false;
	return n != NULL;
}

int tree_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	const struct handler *h;
	struct tnode *n;

	resolve(path, &n, &h);
	if (h && h->getattr && (!n || n->h == h || !n->h))
		return h->getattr(c, path, st);
	if (n && n->h) {
		if (n->h->exists && !n->h->exists(n->h))
			return -ENOENT;
		pb_default_stat(c, n->h->mode, st);
		if (S_ISREG(n->h->mode) && n->h->size > 0)
			st->st_size = n->h->size;
		return 0;
	}
	if (n) {
		pb_default_stat(c, S_IFDIR | 0555, st);
		return 0;
	}
	return -ENOENT;
}

int pb_dir_add(struct pb_dir *d, const char *name, mode_t type)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->e[i].name, name) == 0)
			return 0;
	if (ARRAY_GROW(d->e, d->cap, d->n, 32) < 0)
		return -ENOMEM;
	d->e[d->n].name = strdup(name);
	if (!d->e[d->n].name)
		return -ENOMEM;
	d->e[d->n++].type = type & S_IFMT;
	return 0;
}

void tree_dir_free(struct tree_dirent *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i].name);
	free(d);
}

int tree_readdir(const struct pb_caller *c, const char *path, struct tree_dirent **ret,
		 size_t *ret_n)
{
	struct pb_dir d = {0};
	const struct handler *h;
	struct tnode *n;
	int r = 0;

	resolve(path, &n, &h);
	if (!n && !h)
		return -ENOENT;
	if (h && h->readdir && (!n || !n->h || n->h == h)) {
		r = h->readdir(c, path, &d);
		if (r < 0) {
			tree_dir_free(d.e, d.n);
			return r;
		}
	} else if (n && n->h && !S_ISDIR(n->h->mode)) {
		return -ENOTDIR;
	}
	for (size_t i = 0; n && i < n->n_child && r >= 0; i++) {
		const struct tnode *ch = n->child[i];
		r = pb_dir_add(&d, ch->name, ch->h ? ch->h->mode : S_IFDIR);
	}
	if (r < 0) {
		tree_dir_free(d.e, d.n);
		return r;
	}
	*ret = d.e;
	*ret_n = d.n;
	return 0;
}

int tree_readlink(const struct pb_caller *c, const char *path, char *buf, size_t size)
{
	const struct handler *h;
	struct tnode *n;

	resolve(path, &n, &h);
	if (h && h->readlink)
		return h->readlink(c, path, buf, size);
	return n || h ? -EINVAL : -ENOENT;
}

static struct pb_file *pb_file_new(const struct handler *h, const char *path, int flags)
{
	struct pb_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->h = h;
	f->flags = flags;
	f->fd = -EBADF;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

int tree_open(const struct pb_caller *c, const char *path, int flags, struct pb_file **ret)
{
	const struct handler *h;
	struct pb_file *f;
	struct tnode *n;
	int r;

	resolve(path, &n, &h);
	if (!h) {
		if (n)
			return -EISDIR;
		return -ENOENT;
	}
	if (n && n->h == h && S_ISDIR(h->mode) && !h->subtree)
		return -EISDIR;
	if ((flags & O_ACCMODE) != O_RDONLY && !h->write)
		return -EACCES;

	if (!c->container)
		return -ESRCH;
	r = container_quota_charge(c->container, CONTAINER_QUOTA_FILES, 1);
	if (r < 0)
		return r;
	f = pb_file_new(h, path, flags);
	if (!f) {
		container_quota_uncharge(c->container, CONTAINER_QUOTA_FILES, 1);
		return -ENOMEM;
	}
	f->container = container_ref(c->container);
	f->charged = container_ref(c->container);
	if (h->open) {
		r = h->open(c, f);
		if (r < 0) {
			f->h = NULL; /* nothing to release in the handler */
			tree_release(f);
			return r;
		}
	}
	*ret = f;
	return 0;
}

int tree_open_fast(pid_t pid, struct container *charge, const char *path, int flags,
		   struct pb_file **ret)
{
	const struct handler *h;
	struct tnode *n;
	struct pb_file *f;
	int r;

	if (flags & (O_ACCMODE | O_TRUNC))
		return -EAGAIN;
	resolve(path, &n, &h);
	if (!h || !h->open_fast || !(h->subtree || (n && n->h == h)))
		return -EAGAIN;
	r = container_quota_charge(charge, CONTAINER_QUOTA_FILES, 1);
	if (r < 0)
		return r;
	f = pb_file_new(h, path, flags);
	if (!f) {
		container_quota_uncharge(charge, CONTAINER_QUOTA_FILES, 1);
		return -EAGAIN;
	}
	f->charged = container_ref(charge);
	r = h->open_fast(pid, f);
	if (r < 0) {
		f->h = NULL;
		tree_release(f);
		return -EAGAIN;
	}
	*ret = f;
	return 0;
}

int tree_read(const struct pb_caller *c, struct pb_file *f, char *buf, size_t size, off_t off)
{
	int r = 0;

	if (off < 0)
		return -EINVAL;
	if (f->h->read)
		return f->h->read(c, f, buf, size, off);
	if (!f->h->content)
		return -EINVAL;

	pthread_mutex_lock(&f->lock);
	/* A read at offset 0 takes a fresh snapshot; reads further on continue the same
	 * one, so a reader that reads in pieces sees one consistent content, and one that
	 * seeks back to 0 sees the current values. */
	if (off == 0 || !f->snap_valid) {
		char *s = NULL;
		size_t len = 0;

		r = f->h->content(c, f, &s, &len);
		/* The new snapshot replaces the old one: only what it adds is charged. */
		if (r >= 0 && f->charged && len > f->snap_len) {
			r = container_quota_charge(f->charged, CONTAINER_QUOTA_SNAP_BYTES,
						   len - f->snap_len);
			if (r < 0)
				free(s);
		} else if (r >= 0 && f->charged && len < f->snap_len) {
			container_quota_uncharge(f->charged, CONTAINER_QUOTA_SNAP_BYTES,
						 f->snap_len - len);
		}
		if (r >= 0) {
			free(f->snap);
			f->snap = s;
			f->snap_len = len;
			f->snap_valid = true;
		}
	}
	if (r >= 0) {
		if ((size_t)off >= f->snap_len)
			r = 0;
		else {
			size_t n = MIN(size, f->snap_len - (size_t)off);
			memcpy(buf, f->snap + off, n);
			r = (int)n;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

int tree_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
	       off_t off)
{
	int r;

	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (!f->h->write)
		return -EACCES;
	r = f->h->write(c, f, buf, size, off);
	/* Whatever the write did, the next read starts afresh: a reader that writes
	 * and reads on sees what it wrote, not the snapshot from before. */
	pthread_mutex_lock(&f->lock);
	f->snap_valid = false;
	pthread_mutex_unlock(&f->lock);
	return r;
}

void tree_release(struct pb_file *f)
{
	if (!f)
		return;
	if (f->h && f->h->release)
		f->h->release(f);
	safe_close(f->fd);
	free(f->snap);
	free(f->path);
	if (f->container)
		container_unref(f->container);
	if (f->charged) {
		container_quota_uncharge(f->charged, CONTAINER_QUOTA_SNAP_BYTES, f->snap_len);
		container_quota_uncharge(f->charged, CONTAINER_QUOTA_FILES, 1);
		container_unref(f->charged);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
}
