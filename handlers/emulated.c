/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "handlers/emulated.h"
#include "handlers/nsreq.h"
#include "handlers/sysctl_value.h"
#include "nsenter/creds.h"
#include "util/fileio.h"
#include "util/macro.h"

/* Serialises "seed unless set" and read-modify-write of a container's values. */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_per_container(const struct emul_spec *s)
{
	return s->kind == EMUL_VALUE || s->kind == EMUL_PING_RANGE;
}

/* Whether the kernel file is read and written here, in the daemon's namespaces. */
static bool served_here(const struct pb_caller *c, const struct emul_spec *s)
{
	return s->scope == SCOPE_HOST || pb_caller_ns_is_host(c, NS_NET) > 0;
}

static int copy_text(const char *data, size_t len, char *buf, size_t size)
{
	if (len >= size)
		return -ENOBUFS;
	memcpy(buf, data, len);
	buf[len] = 0;
	return 0;
}

/* The kernel's current value as the caller would read it without procbox. */
static int kernel_read(const struct pb_caller *c, const struct handler *h, char *buf, size_t size)
{
	const struct emul_spec *s = h->data;
	_cleanup_free_ char *data = NULL;
	char kpath[PATH_MAX];
	size_t len = 0;
	int r;

	pb_kernel_path(h->path, kpath, sizeof(kpath));
	if (served_here(c, s))
		r = read_full_file(kpath, &data, &len);
	else
		/* The caller's credentials: ping_group_range is shown in the reader's user
		 * namespace. */
		r = nsreq_read(c, NSREQ_DEFAULT_MASK, 0, kpath, &data, &len);
	if (r == -ENOENT && s->fallback)
		return copy_text(s->fallback, strlen(s->fallback), buf, size);
	if (r < 0)
		return r;
	return copy_text(data, len, buf, size);
}

/* The container's value: what it last wrote, or the kernel's value when it first read. */
static int container_current(const struct pb_caller *c, const struct handler *h, char *buf,
			     size_t size)
{
	char seed[SYSCTL_VALUE_TEXT_MAX];
	int r;

	r = container_value_get(c->container, h->path, buf, size);
	if (r != -ENOENT)
		return r;
	r = kernel_read(c, h, seed, sizeof(seed));
	if (r < 0)
		return r;
	pthread_mutex_lock(&store_lock);
	/* A write may have come in meanwhile: it wins over the seed. */
	r = container_value_get(c->container, h->path, buf, size);
	if (r == -ENOENT) {
		r = container_value_set(c->container, h->path, seed);
		if (r >= 0)
			r = copy_text(seed, strlen(seed), buf, size);
	}
	pthread_mutex_unlock(&store_lock);
	return r;
}

static int random_uuid(char *buf, size_t size)
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		got += (size_t)n;
	}
	/* RFC 9562: version 4 in the high nibble of byte 6, variant 10 in byte 8. */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(buf, size,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
	return 0;
}

bool emulated_exists(const struct handler *h)
{
	const struct emul_spec *s = h->data;
	char kpath[PATH_MAX];

	/* Absent from this kernel (module not loaded, feature not built): absent here too,
	 * unless there is a default to show. Netns entries sit in folders the caller's
	 * netns lookup has already found. */
	pb_kernel_path(h->path, kpath, sizeof(kpath));
	return s->scope != SCOPE_HOST || s->fallback || access(kpath, F_OK) == 0;
}
/* The kernel's sysctl permission: the owner's bits for the container's root, the others'
 * for everyone else (every file here belongs to the container's root user and group). */
static int check_access(const struct pb_caller *c, mode_t mode, int acc)
{
	mode_t bits = mode;

	if (pb_caller_is_root(c))
		bits = mode >> 6;
	else if (c->container && c->gid == container_root_gid(c->container))
		bits = mode >> 3;
	if ((acc == O_RDONLY || acc == O_RDWR) && !(bits & 04))
		return -EACCES;
	if ((acc == O_WRONLY || acc == O_RDWR) && !(bits & 02))
		return -EACCES;
	return 0;
}

int emulated_open(const struct pb_caller *c, struct pb_file *f)
{
	const struct emul_spec *s = f->h->data;
	int acc = f->flags & O_ACCMODE;

	if (s->kind == EMUL_RANDOM_UUID && acc != O_RDONLY)
		/* The container's root opens it, and learns on write that it cannot. */
		return pb_caller_is_root(c) ? 0 : -EACCES;
	if (acc != O_RDONLY && is_per_container(s) && pb_caller_is_host(c))
		return -EACCES;
	return check_access(c, f->h->mode & 07777, acc);
}

