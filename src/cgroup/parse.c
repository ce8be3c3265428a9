/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/parse.h"
#include "util/array.h"
#include "util/macro.h"

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (LONG_MAX rounded down to a page); no real
 * limit comes near 2^62 bytes. */
#define V1_UNLIMITED_FROM (UINT64_C(1) << 62)

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Parses digits at *p into *ret and advances *p; no sign, no spaces. */
static int parse_digits(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

static bool only_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return *p == 0;
}

int cg_parse_u64(const char *text, uint64_t *ret)
{
	const char *p = text;
	uint64_t v;
	int r;

	while (isspace((unsigned char)*p))
		p++;
	r = parse_digits(&p, &v);
	if (r < 0)
		return r;
	if (!only_space(p))
		return -EINVAL;
	*ret = v;
	return 0;
}

int cg_parse_limit(const char *text, uint64_t *ret)
{
	const char *p = text;
	uint64_t v;
	int r;

	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "max", 3) == 0 && only_space(p + 3)) {
		*ret = CGROUP_UNLIMITED;
		return 0;
	}
	if (strncmp(p, "-1", 2) == 0 && only_space(p + 2)) {
		*ret = CGROUP_UNLIMITED;
		return 0;
	}
	r = cg_parse_u64(p, &v);
	if (r == -ERANGE)
		v = CGROUP_UNLIMITED;
	else if (r < 0)
		return r;
	*ret = v >= V1_UNLIMITED_FROM ? CGROUP_UNLIMITED : v;
	return 0;
}

int cg_parse_cpu_max(const char *text, uint64_t *ret_quota, uint64_t *ret_period)
{
	const char *p = text;
	uint64_t quota, period;
	int r;

	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "max", 3) == 0) {
		quota = CGROUP_UNLIMITED;
		p += 3;
	} else {
		r = parse_digits(&p, &quota);
		if (r < 0)
			return r;
	}
	if (*p != ' ')
		return -EINVAL;
	p = skip_blank(p);
	r = parse_digits(&p, &period);
	if (r < 0)
		return r;
	if (!only_space(p) || period == 0)
		return -EINVAL;
	*ret_quota = quota;
	*ret_period = period;
	return 0;
}

