/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/nsreq.h"
#include "handlers/procsys.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/macro.h"

#define PROCSYS "proc/sys"

/* From the kernel's sysctl registrations: these are per-namespace, everything else under
 * /proc/sys is host-wide. */
static const struct {
	const char *path; /* below proc/sys; a trailing '/' means the whole folder */
	enum ns_type type;
} namespaced[] = {
    {"net/", NS_NET},
    {"kernel/hostname", NS_UTS},
    {"kernel/domainname", NS_UTS},
    {"kernel/shmmax", NS_IPC},
    {"kernel/shmall", NS_IPC},
    {"kernel/shmmni", NS_IPC},
    {"kernel/shm_rmid_forced", NS_IPC},
    {"kernel/msgmax", NS_IPC},
    {"kernel/msgmni", NS_IPC},
    {"kernel/msgmnb", NS_IPC},
    {"kernel/sem", NS_IPC},
    {"kernel/sem_next_id", NS_IPC},
    {"kernel/msg_next_id", NS_IPC},
    {"kernel/shm_next_id", NS_IPC},
    {"fs/mqueue/", NS_IPC},
    {"user/", NS_USER},
    {"kernel/ns_last_pid", NS_PID},
    /* Host-wide, but shown as a pid of the reading task's pid namespace (0 where the task
     * is not in it): read there, never written (check_writable()). */
    {"kernel/cad_pid", NS_PID},
};

/* Entries found per namespace on the running kernel by procsys_probe_namespaced() (pid_max
 * since 6.14), beside the fixed table. Written before any thread, read-only afterwards. */
static struct {
	char *rel;
	enum ns_type type;
} * probed;
static size_t n_probed, cap_probed;

enum ns_type procsys_namespace_of(const char *rel)
{
	for (size_t i = 0; i < ELEMENTSOF(namespaced); i++) {
		const char *p = namespaced[i].path;
		size_t n = strlen(p);

		if (p[n - 1] == '/' ? strncmp(rel, p, n) == 0 : strcmp(rel, p) == 0)
			return namespaced[i].type;
	}
	for (size_t i = 0; i < n_probed; i++)
		if (strcmp(rel, probed[i].rel) == 0)
			return probed[i].type;
	return _NS_TYPE_MAX;
}

/* In the probe's child: which of rels now shows another entry than the host's (another
 * sysctl table: the kernel's per-namespace set, seen through the current task's namespaces
 * at lookup), one that the namespace's root may write. A per-netns copy of a global value
 * (nf_conntrack_max) is read-only outside the host's netns, and stays host-wide here. */
static void probe_stage(int out, const char *const *rels, const struct stat *host, size_t n,
			enum ns_type t)
{
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat here;

		if (host[i].st_ino == 0)
			continue;
		snprintf(path, sizeof(path), "/proc/sys/%s", rels[i]);
		if (stat(path, &here) < 0 || here.st_ino == host[i].st_ino ||
		    !(here.st_mode & S_IWUSR))
			continue;
		dprintf(out, "%zu %d\n", i, (int)t);
	}
}

static _Noreturn void probe_child(int out, const char *const *rels, const struct stat *host,
				  size_t n)
{
	static const struct {
		int flag;
		enum ns_type type;
	} stages[] = {{CLONE_NEWNET, NS_NET}, {CLONE_NEWUTS, NS_UTS}, {CLONE_NEWIPC, NS_IPC}};
	pid_t pid;
	int status;

	for (size_t i = 0; i < ELEMENTSOF(stages); i++) {
		if (unshare(stages[i].flag) < 0)
			_exit(EXIT_FAILURE);
		probe_stage(out, rels, host, n, stages[i].type);
	}
	/* A new pid namespace is the children's: look from one. */
	if (unshare(CLONE_NEWPID) < 0)
		_exit(EXIT_FAILURE);
	pid = fork();
	if (pid < 0)
		_exit(EXIT_FAILURE);
	if (pid == 0) {
		probe_stage(out, rels, host, n, NS_PID);
		_exit(EXIT_SUCCESS);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAILURE);
}

