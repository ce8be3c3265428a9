/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/cpulist.h"
#include "cgroup/loadavg.h"
#include "cgroup/parse.h"
#include "cgroup/views.h"
#include "util/macro.h"

#define FIXTURES PROCBOX_SOURCE_ROOT "/tests/fixtures/cgroup"
#define MiB (UINT64_C(1) << 20)

static char *fixture(const char *name)
{
	char path[512], *text = NULL;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s", path);
	cr_assert_gt(getdelim(&text, &n, 0, f), 0);
	fclose(f);
	return text;
}

/* The value of "name:" in rendered meminfo text. */
static uint64_t kb(const char *text, const char *name)
{
	char key[64];
	const char *p;
	unsigned long long v;

	snprintf(key, sizeof(key), "%s:", name);
	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, strlen(key)) == 0)
			break;
	cr_assert_not_null(p, "%s missing in:\n%s", name, text);
	cr_assert_eq(sscanf(p + strlen(key), "%llu kB", &v), 1);
	return v;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* The i-th line (from 0), in a static buffer. */
static const char *line_at(const char *text, size_t i)
{
	static char buf[4096];
	const char *p = text, *eol;

	while (i-- > 0 && p)
		p = strchr(p, '\n'), p = p ? p + 1 : NULL;
	cr_assert_not_null(p);
	eol = strchr(p, '\n');
	snprintf(buf, sizeof(buf), "%.*s", eol ? (int)(eol - p) : (int)strlen(p), p);
	return buf;
}

static struct cgroup_memory sample_memory(void)
{
	return (struct cgroup_memory){
	    .limit = 256 * MiB,
	    .usage = 100 * MiB,
	    .swap_accounted = true,
	    .swap_limit = 256 * MiB,
	    .swap_usage = 16 * MiB,
	    .anon = 50 * MiB,
	    .file = 40 * MiB,
	    .shmem = 4 * MiB,
	    .file_mapped = 8 * MiB,
	    .file_dirty = 1 * MiB,
	    .file_writeback = 0,
	    .active_anon = 20 * MiB,
	    .inactive_anon = 34 * MiB,
	    .active_file = 16 * MiB,
	    .inactive_file = 20 * MiB,
	    .swapcached = 1 * MiB,
	};
}

/* ---- cpulist ---- */

Test(cpulist, parse_and_format)
{
	static const char *const good[][2] = {
	    {"0-3,8,10-11\n", "0-3,8,10-11"},
	    {"0", "0"},
	    {"", ""},
	    {"\n", ""},
	    {"3,1,2", "1-3"},
	    {"0-0", "0"},
	    {"63-65", "63-65"},
	    {"8191", "8191"},
	};
	static const char *const bad[] = {"a", "1-", "-1", "3-1", "1,,2", "1,", "0 1", "1 -2"};
	struct cpulist l;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		_cleanup_free_ char *s = NULL;

		cr_assert_eq(cpulist_parse(good[i][0], &l), 0, "%s", good[i][0]);
		cr_assert_eq(cpulist_format(&l, &s), 0);
		cr_assert_str_eq(s, good[i][1]);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		cr_assert_eq(cpulist_parse(bad[i], &l), -EINVAL, "%s", bad[i]);
	cr_assert_eq(cpulist_parse("8192", &l), -ERANGE);
	cr_assert_eq(cpulist_parse("0-99999999999", &l), -ERANGE);
}

Test(cpulist, nth_and_index)
{
	struct cpulist l;
	unsigned c;

	cr_assert_eq(cpulist_parse("2,5,64-65,200", &l), 0);
	cr_assert_eq(cpulist_count(&l), 5);
	cr_assert_eq(cpulist_nth(&l, 0, &c), 0);
	cr_assert_eq(c, 2);
	cr_assert_eq(cpulist_nth(&l, 3, &c), 0);
	cr_assert_eq(c, 65);
	cr_assert_eq(cpulist_nth(&l, 4, &c), 0);
	cr_assert_eq(c, 200);
	cr_assert_eq(cpulist_nth(&l, 5, &c), -ENOENT);
	cr_assert_eq(cpulist_index(&l, 64), 2);
	cr_assert_eq(cpulist_index(&l, 200), 4);
	cr_assert_eq(cpulist_index(&l, 3), -ENOENT);
}

/* ---- parsers ---- */