int emulated_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	const struct emul_spec *s = f->h->data;
	char text[SYSCTL_VALUE_TEXT_MAX];
	int r;

	if (s->kind == EMUL_RANDOM_UUID)
		r = random_uuid(text, sizeof(text));
	else if (s->kind == EMUL_HOST_RO || pb_caller_is_host(c))
		r = kernel_read(c, f->h, text, sizeof(text));
	else
		r = container_current(c, f->h, text, sizeof(text));
	if (r < 0)
		return r;
	*ret = strdup(text);
	if (!*ret)
		return -ENOMEM;
	*ret_len = strlen(text);
	return 0;
}

/*
 * The part of min..max (gids of the writer's user namespace) that lies in one extent of
 * its gid map m, the extent holding most of it. The kernel takes any two mapped ends, and
 * between the host gids of two extents lie other containers' and the host's groups.
 * false if min > max or none of min..max is mapped.
 */
static bool clamp_to_one_extent(const struct id_map *m, uint32_t min, uint32_t max,
				uint32_t *ret_min, uint32_t *ret_max)
{
	uint64_t best = 0;

	if (min > max)
		return false;
	for (uint32_t i = 0; i < m->n; i++) {
		const struct id_extent *e = &m->extent[i];
		uint64_t a, b;

		if (e->count == 0)
			continue;
		a = MAX((uint64_t)min, (uint64_t)e->first);
		b = MIN((uint64_t)max, (uint64_t)e->first + e->count - 1);
		if (a > b || b - a + 1 <= best)
			continue;
		best = b - a + 1;
		*ret_min = (uint32_t)a;
		*ret_max = (uint32_t)b;
	}
	return best > 0;
}

/*
 * Applies a written ping_group_range to the writer's own netns, written there by an
 * nsenter child with the writer's credentials in its namespaces, as every /proc/sys write
 * is: the kernel decides (CAP_NET_ADMIN over the netns's owner, gids mapped in the
 * writer's user namespace), and its refusal is the writer's answer. The range is first
 * narrowed to one extent of the writer's gid map (clamp_to_one_extent()): Docker writes
 * "0 2147483647" into every container, which a user namespace does not map whole. A
 * range with nothing in the map ("nobody", min above max, or unmapped gids) goes to the
 * kernel as written, which refuses unmapped ends (EINVAL). A writer in the host's netns
 * keeps its value to itself: the host's range is not a container's to change.
 */
static int apply_ping_range(const struct pb_caller *c, const struct handler *h,
			    const struct sysctl_value *v)
{
	_cleanup_free_ char *map_text = NULL;
	char text[SYSCTL_VALUE_TEXT_MAX], kpath[PATH_MAX], path[64];
	uint32_t a = (uint32_t)v->field[0].abs, b = (uint32_t)v->field[1].abs;
	struct id_map map;
	int r;

	if (pb_caller_ns_is_host(c, NS_NET) > 0)
		return 0;
	/* The map as the daemon reads it: inside gids first, the writer's own. */
	snprintf(path, sizeof(path), "/proc/%d/gid_map", c->pid);
	r = read_full_file(path, &map_text, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	if (id_map_parse(map_text, &map) < 0)
		return -EIO;
	(void)clamp_to_one_extent(&map, a, b, &a, &b);
	snprintf(text, sizeof(text), "%u\t%u\n", (unsigned)a, (unsigned)b);
	pb_kernel_path(h->path, kpath, sizeof(kpath));
	r = nsreq_write(c, NSREQ_DEFAULT_MASK, 0, kpath, text, strlen(text), 0);
	return r < 0 ? r : 0;
}

int emulated_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
		   off_t off)
{
	const struct emul_spec *s = f->h->data;
	char text[SYSCTL_VALUE_TEXT_MAX];
	struct sysctl_value v;
	int r;

	if (s->kind == EMUL_RANDOM_UUID)
		return -EPERM;
	if (!is_per_container(s) || pb_caller_is_host(c) || !pb_caller_is_root(c))
		return -EACCES;
	if (size > INT_MAX)
		return -EINVAL;
	/* The kernel (sysctl_writes_strict) ignores a write that does not start the file. */
	if (off > 0)
		return (int)size;
	r = sysctl_value_parse(&s->fmt, buf, size, &v);
	if (r < 0)
		return r;

	if (v.n < s->fmt.n_max) {
		/* Fewer fields than the entry holds set only those, as in the kernel. */
		struct sysctl_value base;

		r = container_current(c, f->h, text, sizeof(text));
		if (r < 0)
			return r;
		if (sysctl_value_parse(&sysctl_format_any, text, strlen(text), &base) < 0)
			base = v;
		sysctl_value_merge(&base, &v);
		v = base;
	}
	/*
	 * Limits the kernel keeps for the whole machine (file-max, nr_open, nf_conntrack_max,
	 * hashsize, which makes the kernel allocate its table) stay the container's own: the
	 * daemon writes nothing into the kernel for a container, and a container never
	 * raises what every other container and the host live with.
	 */
	if (s->kind == EMUL_PING_RANGE) {
		r = apply_ping_range(c, f->h, &v);
		if (r < 0)
			return r;
	}

	r = sysctl_value_format(&v, text, sizeof(text));
	if (r < 0)
		return r;
	pthread_mutex_lock(&store_lock);
	r = container_value_set(c->container, f->h->path, text);
	pthread_mutex_unlock(&store_lock);
	if (r < 0)
		return r;
	return (int)size;
}