int procsys_probe_namespaced(const char *const *rels, size_t n, bool *ret)
{
	_cleanup_free_ struct stat *host = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ int *fds = NULL;
	int p[2], status, r;
	pid_t pid;

	host = calloc(n ? n : 1, sizeof(*host));
	fds = calloc(n ? n : 1, sizeof(*fds));
	if (!host || !fds)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];

		ret[i] = false;
		snprintf(path, sizeof(path), "/proc/sys/%s", rels[i]);
		/* Held open through the probe, so that a host-wide entry keeps its inode (an
		 * evicted one would come back with a new number and look namespaced). */
		fds[i] = open(path, O_PATH | O_CLOEXEC);
		if (fds[i] < 0 || fstat(fds[i], &host[i]) < 0)
			host[i].st_ino = 0;
	}
	r = pipe2(p, O_CLOEXEC) < 0 ? negative_errno() : 0;
	pid = r < 0 ? -1 : fork();
	if (r >= 0 && pid < 0) {
		r = negative_errno();
		safe_close(p[0]);
		safe_close(p[1]);
	}
	if (pid == 0) {
		safe_close(p[0]);
		probe_child(p[1], rels, host, n);
	}
	for (size_t i = 0; i < n; i++)
		safe_close(fds[i]);
	if (r < 0)
		return r;
	safe_close(p[1]);
	r = read_full_fd(p[0], &text, NULL);
	safe_close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Without namespaces to probe with, everything stays emulated: as before 6.14. */
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		size_t i;
		int t;

		if (sscanf(line, "%zu %d", &i, &t) != 2 || i >= n || ret[i])
			continue;
		if (ARRAY_GROW(probed, cap_probed, n_probed, 8) < 0)
			return -ENOMEM;
		probed[n_probed].rel = strdup(rels[i]);
		if (!probed[n_probed].rel)
			return -ENOMEM;
		probed[n_probed++].type = (enum ns_type)t;
		ret[i] = true;
	}
	return 0;
}

/*
 * Entries below net/ that every network namespace has: those of a fresh one. The rest
 * of net/ (the initial namespace's global sysctls, interfaces' folders) exists only for
 * some callers; everything outside net/ exists for every caller alike.
 */
static char **fresh_net;
static size_t n_fresh_net;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_tree(int out, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		/* /proc/sys has no path this long; one that were would not be listed */
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		dprintf(out, "%s\n", path + strlen("/proc/sys/"));
		if (de->d_type == DT_DIR)
			list_tree(out, path);
	}
	closedir(d);
}

static int procsys_init(void)
{
	_cleanup_free_ char *text = NULL;
	int p[2], status, r;
	size_t n = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0)
		return negative_errno();
	if (pid == 0) {
		safe_close(p[0]);
		/* Runs before the daemon has threads; a child of its own all the same, so
		 * the daemon never changes namespace. */
		if (unshare(CLONE_NEWNET) < 0)
			_exit(EXIT_FAILURE);
		list_tree(p[1], "/proc/sys/net");
		_exit(EXIT_SUCCESS);
	}
	safe_close(p[1]);
	r = read_full_fd(p[0], &text, NULL);
	safe_close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 0; /* nothing under net/ is then shared: slower, still right */
	for (char *c = text; *c; c++)
		n += *c == '\n';
	fresh_net = calloc(n + 1, sizeof(char *));
	if (!fresh_net)
		return -ENOMEM;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		fresh_net[n_fresh_net] = strdup(line);
		if (!fresh_net[n_fresh_net])
			return -ENOMEM;
		n_fresh_net++;
	}
	qsort(fresh_net, n_fresh_net, sizeof(char *), cmp_str);
	return 0;
}

static const char *rel_of(const char *path);

static bool procsys_shared(const char *path)
{
	const char *rel = rel_of(path);

	if (strncmp(rel, "net/", 4) != 0)
		return true;
	return bsearch(&rel, fresh_net, n_fresh_net, sizeof(char *), cmp_str) != NULL;
}

static const char *rel_of(const char *path)
{
	size_t n = strlen(PROCSYS);
	return path[n] == '/' ? path + n + 1 : path + n;
}

