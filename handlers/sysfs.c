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
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/emulated.h"
#include "handlers/nsreq.h"
#include "handlers/sysfs.h"
#include "util/fileio.h"
#include "util/macro.h"

#define UUID_LEN 36

/* ---- sys/kernel/{config,debug,tracing,security} ---- */

static int kernel_dir_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	/* debug and tracing are 0700, as the kernel mounts them: only root may list them. */
	bool private =
	    strcmp(path, "sys/kernel/debug") == 0 || strcmp(path, "sys/kernel/tracing") == 0;

	return private && !pb_caller_is_root(c) ? -EACCES : 0;
}

/* ---- sys/devices/virtual/net ---- */

/* A caller in its own netns is served by a sysfs mounted in it, in a mount namespace of the
 * nsenter child's own; one in the host's netns by the host's sysfs. */
static unsigned long net_clone_flags(const struct pb_caller *c)
{
	return pb_caller_ns_is_host(c, NS_NET) > 0 ? 0 : CLONE_NEWNS;
}

static int net_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	char kpath[PATH_MAX];

	pb_kernel_path(path, kpath, sizeof(kpath));
	return nsreq_stat(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, st);
}

static int net_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	char kpath[PATH_MAX];

	pb_kernel_path(path, kpath, sizeof(kpath));
	return nsreq_readdir(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, d);
}

static int net_readlink(const struct pb_caller *c, const char *path, char *buf, size_t size)
{
	char kpath[PATH_MAX];

	pb_kernel_path(path, kpath, sizeof(kpath));
	return nsreq_readlink(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, buf, size);
}

static int net_open(const struct pb_caller *c, struct pb_file *f)
{
	int acc = f->flags & O_ACCMODE;
	char kpath[PATH_MAX];
	int r;

	pb_kernel_path(f->path, kpath, sizeof(kpath));
	/* Opened by the child with the caller's credentials, so the kernel decides who may
	 * read or write. A write-only open is a permission probe: writes go through the
	 * child (net_write()); the fd kept for reads is read-only, and keeps its sysfs (and
	 * netns) after the child is gone. */
	if (acc != O_RDONLY) {
		r = nsreq_open(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath,
			       acc | (f->flags & O_TRUNC), false, NULL);
		if (r < 0 || acc == O_WRONLY)
			return r;
	}
	return nsreq_open(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, O_RDONLY, true, &f->fd);
}

static int net_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	char kpath[PATH_MAX];

	if (f->fd >= 0)
		return nsreq_read_fd(f->fd, ret, ret_len);
	pb_kernel_path(f->path, kpath, sizeof(kpath));
	return nsreq_read(c, NSREQ_DEFAULT_MASK, net_clone_flags(c), kpath, ret, ret_len);
}

