/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/cpulist.h"
#include "cgroup/views.h"
#include "util/macro.h"

#define FIXTURES PROCBOX_SOURCE_ROOT "/tests/fixtures/cgroup"
#define V1 FIXTURES "/v1"
#define V2 FIXTURES "/v2"
#define MiB (UINT64_C(1) << 20)

static struct cgroup_layout *load_layout(const char *root)
{
	struct cgroup_layout *l = NULL;
	int r = cgroup_layout_detect(root, &l);

	cr_assert_eq(r, 0, "cgroup_layout_detect(%s): %s", root, strerror(-r));
	return l;
}

static struct cgroup *load_cgroup(const struct cgroup_layout *l, pid_t pid)
{
	struct cgroup *cg = NULL;
	int r = cgroup_resolve_pid(l, pid, &cg);

	cr_assert_eq(r, 0, "cgroup_resolve_pid(%d): %s", (int)pid, strerror(-r));
	return cg;
}

/* ---- layout ---- */

Test(cgroup_layout, v1_fixture)
{
	struct cgroup_layout *l = load_layout(V1);

	for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
		cr_assert_eq(cgroup_layout_version(l, c), 1, "controller %d", c);
	cr_assert_str_eq(cgroup_layout_mount(l, CGROUP_MEMORY), V1 "/sys/fs/cgroup/memory");
	cr_assert_str_eq(cgroup_layout_mount(l, CGROUP_CPU), V1 "/sys/fs/cgroup/cpu,cpuacct");
	cr_assert_str_eq(cgroup_layout_mount(l, CGROUP_CPUACCT), V1 "/sys/fs/cgroup/cpu,cpuacct");
	cr_assert_str_eq(cgroup_layout_mount(l, CGROUP_CPUSET), V1 "/sys/fs/cgroup/cpuset");
	cr_assert_str_eq(cgroup_layout_mount(l, CGROUP_BLKIO), V1 "/sys/fs/cgroup/blkio");
	cgroup_layout_free(l);
}

Test(cgroup_layout, v2_fixture)
{
	struct cgroup_layout *l = load_layout(V2);

	for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
		cr_assert_eq(cgroup_layout_version(l, c), 2, "controller %d", c);
		cr_assert_str_eq(cgroup_layout_mount(l, c), V2 "/sys/fs/cgroup");
	}
	cgroup_layout_free(l);
}

/* This machine's layout: separate v1 hierarchies and a cgroup2 mount without controllers. */
Test(cgroup_layout, hybrid_text)
{
	static const char mi[] =
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	    "35 31 0:32 / /sys/fs/cgroup/my\\040memory rw,relatime - cgroup cgroup rw,memory\n"
	    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	    "garbage line\n";
	struct cgroup_layout *l = NULL;

	cr_assert_eq(cgroup_layout_parse("/nonexistent-root", mi, &l), 0);
	cr_assert_str_eq(cgroup_layout_mount(l, CGROUP_CPU), "/nonexistent-root/sys/fs/cgroup/cpu");
	cr_assert_str_eq(cgroup_layout_mount(l, CGROUP_CPUACCT),
			 "/nonexistent-root/sys/fs/cgroup/cpuacct");
	cr_assert_str_eq(cgroup_layout_mount(l, CGROUP_MEMORY),
			 "/nonexistent-root/sys/fs/cgroup/my memory");
	cr_assert_eq(cgroup_layout_version(l, CGROUP_MEMORY), 1);
	cr_assert_eq(cgroup_layout_version(l, CGROUP_BLKIO), 0);
	cr_assert_null(cgroup_layout_mount(l, CGROUP_BLKIO));
	cgroup_layout_free(l);
}

/* Only a subtree of the memory hierarchy is mounted: cgroups outside it cannot be read. */
Test(cgroup_layout, subtree_mount)
{
	static const char mi[] =
	    "40 22 0:36 /docker/abc /srv/mem rw,relatime shared:13 - cgroup cgroup rw,memory\n";
	struct cgroup_layout *l = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_memory m;

	cr_assert_eq(cgroup_layout_parse("/r", mi, &l), 0);
	cr_assert_eq(cgroup_resolve_text(l, "3:memory:/docker/abc/sub\n", &cg), 0);
	cr_assert_str_eq(cgroup_path(cg, CGROUP_MEMORY), "/r/srv/mem/sub");
	cgroup_free(cg);
	cr_assert_eq(cgroup_resolve_text(l, "3:memory:/docker/abc\n", &cg), 0);
	cr_assert_str_eq(cgroup_path(cg, CGROUP_MEMORY), "/r/srv/mem");
	cgroup_free(cg);
	cr_assert_eq(cgroup_resolve_text(l, "3:memory:/docker/abcd\n", &cg), 0);
	cr_assert_null(cgroup_path(cg, CGROUP_MEMORY));
	cr_assert_eq(cgroup_get_memory(cg, &m), -ENOENT);
	cgroup_free(cg);
	cr_assert_eq(cgroup_resolve_text(l, "3:memory:/docker/abc/../../x\n", &cg), -EINVAL);
	cgroup_layout_free(l);
}

/* ---- v1 fixture ---- */