/* memory.stat's keys and figures, one table for the cgroup reader and the resource views:
 * v1's hierarchical limits, v1's swap from memsw, v2's slab. */
Test(parse, memory_stat)
{
	static const char v1[] = "cache 1\ntotal_cache 4096\ntotal_rss 8192\ntotal_swap 12\n"
				 "hierarchical_memory_limit 9223372036854771712\n"
				 "hierarchical_memsw_limit 536870912\n";
	static const char v2[] = "anon 100\nfile 200\nslab_reclaimable 70\nslab 50\n";
	uint64_t v[_CG_MEMSTAT_V1_MAX] = {}, w[_CG_MEMSTAT_V2_MAX] = {}, found;
	struct cgroup_memory m = {};

	found = cg_parse_keyed(v1, cg_memstat_v1_keys, v, _CG_MEMSTAT_V1_MAX);
	cr_assert(found & (UINT64_C(1) << CG_MEMSTAT_V1_HIER_LIMIT));
	cr_assert_eq(cg_memstat_v1_limit(v[CG_MEMSTAT_V1_HIER_LIMIT]), CGROUP_UNLIMITED);
	cr_assert_eq(cg_memstat_v1_limit(v[CG_MEMSTAT_V1_HIER_MEMSW_LIMIT]), 512 * 1048576ull);
	cg_memstat_v1_apply(v, &m);
	cr_assert_eq(m.file, 4096, "total_cache, not the cgroup's own cache");
	cr_assert_eq(m.anon, 8192);
	cr_assert_eq(cg_memsw_swap_limit(512, 256), 256);
	cr_assert_eq(cg_memsw_swap_limit(256, 512), 0);
	cr_assert_eq(cg_memsw_swap_limit(512, CGROUP_UNLIMITED), 512);
	cr_assert_eq(cg_memsw_swap_limit(CGROUP_UNLIMITED, 256), CGROUP_UNLIMITED);

	m = (struct cgroup_memory){};
	found = cg_parse_keyed(v2, cg_memstat_v2_keys, w, _CG_MEMSTAT_V2_MAX);
	cg_memstat_v2_apply(w, found, &m);
	cr_assert_eq(m.anon, 100);
	cr_assert_eq(m.file, 200);
	cr_assert(m.has_slab);
	cr_assert_eq(m.slab, 50);
	cr_assert_eq(m.slab_reclaimable, 50, "never more reclaimable slab than slab");
	m = (struct cgroup_memory){};
	cg_memstat_v2_apply(w, found & ~(UINT64_C(1) << CG_MEMSTAT_V2_SLAB), &m);
	cr_assert_not(m.has_slab);
}

Test(parse, limits)
{
	uint64_t v, q, p;

	cr_assert_eq(cg_parse_limit("max\n", &v), 0);
	cr_assert_eq(v, CGROUP_UNLIMITED);
	cr_assert_eq(cg_parse_limit("-1\n", &v), 0);
	cr_assert_eq(v, CGROUP_UNLIMITED);
	cr_assert_eq(cg_parse_limit("9223372036854771712\n", &v), 0);
	cr_assert_eq(v, CGROUP_UNLIMITED);
	cr_assert_eq(cg_parse_limit("268435456\n", &v), 0);
	cr_assert_eq(v, 268435456);
	cr_assert_eq(cg_parse_limit("12abc", &v), -EINVAL);
	cr_assert_eq(cg_parse_cpu_max("max 100000\n", &q, &p), 0);
	cr_assert_eq(q, CGROUP_UNLIMITED);
	cr_assert_eq(p, 100000);
	cr_assert_eq(cg_parse_cpu_max("50000 100000\n", &q, &p), 0);
	cr_assert_eq(q, 50000);
	cr_assert_eq(cg_parse_cpu_max("50000 0", &q, &p), -EINVAL);
	cr_assert_eq(cg_parse_cpu_max("50000", &q, &p), -EINVAL);
}

Test(parse, keyed)
{
	static const char *const keys[] = {"file", "anon", "missing"};
	uint64_t v[3] = {};

	cr_assert_eq(cg_parse_keyed("anon 5\nfile_mapped 7\nfile 9\nbad x\n", keys, v, 3), 3);
	cr_assert_eq(v[0], 9);
	cr_assert_eq(v[1], 5);
}

