/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
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
};

enum ns_type procsys_namespace_of(const char *rel)
{
	for (size_t i = 0; i < ELEMENTSOF(namespaced); i++) {
		const char *p = namespaced[i].path;
		size_t n = strlen(p);

		if (p[n - 1] == '/' ? strncmp(rel, p, n) == 0 : strcmp(rel, p) == 0)
			return namespaced[i].type;
	}
	return _NS_TYPE_MAX;
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
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
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

/* Whether the caller's namespace of type t is its own, not the host's. */
static bool caller_has_own(const struct pb_caller *c, enum ns_type t)
{
	uint64_t mine, host;

	if (ns_get_inode(c->pid, t, &mine) < 0 || ns_get_inode(getpid(), t, &host) < 0)
		return false;
	return mine != host;
}

/*
 * Writes reach the kernel only for values of a namespace the caller has to itself. A
 * container whose root is the host's uid 0 passes every kernel check on host-wide
 * sysctls, so this refusal is what keeps such writes from reaching the host.
 */
static int check_writable(const struct pb_caller *c, const char *rel)
{
	enum ns_type t = procsys_namespace_of(rel);

	if (t == _NS_TYPE_MAX || !caller_has_own(c, t))
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
 * Read-only fds of files every credential may read, per container and keyed by the
 * namespace the file follows: opening such a file again, in the same namespace, gives
 * the same reads whoever asks, so no nsenter round trip (nor a read of the caller's
 * credentials) is needed. Writes and files with restricted reads never come from here.
 * A key holds the namespace's inode: an fd whose namespace died answers ENOENT, and the
 * read then drops it and asks the slow way (procsys_content()).
 */
#define FD_CACHE_MAX 128

struct fd_cache_entry {
	char *path;
	uint64_t ns_ino;
	int fd;
};

struct fd_cache {
	pthread_mutex_t lock;
	unsigned n, next_evict;
	struct fd_cache_entry e[FD_CACHE_MAX];
};

static void fd_cache_free(void *p)
{
	struct fd_cache *fc = p;

	for (unsigned i = 0; i < fc->n; i++) {
		safe_close(fc->e[i].fd);
		free(fc->e[i].path);
	}
	pthread_mutex_destroy(&fc->lock);
	free(fc);
}

static struct fd_cache *fd_cache_of(struct container *c)
{
	struct fd_cache *fc = container_slot_get(c, CONTAINER_SLOT_PROCSYS);

	if (fc)
		return fc;
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return NULL;
	pthread_mutex_init(&fc->lock, NULL);
	return container_slot_set(c, CONTAINER_SLOT_PROCSYS, fc, fd_cache_free);
}

/* The namespace inode a read of rel depends on; 0 for host-wide values. */
static int ns_key(const struct pb_caller *c, const char *rel, uint64_t *ret)
{
	enum ns_type t = procsys_namespace_of(rel);

	if (t == _NS_TYPE_MAX) {
		*ret = 0;
		return 0;
	}
	return ns_get_inode(c->pid, t, ret);
}

static int fd_cache_get(struct fd_cache *fc, const char *path, uint64_t ino)
{
	int fd = -EBADF;

	pthread_mutex_lock(&fc->lock);
	for (unsigned i = 0; i < fc->n; i++)
		if (fc->e[i].ns_ino == ino && strcmp(fc->e[i].path, path) == 0) {
			fd = fcntl(fc->e[i].fd, F_DUPFD_CLOEXEC, 3);
			break;
		}
	pthread_mutex_unlock(&fc->lock);
	return fd;
}

static void fd_cache_put(struct fd_cache *fc, const char *path, uint64_t ino, int fd)
{
	struct fd_cache_entry *slot;
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	char *p = strdup(path);

	if (copy < 0 || !p) {
		safe_close(copy);
		free(p);
		return;
	}
	pthread_mutex_lock(&fc->lock);
	if (fc->n < FD_CACHE_MAX)
		slot = &fc->e[fc->n++];
	else {
		slot = &fc->e[fc->next_evict++ % FD_CACHE_MAX];
		safe_close(slot->fd);
		free(slot->path);
	}
	*slot = (struct fd_cache_entry){.path = p, .ns_ino = ino, .fd = copy};
	pthread_mutex_unlock(&fc->lock);
}

static void fd_cache_drop(struct fd_cache *fc, const char *path)
{
	pthread_mutex_lock(&fc->lock);
	for (unsigned i = 0; i < fc->n; i++)
		if (strcmp(fc->e[i].path, path) == 0) {
			safe_close(fc->e[i].fd);
			free(fc->e[i].path);
			fc->e[i] = fc->e[--fc->n];
			break;
		}
	pthread_mutex_unlock(&fc->lock);
}

static void kpath_of(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "/%s", path);
}

static int procsys_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	char kpath[PATH_MAX];