uint64_t cg_parse_keyed(const char *text, const char *const *keys, uint64_t *values, size_t n)
{
	uint64_t found = 0;

	if (n > 64)
		n = 64;
	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		const char *sp = line;
		size_t klen;

		while (sp < (eol ? eol : line + strlen(line)) && *sp != ' ')
			sp++;
		klen = (size_t)(sp - line);
		if (*sp == ' ') {
			for (size_t i = 0; i < n; i++) {
				const char *p = skip_blank(sp);
				uint64_t v;

				if (strlen(keys[i]) != klen || memcmp(keys[i], line, klen) != 0)
					continue;
				if (parse_digits(&p, &v) < 0)
					break;
				if (*p != '\n' && *p != 0 && *p != ' ')
					break;
				values[i] = v;
				found |= UINT64_C(1) << i;
				break;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return found;
}

const char *const cg_memstat_v1_keys[_CG_MEMSTAT_V1_MAX] = {
    [CG_MEMSTAT_V1_CACHE] = "total_cache",
    [CG_MEMSTAT_V1_RSS] = "total_rss",
    [CG_MEMSTAT_V1_SHMEM] = "total_shmem",
    [CG_MEMSTAT_V1_MAPPED] = "total_mapped_file",
    [CG_MEMSTAT_V1_DIRTY] = "total_dirty",
    [CG_MEMSTAT_V1_WRITEBACK] = "total_writeback",
    [CG_MEMSTAT_V1_ACTIVE_ANON] = "total_active_anon",
    [CG_MEMSTAT_V1_INACTIVE_ANON] = "total_inactive_anon",
    [CG_MEMSTAT_V1_ACTIVE_FILE] = "total_active_file",
    [CG_MEMSTAT_V1_INACTIVE_FILE] = "total_inactive_file",
    [CG_MEMSTAT_V1_UNEVICTABLE] = "total_unevictable",
    [CG_MEMSTAT_V1_SWAPCACHED] = "total_swapcached",
    [CG_MEMSTAT_V1_SWAP] = "total_swap",
    [CG_MEMSTAT_V1_HIER_LIMIT] = "hierarchical_memory_limit",
    [CG_MEMSTAT_V1_HIER_MEMSW_LIMIT] = "hierarchical_memsw_limit",
};

const char *const cg_memstat_v2_keys[_CG_MEMSTAT_V2_MAX] = {
    [CG_MEMSTAT_V2_ANON] = "anon",
    [CG_MEMSTAT_V2_FILE] = "file",
    [CG_MEMSTAT_V2_SHMEM] = "shmem",
    [CG_MEMSTAT_V2_MAPPED] = "file_mapped",
    [CG_MEMSTAT_V2_DIRTY] = "file_dirty",
    [CG_MEMSTAT_V2_WRITEBACK] = "file_writeback",
    [CG_MEMSTAT_V2_ACTIVE_ANON] = "active_anon",
    [CG_MEMSTAT_V2_INACTIVE_ANON] = "inactive_anon",
    [CG_MEMSTAT_V2_ACTIVE_FILE] = "active_file",
    [CG_MEMSTAT_V2_INACTIVE_FILE] = "inactive_file",
    [CG_MEMSTAT_V2_UNEVICTABLE] = "unevictable",
    [CG_MEMSTAT_V2_SLAB] = "slab",
    [CG_MEMSTAT_V2_SLAB_RECLAIMABLE] = "slab_reclaimable",
    [CG_MEMSTAT_V2_SWAPCACHED] = "swapcached",
};

void cg_memstat_v1_apply(const uint64_t *v, struct cgroup_memory *m)
{
	m->file = v[CG_MEMSTAT_V1_CACHE];
	m->anon = v[CG_MEMSTAT_V1_RSS];
	m->shmem = v[CG_MEMSTAT_V1_SHMEM];
	m->file_mapped = v[CG_MEMSTAT_V1_MAPPED];
	m->file_dirty = v[CG_MEMSTAT_V1_DIRTY];
	m->file_writeback = v[CG_MEMSTAT_V1_WRITEBACK];
	m->active_anon = v[CG_MEMSTAT_V1_ACTIVE_ANON];
	m->inactive_anon = v[CG_MEMSTAT_V1_INACTIVE_ANON];
	m->active_file = v[CG_MEMSTAT_V1_ACTIVE_FILE];
	m->inactive_file = v[CG_MEMSTAT_V1_INACTIVE_FILE];
	m->unevictable = v[CG_MEMSTAT_V1_UNEVICTABLE];
	m->swapcached = v[CG_MEMSTAT_V1_SWAPCACHED];
}

void cg_memstat_v2_apply(const uint64_t *v, uint64_t found, struct cgroup_memory *m)
{
	m->anon = v[CG_MEMSTAT_V2_ANON];
	m->file = v[CG_MEMSTAT_V2_FILE];
	m->shmem = v[CG_MEMSTAT_V2_SHMEM];
	m->file_mapped = v[CG_MEMSTAT_V2_MAPPED];
	m->file_dirty = v[CG_MEMSTAT_V2_DIRTY];
	m->file_writeback = v[CG_MEMSTAT_V2_WRITEBACK];
	m->active_anon = v[CG_MEMSTAT_V2_ACTIVE_ANON];
	m->inactive_anon = v[CG_MEMSTAT_V2_INACTIVE_ANON];
	m->active_file = v[CG_MEMSTAT_V2_ACTIVE_FILE];
	m->inactive_file = v[CG_MEMSTAT_V2_INACTIVE_FILE];
	m->unevictable = v[CG_MEMSTAT_V2_UNEVICTABLE];
	m->has_slab = found & (UINT64_C(1) << CG_MEMSTAT_V2_SLAB);
	m->slab = v[CG_MEMSTAT_V2_SLAB];
	/* never more reclaimable slab than slab */
	m->slab_reclaimable = v[CG_MEMSTAT_V2_SLAB_RECLAIMABLE] < m->slab
				  ? v[CG_MEMSTAT_V2_SLAB_RECLAIMABLE]
				  : m->slab;
	m->swapcached = v[CG_MEMSTAT_V2_SWAPCACHED];
}

uint64_t cg_memstat_v1_limit(uint64_t v)
{
	return v >= V1_UNLIMITED_FROM ? CGROUP_UNLIMITED : v;
}

uint64_t cg_memsw_swap_limit(uint64_t memsw_limit, uint64_t limit)
{
	/* the kernel keeps memsw >= memory on every level */
	if (memsw_limit == CGROUP_UNLIMITED)
		return CGROUP_UNLIMITED;
	if (limit == CGROUP_UNLIMITED)
		return memsw_limit;
	return memsw_limit > limit ? memsw_limit - limit : 0;
}

int cg_parse_u64_list(const char *text, uint64_t **ret, size_t *ret_n)
{
	_cleanup_free_ uint64_t *v = NULL;
	size_t n = 0, allocated = 0;
	const char *p = text;
	int r;

	for (;;) {
		uint64_t x;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		r = parse_digits(&p, &x);
		if (r < 0)
			return r;
		if (*p && !isspace((unsigned char)*p))
			return -EINVAL;
		if (n == CPULIST_MAX)
			return -E2BIG;
		if (ARRAY_GROW(v, allocated, n, 16) < 0)
			return -ENOMEM;
		v[n++] = x;
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

static struct cgroup_io_dev *io_dev_get(struct cgroup_io *io, unsigned major, unsigned minor)
{
	struct cgroup_io_dev *d;

	for (size_t i = 0; i < io->n; i++)
		if (io->devs[i].major == major && io->devs[i].minor == minor)
			return &io->devs[i];
	/* One entry per block device: bounded by what the kernel prints. */
	if (io->n >= 65536)
		return NULL;
	if (ARRAY_GROW(io->devs, io->cap, io->n, 4) < 0)
		return NULL;
	d = &io->devs[io->n++];
	*d = (struct cgroup_io_dev){.major = major, .minor = minor};
	return d;
}

static int parse_devnum(const char **p, unsigned *ret_major, unsigned *ret_minor)
{
	uint64_t major, minor;
	int r;

	r = parse_digits(p, &major);
	if (r < 0)
		return r;
	if (**p != ':')
		return -EINVAL;
	(*p)++;
	r = parse_digits(p, &minor);
	if (r < 0)
		return r;
	if (major > UINT32_MAX || minor > UINT32_MAX)
		return -ERANGE;
	*ret_major = (unsigned)major;
	*ret_minor = (unsigned)minor;
	return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int cg_parse_io_stat(const char *text, struct cgroup_io *io)
{
	static const struct {
		const char *key;
		size_t offset;
	} fields[] = {
	    {"rbytes=", offsetof(struct cgroup_io_dev, rbytes)},
	    {"wbytes=", offsetof(struct cgroup_io_dev, wbytes)},
	    {"rios=", offsetof(struct cgroup_io_dev, rios)},
	    {"wios=", offsetof(struct cgroup_io_dev, wios)},
	};

	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *p = line;
		struct cgroup_io_dev *d;
		unsigned major, minor;

		line = eol ? eol + 1 : NULL;
		if (parse_devnum(&p, &major, &minor) < 0)
			continue;
		d = io_dev_get(io, major, minor);
		if (!d)
			return -ENOMEM;
		while (p < end) {
			p = skip_blank(p);
			for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
				size_t klen = strlen(fields[i].key);
				uint64_t v, *field;

				if ((size_t)(end - p) < klen || memcmp(p, fields[i].key, klen) != 0)
					continue;
				p += klen;
				if (parse_digits(&p, &v) < 0)
					break;
				field = (uint64_t *)((char *)d + fields[i].offset);
				*field = sat_add(*field, v);
				break;
			}
			/* Unknown keys (dbytes=, cost.*) and their values are skipped. */
			while (p < end && *p != ' ')
				p++;
		}
	}
	return 0;
}

int cg_parse_blkio(const char *text, bool bytes, struct cgroup_io *io)
{
	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		const char *p = line;
		struct cgroup_io_dev *d;
		unsigned major, minor;
		uint64_t v, *field;
		bool read;

		line = eol ? eol + 1 : NULL;
		/* The closing "Total N" line has no device: skipped here. */
		if (parse_devnum(&p, &major, &minor) < 0 || *p != ' ')
			continue;
		p = skip_blank(p);
		if (strncmp(p, "Read ", 5) == 0)
			read = true;
		else if (strncmp(p, "Write ", 6) == 0)
			read = false;
		else
			continue;
		p = skip_blank(p + (read ? 4 : 5));
		if (parse_digits(&p, &v) < 0)
			continue;
		d = io_dev_get(io, major, minor);
		if (!d)
			return -ENOMEM;
		if (bytes)
			field = read ? &d->rbytes : &d->wbytes;
		else
			field = read ? &d->rios : &d->wios;
		*field = sat_add(*field, v);
	}
	return 0;
}

static bool list_has(const char *list, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	for (const char *p = list, *end = list + len; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t l = comma ? (size_t)(comma - p) : (size_t)(end - p);

		if (l == wlen && memcmp(p, word, l) == 0)
			return true;
		p = comma ? comma + 1 : end;
	}
	return false;
}

int cg_parse_proc_cgroup(const char *text, const char *controller, char **ret_path)
{
	static const char deleted[] = " (deleted)";

	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *c1, *c2;
		char *path;
		size_t plen;
		bool match;

		c1 = memchr(line, ':', (size_t)(end - line));
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (!c2) {
			line = eol ? eol + 1 : NULL;
			continue;
		}
		if (controller)
			match = list_has(c1 + 1, (size_t)(c2 - c1 - 1), controller);
		else
			match = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
		if (!match) {
			line = eol ? eol + 1 : NULL;
			continue;
		}
		plen = (size_t)(end - c2 - 1);
		if (plen == 0 || c2[1] != '/')
			return -EINVAL;
		/* Only v2 marks a removed cgroup that a zombie still points at. */
		if (!controller && plen >= sizeof(deleted) - 1 &&
		    memcmp(end - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1) == 0)
			return -ENOENT;
		path = strndup(c2 + 1, plen);
		if (!path)
			return -ENOMEM;
		*ret_path = path;
		return 0;
	}
	return -ENXIO;
}