Test(parse, proc_cgroup)
{
	static const char text[] = "5:cpu,cpuacct:/docker/x\n3:memory:/docker/x\n0::/a/b\n";
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
	char *d = NULL;

	cr_assert_eq(cg_parse_proc_cgroup(text, "cpuacct", &a), 0);
	cr_assert_str_eq(a, "/docker/x");
	cr_assert_eq(cg_parse_proc_cgroup(text, NULL, &b), 0);
	cr_assert_str_eq(b, "/a/b");
	cr_assert_eq(cg_parse_proc_cgroup(text, "memory", &c), 0);
	cr_assert_eq(cg_parse_proc_cgroup(text, "cpuset", &d), -ENXIO);
	cr_assert_eq(cg_parse_proc_cgroup("0::/gone (deleted)\n", NULL, &d), -ENOENT);
	cr_assert_eq(cg_parse_proc_cgroup("4:cpu:/x\n", "cp", &d), -ENXIO);
}

/* ---- meminfo and swaps ---- */

Test(meminfo, limited)
{
	_cleanup_free_ char *host = fixture("host/meminfo"), *text = NULL;
	struct cgroup_memory m = sample_memory();

	cr_assert_eq(view_meminfo(host, &m, &text), 0);
	cr_assert_eq(kb(text, "MemTotal"), 262144);
	cr_assert_eq(kb(text, "MemFree"), 262144 - 102400);
	cr_assert_eq(kb(text, "MemAvailable"), 262144 - 102400 + 16384 + 20480);
	cr_assert_eq(kb(text, "Buffers"), 0);
	cr_assert_eq(kb(text, "Cached"), 39 * 1024, "file minus swap cache");
	cr_assert_eq(kb(text, "SwapCached"), 1024);
	cr_assert_eq(kb(text, "Active"), 36 * 1024);
	cr_assert_eq(kb(text, "Inactive"), 54 * 1024);
	cr_assert_eq(kb(text, "Active(anon)"), 20 * 1024);
	cr_assert_eq(kb(text, "Inactive(file)"), 20 * 1024);
	cr_assert_eq(kb(text, "Shmem"), 4096);
	cr_assert_eq(kb(text, "Mapped"), 8192);
	cr_assert_eq(kb(text, "Dirty"), 1024);
	cr_assert_eq(kb(text, "AnonPages"), 50 * 1024);
	cr_assert_eq(kb(text, "Slab"), 0, "v1: no per-cgroup slab");
	/* Swap: 256 MiB limit, host has 4 GiB. */
	cr_assert_eq(kb(text, "SwapTotal"), 262144);
	cr_assert_eq(kb(text, "SwapFree"), 262144 - 16384);
	/* The kernel's layout, and every other line the host's, in the host's order. */
	cr_assert_not_null(strstr(text, "MemTotal:         262144 kB\n"));
	cr_assert_eq(count_lines(text), count_lines(host));
	for (size_t i = 0; i < count_lines(host); i++) {
		char hl[4096];

		snprintf(hl, sizeof(hl), "%s", line_at(host, i));
		cr_assert_eq(strncmp(hl, line_at(text, i), strcspn(hl, ":") + 1), 0, "line %zu", i);
		if (strncmp(hl, "VmallocTotal:", 13) == 0 || strncmp(hl, "HugePages_", 10) == 0 ||
		    strncmp(hl, "Committed_AS:", 13) == 0 || strncmp(hl, "Mlocked:", 8) == 0)
			cr_assert_str_eq(line_at(text, i), hl);
	}
}

Test(meminfo, slab_v2)
{
	_cleanup_free_ char *host = fixture("host/meminfo"), *text = NULL;
	struct cgroup_memory m = sample_memory();

	m.has_slab = true;
	m.slab = 5 * MiB;
	m.slab_reclaimable = 4 * MiB;
	cr_assert_eq(view_meminfo(host, &m, &text), 0);
	cr_assert_eq(kb(text, "Slab"), 5120);
	cr_assert_eq(kb(text, "SReclaimable"), 4096);
	cr_assert_eq(kb(text, "KReclaimable"), 4096);
	cr_assert_eq(kb(text, "SUnreclaim"), 1024);
	cr_assert_eq(kb(text, "MemAvailable"), 262144 - 102400 + 16384 + 20480 + 4096);
}

