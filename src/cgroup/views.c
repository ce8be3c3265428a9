/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/loadavg.h"
#include "cgroup/parse.h"
#include "cgroup/views.h"
#include "util/array.h"
#include "util/macro.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* The output buffer: open_memstream, with a single error check at the end. */
struct out {
	FILE *f;
	char *buf;
	size_t size;
};

static int out_open(struct out *o)
{
	*o = (struct out){};
	o->f = open_memstream(&o->buf, &o->size);
	return o->f ? 0 : -ENOMEM;
}

static int out_close(struct out *o, char **ret)
{
	bool failed = ferror(o->f);

	if (fclose(o->f) != 0 || failed || !o->buf) {
		free(o->buf);
		return -ENOMEM;
	}
	*ret = o->buf;
	return 0;
}

static void out_abort(struct out *o)
{
	fclose(o->f);
	free(o->buf);
}

/* Iterates over the lines of text: *line and *len, without the newline. */
static bool next_line(const char **p, const char **line, size_t *len)
{
	const char *eol;

	if (!*p || !**p)
		return false;
	eol = strchr(*p, '\n');
	*line = *p;
	*len = eol ? (size_t)(eol - *p) : strlen(*p);
	*p = eol ? eol + 1 : NULL;
	return true;
}

static bool has_prefix(const char *line, size_t len, const char *prefix)
{
	size_t l = strlen(prefix);

	return len >= l && memcmp(line, prefix, l) == 0;
}

/* ---- CPUs ---- */

int view_cpus(const struct cgroup_cpu *cpu, const struct cpulist *host_online, struct cpulist *ret)
{
	struct cpulist l;
	unsigned n, max = UINT32_MAX;

	if (cpu->has_cpuset) {
		cpulist_clear(&l);
		for (size_t i = 0; i < ELEMENTSOF(l.bits); i++)
			l.bits[i] = cpu->cpuset.bits[i] & host_online->bits[i];
		/* A cpuset naming only CPUs the host does not list online: trust the cpuset. */
		if (cpulist_count(&l) == 0)
			l = cpu->cpuset;
	} else {
		l = *host_online;
	}
	n = cpulist_count(&l);
	if (n == 0)
		return -ENODATA;

	if (cpu->quota_us != CGROUP_UNLIMITED && cpu->period_us > 0) {
		uint64_t q = cpu->quota_us / cpu->period_us + (cpu->quota_us % cpu->period_us != 0);

		max = (unsigned)min_u64(max_u64(q, 1), UINT32_MAX);
	}
	if (n > max) {
		struct cpulist cut;

		cpulist_clear(&cut);
		for (unsigned i = 0, c; i < max && cpulist_nth(&l, i, &c) == 0; i++)
			(void)cpulist_add(&cut, c);
		l = cut;
	}
	*ret = l;
	return 0;
}