Test(cgroup_v1, resolve)
{
	struct cgroup_layout *l = load_layout(V1);
	struct cgroup *cg = load_cgroup(l, 100);

	cr_assert_str_eq(cgroup_path(cg, CGROUP_MEMORY), V1 "/sys/fs/cgroup/memory/docker/abc");
	cr_assert_str_eq(cgroup_path(cg, CGROUP_CPU), V1 "/sys/fs/cgroup/cpu,cpuacct/docker/abc");
	cr_assert_str_eq(cgroup_path(cg, CGROUP_CPUACCT),
			 V1 "/sys/fs/cgroup/cpu,cpuacct/docker/abc");
	cr_assert_str_eq(cgroup_path(cg, CGROUP_CPUSET), V1 "/sys/fs/cgroup/cpuset/docker/abc");
	cr_assert_str_eq(cgroup_path(cg, CGROUP_BLKIO), V1 "/sys/fs/cgroup/blkio/docker/abc");
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_v1, memory)
{
	struct cgroup_layout *l = load_layout(V1);
	struct cgroup *cg = load_cgroup(l, 100);
	struct cgroup_memory m;

	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	cr_assert_eq(m.limit, 256 * MiB);
	cr_assert_eq(m.usage, 100 * MiB);
	cr_assert(m.swap_accounted);
	cr_assert_eq(m.swap_limit, 256 * MiB, "memsw 512 MiB - memory 256 MiB");
	cr_assert_eq(m.swap_usage, 16 * MiB);
	cr_assert_eq(m.file, 40 * MiB);
	cr_assert_eq(m.anon, 50 * MiB);
	cr_assert_eq(m.shmem, 4 * MiB);
	cr_assert_eq(m.file_mapped, 8 * MiB);
	cr_assert_eq(m.file_dirty, 1 * MiB);
	cr_assert_eq(m.active_anon, 20 * MiB);
	cr_assert_eq(m.inactive_anon, 34 * MiB);
	cr_assert_eq(m.active_file, 16 * MiB);
	cr_assert_eq(m.inactive_file, 20 * MiB);
	cr_assert_not(m.has_slab);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

/* a (1 GiB) / b (256 MiB) / c (unlimited) / d (512 MiB, the container): b's limit wins, found
 * by walking the path (d's memory.stat has no hierarchical_memory_limit). */
Test(cgroup_v1, nested_limit)
{
	struct cgroup_layout *l = load_layout(V1);
	struct cgroup *cg = load_cgroup(l, 200);
	struct cgroup_memory m;
	_cleanup_free_ char *text = NULL, *host = NULL;
	FILE *f;
	size_t n = 0;

	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	cr_assert_eq(m.limit, 256 * MiB);
	cr_assert_eq(m.usage, 10 * MiB);
	cr_assert_not(m.swap_accounted, "d has no memory.memsw.* files");

	f = fopen(FIXTURES "/host/meminfo", "re");
	cr_assert_not_null(f);
	cr_assert_gt(getdelim(&host, &n, 0, f), 0);
	fclose(f);
	cr_assert_eq(view_meminfo(host, &m, &text), 0);
	cr_assert_not_null(strstr(text, "MemTotal:         262144 kB\n"), "%s", text);
	cr_assert_not_null(strstr(text, "SwapTotal:             0 kB\n"), "%s", text);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_v1, cpu)
{
	struct cgroup_layout *l = load_layout(V1);
	struct cgroup *cg = load_cgroup(l, 100);
	struct cgroup_cpu cpu;
	struct cpulist host, shown;

	cr_assert_eq(cgroup_get_cpu(cg, &cpu), 0);
	cr_assert(cpu.has_cpuset);
	cr_assert_eq(cpulist_count(&cpu.cpuset), 1);
	cr_assert(cpulist_contains(&cpu.cpuset, 2));
	cr_assert_eq(cpu.quota_us, 50000);
	cr_assert_eq(cpu.period_us, 100000);
	cr_assert_eq(cpulist_parse("0-3", &host), 0);
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 1);
	cr_assert(cpulist_contains(&shown, 2));
	cgroup_free(cg);

	/* a: 150000/100000, b: none, c: 200000/50000 (4 CPUs), d: none -> 1.5 CPUs on the path. */
	cg = load_cgroup(l, 200);
	cr_assert_eq(cgroup_get_cpu(cg, &cpu), 0);
	cr_assert_eq(cpu.quota_us, 150000);
	cr_assert_eq(cpu.period_us, 100000);
	cr_assert_eq(cpulist_count(&cpu.cpuset), 4);
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 2, "ceil(1.5)");
	cr_assert(cpulist_contains(&shown, 0) && cpulist_contains(&shown, 1));
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_v1, cpu_usage)
{
	struct cgroup_layout *l = load_layout(V1);
	struct cgroup *cg = load_cgroup(l, 100);
	struct cgroup_cpu_usage u;

	cr_assert_eq(cgroup_get_cpu_usage(cg, &u), 0);
	cr_assert_eq(u.n_percpu, 4);
	cr_assert_eq(u.percpu_user_ns[0], 2000000000);
	cr_assert_eq(u.percpu_system_ns[1], 500000000);
	cr_assert_eq(u.user_ns, 2500000000);
	cr_assert_eq(u.system_ns, 1500000000);
	cgroup_cpu_usage_done(&u);
	cgroup_free(cg);

	/* No usage_percpu_{user,sys}: per-CPU totals split by cpuacct.stat's 60:20. */
	cg = load_cgroup(l, 200);
	cr_assert_eq(cgroup_get_cpu_usage(cg, &u), 0);
	cr_assert_eq(u.n_percpu, 4);
	cr_assert_eq(u.percpu_user_ns[0], 300000000);
	cr_assert_eq(u.percpu_system_ns[0], 100000000);
	cr_assert_eq(u.percpu_user_ns[3], 300000000);
	cr_assert_eq(u.user_ns + u.system_ns, 800000000);
	cgroup_cpu_usage_done(&u);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_v1, tasks)
{
	struct cgroup_layout *l = load_layout(V1);
	struct cgroup *cg = load_cgroup(l, 100);
	struct cgroup_tasks t;

	/* 100 S, 101 R ("my (odd) prog"), 102 D, and 103 R in the child cgroup "sub". */
	cr_assert_eq(cgroup_get_tasks(cg, 0, &t), 0);
	cr_assert_eq(t.total, 4);
	cr_assert_eq(t.running, 2);
	cr_assert_eq(t.blocked, 1);
	cr_assert_not(t.reader_seen);
	cr_assert_eq(cgroup_tasks_active(&t), 3);

	/* The reader (100) waits on procbox but runs as far as the container is concerned. */
	cr_assert_eq(cgroup_get_tasks(cg, 100, &t), 0);
	cr_assert_eq(t.running, 3);
	cr_assert(t.reader_seen);
	cr_assert_eq(cgroup_tasks_active(&t), 3);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

static const struct cgroup_io_dev *io_find(const struct cgroup_io *io, unsigned ma, unsigned mi)
{
	for (size_t i = 0; i < io->n; i++)
		if (io->devs[i].major == ma && io->devs[i].minor == mi)
			return &io->devs[i];
	return NULL;
}

Test(cgroup_v1, io)
{
	struct cgroup_layout *l = load_layout(V1);
	struct cgroup *cg = load_cgroup(l, 100);
	const struct cgroup_io_dev *d;
	struct cgroup_io io;

	cr_assert_eq(cgroup_get_io(cg, &io), 0);
	d = io_find(&io, 8, 0);
	cr_assert_not_null(d);
	cr_assert_eq(d->rbytes, 1048576);
	cr_assert_eq(d->wbytes, 2097152);
	cr_assert_eq(d->rios, 16);
	cr_assert_eq(d->wios, 32);
	d = io_find(&io, 254, 0);
	cr_assert_not_null(d);
	cr_assert_eq(d->wbytes, 4096);
	cr_assert_eq(d->wios, 1);
	cgroup_io_done(&io);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

/* ---- v2 fixture ---- */

Test(cgroup_v2, memory)
{
	struct cgroup_layout *l = load_layout(V2);
	struct cgroup *cg = load_cgroup(l, 100);
	struct cgroup_memory m;

	cr_assert_str_eq(cgroup_path(cg, CGROUP_MEMORY),
			 V2 "/sys/fs/cgroup/system.slice/docker-abc.scope");
	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	cr_assert_eq(m.limit, 256 * MiB);
	cr_assert_eq(m.usage, 100 * MiB);
	cr_assert(m.swap_accounted);
	cr_assert_eq(m.swap_limit, 128 * MiB);
	cr_assert_eq(m.swap_usage, 8 * MiB);
	cr_assert(m.has_slab);
	cr_assert_eq(m.slab, 5 * MiB);
	cr_assert_eq(m.slab_reclaimable, 4 * MiB);
	cr_assert_eq(m.file_writeback, 512 * 1024);
	cr_assert_eq(m.swapcached, 1 * MiB);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_v2, nested)
{
	struct cgroup_layout *l = load_layout(V2);
	struct cgroup *cg = load_cgroup(l, 200);
	struct cgroup_memory m;
	struct cgroup_cpu cpu;
	struct cpulist host, shown;

	/* kubepods 1 GiB / burstable 512 MiB / pod max / ctr max */
	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	cr_assert_eq(m.limit, 512 * MiB);
	cr_assert_not(m.swap_accounted);
	/* cpu.max: burstable 2.5 CPUs, ctr 3 CPUs; cpuset only at the root (0-3). */
	cr_assert_eq(cgroup_get_cpu(cg, &cpu), 0);
	cr_assert_eq(cpu.quota_us, 250000);
	cr_assert_eq(cpu.period_us, 100000);
	cr_assert(cpu.has_cpuset);
	cr_assert_eq(cpulist_count(&cpu.cpuset), 4);
	cr_assert_eq(cpulist_parse("0-3\n", &host), 0);
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 3);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_v2, cpu)
{
	struct cgroup_layout *l = load_layout(V2);
	struct cgroup *cg = load_cgroup(l, 100);
	struct cgroup_cpu cpu;
	struct cgroup_cpu_usage u;
	struct cpulist host, shown;
	_cleanup_free_ char *online = NULL;

	cr_assert_eq(cgroup_get_cpu(cg, &cpu), 0);
	cr_assert_eq(cpu.quota_us, 50000);
	cr_assert_eq(cpu.period_us, 100000);
	cr_assert_eq(cpulist_count(&cpu.cpuset), 1);
	cr_assert(cpulist_contains(&cpu.cpuset, 0));
	cr_assert_eq(cpulist_parse("0-3", &host), 0);
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(view_cpu_online(&shown, &online), 0);
	cr_assert_str_eq(online, "0\n");

	/* Without the cpuset, the quota alone (0.5 CPU) still shows one CPU. */
	cpu.has_cpuset = false;
	cr_assert_eq(view_cpus(&cpu, &host, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 1);

	cr_assert_eq(cgroup_get_cpu_usage(cg, &u), 0);
	cr_assert_eq(u.n_percpu, 0);
	cr_assert_eq(u.user_ns, 3000000000);
	cr_assert_eq(u.system_ns, 1000000000);
	cgroup_cpu_usage_done(&u);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_v2, io_and_tasks)
{
	struct cgroup_layout *l = load_layout(V2);
	struct cgroup *cg = load_cgroup(l, 100);
	const struct cgroup_io_dev *d;
	struct cgroup_io io;
	struct cgroup_tasks t;

	cr_assert_eq(cgroup_get_io(cg, &io), 0);
	d = io_find(&io, 8, 0);
	cr_assert_not_null(d);
	cr_assert_eq(d->rbytes, 1048576);
	cr_assert_eq(d->wbytes, 2097152);
	cr_assert_eq(d->rios, 16);
	cr_assert_eq(d->wios, 32);
	cgroup_io_done(&io);

	cr_assert_eq(cgroup_get_tasks(cg, 0, &t), 0);
	cr_assert_eq(t.total, 2);
	cr_assert_eq(t.running, 1);
	cr_assert_eq(t.blocked, 0);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

/* ---- the reader: files kept open, read again on every call ---- */

/* A copy of a fixture tree that a test may change; removed by reader_tmp_done(). */
static char reader_tmp[64];

static void reader_tmp_copy(const char *fixture)
{
	char cmd[512];

	snprintf(reader_tmp, sizeof(reader_tmp), "/tmp/procbox-reader-XXXXXX");
	cr_assert_not_null(mkdtemp(reader_tmp));
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", fixture, reader_tmp);
	cr_assert_eq(system(cmd), 0);
}

static void reader_tmp_done(void)
{
	char cmd[512];

	if (!reader_tmp[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", reader_tmp);
	(void)system(cmd);
	reader_tmp[0] = 0;
}

/* Rewrites a file of the copy in place (same inode, as the kernel's files stay). */
static void tmp_write(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", reader_tmp, rel);
	f = fopen(path, "we");
	cr_assert_not_null(f, "%s", path);
	cr_assert_geq(fputs(text, f), 0);
	cr_assert_eq(fclose(f), 0);
}

/* Puts a new file in the place of one (a new inode, as a removed and remade cgroup has). */
static void tmp_replace(const char *rel, const char *text)
{
	char path[512], tmp[520];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", reader_tmp, rel);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "we");
	cr_assert_not_null(f, "%s", tmp);
	cr_assert_geq(fputs(text, f), 0);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, path), 0);
}

#define V1_MEM "sys/fs/cgroup/memory/docker/abc/"
#define V1_CPU "sys/fs/cgroup/cpu,cpuacct/docker/abc/"
#define V2_CTR "sys/fs/cgroup/system.slice/docker-abc.scope/"

Test(cgroup_reader, v1_reads_the_kept_files_again, .fini = reader_tmp_done)
{
	struct cgroup_layout *l;
	struct cgroup *cg;
	struct cgroup_reader *r = NULL;
	struct cgroup_memory m;
	struct cgroup_cpu cpu;
	struct cgroup_cpu_usage u;

	reader_tmp_copy(V1);
	l = load_layout(reader_tmp);
	cg = load_cgroup(l, 100);
	cr_assert_eq(cgroup_reader_open(cg, CGROUP_READ_MEMORY | CGROUP_READ_CPU, &r), 0);
	for (int i = 0; i < 2; i++) {
		memset(&m, 0xa5, sizeof(m));
		cr_assert_eq(cgroup_read_memory(r, &m), 0);
		cr_assert_eq(m.limit, 256 * MiB, "hierarchical_memory_limit");
		cr_assert_eq(m.usage, 100 * MiB);
		cr_assert(m.swap_accounted);
		cr_assert_eq(m.swap_limit, 256 * MiB);
		cr_assert_eq(m.swap_usage, 16 * MiB);
		cr_assert_eq(m.anon, 50 * MiB);
		cr_assert_eq(cgroup_read_cpu(r, &cpu), 0);
		cr_assert(cpu.has_cpuset);
		cr_assert(cpulist_contains(&cpu.cpuset, 2));
		cr_assert_eq(cpu.quota_us, 50000);
		cr_assert_eq(cpu.period_us, 100000);
	}

	/* New values in the same files: the next read has them. A changed usage re-reads
	 * memory.stat at once. */
	tmp_write(V1_MEM "memory.usage_in_bytes", "125829120\n");
	tmp_write(V1_CPU "cpu.cfs_quota_us", "25000\n");
	cr_assert_eq(cgroup_read_memory(r, &m), 0);
	cr_assert_eq(m.usage, 120 * MiB);
	cr_assert_eq(cgroup_read_cpu(r, &cpu), 0);
	cr_assert_eq(cpu.quota_us, 25000);

	/* A file put in the place of a kept one is not followed: the reader reads what it
	 * opened, a one-shot read the new file. */
	tmp_replace(V1_MEM "memory.usage_in_bytes", "136314880\n");
	cr_assert_eq(cgroup_read_memory(r, &m), 0);
	cr_assert_eq(m.usage, 120 * MiB);
	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	cr_assert_eq(m.usage, 130 * MiB);

	/* Parts not asked for at open are opened on their first read. */
	cr_assert_eq(cgroup_read_cpu_usage(r, &u), 0);
	cr_assert_eq(u.n_percpu, 4);
	cr_assert_eq(u.user_ns, 2500000000);
	cr_assert_eq(u.system_ns, 1500000000);
	cgroup_cpu_usage_done(&u);

	cgroup_reader_free(r);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

/* d's memory.stat has no hierarchical limit: the limit files of every level stay open. */
Test(cgroup_reader, v1_walked_limits_are_read_again, .fini = reader_tmp_done)
{
	struct cgroup_layout *l;
	struct cgroup *cg;
	struct cgroup_reader *r = NULL;
	struct cgroup_memory m;
	struct cgroup_cpu cpu;

	reader_tmp_copy(V1);
	l = load_layout(reader_tmp);
	cg = load_cgroup(l, 200);
	cr_assert_eq(cgroup_reader_open(cg, CGROUP_READ_MEMORY | CGROUP_READ_CPU, &r), 0);
	cr_assert_eq(cgroup_read_memory(r, &m), 0);
	cr_assert_eq(m.limit, 256 * MiB, "b's");
	cr_assert_not(m.swap_accounted);
	cr_assert_eq(cgroup_read_cpu(r, &cpu), 0);
	cr_assert_eq(cpu.quota_us, 150000, "a's 1.5 CPUs");

	tmp_write("sys/fs/cgroup/memory/a/memory.limit_in_bytes", "134217728\n");
	cr_assert_eq(cgroup_read_memory(r, &m), 0);
	cr_assert_eq(m.limit, 128 * MiB, "a's, lowered");
	cgroup_reader_free(r);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_reader, v1_tasks_list_read_again, .fini = reader_tmp_done)
{
	struct cgroup_layout *l;
	struct cgroup *cg;
	struct cgroup_reader *r = NULL;
	struct cgroup_tasks t;
	char stat[512];

	reader_tmp_copy(V1);
	l = load_layout(reader_tmp);
	cg = load_cgroup(l, 100);
	cr_assert_eq(cgroup_reader_open(cg, CGROUP_READ_TASKS, &r), 0);
	cr_assert_eq(cgroup_read_tasks(r, 0, &t, NULL), 0);
	cr_assert_eq(t.total, 4);
	cr_assert_eq(t.running, 2);
	cr_assert_eq(t.blocked, 1);

	/* 104 (D) joins abc */
	snprintf(stat, sizeof(stat), "%s/proc/104", reader_tmp);
	cr_assert_eq(mkdir(stat, 0755), 0);
	tmp_write("proc/104/stat", "104 (io) D 100 100 100 0 -1 4194560 10 0 0 0 1 1 0 0 20 0 1 0 "
				   "500 10000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 "
				   "17 0 0 0 0 0 0\n");
	tmp_write(V1_CPU "tasks", "100\n101\n102\n104\n");
	cr_assert_eq(cgroup_read_tasks(r, 101, &t, NULL), 0);
	cr_assert_eq(t.total, 5);
	cr_assert_eq(t.running, 2, "103, and the reader 101");
	cr_assert(t.reader_seen);
	cr_assert_eq(t.blocked, 2);
	cgroup_reader_free(r);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(cgroup_reader, v2_every_part, .fini = reader_tmp_done)
{
	struct cgroup_layout *l;
	struct cgroup *cg;
	struct cgroup_reader *r = NULL;
	struct cgroup_memory m;
	struct cgroup_cpu cpu;
	struct cgroup_cpu_usage u;
	struct cgroup_tasks t;
	struct cgroup_io io;

	reader_tmp_copy(V2);
	l = load_layout(reader_tmp);
	cg = load_cgroup(l, 100);
	cr_assert_eq(cgroup_reader_open(cg,
					CGROUP_READ_MEMORY | CGROUP_READ_CPU |
					    CGROUP_READ_CPU_USAGE | CGROUP_READ_TASKS |
					    CGROUP_READ_IO,
					&r),
		     0);
	cr_assert_eq(cgroup_read_memory(r, &m), 0);
	cr_assert_eq(m.limit, 256 * MiB);
	cr_assert(m.swap_accounted);
	cr_assert_eq(m.swap_limit, 128 * MiB);
	cr_assert_eq(m.swap_usage, 8 * MiB);
	cr_assert_eq(m.slab, 5 * MiB);
	cr_assert_eq(cgroup_read_cpu(r, &cpu), 0);
	cr_assert_eq(cpu.quota_us, 50000);
	cr_assert_eq(cpu.period_us, 100000);
	cr_assert_eq(cgroup_read_cpu_usage(r, &u), 0);
	cr_assert_eq(u.user_ns, 3000000000);
	cgroup_cpu_usage_done(&u);
	cr_assert_eq(cgroup_read_tasks(r, 0, &t, NULL), 0);
	cr_assert_eq(t.total, 2);
	cr_assert_eq(cgroup_read_io(r, &io), 0);
	cr_assert_not_null(io_find(&io, 8, 0));
	cr_assert_eq(io_find(&io, 8, 0)->rbytes, 1048576);
	cgroup_io_done(&io);

	tmp_write(V2_CTR "memory.swap.current", "4194304\n");
	tmp_write(V2_CTR "cpu.max", "max 100000\n");
	tmp_write(V2_CTR "cpu.stat",
		  "usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n");
	tmp_write(V2_CTR "io.stat", "8:0 rbytes=2097152 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
	cr_assert_eq(cgroup_read_memory(r, &m), 0);
	cr_assert_eq(m.swap_usage, 4 * MiB);
	cr_assert_eq(cgroup_read_cpu(r, &cpu), 0);
	cr_assert_eq(cpu.quota_us, CGROUP_UNLIMITED);
	cr_assert_eq(cpu.period_us, 0);
	cr_assert_eq(cgroup_read_cpu_usage(r, &u), 0);
	cr_assert_eq(u.user_ns, 4000000000);
	cgroup_cpu_usage_done(&u);
	cr_assert_eq(cgroup_read_io(r, &io), 0);
	cr_assert_not_null(io_find(&io, 8, 0));
	cr_assert_eq(io_find(&io, 8, 0)->rbytes, 2097152);
	cgroup_io_done(&io);
	cgroup_reader_free(r);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

/* Only memory is mounted: the other parts fail with EOPNOTSUPP, memory still reads. */
Test(cgroup_reader, a_missing_controller_leaves_the_other_parts)
{
	static const char mi[] = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
				 "rw,memory\n";
	struct cgroup_layout *l = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_reader *r = NULL;
	struct cgroup_memory m;
	struct cgroup_cpu cpu;
	struct cgroup_cpu_usage u;
	struct cgroup_io io;

	cr_assert_eq(cgroup_layout_parse(V1, mi, &l), 0);
	cr_assert_eq(cgroup_resolve_text(l, "3:memory:/docker/abc\n", &cg), 0);
	cr_assert_eq(cgroup_reader_open(cg,
					CGROUP_READ_MEMORY | CGROUP_READ_CPU |
					    CGROUP_READ_CPU_USAGE | CGROUP_READ_IO,
					&r),
		     0);
	cr_assert_eq(cgroup_read_cpu(r, &cpu), -EOPNOTSUPP);
	cr_assert_eq(cgroup_read_cpu_usage(r, &u), -EOPNOTSUPP);
	cr_assert_eq(cgroup_read_io(r, &io), -EOPNOTSUPP);
	cr_assert_eq(cgroup_read_memory(r, &m), 0);
	cr_assert_eq(m.limit, 256 * MiB);
	cgroup_reader_free(r);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

/* A cgroup gone before the open: asked for at open, the open fails; opened on first read,
 * every read fails, and keeps failing. */
Test(cgroup_reader, a_gone_cgroup_fails_at_open_or_every_read)
{
	struct cgroup_layout *l = load_layout(V2);
	struct cgroup *cg = load_cgroup(l, 400);
	struct cgroup_reader *r = NULL;
	struct cgroup_memory m;
	struct cgroup_tasks t;

	cr_assert_eq(cgroup_reader_open(cg, CGROUP_READ_MEMORY, &r), -ENOENT);
	cr_assert_null(r);
	cr_assert_eq(cgroup_reader_open(cg, 0, &r), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(cgroup_read_memory(r, &m), -ENOENT);
		cr_assert_eq(cgroup_read_tasks(r, 0, &t, NULL), -ENOENT);
	}
	cgroup_reader_free(r);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

/* ---- cgroups that are gone ---- */

static void assert_all_enoent(const struct cgroup *cg)
{
	struct cgroup_memory m;
	struct cgroup_cpu cpu;
	struct cgroup_cpu_usage u;
	struct cgroup_tasks t;
	struct cgroup_io io;

	cr_assert_eq(cgroup_get_memory(cg, &m), -ENOENT);
	cr_assert_eq(cgroup_get_cpu(cg, &cpu), -ENOENT);
	cr_assert_eq(cgroup_get_cpu_usage(cg, &u), -ENOENT);
	cr_assert_eq(cgroup_get_tasks(cg, 0, &t), -ENOENT);
	cr_assert_eq(cgroup_get_io(cg, &io), -ENOENT);
}

Test(cgroup_gone, fixtures)
{
	struct cgroup_layout *l1 = load_layout(V1), *l2 = load_layout(V2);
	struct cgroup *cg = NULL;

	cr_assert_eq(cgroup_resolve_pid(l2, 300, &cg), -ENOENT, "v2 \" (deleted)\" cgroup");
	cr_assert_eq(cgroup_resolve_pid(l2, 999999, &cg), -ENOENT, "no such process");

	cg = load_cgroup(l2, 400);
	assert_all_enoent(cg);
	cgroup_free(cg);
	cg = load_cgroup(l1, 500);
	assert_all_enoent(cg);
	cgroup_free(cg);
	cgroup_layout_free(l1);
	cgroup_layout_free(l2);
}

/* Resolved while it existed, removed afterwards: every read fails, none falls back. */
Test(cgroup_gone, removed_after_resolve)
{
	char tmp[] = "/tmp/procbox-cgroup-XXXXXX", cmd[512];
	struct cgroup_layout *l;
	struct cgroup *cg;
	struct cgroup_memory m;

	cr_assert_not_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", V1, tmp);
	cr_assert_eq(system(cmd), 0);
	l = load_layout(tmp);
	cg = load_cgroup(l, 100);
	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s/sys/fs/cgroup' && rm -rf memory/docker/abc cpu,cpuacct/docker/abc "
		 "cpuset/docker/abc blkio/docker/abc",
		 tmp);
	cr_assert_eq(system(cmd), 0);
	assert_all_enoent(cg);
	cgroup_free(cg);
	cgroup_layout_free(l);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

/* ---- this machine ---- */

Test(cgroup_host, self)
{
	struct cgroup_layout *l = load_layout("");
	struct cgroup *cg;
	struct cgroup_memory m;
	struct cgroup_cpu cpu;

	if (cgroup_layout_version(l, CGROUP_MEMORY) == 0) {
		cgroup_layout_free(l);
		cr_skip_test("no memory controller mounted");
	}
	cg = load_cgroup(l, getpid());
	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	cr_assert_gt(m.usage, 0);
	cr_assert_gt(m.limit, 0);
	cr_assert_eq(cgroup_get_cpu(cg, &cpu), 0);
	cr_assert_geq(cpulist_count(&cpu.cpuset), 1);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

/* ---- a real container-like cgroup (v1, root) ---- */

static const enum cgroup_controller real_ctrls[] = {
    CGROUP_MEMORY, CGROUP_CPU, CGROUP_CPUACCT, CGROUP_CPUSET, CGROUP_BLKIO,
};

static struct {
	pid_t child;
	char *dirs[ELEMENTSOF(real_ctrls)];
} real = {.child = -1};

static void real_cleanup(void)
{
	if (real.child > 0) {
		kill(real.child, SIGKILL);
		while (waitpid(real.child, NULL, 0) < 0 && errno == EINTR)
			;
		real.child = -1;
	}
	for (size_t i = 0; i < ELEMENTSOF(real.dirs); i++) {
		if (!real.dirs[i])
			continue;
		/* The kernel takes a moment to let go of a freshly emptied cgroup. */
		for (int tries = 0; rmdir(real.dirs[i]) < 0; tries++) {
			if (errno != EBUSY || tries >= 100) {
				cr_log_warn("rmdir %s: %s", real.dirs[i], strerror(errno));
				break;
			}
			usleep(10000);
		}
		free(real.dirs[i]);
		real.dirs[i] = NULL;
	}
}

/* Removes what a crashed earlier run (its pid gone) left behind. */
static void remove_stale(const char *mount)
{
	DIR *d = opendir(mount);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512];
		int pid;

		if (sscanf(de->d_name, "procbox-test-%d", &pid) != 1 || pid <= 0 ||
		    (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "%s/%s", mount, de->d_name);
		(void)rmdir(path);
	}
	closedir(d);
}

static void write_file(const char *dir, const char *name, const char *value)
{
	char path[512];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	n = write(fd, value, strlen(value));
	cr_assert_eq(n, (ssize_t)strlen(value), "write %s to %s: %s", value, path, strerror(errno));
	close(fd);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t n = 0;

	cr_assert_not_null(f, "%s", path);
	cr_assert_gt(getdelim(&text, &n, 0, f), 0);
	fclose(f);
	return text;
}

static uint64_t meminfo_value(const char *text, const char *name)
{
	const char *p;
	unsigned long long v;

	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ':')
			break;
	cr_assert_not_null(p, "%s in %s", name, text);
	cr_assert_eq(sscanf(p + strlen(name), ": %llu kB", &v), 1);
	return v;
}

/* Touches every page of p. Not instrumented: under ASan each store would also fault in
 * the page's shadow, 1 byte in 8, and the cgroup would be charged 8 MiB more than the
 * 64 MiB the test counts. */
__attribute__((no_sanitize_address)) static void touch_pages(volatile uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
}

static void child_main(int cmd_fd, int ack_fd)
{
	char c;
	uint8_t *p;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(cmd_fd, &c, 1) != 1)
		_exit(1);
	p = mmap(NULL, 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	touch_pages(p, 64 * MiB);
	if (write(ack_fd, "k", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

Test(cgroup_real, v1_container, .fini = real_cleanup, .timeout = 60)
{
	struct cgroup_layout *l = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_memory m;
	struct cgroup_cpu cpu;
	struct cpulist host_online, shown;
	int cmd[2], ack[2];
	char pidbuf[32], c;
	_cleanup_free_ char *mi_before = NULL, *mi_after = NULL, *cpuinfo = NULL, *online = NULL,
			    *stat = NULL, *host_meminfo = NULL, *host_cpuinfo = NULL,
			    *host_online_text = NULL, *host_stat = NULL, *mems = NULL;
	struct cgroup_cpu_usage u;
	struct cgroup_tasks t;
	uint64_t used_before, used_after, delta;
	int procs = 0, cpulines = 0;

	if (geteuid() != 0)
		cr_skip_test("needs root to create cgroups");
	cr_assert_eq(cgroup_layout_detect("", &l), 0);
	for (size_t i = 0; i < ELEMENTSOF(real_ctrls); i++)
		if (cgroup_layout_version(l, real_ctrls[i]) != 1) {
			cgroup_layout_free(l);
			cr_skip_test("controller %d is not on cgroup v1 here", (int)real_ctrls[i]);
		}

	for (size_t i = 0; i < ELEMENTSOF(real_ctrls); i++) {
		const char *mount = cgroup_layout_mount(l, real_ctrls[i]);

		/* cpu and cpuacct may share one hierarchy. */
		for (size_t j = 0; j < i && mount; j++)
			if (strcmp(mount, cgroup_layout_mount(l, real_ctrls[j])) == 0)
				mount = NULL;
		if (!mount)
			continue;
		remove_stale(mount);
		cr_assert_gt(asprintf(&real.dirs[i], "%s/procbox-test-%d", mount, (int)getpid()),
			     0);
		if (mkdir(real.dirs[i], 0755) < 0) {
			free(real.dirs[i]);
			real.dirs[i] = NULL;
			cr_assert_fail("mkdir %s/procbox-test-%d: %s", mount, (int)getpid(),
				       strerror(errno));
		}
	}
	write_file(real.dirs[0], "memory.limit_in_bytes", "268435456");
	write_file(real.dirs[1], "cpu.cfs_period_us", "100000");
	write_file(real.dirs[1], "cpu.cfs_quota_us", "50000");
	{
		_cleanup_free_ char *p = NULL;

		cr_assert_gt(asprintf(&p, "%s/cpuset.mems", cgroup_layout_mount(l, CGROUP_CPUSET)),
			     0);
		mems = read_text(p);
	}
	write_file(real.dirs[3], "cpuset.mems", mems);
	write_file(real.dirs[3], "cpuset.cpus", "0");

	cr_assert_eq(pipe2(cmd, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(ack, O_CLOEXEC), 0);
	real.child = fork();
	cr_assert_geq(real.child, 0);
	if (real.child == 0)
		child_main(cmd[0], ack[1]);
	close(cmd[0]);
	close(ack[1]);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)real.child);
	for (size_t i = 0; i < ELEMENTSOF(real.dirs); i++)
		if (real.dirs[i])
			write_file(real.dirs[i], "cgroup.procs", pidbuf);

	cr_assert_eq(cgroup_resolve_pid(l, real.child, &cg), 0);
	cr_assert_str_eq(cgroup_path(cg, CGROUP_MEMORY), real.dirs[0]);

	host_meminfo = read_text("/proc/meminfo");
	host_cpuinfo = read_text("/proc/cpuinfo");
	host_stat = read_text("/proc/stat");
	host_online_text = read_text("/sys/devices/system/cpu/online");

	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	cr_assert_eq(m.limit, 256 * MiB);
	cr_assert_eq(view_meminfo(host_meminfo, &m, &mi_before), 0);
	cr_assert_eq(meminfo_value(mi_before, "MemTotal"), 262144, "%s", mi_before);
	cr_assert_leq(meminfo_value(mi_before, "MemFree"), 262144);
	cr_assert_leq(meminfo_value(mi_before, "MemAvailable"), 262144);
	used_before = 262144 - meminfo_value(mi_before, "MemFree");
	{
		_cleanup_free_ char *swaps = NULL;
		uint64_t swap_total = meminfo_value(mi_before, "SwapTotal");

		/* /proc/swaps agrees with meminfo: a line exactly when there is swap to show. */
		cr_assert_eq(view_swaps(host_meminfo, &m, &swaps), 0);
		cr_assert_eq(strchr(strchr(swaps, '\n') + 1, '\n') != NULL, swap_total > 0, "%s",
			     swaps);
	}

	cr_assert_eq(cgroup_get_cpu(cg, &cpu), 0);
	cr_assert_eq(cpu.quota_us, 50000);
	cr_assert_eq(cpu.period_us, 100000);
	cr_assert_eq(cpulist_parse(host_online_text, &host_online), 0);
	cr_assert_eq(view_cpus(&cpu, &host_online, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 1);
	cr_assert_eq(view_cpuinfo(host_cpuinfo, &shown, &cpuinfo), 0);
	for (const char *p = cpuinfo; (p = strstr(p, "processor")); p++)
		procs++;
	cr_assert_eq(procs, 1, "%s", cpuinfo);
	cr_assert_not_null(strstr(cpuinfo, "processor\t: 0\n"));
	cr_assert_eq(view_cpu_online(&shown, &online), 0);
	cr_assert_str_eq(online, "0\n");
	/* The quota alone (0.5 CPU) also gives one CPU on this multi-CPU host. */
	cpu.has_cpuset = false;
	cr_assert_eq(view_cpus(&cpu, &host_online, &shown), 0);
	cr_assert_eq(cpulist_count(&shown), 1);

	cr_assert_eq(cgroup_get_cpu_usage(cg, &u), 0);
	cr_assert_eq(cgroup_get_tasks(cg, 0, &t), 0);
	cr_assert_eq(t.total, 1);
	cr_assert_eq(view_stat(host_stat, &shown, &u, &t, NULL, &stat), 0);
	cgroup_cpu_usage_done(&u);
	for (const char *p = stat; (p = strstr(p, "\ncpu")); p++)
		cpulines++;
	cr_assert_eq(cpulines, 1, "%s", stat);
	cr_assert_eq(strncmp(stat, "cpu  ", 5), 0);

	/* The child allocates and touches 64 MiB inside the cgroup. */
	cr_assert_eq(write(cmd[1], "g", 1), 1);
	cr_assert_eq(read(ack[0], &c, 1), 1);
	cr_assert_eq(cgroup_get_memory(cg, &m), 0);
	cr_assert_eq(view_meminfo(host_meminfo, &m, &mi_after), 0);
	cr_assert_leq(meminfo_value(mi_after, "MemFree"), 262144);
	cr_assert_leq(meminfo_value(mi_after, "MemAvailable"), 262144);
	used_after = 262144 - meminfo_value(mi_after, "MemFree");
	delta = used_after - used_before;
	cr_log_info("used %llu kB -> %llu kB (+%llu kB) for 65536 kB touched",
		    (unsigned long long)used_before, (unsigned long long)used_after,
		    (unsigned long long)delta);
	cr_assert(delta >= 63 * 1024 && delta <= 70 * 1024, "used rose by %llu kB",
		  (unsigned long long)delta);
	close(cmd[1]);
	close(ack[0]);

	/* Container gone: the cgroup is removed, and reads fail instead of showing the host. */
	real_cleanup();
	assert_all_enoent(cg);
	cgroup_free(cg);
	cgroup_layout_free(l);
}