/* MemFree and MemAvailable never exceed MemTotal, even when usage tops the limit. */
Test(meminfo, bounds)
{
	_cleanup_free_ char *host = fixture("host/meminfo"), *a = NULL, *b = NULL;
	struct cgroup_memory m = sample_memory();

	m.usage = 300 * MiB;
	cr_assert_eq(view_meminfo(host, &m, &a), 0);
	cr_assert_eq(kb(a, "MemFree"), 0);
	cr_assert_leq(kb(a, "MemAvailable"), 262144);

	m.usage = 0;
	m.active_file = m.inactive_file = 200 * MiB;
	cr_assert_eq(view_meminfo(host, &m, &b), 0);
	cr_assert_eq(kb(b, "MemFree"), 262144);
	cr_assert_eq(kb(b, "MemAvailable"), 262144);
}

Test(meminfo, unlimited)
{
	_cleanup_free_ char *host = fixture("host/meminfo"), *text = NULL;
	struct cgroup_memory m = sample_memory();
	uint64_t host_total;

	m.limit = CGROUP_UNLIMITED;
	m.swap_limit = CGROUP_UNLIMITED;
	cr_assert_eq(view_meminfo(host, &m, &text), 0);
	host_total = kb(host, "MemTotal");
	cr_assert_eq(kb(text, "MemTotal"), host_total);
	/* free's "used" (total - free - buffers - cached - sreclaimable) is the container's own
	 * usage less its cache, whatever the host's MemFree. */
	cr_assert_eq(kb(text, "MemTotal") - kb(text, "MemFree"), m.usage / 1024, "%s", text);
	cr_assert_geq(kb(text, "MemAvailable"), kb(text, "MemFree"));
	cr_assert_leq(kb(text, "MemAvailable"), host_total);
	cr_assert_eq(kb(text, "SwapTotal"), 4194304, "the host's swap, which it may use");
	cr_assert_eq(kb(text, "SwapFree"), 4194304 - 16384);
}

Test(meminfo, bad_host)
{
	struct cgroup_memory m = sample_memory();
	char *text = NULL;

	cr_assert_eq(view_meminfo("Foo: 1 kB\n", &m, &text), -EBADMSG);
	cr_assert_null(text);
}

Test(swaps, views)
{
	_cleanup_free_ char *host = fixture("host/meminfo"), *a = NULL, *b = NULL, *c = NULL,
			    *d = NULL, *noswap = NULL;
	struct cgroup_memory m = sample_memory();
	char *p;
	static const char header[] = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
	unsigned long long size, used;
	char name[64], type[64];

	cr_assert_eq(view_swaps(host, &m, &a), 0);
	cr_assert_eq(strncmp(a, header, strlen(header)), 0);
	cr_assert_eq(count_lines(a), 2, "%s", a);
	cr_assert_eq(sscanf(a + strlen(header), "%63s %63s %llu %llu", name, type, &size, &used),
		     4);
	cr_assert_str_eq(name, "none");
	cr_assert_eq(size, 262144, "agrees with SwapTotal");
	cr_assert_eq(used, 16384, "agrees with SwapTotal - SwapFree");

	m.swap_limit = 0; /* docker --memory-swap equal to --memory */
	cr_assert_eq(view_swaps(host, &m, &b), 0);
	cr_assert_str_eq(b, header);

	m = sample_memory();
	m.swap_accounted = false;
	cr_assert_eq(view_swaps(host, &m, &c), 0);
	cr_assert_str_eq(c, header);

	/* A host without swap: nothing to show, whatever the limit. */
	noswap = strdup(host);
	p = strstr(noswap, "SwapTotal:");
	cr_assert_not_null(p);
	memcpy(p, "SwapTotal:             0 kB", 27);
	m = sample_memory();
	cr_assert_eq(view_swaps(noswap, &m, &d), 0);
	cr_assert_str_eq(d, header);
}

/* ---- CPUs ---- */

Test(cpus, select)
{
	struct cgroup_cpu cpu = {.quota_us = CGROUP_UNLIMITED};
	struct cpulist host, shown;
	unsigned c;

	cr_assert_eq(cpulist_parse("0-7", &host), 0);
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 8);

	cpu.has_cpuset = true;
	cr_assert_eq(cpulist_parse("2-5,9", &cpu.cpuset), 0);
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 4, "9 is not online");

	cpu.quota_us = 150000;
	cpu.period_us = 100000;
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 2);
	cr_assert_eq(cpulist_nth(&shown, 1, &c), 0);
	cr_assert_eq(c, 3);

	cpu.quota_us = 1000; /* 0.01 CPU still shows one CPU */
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 1);

	cpu.quota_us = 400000;
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 4, "exactly 4");
}

