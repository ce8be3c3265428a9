/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container.h"
#include "container/saved.h"
#include "nsenter/creds.h"
#include "util/fileio.h"
#include "util/macro.h"

struct kv {
	struct kv *next;
	char *key;
	char *value;
};

struct container {
	atomic_uint refs;
	struct container *next; /* registry list */
	struct container_id id;
	uint64_t serial;
	pid_t init_pid;
	int init_pidfd;
	uint64_t init_start;
	struct id_map uid_map, gid_map;
	bool released;

	pthread_mutex_t lock;
	struct kv *values;
	unsigned n_values;
	_Atomic uint64_t quota_used[_CONTAINER_QUOTA_MAX];
	void *slot[CONTAINER_SLOTS_MAX];
	void (*slot_free[CONTAINER_SLOTS_MAX])(void *);
};

struct container_registry {
	pthread_mutex_t lock;
	struct container *list;
	unsigned count;
	uint64_t next_serial;
	container_release_fn on_release;
	void *userdata;
	int epfd;
	int stopfd;
	pthread_t watcher;
	bool watcher_running;
};

static uint64_t host_ino[_NS_TYPE_MAX];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void load_host_namespaces(void)
{
	/* The daemon's own namespaces are "the host": everything else is a container. */
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		(void)ns_get_inode(getpid(), t, &host_ino[t]);
}

/* Walks a user or pid namespace up to the one just below the host's. 1 if fd is below
 * the host's (with *ret its topmost ancestor there), 0 if fd is the host's. Closes fd. */
static int topmost_below_host(int fd, enum ns_type t, uint64_t *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int r = negative_errno();
		safe_close(fd);
		return r;
	}
	if (st.st_ino == host_ino[t]) {
		safe_close(fd);
		return 0;
	}
	for (int depth = 0; depth < 64; depth++) {
		struct stat pst;
		int p = ioctl(fd, NS_GET_PARENT);

		if (p < 0) {
			/* EPERM: the parent is out of our sight, so this is as high as a
			 * container's namespaces go from here. */
			safe_close(fd);
			*ret = st.st_ino;
			return 1;
		}
		if (fstat(p, &pst) < 0 || pst.st_ino == host_ino[t]) {
			safe_close(p);
			safe_close(fd);
			*ret = st.st_ino;
			return 1;
		}
		safe_close(fd);
		fd = p;
		st = pst;
	}
	safe_close(fd);
	return -ELOOP;
}

int container_caller_made_by_host_root(pid_t pid, uid_t uid)
{
	char path[64];
	uid_t owner;
	int fd, r;

	pthread_once(&host_once, load_host_namespaces);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	for (int depth = 0;; depth++) {
		struct stat st;
		int p;

		if (fstat(fd, &st) < 0 || depth >= 64) {
			r = depth >= 64 ? -ELOOP : negative_errno();
			safe_close(fd);
			return r;
		}
		if (st.st_ino == host_ino[NS_USER]) {
			safe_close(fd);
			if (uid == 0)
				return 1;
			/* Without a user namespace of its own, a host user cannot make any
			 * namespace: one that is not the host's was made by the host's root. */
			for (int t = 0; t < _NS_TYPE_MAX; t++) {
				uint64_t ino;

				if (t != NS_USER && ns_get_inode(pid, t, &ino) == 0 &&
				    ino != host_ino[t])
					return 1;
			}
			return 0;
		}
		p = ioctl(fd, NS_GET_PARENT);
		if (p < 0 || (fstat(p, &st) == 0 && st.st_ino == host_ino[NS_USER])) {
			safe_close(p);
			break;
		}
		safe_close(fd);
		fd = p;
	}
	/* The topmost user namespace below the host's: the kernel recorded who made it. */
	r = ioctl(fd, NS_GET_OWNER_UID, &owner) < 0 ? negative_errno() : owner == 0;
	safe_close(fd);
	return r;
}