/*
 * Writes reach the kernel only for values of a namespace the caller has to itself. A
 * container whose root is the host's uid 0 passes every kernel check on host-wide
 * sysctls, so this refusal is what keeps such writes from reaching the host.
 */
static int check_writable(const struct pb_caller *c, const char *rel)
{
	enum ns_type t = procsys_namespace_of(rel);

	if (t == _NS_TYPE_MAX || strcmp(rel, "kernel/cad_pid") == 0 ||
	    pb_caller_ns_is_host(c, t) != 0)
		return -EACCES;
	return 0;
}

/* UTS values and ns_last_pid are resolved through the task that reads them, at each
 * read: an fd opened in the container and read here would show the host's. */
static bool resolved_at_read(const char *rel)
{
	enum ns_type t = procsys_namespace_of(rel);
	return t == NS_UTS || t == NS_PID;
}

static unsigned mask_for(const char *rel)
{
	return NSREQ_DEFAULT_MASK | (procsys_namespace_of(rel) == NS_PID ? NS_FLAG(NS_PID) : 0);
}

/*
 * Read-only fds of files every credential may read, keyed by the namespace the file
 * follows and its path: opening such a file again, in the same namespace, gives the same
 * reads whoever asks, so no nsenter round trip (nor a read of the caller's credentials)
 * is needed. Writes and files with restricted reads never come from here.
 *
 * An entry of a namespaced file (net/, IPC) serves any caller in that namespace, found
 * from the caller's pid alone (procsys_open_fast()); one of a host-wide file only the
 * container that opened it. Each entry belongs to the container that opened it and goes
 * with it (fd_cache_owner_free()). A key holds the namespace's inode: an fd whose
 * namespace died answers ENOENT, and the read then drops it and asks the slow way
 * (procsys_content()), so a recycled inode never reads a dead namespace's values.
 */
#define FD_CACHE_BUCKETS 1024

struct fd_cache_entry {
	struct fd_cache_entry *next;
	uint64_t ns_ino; /* 0: a host-wide file */
	uint64_t owner;	 /* the serial of the container that opened it */
	int fd;
	char path[];
};

static struct {
	pthread_mutex_t lock;
	unsigned n, max, evict_from;
	struct fd_cache_entry *b[FD_CACHE_BUCKETS];
} fdc = {.lock = PTHREAD_MUTEX_INITIALIZER, .max = PROCSYS_DEFAULT_MAX_FDS};

static atomic_uint_fast64_t fast_hits; /* opens served by procsys_open_fast() */

static unsigned fd_cache_bucket(const char *path, uint64_t ino)
{
	uint64_t h = 1469598103934665603ull ^ ino;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (unsigned)(h % FD_CACHE_BUCKETS);
}

static void fd_cache_entry_free(struct fd_cache_entry *e)
{
	safe_close(e->fd);
	free(e);
}

/* A new fd of the entry for path in namespace ino; owner 0 takes anybody's (namespaced
 * files only). */
static int fd_cache_get(const char *path, uint64_t ino, uint64_t owner)
{
	int fd = -EBADF;

	pthread_mutex_lock(&fdc.lock);
	for (struct fd_cache_entry *e = fdc.b[fd_cache_bucket(path, ino)]; e; e = e->next)
		if (e->ns_ino == ino && (owner == 0 || e->owner == owner) &&
		    strcmp(e->path, path) == 0) {
			fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 3);
			break;
		}
	pthread_mutex_unlock(&fdc.lock);
	return fd;
}

/* Under the lock: drops the first entry of the buckets from evict_from on. */
static void fd_cache_evict_one(void)
{
	for (unsigned i = 0; i < FD_CACHE_BUCKETS; i++) {
		unsigned k = (fdc.evict_from + i) % FD_CACHE_BUCKETS;
		struct fd_cache_entry *e = fdc.b[k];

		if (e) {
			fdc.b[k] = e->next;
			fd_cache_entry_free(e);
			fdc.n--;
			fdc.evict_from = k + 1;
			return;
		}
	}
}

void procsys_set_max_fds(unsigned n)
{
	pthread_mutex_lock(&fdc.lock);
	fdc.max = n;
	while (fdc.n > fdc.max)
		fd_cache_evict_one();
	pthread_mutex_unlock(&fdc.lock);
}

