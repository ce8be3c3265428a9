/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/emulated.h"
#include "handlers/nsreq.h"
#include "handlers/sysfs.h"
#include "util/fileio.h"
#include "util/macro.h"

#define UUID_LEN 36

static bool is_host(const struct pb_caller *c)
{
	return !c->container || container_is_host(c->container);
}

/* ---- sys/kernel/{config,debug,tracing,security} ---- */

static int kernel_dir_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	/* debug and tracing are 0700, as the kernel mounts them: only root may list them. */
	bool private =
	    strcmp(path, "sys/kernel/debug") == 0 || strcmp(path, "sys/kernel/tracing") == 0;

	return private && !pb_caller_is_root(c) ? -EACCES : 0;
}

/* ---- sys/devices/virtual/net ---- */

static bool caller_in_host_netns(const struct pb_caller *c)
{
	uint64_t mine, host;

	if (ns_get_inode(c->pid, NS_NET, &mine) < 0 || ns_get_inode(getpid(), NS_NET, &host) < 0)
		return false;
	return mine == host;
}

/* A caller in its own netns is served by a sysfs mounted in it, in a mount namespace of the
 * nsenter child's own; one in the host's netns by the host's sysfs. */
static unsigned long net_clone_flags(const struct pb_caller *c)
{
	return caller_in_host_netns(c) ? 0 : CLONE_NEWNS;
}

static void kpath_of(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "/%s", path);
}

static int net_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	char kpath[PATH_MAX];

	kpath_of(path, kpath, sizeof(kpath));
	return nsreq_stat(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, st);
}

static int net_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	char kpath[PATH_MAX];

	kpath_of(path, kpath, sizeof(kpath));
	return nsreq_readdir(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, d);
}

static int net_readlink(const struct pb_caller *c, const char *path, char *buf, size_t size)
{
	char kpath[PATH_MAX];

	kpath_of(path, kpath, sizeof(kpath));
	return nsreq_readlink(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, buf, size);
}

static int net_open(const struct pb_caller *c, struct pb_file *f)
{
	char kpath[PATH_MAX];

	kpath_of(f->path, kpath, sizeof(kpath));
	/* Opened by the child with the caller's credentials, so the kernel decides who may
	 * read or write; the fd keeps its sysfs (and netns) after the child is gone. */
	return nsreq_open(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath,
			  (f->flags & O_ACCMODE) | (f->flags & O_TRUNC), true, &f->fd);
}

static int net_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	char kpath[PATH_MAX];

	if (f->fd >= 0)
		return nsreq_read_fd(f->fd, ret, ret_len);
	kpath_of(f->path, kpath, sizeof(kpath));
	return nsreq_read(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, ret, ret_len);
}

static int net_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
		     off_t off)
{
	char kpath[PATH_MAX];
	ssize_t n;

	pthread_mutex_lock(&f->lock);
	f->snap_valid = false;
	if (f->fd >= 0) {
		n = pwrite(f->fd, buf, size, off);
		pthread_mutex_unlock(&f->lock);
		return n < 0 ? negative_errno() : (int)n;
	}
	pthread_mutex_unlock(&f->lock);
	kpath_of(f->path, kpath, sizeof(kpath));
	return nsreq_write(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, buf, size, off);
}

/* ---- sys/devices/virtual/dmi/id/product_uuid ---- */

static bool is_uuid(const char *s)
{
	for (size_t i = 0; i < UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[UUID_LEN] == 0 || s[UUID_LEN] == '\n';
}

int sysfs_container_uuid(const char *host_uuid, uint64_t salt, char *buf, size_t size)
{
	int n;

	if (!is_uuid(host_uuid))
		return -EINVAL;
	n = snprintf(buf, size, "%.24s%012" PRIx64 "\n", host_uuid,
		     salt & UINT64_C(0xffffffffffff));
	return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

static char host_uuid[UUID_LEN + 1];
static int host_uuid_error;
static pthread_once_t host_uuid_once = PTHREAD_ONCE_INIT;

/* The machine's DMI uuid; a machine without DMI (a VM without SMBIOS, most non-x86 boards)
 * has a machine-id, and any Linux a boot id, in that order of stability. */
static void host_uuid_load(void)
{
	_cleanup_free_ char *dmi = NULL, *mid = NULL, *boot = NULL;

	if (read_full_file("/sys/devices/virtual/dmi/id/product_uuid", &dmi, NULL) >= 0 &&
	    is_uuid(dmi)) {
		memcpy(host_uuid, dmi, UUID_LEN);
		return;
	}
	if (read_full_file("/etc/machine-id", &mid, NULL) >= 0 &&
	    strspn(mid, "0123456789abcdef") == 32) {
		snprintf(host_uuid, sizeof(host_uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", mid, mid + 8,
			 mid + 12, mid + 16, mid + 20);
		return;
	}
	if (read_full_file("/proc/sys/kernel/random/boot_id", &boot, NULL) >= 0 && is_uuid(boot)) {
		memcpy(host_uuid, boot, UUID_LEN);
		return;
	}
	host_uuid_error = -ENOENT;
}

/* FNV-1a over the container's identity and its init's start: the same for the container's
 * whole life, across daemon restarts, and different for a later container that reuses the
 * namespace inode. */
static uint64_t container_salt(const struct container *ct)
{
	const struct container_id *id = container_get_id(ct);
	uint64_t parts[3] = {(uint64_t)id->type, id->ino, container_init_start_ticks(ct)};
	const unsigned char *p = (const unsigned char *)parts;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(parts); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int product_uuid_open(const struct pb_caller *c, struct pb_file *f)
{
	/* 0400 like the kernel's: the container's root alone may read it. */
	return pb_caller_is_root(c) ? 0 : -EACCES;
}

static int product_uuid_content(const struct pb_caller *c, struct pb_file *f, char **ret,
				size_t *ret_len)
{
	char buf[UUID_LEN + 2];
	int r;

	pthread_once(&host_uuid_once, host_uuid_load);
	if (host_uuid_error < 0)
		return host_uuid_error;
	if (is_host(c))
		r = snprintf(buf, sizeof(buf), "%s\n", host_uuid);
	else
		r = sysfs_container_uuid(host_uuid, container_salt(c->container), buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret = strdup(buf);
	if (!*ret)
		return -ENOMEM;
	*ret_len = strlen(buf);
	return 0;
}

const struct handler sysfs_handlers[] = {
    {.path = "sys/kernel/config", .mode = S_IFDIR | 0755, .readdir = kernel_dir_readdir},
    {.path = "sys/kernel/security", .mode = S_IFDIR | 0755, .readdir = kernel_dir_readdir},
    {.path = "sys/kernel/debug", .mode = S_IFDIR | 0700, .readdir = kernel_dir_readdir},
    {.path = "sys/kernel/tracing", .mode = S_IFDIR | 0700, .readdir = kernel_dir_readdir},
    EMULATED_HANDLER("sys/module/nf_conntrack/parameters/hashsize", 0600),
    {
	.path = "sys/devices/virtual/net",
	.subtree = true,
	.mode = S_IFDIR | 0755,
	.getattr = net_getattr,
	.readdir = net_readdir,
	.readlink = net_readlink,
	.open = net_open,
	.content = net_content,
	.write = net_write,
    },
    {
	.path = "sys/devices/virtual/dmi/id/product_uuid",
	.mode = S_IFREG | 0400,
	.open = product_uuid_open,
	.content = product_uuid_content,
    },
};

const size_t n_sysfs_handlers = ELEMENTSOF(sysfs_handlers);