int container_identify(pid_t pid, struct container_id *ret)
{
	static const enum ns_type flat[] = {NS_MNT, NS_NET, NS_UTS, NS_IPC};
	static const enum ns_type tree[] = {NS_USER, NS_PID};
	char path[64];

	pthread_once(&host_once, load_host_namespaces);
	for (size_t i = 0; i < ELEMENTSOF(tree); i++) {
		uint64_t ino;
		int fd, r;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns_type_to_string(tree[i]));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? -ESRCH : negative_errno();
		r = topmost_below_host(fd, tree[i], &ino);
		if (r < 0)
			return r;
		if (r > 0) {
			*ret = (struct container_id){tree[i], ino};
			return 0;
		}
	}
	for (size_t i = 0; i < ELEMENTSOF(flat); i++) {
		uint64_t ino;
		int r = ns_get_inode(pid, flat[i], &ino);

		if (r < 0)
			return r == -ENOENT ? -ESRCH : r;
		if (ino != host_ino[flat[i]]) {
			*ret = (struct container_id){flat[i], ino};
			return 0;
		}
	}
	*ret = (struct container_id){_NS_TYPE_MAX, 0};
	return 0;
}

static bool id_equal(const struct container_id *a, const struct container_id *b)
{
	return a->type == b->type && a->ino == b->ino;
}

#ifndef NS_GET_TGID_FROM_PIDNS
#define NS_GET_TGID_FROM_PIDNS _IOR(NSIO, 0x7, int)
#endif

/* Host pid of pid 1 of pid's topmost pid namespace below the host's; -ENOENT if pid is in
 * the host's pid namespace. */
static pid_t pidns_init(pid_t pid)
{
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0 || st.st_ino == host_ino[NS_PID]) {
		safe_close(fd);
		return -ENOENT;
	}
	for (int depth = 0; depth < 64; depth++) {
		struct stat pst;
		int p = ioctl(fd, NS_GET_PARENT);

		if (p < 0)
			break;
		if (fstat(p, &pst) < 0 || pst.st_ino == host_ino[NS_PID]) {
			safe_close(p);
			break;
		}
		safe_close(fd);
		fd = p;
	}
	/* Linux >= 6.10 translates a namespace's pid into ours. */
	pid = ioctl(fd, NS_GET_TGID_FROM_PIDNS, 1);
	if (pid < 0)
		pid = negative_errno();
	safe_close(fd);
	return pid;
}

/*
 * Without a pid namespace of its own, a container's init is the oldest process directly
 * in its identifying namespace (the creator of its user namespace, say): a process that
 * entered later (nsenter, docker exec) is younger, whoever asks first.
 */
static pid_t oldest_in(const struct container_id *id, pid_t fallback)
{
	uint64_t best_start = UINT64_MAX;
	pid_t best = fallback;
	struct dirent *de;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return fallback;
	while ((de = readdir(d))) {
		uint64_t ino, start;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (ns_get_inode((pid_t)pid, id->type, &ino) < 0 || ino != id->ino)
			continue;
		if (ns_pid_start_time((pid_t)pid, &start) < 0)
			continue;
		if (start < best_start) {
			best_start = start;
			best = (pid_t)pid;
		}
	}
	closedir(d);
	return best;
}

/* The container's init: pid 1 of its topmost pid namespace where it has one, else the
 * oldest process in its namespace. */
static pid_t find_init(pid_t pid, const struct container_id *id)
{
	pid_t init;

	if (id->type == _NS_TYPE_MAX)
		return 1;
	init = pidns_init(pid);
	if (init > 0)
		return init;
	return oldest_in(id, pid);
}

int container_find_init(pid_t pid, bool scan, pid_t *ret)
{
	struct container_id id;
	pid_t init;
	int r;

	r = container_identify(pid, &id);
	if (r < 0)
		return r;
	init = scan ? find_init(pid, &id) : id.type == _NS_TYPE_MAX ? 1 : pidns_init(pid);
	if (init < 0)
		return init;
	*ret = init;
	return 0;
}