Test(cpus, online)
{
	struct cpulist l;
	_cleanup_free_ char *a = NULL, *b = NULL;
	char *c = NULL;

	cr_assert_eq(cpulist_parse("5", &l), 0);
	cr_assert_eq(view_cpu_online(&l, &a), 0);
	cr_assert_str_eq(a, "5\n", "the host's id, not 0");
	cr_assert_eq(cpulist_parse("1,3,5-6", &l), 0);
	cr_assert_eq(view_cpu_online(&l, &b), 0);
	cr_assert_str_eq(b, "1,3,5-6\n");
	cpulist_clear(&l);
	cr_assert_eq(view_cpu_online(&l, &c), -ENODATA);
}

/* ---- cpuinfo ---- */

static unsigned count_str(const char *text, const char *s)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, s)); p++)
		n++;
	return n;
}

Test(cpuinfo, one_cpu)
{
	_cleanup_free_ char *host = fixture("host/cpuinfo"), *text = NULL;
	struct cpulist shown;

	cr_assert_eq(cpulist_parse("2", &shown), 0);
	cr_assert_eq(view_cpuinfo(host, &shown, &text), 0);
	cr_assert_eq(count_str(text, "processor\t:"), 1);
	cr_assert_not_null(strstr(text, "processor\t: 2\n"), "the host's id");
	/* Host CPU 2's block: package 1, apicid 4. */
	cr_assert_not_null(strstr(text, "physical id\t: 1\n"));
	cr_assert_not_null(strstr(text, "apicid\t\t: 4\n"));
	cr_assert_not_null(strstr(text, "siblings\t: 1\n"), "%s", text);
	cr_assert_not_null(strstr(text, "cpu cores\t: 1\n"));
	cr_assert_not_null(strstr(text, "flags\t\t: fpu"));
	/* Ends like the kernel's: a blank line after the block. */
	cr_assert_eq(strcmp(text + strlen(text) - 2, "\n\n"), 0);
	cr_assert_eq(count_lines(text) * 4, count_lines(host));
}

Test(cpuinfo, renumbered_packages)
{
	_cleanup_free_ char *host = fixture("host/cpuinfo"), *text = NULL;
	struct cpulist shown;
	const char *p0, *p1, *p2;

	/* Host 1 (package 0, core 1), 2 and 3 (package 1, cores 0 and 1). */
	cr_assert_eq(cpulist_parse("1-3", &shown), 0);
	cr_assert_eq(view_cpuinfo(host, &shown, &text), 0);
	cr_assert_eq(count_str(text, "processor\t:"), 3);
	p0 = strstr(text, "processor\t: 1\n");
	p1 = strstr(text, "processor\t: 2\n");
	p2 = strstr(text, "processor\t: 3\n");
	cr_assert(p0 && p1 && p2 && p0 < p1 && p1 < p2);
	cr_assert_not_null(strstr(p0, "apicid\t\t: 2\n"));
	cr_assert_eq(count_str(text, "siblings\t: 1\n"), 1, "%s", text);
	cr_assert_eq(count_str(text, "siblings\t: 2\n"), 2);
	cr_assert_eq(count_str(text, "cpu cores\t: 1\n"), 1);
	cr_assert_eq(count_str(text, "cpu cores\t: 2\n"), 2);
}

/* Global lines (arm32 "Hardware", s390 headers) are kept. */
Test(cpuinfo, other_lines)
{
	static const char host[] = "vendor: x\n\nprocessor\t: 0\nBogoMIPS\t: 10\n\n"
				   "processor\t: 1\nBogoMIPS\t: 20\n\nHardware\t: board\n";
	_cleanup_free_ char *text = NULL;
	struct cpulist shown;

	cr_assert_eq(cpulist_parse("1", &shown), 0);
	cr_assert_eq(view_cpuinfo(host, &shown, &text), 0);
	cr_assert_str_eq(text,
			 "vendor: x\n\nprocessor\t: 1\nBogoMIPS\t: 20\n\nHardware\t: board\n");
}

/* ---- stat ---- */

