/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "cgroup/parse.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/mountinfo.h"

static const char *const v1_names[_CGROUP_CONTROLLER_MAX] = {
    [CGROUP_MEMORY] = "memory", [CGROUP_CPU] = "cpu",	  [CGROUP_CPUACCT] = "cpuacct",
    [CGROUP_CPUSET] = "cpuset", [CGROUP_BLKIO] = "blkio",
};

static const char *const v2_names[_CGROUP_CONTROLLER_MAX] = {
    [CGROUP_MEMORY] = "memory", [CGROUP_CPU] = "cpu",  [CGROUP_CPUACCT] = "cpu",
    [CGROUP_CPUSET] = "cpuset", [CGROUP_BLKIO] = "io",
};

struct hierarchy {
	int version;
	char *mount;  /* root + mount point */
	char *fsroot; /* the subtree of the hierarchy mounted there, "/" normally */
};

struct cgroup_layout {
	char *root;
	struct hierarchy h[_CGROUP_CONTROLLER_MAX];
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cgroup_layout *, cgroup_layout_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cgroup *, cgroup_free);

int cg_read_at(int dirfd, const char *path, bool one_record, char **ret)
{
	_cleanup_close_ int fd = -EBADF;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	return read_full_fd_flags(fd, one_record ? READ_ONE_RECORD : 0, ret, NULL);
}

static int read_file_at(int dirfd, const char *path, char **ret)
{
	return cg_read_at(dirfd, path, true, ret);
}

static int read_list_at(int dirfd, const char *path, char **ret)
{
	return cg_read_at(dirfd, path, false, ret);
}

char *cg_path_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s%s%s", a, b[0] == '/' ? "" : "/", b) < 0)
		return NULL;
	return p;
}

/* ---- layout ---- */

void cgroup_layout_free(struct cgroup_layout *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
		free(l->h[i].mount);
		free(l->h[i].fsroot);
	}
	free(l->root);
	free(l);
}

/* A controller may be mounted more than once (bind mounts, a container's view of a subtree):
 * the mount of the whole hierarchy can reach every cgroup, so it wins. */
static int hierarchy_offer(struct hierarchy *h, int version, const char *root,
			   const struct mountinfo_entry *e)
{
	char *mount = NULL, *fsroot;

	if (h->version && (strcmp(h->fsroot, "/") == 0 || strcmp(e->root, "/") != 0))
		return 0;
	if (asprintf(&mount, "%s%s", root, e->mountpoint) < 0)
		return -ENOMEM;
	fsroot = strdup(e->root);
	if (!fsroot) {
		free(mount);
		return -ENOMEM;
	}
	free(h->mount);
	free(h->fsroot);
	*h = (struct hierarchy){.version = version, .mount = mount, .fsroot = fsroot};
	return 0;
}

static bool word_in(const char *list, const char *sep, const char *word)
{
	size_t wlen = strlen(word);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, sep);

		if (l == wlen && memcmp(p, word, l) == 0)
			return true;
		p += l;
		p += strspn(p, sep);
	}
	return false;
}

int cgroup_layout_parse(const char *root, const char *mountinfo, struct cgroup_layout **ret)
{
	_cleanup_(cgroup_layout_freep) struct cgroup_layout *l = NULL;
	struct hierarchy unified = {};
	_cleanup_free_ char *controllers = NULL, *cpath = NULL;
	int r = 0;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->root = strdup(root);
	if (!l->root)
		return -ENOMEM;

	for (const char *line = mountinfo; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		struct mountinfo_entry e;

		r = mountinfo_parse_line(line, len, &e);
		line = eol ? eol + 1 : NULL;
		if (r == -ENOMEM)
			goto out;
		if (r < 0)
			continue;
		r = 0;
		if (e.root[0] != '/' || e.mountpoint[0] != '/') {
			/* no file system path: a cgroup mount never has one */
		} else if (strcmp(e.fstype, "cgroup") == 0) {
			for (size_t c = 0; c < _CGROUP_CONTROLLER_MAX && r >= 0; c++)
				if (word_in(e.super_options, ",", v1_names[c]))
					r = hierarchy_offer(&l->h[c], 1, root, &e);
		} else if (strcmp(e.fstype, "cgroup2") == 0) {
			r = hierarchy_offer(&unified, 2, root, &e);
		}
		mountinfo_entry_done(&e);
		if (r < 0)
			goto out;
	}

	/* A controller bound to a v1 hierarchy is absent from v2's cgroup.controllers, so the
	 * two never claim the same controller. */
	if (unified.version) {
		cpath = cg_path_join(unified.mount, "cgroup.controllers");
		if (!cpath) {
			r = -ENOMEM;
			goto out;
		}
		if (read_file_at(AT_FDCWD, cpath, &controllers) < 0)
			controllers = NULL;
	}
	for (size_t c = 0; c < _CGROUP_CONTROLLER_MAX && controllers; c++) {
		if (l->h[c].version || !word_in(controllers, " \n", v2_names[c]))
			continue;
		l->h[c].mount = strdup(unified.mount);
		l->h[c].fsroot = strdup(unified.fsroot);
		if (!l->h[c].mount || !l->h[c].fsroot) {
			r = -ENOMEM;
			goto out;
		}
		l->h[c].version = 2;
	}
	*ret = TAKE_PTR(l);
	r = 0;
out:
	free(unified.mount);
	free(unified.fsroot);
	return r;
}

