/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "fs/fs.h"
#include "fs/inode.h"
#include "handlers/tree.h"
#include "nsenter/message.h"
#include "util/log.h"
#include "util/macro.h"

#define MAX_IO (128u * 1024u)
/* Seconds the kernel may keep an entry that every caller has (tree_entry_shared). */
#define SHARED_ENTRY_TIMEOUT 10.0

struct dir_handle {
	struct tree_dirent *e;
	size_t n;
	struct container *charged; /* an open folder counts as an open file */
};

static void dir_handle_free(struct dir_handle *d)
{
	if (!d)
		return;
	tree_dir_free(d->e, d->n);
	if (d->charged) {
		container_quota_uncharge(d->charged, CONTAINER_QUOTA_FILES, 1);
		container_unref(d->charged);
	}
	free(d);
}

static struct procbox_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* -d: a line per request as it arrives, and one per request that fails. */
static void trace(fuse_req_t req, const char *op, fuse_ino_t ino, const char *name)
{
	if (log_get_max_level() < LOG_LEVEL_DEBUG)
		return;
	log_debug("%s %lu%s%s (pid %d, uid %u)", op, (unsigned long)ino, name ? " " : "",
		  name ? name : "", (int)fuse_req_ctx(req)->pid, (unsigned)fuse_req_ctx(req)->uid);
}

/* errno values a reply may carry; anything else would make the kernel reject it. */
static void reply_err(fuse_req_t req, int r)
{
	int e = r < 0 ? -r : r;

	if (e <= 0 || e >= 4096)
		e = EIO;
	if (log_get_max_level() >= LOG_LEVEL_DEBUG)
		log_debug("  pid %d: %s", (int)fuse_req_ctx(req)->pid, strerror(e));
	fuse_reply_err(req, e);
}

static int caller_get(fuse_req_t req, struct pb_caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct procbox_fs *fs = fs_of(req);
	int r;

	*c = (struct pb_caller){
	    .pid = ctx->pid,
	    .uid = ctx->uid,
	    .gid = ctx->gid,
	    .nsenter = fs->nsenter,
	    .containers = fs->containers,
	};
	if (ctx->pid <= 0)
		return -EIO;
	r = container_registry_get(fs->containers, ctx->pid, &c->container);
	if (r < 0)
		log_debug("Cannot identify the container of pid %d: %s", ctx->pid, strerror(-r));
	return r;
}

static void caller_put(struct pb_caller *c)
{
	if (c->container)
		container_unref(c->container);
	c->container = NULL;
}