	kpath_of(path, kpath, sizeof(kpath));
	return nsreq_stat(c, NSREQ_DEFAULT_MASK, 0, kpath, st);
}

static int procsys_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	char kpath[PATH_MAX];

	kpath_of(path, kpath, sizeof(kpath));
	return nsreq_readdir(c, NSREQ_DEFAULT_MASK, 0, kpath, d);
}

static int procsys_open(const struct pb_caller *c, struct pb_file *f)
{
	const char *rel = rel_of(f->path);
	int acc = f->flags & O_ACCMODE;
	char kpath[PATH_MAX];
	int r;

	if (acc != O_RDONLY) {
		r = check_writable(c, rel);
		if (r < 0)
			return r;
	}
	if (resolved_at_read(rel)) {
		kpath_of(f->path, kpath, sizeof(kpath));
		/* A permission probe: the caller learns of EACCES at open, as with the
		 * kernel's file. A user-namespaced root may still set its hostname with
		 * sethostname(2), tried on write. */
		r = nsreq_open(c, mask_for(rel), 0, kpath, acc, false, NULL);
		if (r == -EACCES && acc != O_RDONLY && procsys_namespace_of(rel) == NS_UTS)
			r = 0;
		return r;
	}
	if (acc == O_RDONLY && c->container) {
		struct fd_cache *fc = fd_cache_of(c->container);
		struct stat st;
		uint64_t ino;

		if (fc && ns_key(c, rel, &ino) == 0) {
			f->fd = fd_cache_get(fc, f->path, ino);
			if (f->fd >= 0)
				return 0;
			kpath_of(f->path, kpath, sizeof(kpath));
			r = nsreq_open(c, mask_for(rel), 0, kpath, O_RDONLY, true, &f->fd);
			if (r >= 0 && fstat(f->fd, &st) == 0 && (st.st_mode & S_IROTH))
				fd_cache_put(fc, f->path, ino, f->fd);
			return r;
		}
	}
	kpath_of(f->path, kpath, sizeof(kpath));
	return nsreq_open(c, mask_for(rel), 0, kpath, acc | (f->flags & O_TRUNC), true, &f->fd);
}

static int procsys_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	char kpath[PATH_MAX];
	int r;

	if (f->fd >= 0) {
		r = nsreq_read_fd(f->fd, ret, ret_len);
		/* The namespace or the entry went away behind the fd (an interface was
		 * removed): drop it and ask the slow way once. */
		if (r != -ENOENT && r != -ESRCH && r != -ENODEV)
			return r;
		f->fd = safe_close(f->fd);
		if (f->container) {
			struct fd_cache *fc =
			    container_slot_get(f->container, CONTAINER_SLOT_PROCSYS);
			if (fc)
				fd_cache_drop(fc, f->path);
		}
	}
	kpath_of(f->path, kpath, sizeof(kpath));
	return nsreq_read(c, mask_for(rel_of(f->path)), 0, kpath, ret, ret_len);
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
	pthread_mutex_lock(&f->lock);
	/* A write makes the next read start afresh. */
	f->snap_valid = false;
	if (f->fd >= 0) {
		ssize_t n = pwrite(f->fd, buf, size, off);
		pthread_mutex_unlock(&f->lock);
		return n < 0 ? negative_errno() : (int)n;
	}
	pthread_mutex_unlock(&f->lock);

	kpath_of(f->path, kpath, sizeof(kpath));
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

	kpath_of(path, kpath, sizeof(kpath));
	return nsreq_readlink(c, NSREQ_DEFAULT_MASK, 0, kpath, buf, size);
}

const struct handler procsys_handlers[] = {
    {.path = "proc", .mode = S_IFDIR | 0555},
    {.path = "sys", .mode = S_IFDIR | 0555},
    {
	.path = PROCSYS,
	.subtree = true,
	.mode = S_IFDIR | 0555,
	.getattr = procsys_getattr,
	.readdir = procsys_readdir,
	.readlink = procsys_readlink,
	.open = procsys_open,
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