static struct cgroup_cpu_usage sample_usage(uint64_t *user, uint64_t *sys)
{
	/* host CPU 0: 2 s user 1 s system; CPU 2: 0.5 s and 0.5 s (in ns) */
	user[0] = 2000000000, user[1] = 0, user[2] = 500000000, user[3] = 0;
	sys[0] = 1000000000, sys[1] = 0, sys[2] = 500000000, sys[3] = 0;
	return (struct cgroup_cpu_usage){
	    .user_ns = 2500000000,
	    .system_ns = 1500000000,
	    .n_percpu = 4,
	    .percpu_user_ns = user,
	    .percpu_system_ns = sys,
	};
}

Test(stat, two_cpus)
{
	_cleanup_free_ char *host = fixture("host/stat"), *text = NULL;
	uint64_t user[4], sys[4];
	struct cgroup_cpu_usage u = sample_usage(user, sys);
	struct cgroup_tasks t = {.total = 5, .running = 2, .blocked = 1};
	struct cpulist shown;
	uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);
	unsigned long long f[10];
	char name[16];

	cr_assert_eq(hz, 100, "the fixture's numbers assume USER_HZ 100");
	cr_assert_eq(cpulist_parse("0,2", &shown), 0);
	cr_assert_eq(view_stat(host, &shown, &u, &t, NULL, &text), 0);
	/* cpu0 = host 0: user 200, system 100, idle = 49135 - 300 */
	cr_assert_str_eq(line_at(text, 1), "cpu0 200 0 100 48835 0 0 0 0 0 0");
	/* cpu2 = host 2 (its id kept): user 50, system 50, idle = 47430 - 100 */
	cr_assert_str_eq(line_at(text, 2), "cpu2 50 0 50 47330 0 0 0 0 0 0");
	cr_assert_eq(sscanf(line_at(text, 0),
			    "%15s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", name, &f[0],
			    &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]),
		     11);
	cr_assert_str_eq(name, "cpu");
	cr_assert_eq(f[0], 250);
	cr_assert_eq(f[2], 150);
	cr_assert_eq(f[3], 48835 + 47330);
	cr_assert_eq(strncmp(line_at(text, 3), "intr 151596", 11), 0);
	cr_assert_not_null(strstr(text, "\nctxt 235944\n"));
	cr_assert_not_null(strstr(text, "\nbtime 1795914803\n"));
	cr_assert_not_null(strstr(text, "\nprocesses 3925\n"));
	cr_assert_not_null(strstr(text, "\nprocs_running 2\n"));
	cr_assert_not_null(strstr(text, "\nprocs_blocked 1\n"));
	cr_assert_not_null(strstr(text, "\nsoftirq 78411 "));
	cr_assert_null(strstr(text, "cpu1"));
}

/* Usage on CPUs that are not shown lands on shown ones: the totals stay the cgroup's. */
Test(stat, folded)
{
	_cleanup_free_ char *host = fixture("host/stat"), *text = NULL;
	uint64_t user[4], sys[4];
	struct cgroup_cpu_usage u = sample_usage(user, sys);
	struct cgroup_tasks t = {};
	struct cpulist shown;

	cr_assert_eq(cpulist_parse("3", &shown), 0);
	cr_assert_eq(view_stat(host, &shown, &u, &t, NULL, &text), 0);
	cr_assert_str_eq(line_at(text, 0), "cpu  250 0 150 46725 0 0 0 0 0 0");
	cr_assert_str_eq(line_at(text, 1), "cpu3 250 0 150 46725 0 0 0 0 0 0");
	cr_assert_eq(strncmp(line_at(text, 2), "intr", 4), 0);
}

/* v2: totals only, spread over the shown CPUs. */
Test(stat, totals_only)
{
	_cleanup_free_ char *host = fixture("host/stat"), *text = NULL;
	struct cgroup_cpu_usage u = {.user_ns = 3000000000, .system_ns = 1000000000};
	struct cgroup_tasks t = {};
	struct cpulist shown;

	cr_assert_eq(cpulist_parse("0-1", &shown), 0);
	cr_assert_eq(view_stat(host, &shown, &u, &t, NULL, &text), 0);
	cr_assert_str_eq(line_at(text, 1), "cpu0 150 0 50 48935 0 0 0 0 0 0");
	cr_assert_str_eq(line_at(text, 2), "cpu1 150 0 50 48730 0 0 0 0 0 0");
}