static void load_maps(struct container *c)
{
	_cleanup_free_ char *u = NULL, *g = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/uid_map", c->init_pid);
	if (read_full_file(path, &u, NULL) < 0 || id_map_parse(u, &c->uid_map) < 0)
		c->uid_map = (struct id_map){1, {{0, 0, UINT32_MAX}}};
	snprintf(path, sizeof(path), "/proc/%d/gid_map", c->init_pid);
	if (read_full_file(path, &g, NULL) < 0 || id_map_parse(g, &c->gid_map) < 0)
		c->gid_map = (struct id_map){1, {{0, 0, UINT32_MAX}}};
}

static uint32_t map_to_host(const struct id_map *m, uint32_t inside)
{
	for (uint32_t i = 0; i < m->n; i++) {
		const struct id_extent *e = &m->extent[i];
		if (inside >= e->first && inside - e->first < e->count)
			return e->lower_first + (inside - e->first);
	}
	return 65534;
}

uid_t container_uid_to_host(const struct container *c, uint32_t inside)
{
	return map_to_host(&c->uid_map, inside);
}

gid_t container_gid_to_host(const struct container *c, uint32_t inside)
{
	return map_to_host(&c->gid_map, inside);
}

uid_t container_root_uid(const struct container *c)
{
	return container_uid_to_host(c, 0);
}

gid_t container_root_gid(const struct container *c)
{
	return container_gid_to_host(c, 0);
}