static int net_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
		     off_t off)
{
	char kpath[PATH_MAX];

	/* Never through an fd in the daemon: the kernel checks these writes against the
	 * writing task (capable(CAP_NET_ADMIN) for rps_cpus, xps_cpus and tx_maxrate,
	 * ns_capable() over the netns's owner for mtu and flags), and the daemon is the
	 * host's root. The child writes with the writer's credentials. */
	pb_kernel_path(f->path, kpath, sizeof(kpath));
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

/* SipHash-2-4 (Aumasson and Bernstein): a keyed hash whose output tells nothing of the
 * key, nor of other inputs, to one who does not hold it. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t siphash24(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; i + k < len; k++)
		b |= (uint64_t)in[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int sysfs_container_uuid(const uint8_t key[SYSFS_UUID_KEY_LEN], const void *id, size_t id_len,
			 char *buf, size_t size)
{
	uint8_t in[64], u[16];
	uint64_t h[2];
	int n;

	if (id_len + 1 > sizeof(in))
		return -EINVAL;
	memcpy(in + 1, id, id_len);
	/* Two halves, each from its own input: 128 bits. */
	for (int half = 0; half < 2; half++) {
		in[0] = (uint8_t)half;
		h[half] = siphash24(key, in, id_len + 1);
	}
	for (int i = 0; i < 8; i++) {
		u[i] = (uint8_t)(h[0] >> (8 * i));
		u[8 + i] = (uint8_t)(h[1] >> (8 * i));
	}
	/* Shaped as a random (version 4, RFC 9562) uuid: that is what it is to anyone
	 * without the key. */
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	n = snprintf(buf, size,
		     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n", u[0],
		     u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		     u[13], u[14], u[15]);
	return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

static char host_uuid[UUID_LEN + 1];
static int host_uuid_error;
static uint8_t uuid_key[SYSFS_UUID_KEY_LEN];
static pthread_once_t host_uuid_once = PTHREAD_ONCE_INIT;

/* The machine's DMI uuid; a machine without DMI (a VM without SMBIOS, most non-x86 boards)
 * has a machine-id, and any Linux a boot id, in that order of stability. Shown to the host
 * alone. */
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

static int random_bytes(uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0 && errno != EINTR)
			return negative_errno();
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

/*
 * The key of containers' uuids: random, made once per boot and kept in /run (a tmpfs,
 * root's alone), so a container's uuid stays the same across restarts of procbox; a
 * daemon that cannot keep it uses a key of its own.
 */
#define UUID_KEY_DIR "/run/procbox"
#define UUID_KEY_FILE UUID_KEY_DIR "/uuid-key"

static void uuid_key_load(void)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	uint8_t k[SYSFS_UUID_KEY_LEN];

	if (random_bytes(uuid_key, sizeof(uuid_key)) < 0)
		abort(); /* getrandom(2) blocks rather than fail once the pool is ready */
	if (mkdir(UUID_KEY_DIR, 0700) < 0 && errno != EEXIST)
		return;
	fd = open(UUID_KEY_FILE, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, uuid_key, sizeof(uuid_key)) != (ssize_t)sizeof(uuid_key))
			(void)unlink(UUID_KEY_FILE);
		return;
	}
	fd = open(UUID_KEY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	/* Only a key root made and nobody else could read is worth keeping. */
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 077) || st.st_size != (off_t)sizeof(k) ||
	    read(fd, k, sizeof(k)) != (ssize_t)sizeof(k))
		return;
	memcpy(uuid_key, k, sizeof(k));
}

static void uuid_load(void)
{
	host_uuid_load();
	uuid_key_load();
}

/* What a container's uuid is made of: its identity and its init's start, the same for its
 * whole life, and different for a later container that reuses the namespace inode. */
static void container_uuid_id(const struct container *ct, uint64_t ret[3])
{
	const struct container_id *id = container_get_id(ct);

	ret[0] = (uint64_t)id->type;
	ret[1] = id->ino;
	ret[2] = container_init_start_ticks(ct);
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

	uint64_t id[3];

	pthread_once(&host_uuid_once, uuid_load);
	if (pb_caller_is_host(c)) {
		if (host_uuid_error < 0)
			return host_uuid_error;
		r = snprintf(buf, sizeof(buf), "%s\n", host_uuid);
	} else {
		container_uuid_id(c->container, id);
		r = sysfs_container_uuid(uuid_key, id, sizeof(id), buf, sizeof(buf));
	}
	if (r < 0)
		return r;
	*ret = strdup(buf);
	if (!*ret)
		return -ENOMEM;
	*ret_len = strlen(buf);
	return 0;
}

/* A kernel file system's mountpoint (configfs, debugfs, ...): an empty folder, bound over
 * the container's. */
#define KERNEL_DIR(p, m)                                                                           \
	{                                                                                          \
		.path = (p), .mode = S_IFDIR | (m), .bind = true, .readdir = kernel_dir_readdir    \
	}

const struct handler sysfs_handlers[] = {
    KERNEL_DIR("sys/kernel/config", 0755),
    KERNEL_DIR("sys/kernel/security", 0755),
    KERNEL_DIR("sys/kernel/debug", 0700),
    KERNEL_DIR("sys/kernel/tracing", 0700),
    /* The kernel's allocation limit: UINT_MAX / sizeof(struct hlist_nulls_head). */
    EMULATED("sys/module/nf_conntrack/parameters/hashsize", 0600, EMUL_VALUE, SCOPE_HOST,
	     EMUL_INT(1, UINT32_MAX / 8), NULL, .bind = true),
    {
	.path = "sys/devices/virtual/net",
	.subtree = true,
	.mode = S_IFDIR | 0755,
	.bind = true,
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
	.bind = true,
	.open = product_uuid_open,
	.content = product_uuid_content,
    },
};

const size_t n_sysfs_handlers = ELEMENTSOF(sysfs_handlers);