int view_cpu_online(const struct cpulist *cpus, char **ret)
{
	_cleanup_free_ char *list = NULL;
	char *s;
	int r;

	if (cpulist_count(cpus) == 0)
		return -ENODATA;
	/* The real ids: a program pins its threads to the ids it reads here, and the kernel
	 * refuses an affinity mask outside the cpuset. */
	r = cpulist_format(cpus, &list);
	if (r < 0)
		return r;
	if (asprintf(&s, "%s\n", list) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* ---- meminfo and swaps ---- */

/* The value of "name:" in kB from /proc/meminfo text. */
static bool meminfo_get(const char *text, const char *name, uint64_t *ret)
{
	const char *p = text, *line;
	size_t len, nlen = strlen(name);

	while (next_line(&p, &line, &len)) {
		char buf[32];
		size_t vlen;
		const char *v;

		if (len <= nlen || memcmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		v = line + nlen + 1;
		while (v < line + len && *v == ' ')
			v++;
		vlen = strspn(v, "0123456789");
		if (vlen == 0 || vlen >= sizeof(buf) || v + vlen > line + len)
			return false;
		memcpy(buf, v, vlen);
		buf[vlen] = 0;
		return cg_parse_u64(buf, ret) == 0;
	}
	return false;
}

struct swap_view {
	uint64_t total_kb, used_kb;
};

static struct swap_view swap_view(const char *host_meminfo, const struct cgroup_memory *mem)
{
	struct swap_view s = {};
	uint64_t host_total = 0;

	if (!mem->swap_accounted)
		return s;
	(void)meminfo_get(host_meminfo, "SwapTotal", &host_total);
	s.total_kb = host_total;
	if (mem->swap_limit != CGROUP_UNLIMITED)
		s.total_kb = min_u64(mem->swap_limit / 1024, host_total);
	s.used_kb = min_u64(mem->swap_usage / 1024, s.total_kb);
	return s;
}

enum {
	MI_MEMTOTAL,
	MI_MEMFREE,
	MI_MEMAVAILABLE,
	MI_BUFFERS,
	MI_CACHED,
	MI_SWAPCACHED,
	MI_ACTIVE,
	MI_INACTIVE,
	MI_ACTIVE_ANON,
	MI_INACTIVE_ANON,
	MI_ACTIVE_FILE,
	MI_INACTIVE_FILE,
	MI_UNEVICTABLE,
	MI_SWAPTOTAL,
	MI_SWAPFREE,
	MI_DIRTY,
	MI_WRITEBACK,
	MI_ANONPAGES,
	MI_MAPPED,
	MI_SHMEM,
	MI_KRECLAIMABLE,
	MI_SLAB,
	MI_SRECLAIMABLE,
	MI_SUNRECLAIM,
	_MI_MAX,
};

static const char *const meminfo_names[_MI_MAX] = {
    [MI_MEMTOTAL] = "MemTotal",
    [MI_MEMFREE] = "MemFree",
    [MI_MEMAVAILABLE] = "MemAvailable",
    [MI_BUFFERS] = "Buffers",
    [MI_CACHED] = "Cached",
    [MI_SWAPCACHED] = "SwapCached",
    [MI_ACTIVE] = "Active",
    [MI_INACTIVE] = "Inactive",
    [MI_ACTIVE_ANON] = "Active(anon)",
    [MI_INACTIVE_ANON] = "Inactive(anon)",
    [MI_ACTIVE_FILE] = "Active(file)",
    [MI_INACTIVE_FILE] = "Inactive(file)",
    [MI_UNEVICTABLE] = "Unevictable",
    [MI_SWAPTOTAL] = "SwapTotal",
    [MI_SWAPFREE] = "SwapFree",
    [MI_DIRTY] = "Dirty",
    [MI_WRITEBACK] = "Writeback",
    [MI_ANONPAGES] = "AnonPages",
    [MI_MAPPED] = "Mapped",
    [MI_SHMEM] = "Shmem",
    [MI_KRECLAIMABLE] = "KReclaimable",
    [MI_SLAB] = "Slab",
    [MI_SRECLAIMABLE] = "SReclaimable",
    [MI_SUNRECLAIM] = "SUnreclaim",
};

int view_meminfo(const char *host_meminfo, const struct cgroup_memory *mem, char **ret)
{
	uint64_t v[_MI_MAX] = {}, host_total, total, limited, slab_r;
	struct swap_view swap = swap_view(host_meminfo, mem);
	const char *p = host_meminfo, *line;
	struct out o;
	size_t len;
	int r;

	if (!meminfo_get(host_meminfo, "MemTotal", &host_total))
		return -EBADMSG;
	limited = mem->limit != CGROUP_UNLIMITED && mem->limit / 1024 < host_total;
	total = limited ? mem->limit / 1024 : host_total;

	v[MI_MEMTOTAL] = total;
	/* usage counts page cache too, as the kernel's MemFree excludes it. */
	v[MI_MEMFREE] = sub_sat(total, mem->usage / 1024);
	slab_r = mem->has_slab ? mem->slab_reclaimable : 0;
	v[MI_MEMAVAILABLE] =
	    min_u64(v[MI_MEMFREE] + (mem->active_file + mem->inactive_file + slab_r) / 1024, total);
	/* Without a limit of its own, MemFree is still MemTotal less the container's own usage,
	 * never the host's free memory: `free` computes "used" as MemTotal - MemFree - Buffers
	 * - Cached - SReclaimable, and the figures of one file must agree with each other, or a
	 * container using 1 MiB is shown the host's usage as its own. */
	v[MI_BUFFERS] = 0;
	/* The kernel's Cached excludes the swap cache, that memcg's file count includes. */
	v[MI_CACHED] = sub_sat(mem->file, mem->swapcached) / 1024;
	v[MI_SWAPCACHED] = mem->swapcached / 1024;
	v[MI_ACTIVE_ANON] = mem->active_anon / 1024;
	v[MI_INACTIVE_ANON] = mem->inactive_anon / 1024;
	v[MI_ACTIVE_FILE] = mem->active_file / 1024;
	v[MI_INACTIVE_FILE] = mem->inactive_file / 1024;
	v[MI_ACTIVE] = v[MI_ACTIVE_ANON] + v[MI_ACTIVE_FILE];
	v[MI_INACTIVE] = v[MI_INACTIVE_ANON] + v[MI_INACTIVE_FILE];
	v[MI_UNEVICTABLE] = mem->unevictable / 1024;
	v[MI_SWAPTOTAL] = swap.total_kb;
	v[MI_SWAPFREE] = swap.total_kb - swap.used_kb;
	v[MI_DIRTY] = mem->file_dirty / 1024;
	v[MI_WRITEBACK] = mem->file_writeback / 1024;
	v[MI_ANONPAGES] = mem->anon / 1024;
	v[MI_MAPPED] = mem->file_mapped / 1024;
	v[MI_SHMEM] = mem->shmem / 1024;
	/* v1 has no per-cgroup slab figures: show none rather than the host's. */
	v[MI_SLAB] = mem->has_slab ? mem->slab / 1024 : 0;
	v[MI_SRECLAIMABLE] = slab_r / 1024;
	v[MI_KRECLAIMABLE] = v[MI_SRECLAIMABLE];
	v[MI_SUNRECLAIM] = sub_sat(v[MI_SLAB], v[MI_SRECLAIMABLE]);

	r = out_open(&o);
	if (r < 0)
		return r;
	while (next_line(&p, &line, &len)) {
		const char *colon = memchr(line, ':', len);
		size_t i = _MI_MAX;

		if (colon)
			for (i = 0; i < _MI_MAX; i++)
				if (strlen(meminfo_names[i]) == (size_t)(colon - line) &&
				    memcmp(line, meminfo_names[i], (size_t)(colon - line)) == 0)
					break;
		if (i < _MI_MAX) {
			char name[32];

			snprintf(name, sizeof(name), "%s:", meminfo_names[i]);
			/* The kernel's show_val_kb(): name padded to 16, value to 8. */
			fprintf(o.f, "%-16s%8llu kB\n", name, (unsigned long long)v[i]);
		} else {
			fwrite(line, 1, len, o.f);
			fputc('\n', o.f);
		}
	}
	return out_close(&o, ret);
}

int view_swaps(const char *host_meminfo, const struct cgroup_memory *mem, char **ret)
{
	struct swap_view swap = swap_view(host_meminfo, mem);
	struct out o;
	int r;

	r = out_open(&o);
	if (r < 0)
		return r;
	fputs("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", o.f);
	/* Columns as the kernel's swap_show() lays them out for a 4-character file name. */
	if (swap.total_kb > 0)
		fprintf(o.f, "none%*svirtual\t%llu\t%s%llu\t%s0\n", 36, " ",
			(unsigned long long)swap.total_kb, swap.total_kb < 10000000 ? "\t" : "",
			(unsigned long long)swap.used_kb, swap.used_kb < 10000000 ? "\t" : "");
	return out_close(&o, ret);
}

/* ---- cpuinfo ---- */

struct cpu_block {
	const char *start, *end;
	int k;			 /* the container's number for it, -1 when hidden */
	const char *phys, *core; /* values of "physical id" and "core id", or NULL */
	size_t phys_len, core_len;
	size_t leader;		  /* first shown block of the same package */
	unsigned siblings, cores; /* counted on the leader */
};

/* "key\t: value": the value of line if its key is key. */
static const char *cpuinfo_value(const char *line, size_t len, const char *key, size_t *ret_len)
{
	size_t klen = strlen(key);
	const char *p;

	if (len <= klen || memcmp(line, key, klen) != 0 ||
	    (line[klen] != '\t' && line[klen] != ' ' && line[klen] != ':'))
		return NULL;
	p = memchr(line, ':', len);
	if (!p)
		return NULL;
	p++;
	while (p < line + len && *p == ' ')
		p++;
	*ret_len = (size_t)(line + len - p);
	return p;
}

static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	if (!a || !b)
		return !a && !b;
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Splits cpuinfo into per-CPU blocks: from a "processor" line to the blank line after it. */
static int cpuinfo_blocks(const char *text, const struct cpulist *cpus, struct cpu_block **ret,
			  size_t *ret_n)
{
	_cleanup_free_ struct cpu_block *blocks = NULL;
	size_t n = 0, allocated = 0, len;
	const char *p = text, *line;

	while (next_line(&p, &line, &len)) {
		struct cpu_block *b = n > 0 ? &blocks[n - 1] : NULL;
		const char *v;
		size_t vlen;

		v = cpuinfo_value(line, len, "processor", &vlen);
		if (v) {
			uint64_t num;
			char buf[16];

			if (n == CPULIST_MAX * 2)
				return -E2BIG;
			if (ARRAY_GROW(blocks, allocated, n, 64) < 0)
				return -ENOMEM;
			b = &blocks[n++];
			*b = (struct cpu_block){.start = line, .k = -1};
			if (vlen > 0 && vlen < sizeof(buf)) {
				memcpy(buf, v, vlen);
				buf[vlen] = 0;
				if (cg_parse_u64(buf, &num) == 0 && num < CPULIST_MAX)
					b->k = cpulist_index(cpus, (unsigned)num);
			}
		}
		if (!b || b->end)
			continue;
		if ((v = cpuinfo_value(line, len, "physical id", &vlen))) {
			b->phys = v;
			b->phys_len = vlen;
		} else if ((v = cpuinfo_value(line, len, "core id", &vlen))) {
			b->core = v;
			b->core_len = vlen;
		}
		if (len == 0)
			b->end = p ? p : line;
	}
	for (size_t i = 0; i < n; i++)
		if (!blocks[i].end)
			blocks[i].end = i + 1 < n ? blocks[i + 1].start : text + strlen(text);

	/* siblings: shown CPUs of the package; cpu cores: distinct core ids among them. */
	for (size_t i = 0; i < n; i++) {
		struct cpu_block *b = &blocks[i];
		bool new_core = true;

		if (b->k < 0)
			continue;
		b->leader = i;
		for (size_t j = 0; j < i; j++) {
			if (blocks[j].k < 0 ||
			    !same(blocks[j].phys, blocks[j].phys_len, b->phys, b->phys_len))
				continue;
			if (b->leader == i)
				b->leader = j;
			if (same(blocks[j].core, blocks[j].core_len, b->core, b->core_len))
				new_core = false;
		}
		blocks[b->leader].siblings++;
		if (new_core)
			blocks[b->leader].cores++;
	}
	*ret = TAKE_PTR(blocks);
	*ret_n = n;
	return 0;
}

int view_cpuinfo(const char *host_cpuinfo, const struct cpulist *cpus, char **ret)
{
	_cleanup_free_ struct cpu_block *blocks = NULL;
	_cleanup_free_ size_t *order = NULL;
	unsigned shown = cpulist_count(cpus);
	size_t n, len;
	const char *line;
	struct out o;
	int r;

	r = cpuinfo_blocks(host_cpuinfo, cpus, &blocks, &n);
	if (r < 0)
		return r;
	order = calloc(shown ? shown : 1, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (unsigned k = 0; k < shown; k++)
		order[k] = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if (blocks[i].k >= 0 && order[blocks[i].k] == SIZE_MAX)
			order[blocks[i].k] = i;

	r = out_open(&o);
	if (r < 0)
		return r;
	/* What precedes the first block, then the shown blocks in the container's order, then
	 * what lies between or after blocks (global lines some architectures print). */
	fwrite(host_cpuinfo, 1,
	       n > 0 ? (size_t)(blocks[0].start - host_cpuinfo) : strlen(host_cpuinfo), o.f);
	for (unsigned k = 0; k < shown; k++) {
		const struct cpu_block *b, *leader;
		unsigned id;

		if (order[k] == SIZE_MAX || cpulist_nth(cpus, k, &id) < 0)
			continue;
		b = &blocks[order[k]];
		leader = &blocks[b->leader];
		for (const char *q = b->start; q && q < b->end && next_line(&q, &line, &len);) {
			const char *v;
			size_t vlen;

			if ((v = cpuinfo_value(line, len, "processor", &vlen)))
				fprintf(o.f, "%.*s%u", (int)(v - line), line, id);
			else if ((v = cpuinfo_value(line, len, "siblings", &vlen)))
				fprintf(o.f, "%.*s%u", (int)(v - line), line, leader->siblings);
			else if ((v = cpuinfo_value(line, len, "cpu cores", &vlen)))
				fprintf(o.f, "%.*s%u", (int)(v - line), line, leader->cores);
			else
				fwrite(line, 1, len, o.f);
			if (line + len < b->end)
				fputc('\n', o.f);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *gap_end =
		    i + 1 < n ? blocks[i + 1].start : blocks[i].end + strlen(blocks[i].end);

		fwrite(blocks[i].end, 1, (size_t)(gap_end - blocks[i].end), o.f);
	}
	return out_close(&o, ret);
}

/* ---- stat ---- */

void view_stat_history_done(struct view_stat_history *h)
{
	free(h->ticks);
	*h = (struct view_stat_history){};
}

static uint64_t ns_to_ticks(uint64_t ns, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)ns * hz / 1000000000u);
}

/* Sum of the time fields of a host "cpuN" line (user nice system idle iowait irq softirq
 * steal; guest time is already inside user). */
static bool stat_cpu_line(const char *line, size_t len, unsigned *ret_cpu, uint64_t *ret_total)
{
	char buf[512], *end;
	const char *p;
	uint64_t cpu, total = 0;

	if (len < 4 || memcmp(line, "cpu", 3) != 0 || !isdigit((unsigned char)line[3]))
		return false;
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = 0;
	cpu = strtoull(buf + 3, &end, 10);
	if (cpu >= CPULIST_MAX)
		return false;
	for (int i = 0; i < 8; i++) {
		p = end;
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		total += strtoull(p, &end, 10);
	}
	*ret_cpu = (unsigned)cpu;
	*ret_total = total;
	return true;
}

static int history_apply(struct view_stat_history *h, unsigned n, uint64_t *t)
{
	if (!h)
		return 0;
	if (h->n_cpus != n) {
		uint64_t *nt = calloc((size_t)n * 3, sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		free(h->ticks);
		h->ticks = nt;
		h->n_cpus = n;
	}
	for (size_t i = 0; i < (size_t)n * 3; i++) {
		t[i] = max_u64(t[i], h->ticks[i]);
		h->ticks[i] = t[i];
	}
	return 0;
}

int view_stat(const char *host_stat, const struct cpulist *cpus,
	      const struct cgroup_cpu_usage *usage, const struct cgroup_tasks *tasks,
	      struct view_stat_history *history, char **ret)
{
	_cleanup_free_ uint64_t *t = NULL, *busy_ns = NULL;
	unsigned n = cpulist_count(cpus);
	uint64_t hz, sum[3] = {};
	const char *p, *line;
	bool cpu_done = false;
	long clk = sysconf(_SC_CLK_TCK);
	struct out o;
	size_t len;
	int r;

	if (n == 0)
		return -ENODATA;
	hz = clk > 0 ? (uint64_t)clk : 100;
	t = calloc((size_t)n * 3, sizeof(*t));
	busy_ns = calloc((size_t)n * 2, sizeof(*busy_ns));
	if (!t || !busy_ns)
		return -ENOMEM;

	if (usage->n_percpu > 0) {
		for (size_t i = 0; i < usage->n_percpu; i++) {
			int k = i < CPULIST_MAX ? cpulist_index(cpus, (unsigned)i) : -1;
			size_t slot = k >= 0 ? (size_t)k : i % n;

			busy_ns[slot * 2] += usage->percpu_user_ns[i];
			busy_ns[slot * 2 + 1] += usage->percpu_system_ns[i];
		}
	} else {
		/* v2 keeps no per-CPU times: spread the totals over the shown CPUs. */
		for (unsigned k = 0; k < n; k++) {
			busy_ns[k * 2] = usage->user_ns / n + (k == 0 ? usage->user_ns % n : 0);
			busy_ns[k * 2 + 1] =
			    usage->system_ns / n + (k == 0 ? usage->system_ns % n : 0);
		}
	}
	for (unsigned k = 0; k < n; k++) {
		t[k * 3] = ns_to_ticks(busy_ns[k * 2], hz);
		t[k * 3 + 1] = ns_to_ticks(busy_ns[k * 2 + 1], hz);
	}
	/* idle: whatever of the host CPU's time the container did not use. */
	for (p = host_stat; next_line(&p, &line, &len);) {
		unsigned cpu;
		uint64_t total;
		int k;

		if (!stat_cpu_line(line, len, &cpu, &total))
			continue;
		k = cpulist_index(cpus, cpu);
		if (k >= 0)
			t[k * 3 + 2] = sub_sat(total, t[k * 3] + t[k * 3 + 1]);
	}
	r = history_apply(history, n, t);
	if (r < 0)
		return r;
	for (unsigned k = 0; k < n; k++)
		for (int f = 0; f < 3; f++)
			sum[f] += t[k * 3 + f];

	r = out_open(&o);
	if (r < 0)
		return r;
	for (p = host_stat; next_line(&p, &line, &len);) {
		if (has_prefix(line, len, "cpu")) {
			if (cpu_done)
				continue;
			cpu_done = true;
			fprintf(o.f, "cpu  %llu 0 %llu %llu 0 0 0 0 0 0\n",
				(unsigned long long)sum[0], (unsigned long long)sum[1],
				(unsigned long long)sum[2]);
			for (unsigned k = 0, id; k < n && cpulist_nth(cpus, k, &id) == 0; k++)
				fprintf(o.f, "cpu%u %llu 0 %llu %llu 0 0 0 0 0 0\n", id,
					(unsigned long long)t[k * 3],
					(unsigned long long)t[k * 3 + 1],
					(unsigned long long)t[k * 3 + 2]);
		} else if (has_prefix(line, len, "procs_running ")) {
			fprintf(o.f, "procs_running %u\n", tasks->running);
		} else if (has_prefix(line, len, "procs_blocked ")) {
			fprintf(o.f, "procs_blocked %u\n", tasks->blocked);
		} else {
			fwrite(line, 1, len, o.f);
			fputc('\n', o.f);
		}
	}
	if (!cpu_done) {
		out_abort(&o);
		return -EBADMSG;
	}
	return out_close(&o, ret);
}

/* ---- diskstats ---- */

/* Whether name is a partition of the disk named disk: the kernel names partitions after their
 * disk, with a "p" between when the disk's name ends in a digit (sda1, nvme0n1p1, loop0p1),
 * and lists them right after their disk. */
static bool is_partition_of(const char *name, const char *disk)
{
	size_t n = strlen(disk);

	if (n == 0 || strncmp(name, disk, n) != 0)
		return false;
	name += n;
	if (isdigit((unsigned char)disk[n - 1]) && *name++ != 'p')
		return false;
	return *name && strspn(name, "0123456789") == strlen(name);
}

int view_diskstats(const char *host_diskstats, const struct cgroup_io *io, char **ret)
{
	const char *p = host_diskstats, *line;
	char disk[64] = "";
	struct out o;
	size_t len;
	int r;

	r = out_open(&o);
	if (r < 0)
		return r;
	while (next_line(&p, &line, &len)) {
		static const struct cgroup_io_dev none = {};
		char buf[512], name[64];
		unsigned major, minor, nfields = 0;
		const struct cgroup_io_dev *d = &none;
		int pos = 0;
		const char *f;

		if (len >= sizeof(buf))
			continue;
		memcpy(buf, line, len);
		buf[len] = 0;
		if (sscanf(buf, "%u %u %63s %n", &major, &minor, name, &pos) != 3 || pos == 0)
			continue;
		/* The cgroup's counters are per disk: a partition's share of them is unknown. */
		if (is_partition_of(name, disk))
			continue;
		snprintf(disk, sizeof(disk), "%s", name);
		/* Every disk is listed, so that iostat, vmstat -d and sar -d find the host's disks:
		 * one the kernel keeps no counters of for this cgroup (cgroup v1 blkio keeps none
		 * until a throttle rule was once set on the disk's queue) shows 0. */
		for (size_t i = 0; i < io->n; i++)
			if (io->devs[i].major == major && io->devs[i].minor == minor)
				d = &io->devs[i];
		for (f = buf + pos; *f;) {
			f += strspn(f, " ");
			if (!*f)
				break;
			nfields++;
			f += strcspn(f, " ");
		}
		/* The kernel's diskstats_show() layout; 11 fields before 4.18, 17 since 5.5. */
		fprintf(o.f, "%4u %7u %s", major, minor, name);
		for (unsigned i = 0; i < nfields; i++) {
			uint64_t v = 0;

			if (i == 0)
				v = d->rios;
			else if (i == 2)
				v = d->rbytes / 512;
			else if (i == 4)
				v = d->wios;
			else if (i == 6)
				v = d->wbytes / 512;
			fprintf(o.f, " %llu", (unsigned long long)v);
		}
		fputc('\n', o.f);
	}
	return out_close(&o, ret);
}

int view_loadavg(const struct loadavg *l, const struct cgroup_tasks *tasks, pid_t last_pid,
		 char **ret)
{
	unsigned long long v[3];
	char *s;

	/* The kernel prints with 1/200 added, so that x.xx is rounded, not truncated. */
	for (int i = 0; i < 3; i++)
		v[i] = l->avenrun[i] + LOADAVG_FIXED_1 / 200;
	if (asprintf(
		&s, "%llu.%02llu %llu.%02llu %llu.%02llu %u/%u %d\n", v[0] >> LOADAVG_FSHIFT,
		((v[0] & (LOADAVG_FIXED_1 - 1)) * 100) >> LOADAVG_FSHIFT, v[1] >> LOADAVG_FSHIFT,
		((v[1] & (LOADAVG_FIXED_1 - 1)) * 100) >> LOADAVG_FSHIFT, v[2] >> LOADAVG_FSHIFT,
		((v[2] & (LOADAVG_FIXED_1 - 1)) * 100) >> LOADAVG_FSHIFT, tasks->running,
		tasks->total, (int)last_pid) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int view_uptime(double now_s, double start_s, unsigned ncpus, double busy_s, char *buf, size_t size)
{
	double age = now_s > start_s ? now_s - start_s : 0.0, idle;
	int n;

	/* The kernel's idle field sums the idle time of every CPU: the container's CPUs for the
	 * container's age, less what its cgroup ran on them. A cgroup older than the container
	 * (or one it shares) can have run more than that: never below 0, never above N x age. */
	idle = (double)(ncpus ? ncpus : 1) * age;
	idle = busy_s >= idle ? 0.0 : busy_s > 0 ? idle - busy_s : idle;
	n = snprintf(buf, size, "%.2f %.2f\n", age, idle);
	return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

int view_disk_stat(const char *diskstats, const char *name, char **ret)
{
	for (const char *line = diskstats; line && *line;) {
		const char *start = line, *end = strchrnul(line, '\n');
		size_t len = (size_t)(end - line);
		char buf[512], dev[64];
		unsigned major, minor;
		int pos = 0;

		line = *end ? end + 1 : end;
		if (len >= sizeof(buf))
			continue;
		memcpy(buf, start, len);
		buf[len] = 0;
		if (sscanf(buf, "%u %u %63s %n", &major, &minor, dev, &pos) != 3 || pos == 0 ||
		    strcmp(dev, name) != 0)
			continue;

		/* Every field takes at most 8 columns more than it has here, and one space. */
		_cleanup_free_ char *out = malloc(9 * len + 2);
		size_t n = 0;

		if (!out)
			return -ENOMEM;
		for (const char *p = buf + pos; *p;) {
			unsigned long long v;
			char *e;

			p += strspn(p, " ");
			if (!*p)
				break;
			errno = 0;
			v = strtoull(p, &e, 10);
			if (e == p || errno != 0 || (*e && *e != ' '))
				return -EBADMSG;
			n += (size_t)sprintf(out + n, "%s%8llu", n ? " " : "", v);
			p = e;
		}
		out[n++] = '\n';
		out[n] = 0;
		*ret = TAKE_PTR(out);
		return 0;
	}
	return -ENOENT;
}