static char *child_path(const char *parent, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s%s", parent, *parent ? "/" : "", name) < 0)
		return NULL;
	return p;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct procbox_fs *fs = fs_of(req);
	_cleanup_free_ char *ppath = NULL, *path = NULL;
	struct fuse_entry_param e = {0};
	struct pb_caller c;
	int r;

	trace(req, "lookup", parent, name);

	if (!tree_name_valid(name))
		return reply_err(req, strlen(name) > 255 ? -ENAMETOOLONG : -ENOENT);
	ppath = inode_path(fs->inodes, parent);
	if (!ppath)
		return reply_err(req, -ENOENT);
	path = child_path(ppath, name);
	if (!path)
		return reply_err(req, -ENOMEM);

	r = caller_get(req, &c);
	if (r < 0)
		return reply_err(req, r);
	r = tree_getattr(&c, path, &e.attr);
	caller_put(&c);
	if (r < 0)
		return reply_err(req, r);

	e.ino = inode_get(fs->inodes, path);
	if (!e.ino)
		return reply_err(req, -ENOMEM);
	e.attr.st_ino = e.ino;
	/* Attributes are never cached: owners differ per container. An entry is, when
	 * every caller has the same one. */
	e.attr_timeout = 0;
	e.entry_timeout = tree_entry_shared(path) ? SHARED_ENTRY_TIMEOUT : 0;
	if (fuse_reply_entry(req, &e) == -ENOENT)
		inode_forget(fs->inodes, e.ino, 1); /* the request was interrupted */
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_forget(fs_of(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inode_forget(fs_of(req)->inodes, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	_cleanup_free_ char *path = inode_path(fs_of(req)->inodes, ino);
	struct pb_caller c;
	struct stat st;
	int r;

	trace(req, "getattr", ino, NULL);

	if (!path)
		return reply_err(req, -ENOENT);
	r = caller_get(req, &c);
	if (r < 0)
		return reply_err(req, r);
	r = tree_getattr(&c, path, &st);
	caller_put(&c);
	if (r < 0)
		return reply_err(req, r);
	st.st_ino = ino;
	fuse_reply_attr(req, &st, 0);
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	/* Like /proc: ownership and modes are the kernel's (or the emulation's) to decide;
	 * truncation and time updates are accepted and change nothing. */
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		return reply_err(req, -EPERM);
	fs_getattr(req, ino, fi);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	_cleanup_free_ char *path = inode_path(fs_of(req)->inodes, ino);
	char buf[4096];
	struct pb_caller c;
	int r;

	trace(req, "readlink", ino, NULL);

	if (!path)
		return reply_err(req, -ENOENT);
	r = caller_get(req, &c);
	if (r < 0)
		return reply_err(req, r);
	r = tree_readlink(&c, path, buf, sizeof(buf));
	caller_put(&c);
	if (r < 0)
		return reply_err(req, r);
	fuse_reply_readlink(req, buf);
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	_cleanup_free_ char *path = inode_path(fs_of(req)->inodes, ino);
	struct dir_handle *d;
	struct pb_caller c;
	int r;

	trace(req, "opendir", ino, NULL);

	if (!path)
		return reply_err(req, -ENOENT);
	d = calloc(1, sizeof(*d));
	if (!d)
		return reply_err(req, -ENOMEM);
	r = caller_get(req, &c);
	if (r >= 0) {
		r = container_quota_charge(c.container, CONTAINER_QUOTA_FILES, 1);
		if (r >= 0)
			d->charged = container_ref(c.container);
	}
	if (r >= 0)
		/* The listing is taken once, at opendir: a reader that reads in pieces sees
		 * one consistent folder. */
		r = tree_readdir(&c, path, &d->e, &d->n);
	caller_put(&c);
	if (r < 0) {
		dir_handle_free(d);
		return reply_err(req, r);
	}
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 0;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		dir_handle_free(d);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	_cleanup_free_ char *buf = NULL;
	size_t used = 0;

	if (size > MAX_IO)
		size = MAX_IO;
	buf = malloc(size);
	if (!buf)
		return reply_err(req, -ENOMEM);
	/* offsets: 0 ".", 1 "..", 2 + i the i-th entry */
	for (off_t i = off; i < (off_t)d->n + 2; i++) {
		struct stat st = {0};
		const char *name;
		size_t need;

		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_mode = S_IFDIR;
		} else {
			name = d->e[i - 2].name;
			st.st_mode = d->e[i - 2].type;
		}
		/* readdir(3) skips entries whose d_ino is 0 */
		st.st_ino = (ino_t)i + 1;
		need = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dir_handle_free((struct dir_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	_cleanup_free_ char *path = inode_path(fs_of(req)->inodes, ino);
	struct pb_file *f = NULL;
	struct pb_caller c;
	int r;

	trace(req, "open", ino, NULL);

	if (!path)
		return reply_err(req, -ENOENT);
	/* Every open is charged to its container (found with a look at the caller's user
	 * namespace), the fast ones too: one container opening files in a loop then runs
	 * out of its own quota, never of the daemon's fds. */
	r = caller_get(req, &c);
	if (r < 0)
		return reply_err(req, r);
	/* Most opens of a container's sysctls need no more than the caller's pid. */
	r = tree_open_fast(c.pid, c.container, path, fi->flags, &f);
	if (r == -EAGAIN)
		r = tree_open(&c, path, fi->flags, &f);
	caller_put(&c);
	if (r < 0)
		return reply_err(req, r);
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		tree_release(f);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct pb_file *f = (struct pb_file *)(uintptr_t)fi->fh;
	_cleanup_free_ char *buf = NULL;
	struct pb_caller c;
	int r;

	trace(req, "read", ino, NULL);
	if (size > MAX_IO)
		size = MAX_IO;
	buf = malloc(size ? size : 1);
	if (!buf)
		return reply_err(req, -ENOMEM);
	/* The file belongs to the container that opened it; the reader may be a process
	 * the fd was passed to, but what it reads is what the opener was allowed. */
	c = (struct pb_caller){
	    .pid = fuse_req_ctx(req)->pid,
	    .uid = fuse_req_ctx(req)->uid,
	    .gid = fuse_req_ctx(req)->gid,
	    .container = f->container,
	    .nsenter = fs_of(req)->nsenter,
	    .containers = fs_of(req)->containers,
	};
	r = tree_read(&c, f, buf, size, off);
	if (r < 0)
		return reply_err(req, r);
	fuse_reply_buf(req, buf, (size_t)r);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct pb_file *f = (struct pb_file *)(uintptr_t)fi->fh;
	struct pb_caller c = {
	    .pid = fuse_req_ctx(req)->pid,
	    .uid = fuse_req_ctx(req)->uid,
	    .gid = fuse_req_ctx(req)->gid,
	    .container = f->container,
	    .nsenter = fs_of(req)->nsenter,
	    .containers = fs_of(req)->containers,
	};
	int r;

	trace(req, "write", ino, NULL);
	r = tree_write(&c, f, buf, size, off);
	if (r < 0)
		return reply_err(req, r);
	fuse_reply_write(req, (size_t)r);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	tree_release((struct pb_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/*
 * Locks. One inode serves every container: left to the kernel, a lock one container takes
 * would block another's, and F_GETLK would name the holder's pid. With these handlers
 * the kernel asks the daemon instead of keeping its own lock table, and no lock is
 * granted (ENOLCK, "no locks available"): as on /proc, nothing is shared through them,
 * and a program that needs one learns it did not get it.
 */
static void fs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
	lock->l_type = F_UNLCK;
	fuse_reply_lock(req, lock);
}

static void fs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
		     int sleep)
{
	fuse_reply_err(req, lock->l_type == F_UNLCK ? 0 : ENOLCK);
}

static void fs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	fuse_reply_err(req, (op & LOCK_UN) ? 0 : ENOLCK);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	/* One inode serves every container, and the kernel keeps one size for it: with
	 * atomic O_TRUNC an `echo x > file` would set it to 0 and then to what was written,
	 * and readers that trust st_size (sendfile) in every container would stop there.
	 * Without it, truncation is a SETATTR whose reply (setattr below) keeps the size. */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS;
	/* Set by libfuse because the lock handlers exist; without them the kernel would lock
	 * locally, across containers. */
	conn->want |= conn->capable & (FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	/* A write reaches the kernel's file through an agent, in one message: the kernel
	 * splits larger ones into requests of this size at increasing offsets. */
	if (conn->max_write > NSENTER_MSG_MAX_DATA)
		conn->max_write = NSENTER_MSG_MAX_DATA;
}

static const struct fuse_lowlevel_ops ops = {
    .init = fs_init,
    .lookup = fs_lookup,
    .forget = fs_forget,
    .forget_multi = fs_forget_multi,
    .getattr = fs_getattr,
    .setattr = fs_setattr,
    .readlink = fs_readlink,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .releasedir = fs_releasedir,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .release = fs_release,
    .getlk = fs_getlk,
    .setlk = fs_setlk,
    .flock = fs_flock,
};

const struct fuse_lowlevel_ops *fs_operations(void)
{
	return &ops;
}
