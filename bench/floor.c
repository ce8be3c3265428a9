/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * procbox-floor: the cheapest FUSE file this machine can serve.
 *
 * One read-only file, /value, whose content is "1\n", served by a multi-threaded
 * low-level libfuse3 session with direct_io, the way procbox serves /proc files.
 * A read of it costs one FUSE round trip and nothing else, so the benchmark uses
 * it as the floor that procbox's namespaced reads are held against.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_ROOT_INO FUSE_ROOT_ID
#define FLOOR_VALUE_INO 2
#define FLOOR_TIMEOUT 1.0
/* Like the kernel's /proc files: a size that is not the content's, so that `cat` reads. */
#define FLOOR_VALUE_SIZE 4096

static const char floor_value[] = "1\n";
static const char floor_name[] = "value";

static int floor_stat(fuse_ino_t ino, struct stat *ret)
{
	struct stat st = {
	    .st_ino = ino,
	    .st_uid = 0,
	    .st_gid = 0,
	};
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	st.st_atim = st.st_mtim = st.st_ctim = now;

	switch (ino) {
	case FLOOR_ROOT_INO:
		st.st_mode = S_IFDIR | 0555;
		st.st_nlink = 2;
		break;
	case FLOOR_VALUE_INO:
		st.st_mode = S_IFREG | 0444;
		st.st_nlink = 1;
		st.st_size = FLOOR_VALUE_SIZE;
		break;
	default:
		return -ENOENT;
	}

	*ret = st;
	return 0;
}

static void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = {
	    .ino = FLOOR_VALUE_INO,
	    .attr_timeout = FLOOR_TIMEOUT,
	    .entry_timeout = FLOOR_TIMEOUT,
	};

	if (parent != FLOOR_ROOT_INO || strcmp(name, floor_name) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	(void)floor_stat(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void floor_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int r;

	r = floor_stat(ino, &st);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fuse_reply_attr(req, &st, FLOOR_TIMEOUT);
}

static void floor_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	static const struct {
		const char *name;
		fuse_ino_t ino;
		mode_t mode;
	} entries[] = {
	    {".", FLOOR_ROOT_INO, S_IFDIR},
	    {"..", FLOOR_ROOT_INO, S_IFDIR},
	    {floor_name, FLOOR_VALUE_INO, S_IFREG},
	};
	char buf[512];
	size_t used = 0;

	if (ino != FLOOR_ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);

	for (off_t i = off; i >= 0 && i < (off_t)(sizeof(entries) / sizeof(entries[0])); i++) {
		struct stat st = {.st_ino = entries[i].ino, .st_mode = entries[i].mode};
		size_t n;

		n = fuse_add_direntry(req, buf + used, size - used, entries[i].name, &st, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void floor_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino == FLOOR_ROOT_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (ino != FLOOR_VALUE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	/* Every read must reach the daemon, as procbox's do: no page cache in between. */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void floor_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	size_t len = sizeof(floor_value) - 1;

	if (ino != FLOOR_VALUE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	fuse_reply_buf(req, floor_value + off, size);
}

static const struct fuse_lowlevel_ops floor_ops = {
    .lookup = floor_lookup,
    .getattr = floor_getattr,
    .readdir = floor_readdir,
    .open = floor_open,
    .read = floor_read,
};

static void floor_usage(const char *prog)
{
	printf("Usage: %s [OPTIONS] MOUNTPOINT\n"
	       "Serves MOUNTPOINT/value (\"1\\n\", direct_io) as a FUSE round-trip floor.\n\n",
	       prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {};
	struct fuse_loop_config *config = NULL;
	struct fuse_session *se = NULL;
	int ret = 1;

	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	if (opts.show_help) {
		floor_usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (opts.show_version) {
		printf("FUSE library version %s\n", fuse_pkgversion());
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "%s: no mountpoint given (see --help)\n", argv[0]);
		goto out_args;
	}

	se = fuse_session_new(&args, &floor_ops, sizeof(floor_ops), NULL);
	if (!se)
		goto out_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;

	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		config = fuse_loop_cfg_create();
		if (!config)
			goto out_unmount;
		fuse_loop_cfg_set_clone_fd(config, opts.clone_fd);
		fuse_loop_cfg_set_max_threads(config, opts.max_threads);
		/* UINT_MAX is the parser's "not given": the library keeps its default then. */
		if (opts.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(config, opts.max_idle_threads);
		ret = fuse_session_loop_mt(se, config);
		fuse_loop_cfg_destroy(config);
	}
	ret = ret != 0;

out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