int cgroup_layout_detect(const char *root, struct cgroup_layout **ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	if (asprintf(&path, "%s/proc/self/mountinfo", root) < 0)
		return -ENOMEM;
	r = read_list_at(AT_FDCWD, path, &text);
	if (r < 0)
		return r;
	return cgroup_layout_parse(root, text, ret);
}

int cgroup_layout_version(const struct cgroup_layout *l, enum cgroup_controller c)
{
	return c < _CGROUP_CONTROLLER_MAX ? l->h[c].version : 0;
}

const char *cgroup_layout_mount(const struct cgroup_layout *l, enum cgroup_controller c)
{
	return c < _CGROUP_CONTROLLER_MAX ? l->h[c].mount : NULL;
}

/* ---- resolution ---- */

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
		free(cg->mount[i]);
		free(cg->dir[i]);
	}
	free(cg->proc);
	free(cg);
}

/* The kernel never prints "." or ".." components, nor empty ones: refuse any that would let a
 * path step outside the mount. */
static bool path_is_clean(const char *p)
{
	for (const char *s = p; *s;) {
		size_t l;

		s += strspn(s, "/");
		l = strcspn(s, "/");
		if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += l;
	}
	return true;
}

int cgroup_resolve_text(const struct cgroup_layout *l, const char *proc_pid_cgroup,
			struct cgroup **ret)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r;

	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	if (asprintf(&cg->proc, "%s/proc", l->root) < 0) {
		cg->proc = NULL;
		return -ENOMEM;
	}

	for (size_t c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
		const struct hierarchy *h = &l->h[c];
		_cleanup_free_ char *path = NULL;
		const char *rel;
		size_t rootlen;

		cg->error[c] = -EOPNOTSUPP;
		if (!h->version)
			continue;
		r = cg_parse_proc_cgroup(proc_pid_cgroup, h->version == 1 ? v1_names[c] : NULL,
					 &path);
		if (r == -ENXIO) /* no line for this controller: it stays unavailable */
			continue;
		if (r < 0)
			return r;
		if (!path_is_clean(path))
			return -EINVAL;

		rootlen = strcmp(h->fsroot, "/") == 0 ? 0 : strlen(h->fsroot);
		if (strncmp(path, h->fsroot, rootlen) != 0 ||
		    (path[rootlen] != '/' && path[rootlen] != 0)) {
			/* Outside the subtree that is mounted here: unreachable for us. */
			cg->error[c] = -ENOENT;
			continue;
		}
		rel = path + rootlen;
		rel += strspn(rel, "/");
		cg->dir[c] = *rel ? cg_path_join(h->mount, rel) : strdup(h->mount);
		cg->mount[c] = strdup(h->mount);
		if (!cg->dir[c] || !cg->mount[c])
			return -ENOMEM;
		cg->version[c] = h->version;
		cg->error[c] = 0;
	}
	*ret = TAKE_PTR(cg);
	return 0;
}

int cgroup_resolve_pid(const struct cgroup_layout *l, pid_t pid, struct cgroup **ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	if (pid <= 0)
		return -EINVAL;
	if (asprintf(&path, "%s/proc/%d/cgroup", l->root, (int)pid) < 0)
		return -ENOMEM;
	r = read_file_at(AT_FDCWD, path, &text);
	if (r < 0)
		return r;
	return cgroup_resolve_text(l, text, ret);
}

const char *cgroup_path(const struct cgroup *cg, enum cgroup_controller c)
{
	return c < _CGROUP_CONTROLLER_MAX ? cg->dir[c] : NULL;
}

/* ---- helpers for reader.c and tasks.c ---- */

int cg_file_missing(const struct cgroup *cg, enum cgroup_controller c)
{
	if (access(cg->dir[c], F_OK) < 0)
		return errno == ENOENT ? -ENOENT : negative_errno();
	return -EOPNOTSUPP;
}

bool cg_dir_up(char *dir, size_t mountlen)
{
	char *slash;

	if (strlen(dir) <= mountlen)
		return false;
	slash = strrchr(dir, '/');
	if (!slash || (size_t)(slash - dir) < mountlen)
		return false;
	*slash = 0;
	return true;
}