/* A later host sample that would make idle go back does not: the history holds it. */
Test(stat, monotonic)
{
	_cleanup_free_ char *host = fixture("host/stat"), *a = NULL, *b = NULL, *c = NULL;
	struct cgroup_cpu_usage u = {.user_ns = 1000000000, .system_ns = 0};
	struct cgroup_tasks t = {};
	struct view_stat_history h = {};
	struct cpulist shown;

	cr_assert_eq(cpulist_parse("0", &shown), 0);
	cr_assert_eq(view_stat(host, &shown, &u, &t, &h, &a), 0);
	cr_assert_str_eq(line_at(a, 1), "cpu0 100 0 0 49035 0 0 0 0 0 0");
	/* The cgroup's ns clock ran 2 ticks ahead of the host's tick count. */
	u.user_ns += 20000000;
	cr_assert_eq(view_stat(host, &shown, &u, &t, &h, &b), 0);
	cr_assert_str_eq(line_at(b, 1), "cpu0 102 0 0 49035 0 0 0 0 0 0");
	/* Without the history, idle would have gone back by 2. */
	cr_assert_eq(view_stat(host, &shown, &u, &t, NULL, &c), 0);
	cr_assert_str_eq(line_at(c, 1), "cpu0 102 0 0 49033 0 0 0 0 0 0");
	view_stat_history_done(&h);
}

Test(stat, bad_host)
{
	struct cgroup_cpu_usage u = {};
	struct cgroup_tasks t = {};
	struct cpulist shown;
	char *text = NULL;

	cr_assert_eq(cpulist_parse("0", &shown), 0);
	cr_assert_eq(view_stat("intr 1\n", &shown, &u, &t, NULL, &text), -EBADMSG);
}

/* ---- diskstats ---- */

Test(diskstats, container_devices)
{
	_cleanup_free_ char *host = fixture("host/diskstats"), *text = NULL;
	struct cgroup_io_dev devs[] = {
	    {.major = 8, .minor = 0, .rbytes = 1048576, .wbytes = 2097152, .rios = 16, .wios = 32},
	    {.major = 254, .minor = 0, .wbytes = 4096, .wios = 1},
	    {.major = 7, .minor = 0},
	};
	struct cgroup_io io = {.n = ELEMENTSOF(devs), .devs = devs};

	cr_assert_eq(view_diskstats(host, &io, &text), 0);
	cr_assert_str_eq(text, "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
			       "   8       0 sda 16 0 2048 0 32 0 4096 0 0 0 0 0 0 0 0 0 0\n"
			       " 254       0 vda 0 0 0 0 1 0 8 0 0 0 0 0 0 0 0 0 0\n");
}

/* A kernel that keeps no I/O counters for the cgroup (cgroup v1 blkio before any throttle rule
 * was set on the disk's queue): the disks are still there, with 0, so that iostat, vmstat -d
 * and sar -d find them. */