static void fd_cache_put(const char *path, uint64_t ino, uint64_t owner, int fd)
{
	size_t len = strlen(path);
	struct fd_cache_entry *e = malloc(sizeof(*e) + len + 1);
	unsigned k = fd_cache_bucket(path, ino);

	if (!e || fdc.max == 0) {
		free(e);
		return;
	}
	e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (e->fd < 0) {
		free(e);
		return;
	}
	e->ns_ino = ino;
	e->owner = owner;
	memcpy(e->path, path, len + 1);
	pthread_mutex_lock(&fdc.lock);
	/* two opens that missed at once: one entry */
	for (struct fd_cache_entry *o = fdc.b[k]; o; o = o->next)
		if (o->ns_ino == ino && o->owner == owner && strcmp(o->path, path) == 0) {
			pthread_mutex_unlock(&fdc.lock);
			fd_cache_entry_free(e);
			return;
		}
	if (fdc.n >= fdc.max)
		fd_cache_evict_one();
	e->next = fdc.b[k];
	fdc.b[k] = e;
	fdc.n++;
	pthread_mutex_unlock(&fdc.lock);
}

/* Drops the entries that match: those of path in namespace ino, or all of owner's. */
static void fd_cache_drop(const char *path, uint64_t ino, uint64_t owner)
{
	pthread_mutex_lock(&fdc.lock);
	for (unsigned k = path ? fd_cache_bucket(path, ino) : 0; k < FD_CACHE_BUCKETS; k++) {
		for (struct fd_cache_entry **pe = &fdc.b[k]; *pe;) {
			struct fd_cache_entry *e = *pe;
			bool match = path ? e->ns_ino == ino && strcmp(e->path, path) == 0
					  : e->owner == owner;

			if (!match) {
				pe = &e->next;
				continue;
			}
			*pe = e->next;
			fd_cache_entry_free(e);
			fdc.n--;
		}
		if (path)
			break;
	}
	pthread_mutex_unlock(&fdc.lock);
}

void procsys_get_stats(unsigned *ret_fds, uint64_t *ret_fast_hits)
{
	pthread_mutex_lock(&fdc.lock);
	*ret_fds = fdc.n;
	pthread_mutex_unlock(&fdc.lock);
	*ret_fast_hits = atomic_load_explicit(&fast_hits, memory_order_relaxed);
}

/* A container's slot: its entries go when it does. (Also called on the copy that lost a
 * race to fill the slot: the entries then go early, which costs a round trip, no more.) */
static void fd_cache_owner_free(void *p)
{
	uint64_t *serial = p;

	fd_cache_drop(NULL, 0, *serial);
	free(serial);
}

static struct container_slot fd_cache_slot = {.free_fn = fd_cache_owner_free};

static bool fd_cache_own(struct container *c)
{
	uint64_t *serial;

	if (container_slot_get(c, &fd_cache_slot))
		return true;
	serial = malloc(sizeof(*serial));
	if (!serial)
		return false;
	*serial = container_serial(c);
	return container_slot_set(c, &fd_cache_slot, serial) != NULL;
}

/* The namespace inode a read of rel depends on; 0 for host-wide values. */
static int ns_key(pid_t pid, const char *rel, uint64_t *ret)
{
	enum ns_type t = procsys_namespace_of(rel);

	if (t == _NS_TYPE_MAX) {
		*ret = 0;
		return 0;
	}
	return ns_get_inode(pid, t, ret);
}

static int procsys_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	char kpath[PATH_MAX];

	pb_kernel_path(path, kpath, sizeof(kpath));
	return nsreq_stat(c, NSREQ_DEFAULT_MASK, 0, kpath, st);
}

static int procsys_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	char kpath[PATH_MAX];

	pb_kernel_path(path, kpath, sizeof(kpath));
	return nsreq_readdir(c, NSREQ_DEFAULT_MASK, 0, kpath, d);
}