struct container *container_ref(struct container *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void container_unref(struct container *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (struct kv *kv = c->values; kv;) {
		struct kv *next = kv->next;
		free(kv->key);
		free(kv->value);
		free(kv);
		kv = next;
	}
	for (int s = 0; s < CONTAINER_SLOTS_MAX; s++)
		if (c->slot[s] && c->slot_free[s])
			c->slot_free[s](c->slot[s]);
	safe_close(c->init_pidfd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool container_is_host(const struct container *c)
{
	return c->id.type == _NS_TYPE_MAX;
}

uint64_t container_serial(const struct container *c)
{
	return c->serial;
}

const struct container_id *container_get_id(const struct container *c)
{
	return &c->id;
}

pid_t container_init_pid(const struct container *c)
{
	return c->init_pid;
}

uint64_t container_init_start_ticks(const struct container *c)
{
	return c->init_start;
}

int container_value_get(struct container *c, const char *key, char *buf, size_t size)
{
	int r = -ENOENT;

	pthread_mutex_lock(&c->lock);
	for (struct kv *kv = c->values; kv; kv = kv->next) {
		if (strcmp(kv->key, key) == 0) {
			r = snprintf(buf, size, "%s", kv->value) >= (int)size ? -ENOBUFS : 0;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Under c->lock, so that saves of one container land in the order of its writes. A value
 * that cannot be saved still holds until a restart. */
static void save_locked(struct container *c)
{
	const char *keys[256], *values[256];
	size_t n = 0;

	if (!saved_enabled() || container_is_host(c))
		return;
	for (struct kv *kv = c->values; kv && n < ELEMENTSOF(keys); kv = kv->next) {
		keys[n] = kv->key;
		values[n++] = kv->value;
	}
	(void)saved_store(&c->id, c->init_pid, c->init_start, keys, values, n);
}

static int load_value(const char *key, const char *value, void *userdata)
{
	return container_value_set(userdata, key, value);
}

int container_value_set(struct container *c, const char *key, const char *value)
{
	char *v = strdup(value);
	struct kv *kv;

	if (!v)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	for (kv = c->values; kv; kv = kv->next) {
		if (strcmp(kv->key, key) == 0) {
			free(kv->value);
			kv->value = v;
			save_locked(c);
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
	}
	kv = calloc(1, sizeof(*kv));
	if (!kv || !(kv->key = strdup(key))) {
		pthread_mutex_unlock(&c->lock);
		free(kv);
		free(v);
		return -ENOMEM;
	}
	kv->value = v;
	kv->next = c->values;
	c->values = kv;
	c->n_values++;
	save_locked(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

unsigned container_value_count(struct container *c)
{
	unsigned n;

	pthread_mutex_lock(&c->lock);
	n = c->n_values;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static struct {
	uint64_t per_container, total;
	_Atomic uint64_t used;
} quotas[_CONTAINER_QUOTA_MAX] = {
    [CONTAINER_QUOTA_FILES] = {CONTAINER_DEFAULT_MAX_FILES, CONTAINER_DEFAULT_MAX_FILES_TOTAL},
    [CONTAINER_QUOTA_SNAP_BYTES] = {CONTAINER_DEFAULT_MAX_SNAP_MIB << 20,
				    (uint64_t)CONTAINER_DEFAULT_MAX_SNAP_MIB_TOTAL << 20},
};

void container_quota_set_limits(enum container_quota q, uint64_t per_container, uint64_t total)
{
	quotas[q].per_container = per_container;
	quotas[q].total = total;
}

int container_quota_charge(struct container *c, enum container_quota q, uint64_t n)
{
	uint64_t mine, all;

	/* Take first, then check: two charges at once never both slip under a limit. */
	mine = atomic_fetch_add(&c->quota_used[q], n) + n;
	if (quotas[q].per_container && mine > quotas[q].per_container) {
		atomic_fetch_sub(&c->quota_used[q], n);
		return q == CONTAINER_QUOTA_FILES ? -EMFILE : -ENOMEM;
	}
	all = atomic_fetch_add(&quotas[q].used, n) + n;
	if (quotas[q].total && all > quotas[q].total) {
		atomic_fetch_sub(&quotas[q].used, n);
		atomic_fetch_sub(&c->quota_used[q], n);
		return q == CONTAINER_QUOTA_FILES ? -ENFILE : -ENOMEM;
	}
	return 0;
}

void container_quota_uncharge(struct container *c, enum container_quota q, uint64_t n)
{
	atomic_fetch_sub(&c->quota_used[q], n);
	atomic_fetch_sub(&quotas[q].used, n);
}

uint64_t container_quota_used(const struct container *c, enum container_quota q)
{
	return atomic_load(c ? &c->quota_used[q] : &quotas[q].used);
}

/* The slot's index, registering it on first use; -ENOSPC when every slot is taken. */
static int slot_index(struct container_slot *s)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static unsigned n;
	unsigned i = atomic_load(&s->index);

	if (i)
		return (int)i - 1;
	pthread_mutex_lock(&lock);
	i = atomic_load(&s->index);
	if (!i && n < CONTAINER_SLOTS_MAX) {
		i = ++n;
		atomic_store(&s->index, i);
	}
	pthread_mutex_unlock(&lock);
	return i ? (int)i - 1 : -ENOSPC;
}

void *container_slot_get(struct container *c, struct container_slot *s)
{
	int i = slot_index(s);
	void *p;

	if (i < 0)
		return NULL;
	pthread_mutex_lock(&c->lock);
	p = c->slot[i];
	pthread_mutex_unlock(&c->lock);
	return p;
}

void *container_slot_set(struct container *c, struct container_slot *s, void *p)
{
	int i = slot_index(s);
	void *cur = NULL;

	if (i >= 0) {
		pthread_mutex_lock(&c->lock);
		if (!c->slot[i]) {
			c->slot[i] = p;
			c->slot_free[i] = s->free_fn;
		}
		cur = c->slot[i];
		pthread_mutex_unlock(&c->lock);
	}
	if (cur != p && s->free_fn)
		s->free_fn(p);
	return cur;
}

/* Under reg->lock. */
static void registry_remove_locked(struct container_registry *reg, struct container *c)
{
	for (struct container **p = &reg->list; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			reg->count--;
			break;
		}
	}
	c->released = true;
	if (c->init_pidfd >= 0)
		(void)epoll_ctl(reg->epfd, EPOLL_CTL_DEL, c->init_pidfd, NULL);
}

static bool init_alive(const struct container *c);

static void release(struct container_registry *reg, struct container *c)
{
	/* Its init is gone: nothing may ever get these values again. (A daemon that stops
	 * releases live containers too: their values wait for the next one.) */
	if (!container_is_host(c) && !init_alive(c))
		saved_remove(&c->id, c->init_pid, c->init_start);
	if (reg->on_release)
		reg->on_release(c, reg->userdata);
	container_unref(c); /* the registry's reference */
}

static bool listed_locked(struct container_registry *reg, const struct container *c)
{
	for (struct container *l = reg->list; l; l = l->next)
		if (l == c)
			return true;
	return false;
}

static void *watch_main(void *arg)
{
	struct container_registry *reg = arg;

	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(reg->epfd, ev, ELEMENTSOF(ev), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct container *c = ev[i].data.ptr;

			if (!c)
				return NULL; /* stopfd */
			pthread_mutex_lock(&reg->lock);
			/* The sweep may have released c, and freed it, since epoll_wait() returned
			 * its event: only a listed container is touched, and only if its init is
			 * gone (the address may be a new container's by now). */
			if (!listed_locked(reg, c) || init_alive(c)) {
				pthread_mutex_unlock(&reg->lock);
				continue;
			}
			registry_remove_locked(reg, c);
			pthread_mutex_unlock(&reg->lock);
			release(reg, c);
		}
	}
	return NULL;
}

int container_registry_new(container_release_fn on_release, void *userdata,
			   struct container_registry **ret)
{
	struct container_registry *reg;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	int r;

	pthread_once(&host_once, load_host_namespaces);
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	pthread_mutex_init(&reg->lock, NULL);
	reg->on_release = on_release;
	reg->userdata = userdata;
	reg->next_serial = 1;
	reg->epfd = epoll_create1(EPOLL_CLOEXEC);
	reg->stopfd = eventfd(0, EFD_CLOEXEC);
	if (reg->epfd < 0 || reg->stopfd < 0 ||
	    epoll_ctl(reg->epfd, EPOLL_CTL_ADD, reg->stopfd, &ev) < 0) {
		r = negative_errno();
		container_registry_free(reg);
		return r;
	}
	r = -pthread_create(&reg->watcher, NULL, watch_main, reg);
	if (r < 0) {
		container_registry_free(reg);
		return r;
	}
	reg->watcher_running = true;
	*ret = reg;
	return 0;
}

void container_registry_free(struct container_registry *reg)
{
	if (!reg)
		return;
	if (reg->watcher_running) {
		uint64_t one = 1;
		if (write(reg->stopfd, &one, sizeof(one)) < 0)
			pthread_cancel(reg->watcher);
		pthread_join(reg->watcher, NULL);
	}
	while (reg->list) {
		struct container *c = reg->list;
		registry_remove_locked(reg, c);
		release(reg, c);
	}
	safe_close(reg->epfd);
	safe_close(reg->stopfd);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/* Whether c's init still runs: its pidfd polls readable once it exited; without pidfds
 * (valgrind, old kernels), the same pid must still have the same start time. The
 * housekeeping sweep is then what releases containers. */
static bool init_alive(const struct container *c)
{
	struct pollfd p = {.fd = c->init_pidfd, .events = POLLIN};
	uint64_t start;

	if (c->init_pidfd >= 0)
		return poll(&p, 1, 0) == 0;
	return ns_pid_start_time(c->init_pid, &start) == 0 && start == c->init_start;
}

/*
 * A listed container whose init has exited is nobody's any more, even before the watch
 * thread drops it: unless the init pinned it (a pid namespace of the container's own),
 * the namespace of its id may be gone already and its inode another container's.
 */
static struct container *find_locked(struct container_registry *reg, const struct container_id *id)
{
	for (struct container *c = reg->list; c; c = c->next)
		if (id_equal(&c->id, id) && init_alive(c))
			return c;
	return NULL;
}

/*
 * Most callers sit directly in their container's topmost user (or pid) namespace: one
 * or two ns_get_inode() calls find a registered container without walking namespace
 * parents. A registered id is always a topmost namespace, and while its init lives the
 * inode cannot be reused.
 */
static struct container *lookup_fast(struct container_registry *reg, pid_t pid)
{
	struct container_id id = {NS_USER, 0};
	struct container *c;

	if (ns_get_inode(pid, NS_USER, &id.ino) < 0)
		return NULL;
	if (id.ino == host_ino[NS_USER]) {
		id.type = NS_PID;
		if (ns_get_inode(pid, NS_PID, &id.ino) < 0 || id.ino == host_ino[NS_PID])
			return NULL;
	}
	pthread_mutex_lock(&reg->lock);
	c = find_locked(reg, &id); /* only a container whose init runs */
	if (c)
		container_ref(c);
	pthread_mutex_unlock(&reg->lock);
	return c;
}

int container_registry_get(struct container_registry *reg, pid_t pid, struct container **ret)
{
	struct container_id id;
	struct container *c, *other;
	int r;

	pthread_once(&host_once, load_host_namespaces);
	c = lookup_fast(reg, pid);
	if (c) {
		*ret = c;
		return 0;
	}
	r = container_identify(pid, &id);
	if (r < 0)
		return r;

	pthread_mutex_lock(&reg->lock);
	c = find_locked(reg, &id);
	if (c)
		container_ref(c);
	pthread_mutex_unlock(&reg->lock);
	if (c) {
		*ret = c;
		return 0;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	atomic_init(&c->refs, 1);
	pthread_mutex_init(&c->lock, NULL);
	c->id = id;
	c->init_pid = find_init(pid, &id);
	c->init_pidfd = ns_pidfd_open(c->init_pid);
	if (ns_pid_start_time(c->init_pid, &c->init_start) < 0 ||
	    (c->init_pidfd < 0 && c->init_pidfd != -ENOSYS)) {
		/* The init went away under us: the container is being torn down. */
		container_unref(c);
		return -ESRCH;
	}
	load_maps(c);
	/* What this very container wrote before procbox restarted. */
	if (!container_is_host(c))
		(void)saved_load(&c->id, c->init_pid, c->init_start, load_value, c);

	pthread_mutex_lock(&reg->lock);
	other = find_locked(reg, &id);
	if (other) {
		container_ref(other);
		pthread_mutex_unlock(&reg->lock);
		container_unref(c);
		*ret = other;
		return 0;
	}
	c->serial = reg->next_serial++;
	if (!container_is_host(c) && c->init_pidfd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(reg->epfd, EPOLL_CTL_ADD, c->init_pidfd, &ev) < 0) {
			r = negative_errno();
			pthread_mutex_unlock(&reg->lock);
			container_unref(c);
			return r;
		}
	}
	c->next = reg->list;
	reg->list = c;
	reg->count++;
	container_ref(c); /* the registry's */
	pthread_mutex_unlock(&reg->lock);
	*ret = c;
	return 0;
}

unsigned container_registry_count(struct container_registry *reg)
{
	unsigned n;

	pthread_mutex_lock(&reg->lock);
	n = reg->count;
	pthread_mutex_unlock(&reg->lock);
	return n;
}

int container_registry_foreach(struct container_registry *reg,
			       void (*fn)(struct container *c, void *userdata), void *userdata)
{
	_cleanup_free_ struct container **list = NULL;
	size_t n = 0;

	pthread_mutex_lock(&reg->lock);
	list = calloc(reg->count ? reg->count : 1, sizeof(*list));
	if (!list) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOMEM;
	}
	for (struct container *c = reg->list; c && n < reg->count; c = c->next)
		if (!c->released)
			list[n++] = container_ref(c);
	pthread_mutex_unlock(&reg->lock);
	/* Outside the lock: fn may take its time, and may look containers up itself. */
	for (size_t i = 0; i < n; i++) {
		fn(list[i], userdata);
		container_unref(list[i]);
	}
	return (int)n;
}

void container_registry_sweep(struct container_registry *reg)
{
	for (;;) {
		struct container *dead = NULL;

		pthread_mutex_lock(&reg->lock);
		for (struct container *c = reg->list; c; c = c->next) {
			if (!container_is_host(c) && !init_alive(c)) {
				dead = c;
				break;
			}
		}
		if (dead)
			registry_remove_locked(reg, dead);
		pthread_mutex_unlock(&reg->lock);
		if (!dead)
			return;
		release(reg, dead);
	}
}