Test(diskstats, no_counters_still_lists_the_disks)
{
	_cleanup_free_ char *host = fixture("host/diskstats"), *text = NULL;
	struct cgroup_io io = {};

	cr_assert_eq(view_diskstats(host, &io, &text), 0);
	cr_assert_str_eq(text, "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
			       "   8       0 sda 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
			       " 254       0 vda 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
}

/* Partitions follow their disk, named after it ("p" between when it ends in a digit). */
Test(diskstats, partitions_are_left_out)
{
	static const char host[] = "   8       0 sda 1 0 2 0 3 0 4 0 0 0 0\n"
				   "   8       1 sda1 1 0 2 0 3 0 4 0 0 0 0\n"
				   "  65     160 sdaa 1 0 2 0 3 0 4 0 0 0 0\n"
				   " 259       0 nvme0n1 1 0 2 0 3 0 4 0 0 0 0\n"
				   " 259       1 nvme0n1p1 1 0 2 0 3 0 4 0 0 0 0\n"
				   " 259       2 nvme0n10 1 0 2 0 3 0 4 0 0 0 0\n"
				   "   7       0 loop0 1 0 2 0 3 0 4 0 0 0 0\n"
				   "   7       1 loop1 1 0 2 0 3 0 4 0 0 0 0\n"
				   " 179       0 mmcblk0 1 0 2 0 3 0 4 0 0 0 0\n"
				   " 179       8 mmcblk0boot0 1 0 2 0 3 0 4 0 0 0 0\n";
	struct cgroup_io_dev devs[] = {{.major = 259, .minor = 2, .rios = 5, .rbytes = 1024}};
	struct cgroup_io io = {.n = ELEMENTSOF(devs), .devs = devs};
	_cleanup_free_ char *text = NULL;

	cr_assert_eq(view_diskstats(host, &io, &text), 0);
	cr_assert_str_eq(text, "   8       0 sda 0 0 0 0 0 0 0 0 0 0 0\n"
			       "  65     160 sdaa 0 0 0 0 0 0 0 0 0 0 0\n"
			       " 259       0 nvme0n1 0 0 0 0 0 0 0 0 0 0 0\n"
			       " 259       2 nvme0n10 5 0 2 0 0 0 0 0 0 0 0\n"
			       "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0\n"
			       "   7       1 loop1 0 0 0 0 0 0 0 0 0 0 0\n"
			       " 179       0 mmcblk0 0 0 0 0 0 0 0 0 0 0 0\n"
			       " 179       8 mmcblk0boot0 0 0 0 0 0 0 0 0 0 0 0\n");
}

/* ---- loadavg ---- */

#define SEC UINT64_C(1000000000)

static double load_of(uint64_t fixed)
{
	return (double)fixed / LOADAVG_FIXED_1;
}

Test(loadavg, converges)
{
	struct loadavg l = {};
	uint64_t now = 1000 * SEC;

	loadavg_update(&l, now, 2);
	cr_assert_eq(l.avenrun[0], 0, "the first call only starts the clock");
	/* Two tasks active for one minute, sampled every 5 s as the kernel does. */
	for (int i = 0; i < 12; i++) {
		now += LOADAVG_PERIOD_NS;
		loadavg_update(&l, now, 2);
	}
	cr_assert(fabs(load_of(l.avenrun[0]) - 2 * (1 - exp(-1))) < 0.02, "1 min: %f",
		  load_of(l.avenrun[0]));
	cr_assert(fabs(load_of(l.avenrun[1]) - 2 * (1 - exp(-1.0 / 5))) < 0.02, "5 min: %f",
		  load_of(l.avenrun[1]));
	cr_assert(fabs(load_of(l.avenrun[2]) - 2 * (1 - exp(-1.0 / 15))) < 0.02, "15 min: %f",
		  load_of(l.avenrun[2]));
	cr_assert_gt(l.avenrun[2], 0);
	cr_assert_lt(l.avenrun[2], l.avenrun[1]);
	cr_assert_lt(l.avenrun[1], l.avenrun[0]);
}

/* Reads 3 minutes apart apply the 36 missed samples at once, close to sampling each. */
Test(loadavg, lazy_matches_periodic)
{
	struct loadavg lazy = {}, periodic = {};
	uint64_t t0 = 50 * SEC;

	loadavg_update(&lazy, t0, 0);
	loadavg_update(&periodic, t0, 0);
	for (int i = 1; i <= 36; i++)
		loadavg_update(&periodic, t0 + (uint64_t)i * LOADAVG_PERIOD_NS, 3);
	loadavg_update(&lazy, t0 + 36 * LOADAVG_PERIOD_NS, 3);
	for (int i = 0; i < 3; i++)
		cr_assert(fabs(load_of(lazy.avenrun[i]) - load_of(periodic.avenrun[i])) < 0.02,
			  "%d: lazy %f periodic %f", i, load_of(lazy.avenrun[i]),
			  load_of(periodic.avenrun[i]));
	/* Nothing changes before the next sample is due. */
	{
		struct loadavg before = lazy;

		loadavg_update(&lazy, t0 + 36 * LOADAVG_PERIOD_NS + SEC, 100);
		cr_assert_eq(memcmp(&before, &lazy, sizeof(lazy)), 0);
	}
	/* A day idle: back to zero. */
	loadavg_update(&lazy, t0 + 86400 * SEC, 0);
	cr_assert_eq(lazy.avenrun[0], 0);
	cr_assert_eq(lazy.avenrun[2], 0);
}

Test(loadavg, render)
{
	struct loadavg l = {.started = true, .avenrun = {2048, 1080, 11}};
	struct cgroup_tasks t = {.total = 12, .running = 1};
	_cleanup_free_ char *s = NULL;

	/* 1080/2048 = 0.527 and 11/2048 = 0.0054 round (the kernel adds 1/200), not truncate. */
	cr_assert_eq(view_loadavg(&l, &t, 345, &s), 0);
	cr_assert_str_eq(s, "1.00 0.53 0.01 1/12 345\n");
}