static int procsys_open(const struct pb_caller *c, struct pb_file *f)
{
	const char *rel = rel_of(f->path);
	int acc = f->flags & O_ACCMODE;
	char kpath[PATH_MAX];
	uint64_t ino;
	int r;

	if (acc != O_RDONLY) {
		r = check_writable(c, rel);
		if (r < 0)
			return r;
	}
	if (resolved_at_read(rel)) {
		pb_kernel_path(f->path, kpath, sizeof(kpath));
		/* A permission probe: the caller learns of EACCES at open, as with the
		 * kernel's file. A user-namespaced root may still set its hostname with
		 * sethostname(2), tried on write. */
		r = nsreq_open(c, mask_for(rel), 0, kpath, acc, false, NULL);
		if (r == -EACCES && acc != O_RDONLY && procsys_namespace_of(rel) == NS_UTS)
			r = 0;
		return r;
	}
	if (acc == O_RDONLY && c->container && fd_cache_own(c->container)) {
		uint64_t owner = container_serial(c->container);
		struct stat st;

		if (ns_key(c->pid, rel, &ino) == 0) {
			f->priv = (void *)(uintptr_t)ino; /* namespace inodes are 32-bit */
			f->fd = fd_cache_get(f->path, ino, ino ? 0 : owner);
			if (f->fd >= 0)
				return 0;
			pb_kernel_path(f->path, kpath, sizeof(kpath));
			r = nsreq_open(c, mask_for(rel), 0, kpath, O_RDONLY, true, &f->fd);
			if (r >= 0 && fstat(f->fd, &st) == 0 && (st.st_mode & S_IROTH))
				fd_cache_put(f->path, ino, owner, f->fd);
			return r;
		}
	}
	pb_kernel_path(f->path, kpath, sizeof(kpath));
	if (acc == O_WRONLY)
		/* a permission probe: writes go through the agent (procsys_write()) */
		return nsreq_open(c, mask_for(rel), 0, kpath, acc | (f->flags & O_TRUNC), false,
				  NULL);
	r = ns_key(c->pid, rel, &ino);
	if (r < 0)
		return r;
	f->priv = (void *)(uintptr_t)ino;
	return nsreq_open(c, mask_for(rel), 0, kpath, acc | (f->flags & O_TRUNC), true, &f->fd);
}

/* A namespaced file some container opened in the caller's namespace: its entry, found
 * with one look at the caller's namespace. */
static int procsys_open_fast(pid_t pid, struct pb_file *f)
{
	const char *rel = rel_of(f->path);
	enum ns_type t = procsys_namespace_of(rel);
	uint64_t ino;

	if (t != NS_NET && t != NS_IPC)
		return -EAGAIN;
	if (ns_get_inode(pid, t, &ino) < 0)
		return -EAGAIN;
	f->fd = fd_cache_get(f->path, ino, 0);
	if (f->fd < 0)
		return -EAGAIN;
	f->priv = (void *)(uintptr_t)ino; /* namespace inodes are 32-bit */
	atomic_fetch_add_explicit(&fast_hits, 1, memory_order_relaxed);
	return 0;
}

/* The flags procsys_open() opened f's fd with. */
static int open_flags(const struct pb_file *f)
{
	int acc = f->flags & O_ACCMODE;
	return acc == O_RDONLY ? O_RDONLY : acc | (f->flags & O_TRUNC);
}

/*
 * Whether f's kept fd failed because its file or namespace went away (an interface was
 * removed, the namespace is gone): then it answers ENOENT and so does fstat(). A write
 * the kernel refuses with ENOENT (an unknown congestion control) leaves fstat() working.
 */
static bool fd_gone(const struct pb_file *f, int r)
{
	struct stat st;

	if (r != -ENOENT && r != -ESRCH && r != -ENODEV)
		return false;
	return fstat(f->fd, &st) < 0;
}

/* The caller with its container: a file opened by procsys_open_fast() has none until
 * someone needs it. Put the reference with caller_done(). */
static int caller_known(const struct pb_caller *c, struct pb_caller *ret)
{
	*ret = *c;
	if (c->container || !c->containers)
		return 0;
	return container_registry_get(c->containers, c->pid, &ret->container);
}