/* Ranges are the kernel's own (6.x sysctl tables): kptr_restrict 0-2 (SYSCTL_TWO), pid_max
 * from RESERVED_PIDS + 1, nr_open between BITS_PER_LONG and INT_MAX rounded down to it.
 * Where the kernel takes any int but a negative value makes no sense for a limit
 * (max_dgram_qlen, timeouts), negative values are refused. Timeouts are seconds the kernel
 * turns into jiffies and refuses above INT_MAX / HZ: INT_MAX / 1000 fits any HZ. */
const struct handler emulated_handlers[] = {
    {.path = "proc/sys/kernel/yama", .mode = S_IFDIR | 0555},
    EMULATED("proc/sys/kernel/cap_last_cap", 0444, EMUL_HOST_RO, SCOPE_HOST, EMUL_NONE, NULL),
    EMULATED("proc/sys/kernel/ngroups_max", 0444, EMUL_HOST_RO, SCOPE_HOST, EMUL_NONE, NULL),
    EMULATED("proc/sys/kernel/random/uuid", 0444, EMUL_RANDOM_UUID, SCOPE_HOST, EMUL_NONE, NULL),
    EMULATED("proc/sys/kernel/panic", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(INT32_MIN, INT32_MAX),
	     NULL),
    EMULATED("proc/sys/kernel/panic_on_oops", 0644, EMUL_VALUE, SCOPE_HOST,
	     EMUL_INT(INT32_MIN, INT32_MAX), NULL),
    EMULATED("proc/sys/kernel/printk", 0644, EMUL_VALUE, SCOPE_HOST,
	     SYSCTL_FORMAT_INT(1, 4, INT32_MIN, INT32_MAX), NULL),
    EMULATED("proc/sys/kernel/kptr_restrict", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 2), NULL),
    EMULATED("proc/sys/kernel/dmesg_restrict", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 1), NULL),
    EMULATED("proc/sys/kernel/sysrq", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 511), "1\n"),
    EMULATED("proc/sys/kernel/pid_max", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(301, 4194304), NULL),
    EMULATED("proc/sys/kernel/yama/ptrace_scope", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 3),
	     "1\n"),
    EMULATED("proc/sys/fs/file-max", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, INT64_MAX), NULL),
    EMULATED("proc/sys/fs/nr_open", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(64, 2147483584), NULL),
    EMULATED("proc/sys/fs/protected_hardlinks", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 1), NULL),
    EMULATED("proc/sys/fs/protected_symlinks", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 1), NULL),
    EMULATED("proc/sys/vm/overcommit_memory", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 2), NULL),
    EMULATED("proc/sys/vm/mmap_min_addr", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, UINT64_MAX),
	     NULL),
    EMULATED("proc/sys/net/core/somaxconn", 0644, EMUL_VALUE, SCOPE_NETNS, EMUL_INT(0, INT32_MAX),
	     NULL),
    EMULATED("proc/sys/net/unix/max_dgram_qlen", 0644, EMUL_VALUE, SCOPE_NETNS,
	     EMUL_INT(0, INT32_MAX), NULL),
    /* Global: a netns other than the host's shows it read-only. */
    EMULATED("proc/sys/net/netfilter/nf_conntrack_max", 0644, EMUL_VALUE, SCOPE_HOST,
	     EMUL_INT(0, INT32_MAX), NULL),
    EMULATED("proc/sys/net/netfilter/nf_conntrack_generic_timeout", 0644, EMUL_VALUE, SCOPE_NETNS,
	     EMUL_INT(0, INT32_MAX / 1000), NULL),
    EMULATED("proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established", 0644, EMUL_VALUE,
	     SCOPE_NETNS, EMUL_INT(0, INT32_MAX / 1000), NULL),
    EMULATED("proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait", 0644, EMUL_VALUE,
	     SCOPE_NETNS, EMUL_INT(0, INT32_MAX / 1000), NULL),
    /* Per netns in every kernel, and still emulated: the value applied is narrowed to one
     * extent of the writer's gid map (apply_ping_range()). */
    EMULATED("proc/sys/net/ipv4/ping_group_range", 0644, EMUL_PING_RANGE, SCOPE_NETNS,
	     SYSCTL_FORMAT_INT(2, 2, 0, INT32_MAX), NULL, .namespaced_too = true),
};

const size_t n_emulated_handlers = ELEMENTSOF(emulated_handlers);
