/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "fs/fs.h"
#include "fs/handles.h"
#include "fs/inode.h"
#include "fs/inodeset.h"
#include "handlers/tree.h"
#include "util/log.h"
#include "usage/usage.h"
#include "util/macro.h"
#include "util/reqclock.h"

#define MAX_IO (128u * 1024u)
/* Seconds the kernel may keep an entry that every caller has (tree_entry_shared). */
#define SHARED_ENTRY_TIMEOUT 10.0

struct dir_handle {
	struct tree_dirent *e;
	size_t n;
	struct container *charged; /* an open folder counts as an open file, and its figures
				    * go to this container */
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

/* A file's figures go to the container that opened it, as long as it is open. */
static void release_file(struct pb_file *f)
{
	struct usage *u = f->charged ? usage_get(f->charged) : NULL;

	if (u)
		usage_file_closed(u);
	tree_release(f);
}

static void free_open_file(void *p)
{
	tree_release(p);
}

static void free_open_dir(void *p)
{
	dir_handle_free(p);
}

void fs_close_handles(struct procbox_fs *fs)
{
	fs_handles_free(fs->handles, free_open_file);
	fs->handles = NULL;
	fs_handles_free(fs->dir_handles, free_open_dir);
	fs->dir_handles = NULL;
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

/* -d: a failed request, named by its caller's container init. A lookup of a name that is
 * not there is how every program probes for files: that one stays at debug. */
static void log_failure(fuse_req_t req, int e)
{
	pid_t pid = fuse_req_ctx(req)->pid, init = 0;

	(void)container_find_init(pid, true, &init);
	if (e == ENOENT)
		log_debug("  pid %d (container init %d): %s", (int)pid, (int)init, strerror(e));
	else
		log_error(e, "Request of pid %d (container init %d) failed: %m", (int)pid,
			  (int)init);
}

/* errno values a reply may carry; anything else would make the kernel reject it. */
static void reply_err(fuse_req_t req, int r)
{
	int e = r < 0 ? -r : r;

	if (e <= 0 || e >= 4096)
		e = EIO;
	if (log_get_max_level() >= LOG_LEVEL_DEBUG)
		log_failure(req, e);
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

/*
 * One request on its way through the container's share (usage/usage.h): made on the worker's
 * stack, copied to the heap only when it has to wait for a slot, then served by whichever
 * worker finishes one of the container's requests.
 *
 * Lifetimes. A request on a path holds a reference to its caller's container (`ref`). A
 * request on an open file holds none: the kernel keeps the file open while the request is
 * unanswered (a reader in read(2) cannot return before the answer; asynchronous reads are
 * off, fs_init), and the open file holds its containers. Such a request is answered last
 * (`deferred`): after its figures are recorded and its slot given back. A container's usage
 * record is touched only while one of its requests is unanswered or referenced.
 */
struct fs_req {
	struct usage_waiter w;
	int (*serve)(struct fs_req *r);
	fuse_req_t req;
	enum usage_kind kind;
	struct pb_caller caller; /* its container is `ref`, or the open file's */
	struct container *ref;	 /* the reference the request holds, or NULL */
	struct container *owner; /* whose figures and share: the caller's, or an open file's
				  * opener's */
	struct usage *usage;
	bool queued;
	bool deferred; /* answered by answer(), after the figures and the slot */
	uint64_t arrived_ns;
	const char *path; /* the tree's path in path_owned (fs/inodeset.h), or the open
			   * file's (open while unanswered) */
	char *path_owned; /* the node's path */
	struct pb_file *file;
	fuse_ino_t ino;
	struct fuse_file_info fi;
	size_t size;
	off_t off;
	const char *data; /* write: libfuse's buffer, or data_copy once queued */
	char *data_copy;
	char *out; /* read: where the answer goes (the worker's stack, or out_owned) */
	size_t out_size;
	char *out_owned;
	uint64_t bytes_read, bytes_written;
};

static void fs_req_done(struct fs_req *r)
{
	if (r->ref)
		container_unref(r->ref);
	free(r->path_owned);
	free(r->data_copy);
	free(r->out_owned);
}

/* Serves r and records its figures; a deferred request is not answered yet. */
static int serve_one(struct fs_req *r)
{
	struct reqclock clock = {0};
	/* A request that did not wait starts when it arrived: one clock read less. */
	uint64_t start = r->queued ? usage_now_ns() : r->arrived_ns;
	int result;

	if (PROCBOX_FIGURES)
		reqclock_current = &clock;
	result = r->serve(r);
	if (PROCBOX_FIGURES)
		reqclock_current = NULL;
	if (r->usage)
		usage_record(r->usage, &(struct usage_done){
					   .kind = r->kind,
					   .r = result,
					   .bytes_read = r->bytes_read,
					   .bytes_written = r->bytes_written,
					   .total_ns = usage_now_ns() - r->arrived_ns,
					   .queue_ns = start - r->arrived_ns,
					   .clock = &clock,
					   .path = r->path,
				       });
	return result;
}

/* Answers a deferred request, and lets r go. */
static void answer(struct fs_req *r, int result)
{
	if (r->deferred) {
		if (result < 0)
			reply_err(r->req, result);
		else if (r->kind == USAGE_READ)
			fuse_reply_buf(r->req, r->out, (size_t)result);
		else
			fuse_reply_write(r->req, (size_t)result);
	}
	fs_req_done(r);
}

/* Serves w and the requests of u's container that wait after it, in the slot this thread
 * holds. Each one is answered after the slot passed on: it keeps u alive until then. */
static void serve_waiting(struct usage *u, struct usage_waiter *w)
{
	while (w) {
		struct fs_req *q = (struct fs_req *)w;
		int result = serve_one(q);

		w = usage_leave(u);
		answer(q, result);
		free(q);
	}
}

static void admit(struct fs_req *r)
{
	struct usage *u = r->usage;
	struct usage_waiter *w;
	struct fs_req *q;
	int e;

	if (!u)
		return answer(r, serve_one(r));
	if (usage_enter(u)) {
		e = serve_one(r);
		w = usage_leave(u);
		answer(r, e);
		return serve_waiting(u, w);
	}
	/* The container has its share in flight: r waits on its own container, and this
	 * worker goes back to serve the others. */
	q = malloc(sizeof(*q));
	if (q && r->data && r->size) {
		r->data_copy = malloc(r->size);
		if (r->data_copy)
			r->data = memcpy(r->data_copy, r->data, r->size);
		else {
			free(q);
			q = NULL;
		}
	}
	if (!q) {
		if (r->deferred) {
			usage_record(u, &(struct usage_done){.kind = r->kind, .r = -ENOMEM});
			return answer(r, -ENOMEM);
		}
		reply_err(r->req, -ENOMEM);
		return fs_req_done(r);
	}
	*q = *r;
	/* r's answer buffer is on this worker's stack */
	q->out = NULL;
	q->out_size = 0;
	q->queued = true;
	e = usage_queue(u, &q->w);
	if (e > 0) {
		e = serve_one(q);
		w = usage_leave(u);
		answer(q, e);
		free(q);
		serve_waiting(u, w);
	} else if (e < 0) {
		/* Its queue is full (--max-queued): this container alone hears of it. */
		usage_record(u, &(struct usage_done){
				    .kind = q->kind,
				    .r = e,
				    .total_ns = usage_now_ns() - q->arrived_ns,
				    .path = q->path,
				});
		if (!q->deferred)
			reply_err(q->req, e);
		answer(q, e);
		free(q);
	}
}

/* Identifies the caller's container; on failure the request is answered and false. */
static bool fs_req_start(struct fs_req *r, fuse_req_t req, enum usage_kind kind,
			 int (*serve)(struct fs_req *), char *path)
{
	int e;

	*r = (struct fs_req){
	    .req = req,
	    .kind = kind,
	    .serve = serve,
	    .path = path ? inodeset_tree_path(path) : NULL,
	    .path_owned = path,
	    .arrived_ns = usage_now_ns(),
	};
	if (!path) {
		reply_err(req, -ENOENT);
		return false;
	}
	e = caller_get(req, &r->caller);
	if (e < 0) {
		reply_err(req, e);
		free(path);
		return false;
	}
	r->ref = r->owner = r->caller.container;
	r->usage = usage_get(r->owner);
	return true;
}

/* Requests on an open file: the file belongs to the container that opened it; the reader
 * may be a process the fd was passed to, but what it reads is what the opener was
 * allowed. The open file holds the containers while the request is unanswered. */
static void fs_req_start_file(struct fs_req *r, fuse_req_t req, enum usage_kind kind,
			      int (*serve)(struct fs_req *), struct pb_file *f)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	*r = (struct fs_req){
	    .req = req,
	    .kind = kind,
	    .serve = serve,
	    .deferred = true,
	    .arrived_ns = usage_now_ns(),
	    .path = f->path,
	    .file = f,
	    .caller =
		{
		    .pid = ctx->pid,
		    .uid = ctx->uid,
		    .gid = ctx->gid,
		    .container = f->container,
		    .nsenter = fs_of(req)->nsenter,
		    .containers = fs_of(req)->containers,
		},
	};
	/* every open file has its opener's container, even one opened without it */
	r->owner = f->charged;
	r->usage = f->charged ? usage_get(f->charged) : NULL;
}

static int serve_lookup(struct fs_req *r)
{
	struct procbox_fs *fs = fs_of(r->req);
	struct fuse_entry_param e = {0};
	int res;

	res = inodeset_getattr(&r->caller, r->path_owned, &e.attr);
	if (res < 0) {
		reply_err(r->req, res);
		return res;
	}
	e.ino = inode_get(fs->inodes, r->path_owned);
	if (!e.ino) {
		reply_err(r->req, -ENOMEM);
		return -ENOMEM;
	}
	e.attr.st_ino = e.ino;
	/* Attributes are never cached: owners differ per container. An entry is, when
	 * every caller has the same one. */
	e.attr_timeout = 0;
	/* Never an entry of the root, of `.inodes` or of a set's root: every walk from
	 * them is checked (fs_lookup). */
	e.entry_timeout =
	    strchr(r->path, '/') && tree_entry_shared(r->path) ? SHARED_ENTRY_TIMEOUT : 0;
	if (fuse_reply_entry(r->req, &e) == -ENOENT)
		inode_forget(fs->inodes, e.ino, 1); /* the request was interrupted */
	return 0;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct procbox_fs *fs = fs_of(req);
	_cleanup_free_ char *ppath = NULL;
	struct fs_req r;

	trace(req, "lookup", parent, name);

	if (!tree_name_valid(name))
		return reply_err(req, strlen(name) > 255 ? -ENAMETOOLONG : -ENOENT);
	ppath = inode_path(fs->inodes, parent);
	if (!ppath)
		return reply_err(req, -ENOENT);
	/* The mount's root is the way in for the host's root only: runtimes and procbox
	 * attach bind its folders into containers as the host's root, and containers walk
	 * from those. A host user who made a user namespace of its own gets nothing here.
	 * `.inodes` and every set's root in it are ways in too (fs/inodeset.h). */
	if (inodeset_is_gate(ppath)) {
		int ok = container_caller_made_by_host_root(fuse_req_ctx(req)->pid,
							    fuse_req_ctx(req)->uid);

		if (ok <= 0)
			return reply_err(req, ok < 0 ? ok : -EACCES);
		if (inodeset_is_folder(ppath) && (ok = inodeset_name_check(name)) < 0)
			return reply_err(req, ok);
	}
	if (fs_req_start(&r, req, USAGE_LOOKUP, serve_lookup, child_path(ppath, name)))
		admit(&r);
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

static int serve_getattr(struct fs_req *r)
{
	struct stat st;
	int res;

	res = inodeset_getattr(&r->caller, r->path_owned, &st);
	if (res < 0) {
		reply_err(r->req, res);
		return res;
	}
	st.st_ino = r->ino;
	fuse_reply_attr(r->req, &st, 0);
	return 0;
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_req r;

	trace(req, "getattr", ino, NULL);
	if (fs_req_start(&r, req, USAGE_GETATTR, serve_getattr,
			 inode_path(fs_of(req)->inodes, ino))) {
		r.ino = ino;
		admit(&r);
	}
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fs_req r;

	trace(req, "setattr", ino, NULL);
	if (!fs_req_start(&r, req, USAGE_SETATTR, serve_getattr,
			  inode_path(fs_of(req)->inodes, ino)))
		return;
	r.ino = ino;
	/* Like /proc: ownership and modes are the kernel's (or the emulation's) to decide;
	 * truncation and time updates are accepted and change nothing. */
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		reply_err(req, -EPERM);
		if (r.usage)
			usage_record(r.usage, &(struct usage_done){.kind = USAGE_SETATTR,
								   .r = -EPERM,
								   .path = r.path});
		return fs_req_done(&r);
	}
	admit(&r);
}

static int serve_readlink(struct fs_req *r)
{
	char buf[4096];
	int res;

	res = tree_readlink(&r->caller, r->path, buf, sizeof(buf));
	if (res < 0) {
		reply_err(r->req, res);
		return res;
	}
	fuse_reply_readlink(r->req, buf);
	return 0;
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_req r;

	trace(req, "readlink", ino, NULL);
	if (fs_req_start(&r, req, USAGE_READLINK, serve_readlink,
			 inode_path(fs_of(req)->inodes, ino)))
		admit(&r);
}

static int serve_opendir(struct fs_req *r)
{
	struct dir_handle *d;
	int res;

	d = calloc(1, sizeof(*d));
	if (!d) {
		reply_err(r->req, -ENOMEM);
		return -ENOMEM;
	}
	res = container_quota_charge(r->caller.container, CONTAINER_QUOTA_FILES, 1);
	if (res >= 0) {
		d->charged = container_ref(r->caller.container);
		/* The listing is taken once, at opendir: a reader that reads in pieces sees
		 * one consistent folder. */
		res = inodeset_readdir(&r->caller, r->path_owned, &d->e, &d->n);
	}
	if (res < 0) {
		dir_handle_free(d);
		reply_err(r->req, res);
		return res;
	}
	r->fi.fh = fs_handle_put(fs_of(r->req)->dir_handles, d);
	if (!r->fi.fh) {
		dir_handle_free(d);
		reply_err(r->req, -ENOMEM);
		return -ENOMEM;
	}
	r->fi.cache_readdir = 0;
	r->fi.keep_cache = 0;
	if (fuse_reply_open(r->req, &r->fi) == -ENOENT)
		dir_handle_free(fs_handle_take(fs_of(r->req)->dir_handles, r->fi.fh));
	return 0;
}

/* A folder opened under an earlier daemon (the connection was taken over): listed anew
 * for this caller, kept under the old handle. */
static int dir_adopt(fuse_req_t req, fuse_ino_t ino, uint64_t fh, struct dir_handle **ret)
{
	struct procbox_fs *fs = fs_of(req);
	_cleanup_free_ char *path = inode_path(fs->inodes, ino);
	struct dir_handle *d, *got;
	struct pb_caller c;
	int r;

	if (!path)
		return -ESTALE;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = caller_get(req, &c);
	if (r >= 0) {
		r = container_quota_charge(c.container, CONTAINER_QUOTA_FILES, 1);
		if (r >= 0)
			d->charged = container_ref(c.container);
	}
	if (r >= 0)
		r = inodeset_readdir(&c, path, &d->e, &d->n);
	caller_put(&c);
	if (r < 0) {
		dir_handle_free(d);
		return r;
	}
	got = fs_handle_adopt(fs->dir_handles, fh, d);
	if (got != d)
		dir_handle_free(d);
	if (!got)
		return -ENOMEM;
	*ret = got;
	return 0;
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_req r;

	trace(req, "opendir", ino, NULL);
	if (fs_req_start(&r, req, USAGE_OPENDIR, serve_opendir,
			 inode_path(fs_of(req)->inodes, ino))) {
		r.fi = *fi;
		admit(&r);
	}
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dir_handle *d = fs_handle_get(fs_of(req)->dir_handles, fi->fh);
	_cleanup_free_ char *buf = NULL;
	uint64_t start = usage_now_ns();
	struct usage *u;
	size_t used = 0;
	int e;

	if (!d) {
		if (!fs_handle_foreign(fs_of(req)->dir_handles, fi->fh))
			return reply_err(req, -EBADF);
		e = dir_adopt(req, ino, fi->fh, &d);
		if (e < 0)
			return reply_err(req, e);
	}
	u = d->charged ? usage_get(d->charged) : NULL;

	if (size > MAX_IO)
		size = MAX_IO;
	buf = malloc(size);
	if (!buf) {
		if (u)
			usage_record(u, &(struct usage_done){.kind = USAGE_READDIR, .r = -ENOMEM});
		return reply_err(req, -ENOMEM);
	}
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
	/* Served from the listing opendir took: nothing to wait for, nothing to share. The
	 * figures go first: the answer lets the folder, and its container, go. */
	if (u)
		usage_record(u, &(struct usage_done){.kind = USAGE_READDIR,
						     .bytes_read = used,
						     .total_ns = usage_now_ns() - start});
	fuse_reply_buf(req, buf, used);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	dir_handle_free(fs_handle_take(fs_of(req)->dir_handles, fi->fh));
	fuse_reply_err(req, 0);
}

static int serve_open(struct fs_req *r)
{
	struct pb_file *f = NULL;
	int res;

	/* Every open is charged to its container, the fast ones too: one container opening
	 * files in a loop then runs out of its own quota, never of the daemon's fds. Most
	 * opens of a container's sysctls need no more than the caller's pid. */
	res = tree_open_fast(r->caller.pid, r->caller.container, r->path, r->fi.flags, &f);
	if (res == -EAGAIN)
		res = tree_open(&r->caller, r->path, r->fi.flags, &f);
	if (res < 0) {
		reply_err(r->req, res);
		return res;
	}
	if (r->usage)
		usage_file_opened(r->usage);
	r->fi.fh = fs_handle_put(fs_of(r->req)->handles, f);
	if (!r->fi.fh) {
		release_file(f);
		reply_err(r->req, -ENOMEM);
		return -ENOMEM;
	}
	r->fi.direct_io = 1;
	r->fi.keep_cache = 0;
	/* No FLUSH on close: there is nothing to flush, and the daemon's own close of a file
	 * of its mount (the readiness check) then waits on no worker of its own, which a
	 * valgrind run of the daemon needs (valgrind holds its lock through close(2)). */
	r->fi.noflush = 1;
	if (fuse_reply_open(r->req, &r->fi) == -ENOENT)
		release_file(fs_handle_take(fs_of(r->req)->handles, r->fi.fh));
	return 0;
}

/*
 * The open file fi->fh stands for. A handle of an earlier daemon (the connection was
 * taken over, the kernel kept its open files) is opened anew, by path, for the caller
 * that uses it, in the caller's own container and with its credentials: what it reads
 * is what a fresh open would show it, never what another container opened.
 */
static int file_of(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct pb_file **ret)
{
	struct procbox_fs *fs = fs_of(req);
	struct pb_file *f = fs_handle_get(fs->handles, fi->fh), *got;
	_cleanup_free_ char *path = NULL;
	struct pb_caller c;
	int r;

	if (f) {
		*ret = f;
		return 0;
	}
	if (!fs_handle_foreign(fs->handles, fi->fh))
		return -EBADF;
	path = inode_path(fs->inodes, ino);
	if (!path)
		return -ESTALE;
	r = caller_get(req, &c);
	if (r < 0)
		return r;
	r = tree_open(&c, inodeset_tree_path(path), fi->flags & ~(O_CREAT | O_EXCL | O_TRUNC), &f);
	caller_put(&c);
	if (r < 0)
		return r;
	got = fs_handle_adopt(fs->handles, fi->fh, f);
	if (got != f)
		release_file(f);
	else if (f->charged && usage_get(f->charged))
		usage_file_opened(usage_get(f->charged));
	if (!got)
		return -ENOMEM;
	*ret = got;
	return 0;
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_req r;

	trace(req, "open", ino, NULL);
	if (fs_req_start(&r, req, USAGE_OPEN, serve_open, inode_path(fs_of(req)->inodes, ino))) {
		r.fi = *fi;
		admit(&r);
	}
}

static int serve_read(struct fs_req *r)
{
	int res;

	if (r->size > r->out_size) {
		r->out_owned = malloc(r->size ? r->size : 1);
		if (!r->out_owned)
			return -ENOMEM;
		r->out = r->out_owned;
	}
	res = tree_read(&r->caller, r->file, r->out, r->size, r->off);
	if (res >= 0)
		r->bytes_read = (uint64_t)res;
	return res;
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	/* Answers up to 4 KiB (every sysctl, most views) are made here, not allocated. */
	char buf[4096];
	struct pb_file *f;
	struct fs_req r;
	int e;

	trace(req, "read", ino, NULL);
	e = file_of(req, ino, fi, &f);
	if (e < 0)
		return reply_err(req, e);
	fs_req_start_file(&r, req, USAGE_READ, serve_read, f);
	r.size = size > MAX_IO ? MAX_IO : size;
	r.off = off;
	r.out = buf;
	r.out_size = sizeof(buf);
	admit(&r);
}

static int serve_write(struct fs_req *r)
{
	int res;

	res = tree_write(&r->caller, r->file, r->data, r->size, r->off);
	if (res >= 0)
		r->bytes_written = (uint64_t)res;
	return res;
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct pb_file *f;
	struct fs_req r;
	int e;

	trace(req, "write", ino, NULL);
	e = file_of(req, ino, fi, &f);
	if (e < 0)
		return reply_err(req, e);
	fs_req_start_file(&r, req, USAGE_WRITE, serve_write, f);
	r.data = buf;
	r.size = size;
	r.off = off;
	admit(&r);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pb_file *f = fs_handle_take(fs_of(req)->handles, fi->fh);
	struct container *c;
	struct usage *u;

	/* a handle of an earlier daemon that nobody used here: nothing to release */
	if (!f) {
		fuse_reply_err(req, 0);
		return;
	}
	c = f->charged ? container_ref(f->charged) : NULL;
	u = c ? usage_get(c) : NULL;

	release_file(f);
	fuse_reply_err(req, 0);
	if (u)
		usage_record(u, &(struct usage_done){.kind = USAGE_RELEASE});
	if (c)
		container_unref(c);
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
	/* A request must be served while its submitter still waits in the kernel: a task
	 * that the daemon has read a request of cannot return, so its pid (and with it the
	 * namespaces and credentials procbox serves it in) is still its own. Asynchronous
	 * direct I/O (io_submit) and asynchronous reads would let it return, exit, and its
	 * pid be reused by a process of another container, whose namespaces the request
	 * would then be served in. Without them, io_submit waits like read(2). Splicing
	 * changes nothing here; there is no writeback cache (above). */
	conn->want &= ~(unsigned)FUSE_CAP_ASYNC_READ;
	conn->want &= ~(unsigned)FUSE_CAP_ASYNC_DIO;
	/* The handlers take PB_WRITE_MAX at most per write: the kernel splits larger ones
	 * into requests of this size at increasing offsets. */
	if (conn->max_write > PB_WRITE_MAX)
		conn->max_write = PB_WRITE_MAX;
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