static void caller_done(const struct pb_caller *c, struct pb_caller *known)
{
	if (known->container && known->container != c->container)
		container_unref(known->container);
}

/*
 * f's kept fd is gone (fd_gone()): drops it and opens the file once more, never from a
 * kept fd, for a reader in the namespace f was opened in; one elsewhere (the open file
 * was handed to another process) gets the error the fd gave. Under f->lock.
 */
static int reopen(const struct pb_caller *c, struct pb_file *f, int err)
{
	uint64_t key = (uint64_t)(uintptr_t)f->priv, now = 0;
	const char *rel = rel_of(f->path);
	struct pb_caller known;
	char kpath[PATH_MAX];
	int r;

	f->fd = safe_close(f->fd);
	if (key != 0) {
		fd_cache_drop(f->path, key, 0);
		if (ns_key(c->pid, rel, &now) < 0 || now != key)
			return err;
	}
	r = caller_known(c, &known);
	if (r < 0)
		return r;
	pb_kernel_path(f->path, kpath, sizeof(kpath));
	r = nsreq_reopen(&known, mask_for(rel), 0, kpath, open_flags(f), &f->fd);
	caller_done(c, &known);
	return r;
}

static int procsys_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	struct pb_caller known;
	char kpath[PATH_MAX];
	int r;

	if (f->fd >= 0) {
		r = nsreq_read_fd(f->fd, ret, ret_len);
		if (!fd_gone(f, r))
			return r;
		r = reopen(c, f, r);
		return r < 0 ? r : nsreq_read_fd(f->fd, ret, ret_len);
	}
	r = caller_known(c, &known);
	if (r < 0)
		return r;
	pb_kernel_path(f->path, kpath, sizeof(kpath));
	r = nsreq_read(&known, mask_for(rel_of(f->path)), 0, kpath, ret, ret_len);
	caller_done(c, &known);
	return r;
}

static int procsys_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
			 off_t off)
{
	const char *rel = rel_of(f->path);
	char kpath[PATH_MAX];
	int r;

	r = check_writable(c, rel);
	if (r < 0)
		return r;

	/* Never through a kept fd: the kernel checks some writes against the writing task
	 * (capable(CAP_NET_ADMIN) before loading a congestion control module), and here
	 * that would be the daemon. The agent writes with the writer's credentials. */
	pb_kernel_path(f->path, kpath, sizeof(kpath));
	r = nsreq_write(c, mask_for(rel), 0, kpath, buf, size, off);
	if (r == -EACCES && procsys_namespace_of(rel) == NS_UTS) {
		struct nsenter_message *req = nsenter_message_new(NSENTER_MSG_SETHOSTNAME_REQ);

		if (!req || nsenter_message_set_data(req, buf, size) < 0) {
			nsenter_message_free(req);
			return -ENOMEM;
		}
		req->flags = strcmp(rel, "kernel/domainname") == 0;
		r = nsreq_send(c, NSREQ_DEFAULT_MASK, 0, req, NULL, NULL);
		if (r == -EPERM)
			r = -EACCES; /* what the kernel's file says to the same caller */
		if (r >= 0)
			r = (int)size;
	}
	return r;
}

static int procsys_readlink(const struct pb_caller *c, const char *path, char *buf, size_t size)
{
	char kpath[PATH_MAX];

	pb_kernel_path(path, kpath, sizeof(kpath));
	return nsreq_readlink(c, NSREQ_DEFAULT_MASK, 0, kpath, buf, size);
}

const struct handler procsys_handlers[] = {
    {.path = "proc", .mode = S_IFDIR | 0555},
    {.path = "sys", .mode = S_IFDIR | 0555},
    {
	.path = PROCSYS,
	.subtree = true,
	.mode = S_IFDIR | 0555,
	.bind = true,
	.getattr = procsys_getattr,
	.readdir = procsys_readdir,
	.readlink = procsys_readlink,
	.open = procsys_open,
	.open_fast = procsys_open_fast,
	.content = procsys_content,
	.write = procsys_write,
	.shared = procsys_shared,
    },
};

const size_t n_procsys_handlers = ELEMENTSOF(procsys_handlers);

int procsys_family_init(void)
{
	return procsys_init();
}
