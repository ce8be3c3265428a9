/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resource views end to end: the real daemon, containers (user, pid, mount, uts, ipc and net
 * namespaces) in cgroups made here, under this process's own cgroups, with procbox's files
 * bound over their /proc/{meminfo,cpuinfo,stat,loadavg,diskstats,swaps} and
 * /sys/devices/system/cpu. Plus the cgroup reader's memory figures on fixtures and on a cgroup
 * removed while its files are open, and the task scan behind loadavg's last pid on real pid
 * namespaces.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/parse.h"
#include "container/container.h"
#include "handlers/views.h"
#include "lib/daemon.h"
#include "lib/suite.h"
#include "lib/testns.h"
#include "util/fileio.h"
#include "util/macro.h"

#define FIXTURES PROCBOX_SOURCE_ROOT "/tests/fixtures/cgroup"
#define MiB (UINT64_C(1) << 20)

#define CT_FLAGS                                                                                   \
	(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS)

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ---- cgroups made by the tests ---- */

enum { CG_MEMORY, CG_CPU, CG_CPUACCT, CG_CPUSET, CG_BLKIO, CG_N };

static const enum cgroup_controller cg_ctrl[CG_N] = {
    CGROUP_MEMORY, CGROUP_CPU, CGROUP_CPUACCT, CGROUP_CPUSET, CGROUP_BLKIO,
};
static const char *const cg_v1_name[CG_N] = {"memory", "cpu", "cpuacct", "cpuset", "blkio"};

/* One cgroup per controller (cpu and cpuacct may be the same folder). */
struct cgset {
	char dir[CG_N][512];
};

static struct cgroup_layout *layout;
static struct cgset top; /* <mount><our own cgroup>/procbox-res-<pid> */
static char created[64][512];
static size_t n_created;

static int write_str(const char *dir, const char *name, const char *value)
{
	char path[600];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		r = -errno;
	close(fd);
	return r;
}

static void read_str(const char *dir, const char *name, char *buf, size_t size)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(read_line(path, buf, size), 0, "read %s", path);
}

/* Removes a folder tree of cgroups, children first. */
static void rmdir_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[1024];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		rmdir_tree(sub);
	}
	closedir(d);
	for (int i = 0; i < 50 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(100000);
}

/* Left behind by a test run that was killed: procbox-res-<pid> of a pid that is gone. */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[1024];
		int pid;

		if (sscanf(de->d_name, "procbox-res-%d", &pid) != 1 || pid <= 0 ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		rmdir_tree(path);
	}
	closedir(d);
}

static void mkdir_cg(const char *dir)
{
	for (size_t i = 0; i < n_created; i++)
		if (strcmp(created[i], dir) == 0)
			return; /* a hierarchy shared by two controllers */
	cr_assert_lt(n_created, ELEMENTSOF(created));
	cr_assert(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
	snprintf(created[n_created++], sizeof(created[0]), "%s", dir);
}

struct cg_opts {
	const char *memory_limit; /* bytes, or NULL */
	const char *cpus;	  /* cpuset.cpus, NULL: the parent's */
	const char *quota;	  /* cpu.cfs_quota_us with a 100000 period, or NULL */
};

/* A child cgroup of parent in every controller. */
static void cg_make(const struct cgset *parent, const char *name, const struct cg_opts *o,
		    struct cgset *ret)
{
	char buf[256];

	for (int i = 0; i < CG_N; i++) {
		cr_assert_lt((size_t)snprintf(ret->dir[i], sizeof(ret->dir[i]), "%s/%s",
					      parent->dir[i], name),
			     sizeof(ret->dir[i]));
		mkdir_cg(ret->dir[i]);
	}
	read_str(parent->dir[CG_CPUSET], "cpuset.mems", buf, sizeof(buf));
	cr_assert_eq(write_str(ret->dir[CG_CPUSET], "cpuset.mems", buf), 0);
	if (!o || !o->cpus)
		read_str(parent->dir[CG_CPUSET], "cpuset.cpus", buf, sizeof(buf));
	cr_assert_eq(write_str(ret->dir[CG_CPUSET], "cpuset.cpus", o && o->cpus ? o->cpus : buf),
		     0);
	if (o && o->memory_limit)
		cr_assert_eq(
		    write_str(ret->dir[CG_MEMORY], "memory.limit_in_bytes", o->memory_limit), 0);
	if (o && o->quota) {
		cr_assert_eq(write_str(ret->dir[CG_CPU], "cpu.cfs_period_us", "100000"), 0);
		cr_assert_eq(write_str(ret->dir[CG_CPU], "cpu.cfs_quota_us", o->quota), 0);
	}
}

static int cg_attach(const struct cgset *s, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (int i = 0; i < CG_N; i++) {
		int r = write_str(s->dir[i], "cgroup.procs", buf);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Every v1 controller the views read, and our own place in each hierarchy. */
static void cgroups_setup(void)
{
	_cleanup_free_ char *self = NULL;
	int r;

	r = cgroup_layout_detect("", &layout);
	cr_assert_eq(r, 0, "cgroup layout: %s", strerror(-r));
	for (int i = 0; i < CG_N; i++)
		if (cgroup_layout_version(layout, cg_ctrl[i]) != 1)
			cr_skip_test("the %s controller is not on cgroup v1 here", cg_v1_name[i]);
	{
		FILE *f = fopen("/proc/self/cgroup", "re");
		size_t n = 0;

		cr_assert_not_null(f);
		cr_assert_gt(getdelim(&self, &n, 0, f), 0);
		fclose(f);
	}
	for (int i = 0; i < CG_N; i++) {
		_cleanup_free_ char *own = NULL;
		char parent[512];

		cr_assert_eq(cg_parse_proc_cgroup(self, cg_v1_name[i], &own), 0, "%s",
			     cg_v1_name[i]);
		snprintf(parent, sizeof(parent), "%s%s", cgroup_layout_mount(layout, cg_ctrl[i]),
			 strcmp(own, "/") == 0 ? "" : own);
		remove_stale(parent);
		cr_assert_lt((size_t)snprintf(top.dir[i], sizeof(top.dir[i]), "%s/procbox-res-%d",
					      parent, (int)getpid()),
			     sizeof(top.dir[i]));
		mkdir_cg(top.dir[i]);
	}
	{
		char parent[512], buf[256];

		snprintf(parent, sizeof(parent), "%s", top.dir[CG_CPUSET]);
		*strrchr(parent, '/') = 0;
		read_str(parent, "cpuset.mems", buf, sizeof(buf));
		cr_assert_eq(write_str(top.dir[CG_CPUSET], "cpuset.mems", buf), 0);
		read_str(parent, "cpuset.cpus", buf, sizeof(buf));
		cr_assert_eq(write_str(top.dir[CG_CPUSET], "cpuset.cpus", buf), 0);
	}
}

static void cgroups_teardown(void)
{
	while (n_created > 0)
		rmdir_tree(created[--n_created]);
	cgroup_layout_free(layout);
	layout = NULL;
}

/* ---- the daemon and containers ---- */

static struct test_daemon d;
static struct testns *started[8];
static size_t n_started;

static void setup(void)
{
	suite_need_daemon();
	cgroups_setup();
	suite_setup(&d, NULL);
}

static void teardown(void)
{
	for (size_t i = 0; i < n_started; i++)
		testns_stop(started[i]);
	n_started = 0;
	suite_teardown(&d);
	cgroups_teardown();
}

/* The end of every test of the daemon: it must stop cleanly, so that a sanitizer report or
 * a crash in it fails the test (an assertion in .fini would not). */
static void daemon_done(void)
{
	for (size_t i = 0; i < n_started; i++)
		testns_stop(started[i]);
	n_started = 0;
	suite_stop_cleanly(&d);
}

TestSuite(resources, .init = setup, .fini = teardown, .timeout = 120);

static char *mnt_path(const char *rel)
{
	static char buf[4][256];
	static unsigned k;
	char *p = buf[k++ % 4];

	daemon_path(&d, rel, p, sizeof(buf[0]));
	return p;
}

/*
 * Runs cmd in t from a process that joined the cgroups s first, so that what it starts is
 * charged and counted there as the container's own. Returns its exit status; out gets its
 * stdout without the trailing newline.
 */
static int ct_run(const struct testns *t, const struct cgset *s, const char *cmd, char *out,
		  size_t outsz)
{
	int pfd[2], status;
	size_t len = 0;
	pid_t pid;

	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		static char buf[65536];
		int st;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (cg_attach(s, getpid()) < 0)
			_exit(125);
		st = testns_sh(t, cmd, buf, sizeof(buf));
		if (write(pfd[1], buf, strlen(buf)) < 0)
			_exit(124);
		_exit(st < 0 ? 126 : st);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], out + len, outsz - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len + 1 >= outsz)
			break;
	}
	close(pfd[0]);
	out[len] = 0;
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = 0;
	while (waitpid(pid, &status, 0) < 0)
		cr_assert_eq(errno, EINTR);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Like ct_run, asserting success. */
static char *ct_sh(const struct testns *t, const struct cgset *s, const char *cmd)
{
	static char out[65536];
	int st = ct_run(t, s, cmd, out, sizeof(out));

	cr_assert_eq(st, 0, "`%s` failed (%d): %s", cmd, st, out);
	return out;
}

/*
 * A container in the cgroups s, with procbox's files bound over its own. Its init (the
 * process that made the namespaces, whose bind mount reaches procbox first) joins s before
 * anything reads a resource view, so the daemon takes s as the container's cgroups.
 */
static void ct_start(struct testns *t, const struct cgset *s)
{
	static const char *const files[] = {"cpuinfo", "stat", "loadavg", "diskstats", "swaps"};
	struct testns_opts o = {
	    .clone_flags = CT_FLAGS,
	    .uid_map = "0 100000 65536",
	    .gid_map = "0 100000 65536",
	    .bind_src = mnt_path("proc/meminfo"),
	    .bind_dst = "/proc/meminfo",
	};
	char cmd[4096];
	size_t n = 0;

	cr_assert_eq(testns_start(&o, t), 0, "container start");
	cr_assert_lt(n_started, ELEMENTSOF(started));
	started[n_started++] = t;
	cr_assert_eq(cg_attach(s, t->outer), 0);
	cr_assert_eq(cg_attach(s, t->pid), 0);
	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n,
				      "mount --bind %s/proc/%s /proc/%s && ", d.mnt, files[i],
				      files[i]);
	snprintf(cmd + n, sizeof(cmd) - n,
		 "mount --bind %s/sys/devices/system/cpu /sys/devices/system/cpu", d.mnt);
	ct_sh(t, s, cmd);
}

static void ct_stop(struct testns *t)
{
	for (size_t i = 0; i < n_started; i++)
		if (started[i] == t) {
			started[i] = started[--n_started];
			break;
		}
	testns_stop(t);
}

static long long meminfo_kb(const char *text, const char *name)
{
	const char *p = text;
	long long v;

	for (;;) {
		if (strncmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ':')
			break;
		p = strchr(p, '\n');
		cr_assert_not_null(p, "no %s in:\n%s", name, text);
		p++;
	}
	cr_assert_eq(sscanf(p + strlen(name) + 1, "%lld kB", &v), 1, "%s", p);
	return v;
}

static unsigned count_lines_with_prefix(const char *text, const char *prefix)
{
	unsigned n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static bool has_line(const char *text, const char *prefix)
{
	return count_lines_with_prefix(text, prefix) > 0;
}

Test(resources, a_limited_container_sees_its_own_size)
{
	struct cg_opts o = {.memory_limit = "268435456", .cpus = "0", .quota = "50000"};
	char mi[8192], stat[65536], host_total[64], buf[256];
	long long total, free_kb, avail, swap_total;
	struct testns t;
	struct cgset s;
	unsigned swap_lines;

	cg_make(&top, "ct", &o, &s);
	ct_start(&t, &s);

	snprintf(mi, sizeof(mi), "%s", ct_sh(&t, &s, "cat /proc/meminfo"));
	total = meminfo_kb(mi, "MemTotal");
	free_kb = meminfo_kb(mi, "MemFree");
	avail = meminfo_kb(mi, "MemAvailable");
	cr_assert_eq(total, 262144, "MemTotal: %lld\n%s", total, mi);
	cr_assert_leq(free_kb, total);
	cr_assert_leq(avail, total);
	cr_assert_gt(free_kb, 0);
	cr_assert_geq(avail, free_kb);
	cr_assert_geq(meminfo_kb(mi, "Cached"), 0);
	/* a line that is the host's, kept in place */
	cr_assert(has_line(mi, "VmallocTotal:"), "%s", mi);

	/* swaps agrees with meminfo's swap lines */
	swap_total = meminfo_kb(mi, "SwapTotal");
	cr_assert_leq(meminfo_kb(mi, "SwapFree"), swap_total);
	snprintf(stat, sizeof(stat), "%s", ct_sh(&t, &s, "cat /proc/swaps"));
	cr_assert(has_line(stat, "Filename"), "%s", stat);
	swap_lines = count_lines_with_prefix(stat, "none");
	cr_assert_eq(swap_lines, swap_total > 0 ? 1u : 0u, "SwapTotal %lld, swaps:\n%s", swap_total,
		     stat);

	/* CPUs: one, everywhere */
	cr_assert_str_eq(ct_sh(&t, &s, "grep -c ^processor /proc/cpuinfo"), "1");
	cr_assert_str_eq(ct_sh(&t, &s, "grep '^processor' /proc/cpuinfo | tr -d ' \t'"),
			 "processor:0");
	cr_assert_str_eq(ct_sh(&t, &s, "cat /sys/devices/system/cpu/online"), "0");
	cr_assert_str_eq(ct_sh(&t, &s, "cat /sys/devices/system/cpu/possible"), "0");
	cr_assert_str_eq(ct_sh(&t, &s, "cat /sys/devices/system/cpu/present"), "0");
	cr_assert_str_eq(ct_sh(&t, &s, "cat /sys/devices/system/cpu/offline"), "");
	cr_assert_str_eq(ct_sh(&t, &s, "nproc"), "1");
	cr_assert_str_eq(ct_sh(&t, &s, "getconf _NPROCESSORS_ONLN"), "1");
	cr_assert_str_eq(ct_sh(&t, &s, "getconf _NPROCESSORS_CONF"), "1");
	cr_assert_str_eq(ct_sh(&t, &s, "ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l"), "1");
	cr_assert_str_eq(ct_sh(&t, &s, "ls /sys/devices/system/cpu | grep -c '^online$'"), "1");
	/* cpu0 is the host folder of the CPU it stands for: CPU 0 here */
	read_str("/sys/devices/system/cpu/cpu0/topology", "core_cpus_list", buf, sizeof(buf));
	cr_assert_str_eq(ct_sh(&t, &s, "cat /sys/devices/system/cpu/cpu0/topology/core_cpus_list"),
			 buf);
	cr_assert_neq(ct_run(&t, &s, "test -e /sys/devices/system/cpu/cpu1", buf, sizeof(buf)), 0);

	/* /proc/stat: one per-CPU line, the rest as the kernel's */
	snprintf(stat, sizeof(stat), "%s", ct_sh(&t, &s, "cat /proc/stat"));
	cr_assert_eq(count_lines_with_prefix(stat, "cpu "), 1u, "%s", stat);
	cr_assert_eq(count_lines_with_prefix(stat, "cpu0 "), 1u, "%s", stat);
	cr_assert_eq(count_lines_with_prefix(stat, "cpu"), 2u, "%s", stat);
	static const char *const required[] = {"btime ",	 "processes ", "procs_running ",
					       "procs_blocked ", "ctxt ",      "intr "};
	for (size_t i = 0; i < ELEMENTSOF(required); i++)
		cr_assert(has_line(stat, required[i]), "no %s line in:\n%s", required[i], stat);

	/* the host's own view through procbox is the kernel's */
	{
		char host_mi[8192];
		int fd = open(mnt_path("proc/meminfo"), O_RDONLY | O_CLOEXEC);
		ssize_t n;

		cr_assert_geq(fd, 0);
		n = read(fd, host_mi, sizeof(host_mi) - 1);
		close(fd);
		cr_assert_gt(n, 0);
		host_mi[n] = 0;
		snprintf(host_total, sizeof(host_total), "%lld", meminfo_kb(host_mi, "MemTotal"));
		cr_assert_neq(meminfo_kb(host_mi, "MemTotal"), 262144);
		cr_assert_eq(read_line(mnt_path("sys/devices/system/cpu/online"), buf, sizeof(buf)),
			     0);
		{
			char kernel[256];

			cr_assert_eq(
			    read_line("/sys/devices/system/cpu/online", kernel, sizeof(kernel)), 0);
			cr_assert_str_eq(buf, kernel);
		}
	}
	ct_stop(&t);
	daemon_done();
}

Test(resources, loadavg_shows_the_containers_tasks_and_pids)
{
	struct cg_opts o = {.memory_limit = "268435456", .cpus = "0", .quota = "50000"};
	char out[4096];
	double l1, l5, l15;
	unsigned running, total;
	int last, next, host_pid;
	struct testns t;
	struct cgset s;

	cg_make(&top, "ct", &o, &s);
	ct_start(&t, &s);
	/* The kernel's own ns_last_pid in the container's pid namespace, read right after:
	 * the pid of that second cat, one more than the pid loadavg showed (the first cat). */
	snprintf(out, sizeof(out), "%s",
		 ct_sh(&t, &s, "cat /proc/loadavg; cat /proc/sys/kernel/ns_last_pid"));
	cr_assert_eq(
	    sscanf(out, "%lf %lf %lf %u/%u %d\n%d", &l1, &l5, &l15, &running, &total, &last, &next),
	    7, "%s", out);
	cr_assert_eq(last + 1, next, "loadavg last pid %d, then ns_last_pid %d", last, next);
	cr_assert_geq(running, 1u, "the reader runs");
	cr_assert_leq(running, total);
	/* init, its pid-1 child, the shell and cat at least */
	cr_assert_geq(total, 3u, "%s", out);
	cr_assert(l1 >= 0 && l5 >= 0 && l15 >= 0);

	/* A sleeper started in the background: its pid as the container sees it is what
	 * loadavg shows while it is the newest task, never its host pid. */
	snprintf(out, sizeof(out), "%s",
		 ct_sh(&t, &s, "sleep 30 & p=$!; cat /proc/loadavg; echo $p; kill $p"));
	cr_assert_eq(
	    sscanf(out, "%lf %lf %lf %u/%u %d\n%d", &l1, &l5, &l15, &running, &total, &last, &next),
	    7, "%s", out);
	cr_assert_eq(last, next + 1, "the cat after the sleeper: %s", out);
	/* the container's pids are small; a host pid of the same processes is not */
	host_pid = (int)getpid();
	cr_assert_lt(last, host_pid, "%s", out);
	ct_stop(&t);
	daemon_done();
}

/* The ids a container reads are the host's ids of its cpuset: pinning to them works. */
Test(resources, the_cpu_ids_read_are_the_ones_to_pin_to)
{
	struct cg_opts o = {.cpus = "1"};
	struct testns t;
	struct cgset s;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || access("/sys/devices/system/cpu/cpu1", F_OK) < 0)
		cr_skip_test("needs CPU 1");
	cg_make(&top, "ct", &o, &s);
	ct_start(&t, &s);
	cr_assert_str_eq(ct_sh(&t, &s, "cat /sys/devices/system/cpu/online"), "1");
	cr_assert_str_eq(ct_sh(&t, &s, "grep '^processor' /proc/cpuinfo | tr -d ' \t'"),
			 "processor:1");
	cr_assert_str_eq(ct_sh(&t, &s, "grep '^cpu[0-9]' /proc/stat | cut -d' ' -f1"), "cpu1");
	cr_assert_str_eq(ct_sh(&t, &s, "ls -d /sys/devices/system/cpu/cpu[0-9]*"),
			 "/sys/devices/system/cpu/cpu1");
	cr_assert_str_eq(
	    ct_sh(&t, &s, "taskset -c \"$(cat /sys/devices/system/cpu/online)\" true && echo ok"),
	    "ok");
	ct_stop(&t);
	daemon_done();
}

Test(resources, memory_allocated_in_the_container_shows_as_used)
{
	struct cg_opts o = {.memory_limit = "268435456", .cpus = "0", .quota = "50000"};
	long long before, after, anon_before, anon_after, total;
	char out[1024];
	struct testns t;
	struct cgset s;

	cg_make(&top, "ct", &o, &s);
	ct_start(&t, &s);
	/* One process reads meminfo, touches 64 MiB (vec() zero-fills the string) and reads
	 * it again while it holds them. */
	snprintf(
	    out, sizeof(out), "%s",
	    ct_sh(&t, &s,
		  "perl -e 'sub used { open(my $f, \"<\", \"/proc/meminfo\") or die; my %m; "
		  "while (<$f>) { $m{$1} = $2 if /^(\\S+):\\s+(\\d+)/ } "
		  "return \"$m{MemTotal} \" . ($m{MemTotal} - $m{MemFree}) . \" $m{AnonPages}\" } "
		  "my $before = used(); vec($x, (64 << 20) - 1, 8) = 1; "
		  "print $before, \" \", used(), \"\\n\"'"));
	cr_assert_eq(sscanf(out, "%lld %lld %lld %*d %lld %lld", &total, &before, &anon_before,
			    &after, &anon_after),
		     5, "%s", out);
	cr_assert_eq(total, 262144);
	cr_log_info("used %lld -> %lld kB, AnonPages %lld -> %lld kB", before, after, anon_before,
		    anon_after);
	cr_assert_geq(after - before, 60000, "used grew by %lld kB only", after - before);
	cr_assert_leq(after - before, 90000, "used grew by %lld kB", after - before);
	cr_assert_geq(anon_after - anon_before, 60000, "AnonPages grew by %lld kB",
		      anon_after - anon_before);
	ct_stop(&t);
	daemon_done();
}

Test(resources, the_smallest_limit_above_the_container_wins)
{
	/* 512 MiB / 128 MiB / no limit / 256 MiB (the container's): 128 MiB applies.
	 * CPU quota 1.5 CPUs at the top, 0.5 two levels down: one CPU. */
	struct cg_opts o1 = {.memory_limit = "536870912", .quota = "150000"};
	struct cg_opts o2 = {.memory_limit = "134217728"};
	struct cg_opts o3 = {.quota = "50000"};
	struct cg_opts o4 = {.memory_limit = "268435456"};
	struct cgset n1, n2, n3, n4;
	char mi[8192];
	struct testns t;

	cg_make(&top, "n1", &o1, &n1);
	cg_make(&n1, "n2", &o2, &n2);
	cg_make(&n2, "n3", &o3, &n3);
	cg_make(&n3, "n4", &o4, &n4);
	ct_start(&t, &n4);
	snprintf(mi, sizeof(mi), "%s", ct_sh(&t, &n4, "cat /proc/meminfo"));
	cr_assert_eq(meminfo_kb(mi, "MemTotal"), 131072, "%s", mi);
	cr_assert_leq(meminfo_kb(mi, "MemFree"), 131072);
	cr_assert_leq(meminfo_kb(mi, "MemAvailable"), 131072);
	/* the cpuset is the host's (every CPU): the quota alone cuts the count to one */
	cr_assert_str_eq(ct_sh(&t, &n4, "cat /sys/devices/system/cpu/online"), "0");
	cr_assert_str_eq(ct_sh(&t, &n4, "grep -c ^processor /proc/cpuinfo"), "1");
	cr_assert_str_eq(ct_sh(&t, &n4, "grep -c '^cpu[0-9]' /proc/stat"), "1");
	cr_assert_str_eq(ct_sh(&t, &n4, "getconf _NPROCESSORS_CONF"), "1");
	ct_stop(&t);
	daemon_done();
}

/* The disk that holds the file system of st (its own device, or the disk of its partition). */
static void whole_disk(const struct stat *st, unsigned *ma, unsigned *mi)
{
	char path[128], buf[64];

	*ma = major(st->st_dev);
	*mi = minor(st->st_dev);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", *ma, *mi);
	if (access(path, F_OK) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", *ma, *mi);
	cr_assert_eq(read_line(path, buf, sizeof(buf)), 0, "%s", path);
	cr_assert_eq(sscanf(buf, "%u:%u", ma, mi), 2, "%s: %s", path, buf);
}

/* The line of ma:mi in a diskstats text, or NULL. */
static const char *diskstats_line(const char *text, unsigned ma, unsigned mi)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		unsigned a, b;

		if (sscanf(p, "%u %u", &a, &b) == 2 && a == ma && b == mi)
			return p;
	}
	return NULL;
}

/* Reads, writes and sectors written of ma:mi in a diskstats text; false when it has no line. */
static bool diskstats_rw(const char *text, unsigned ma, unsigned mi, unsigned long long *reads,
			 unsigned long long *writes, unsigned long long *wsect)
{
	const char *line = diskstats_line(text, ma, mi);

	return line && sscanf(line, "%*u %*u %*s %llu %*u %*u %*u %llu %*u %llu", reads, writes,
			      wsect) == 3;
}

static bool host_disk_rw(unsigned ma, unsigned mi, unsigned long long *wsect)
{
	_cleanup_free_ char *host = NULL;
	unsigned long long r, w;

	return read_full_file("/proc/diskstats", &host, NULL) >= 0 &&
	       diskstats_rw(host, ma, mi, &r, &w, wsect);
}

/* Whether the kernel counted any I/O of the cgroup dir on ma:mi (blkio v1 throttle counters). */
static bool kernel_counts(const char *dir, unsigned ma, unsigned mi)
{
	_cleanup_free_ char *text = NULL;
	char path[600], pat[32];

	snprintf(path, sizeof(path), "%s/blkio.throttle.io_serviced_recursive", dir);
	if (read_full_file(path, &text, NULL) < 0)
		return false;
	snprintf(pat, sizeof(pat), "%u:%u ", ma, mi);
	return strstr(text, pat) != NULL;
}

/* 4 MiB written with O_DIRECT from the container, then its /proc/diskstats. */
static char *ct_write_4mib(const struct testns *t, const struct cgset *s)
{
	char cmd[512], file[128];

	snprintf(file, sizeof(file), "/tmp/procbox-res-%d.io", (int)getpid());
	/* O_DIRECT: the writes are issued by the writer, so charged to its cgroup at once */
	snprintf(cmd, sizeof(cmd),
		 "dd if=/dev/zero of=%s bs=1M count=4 oflag=direct 2>/dev/null; r=$?; rm -f %s; "
		 "[ $r = 0 ] && cat /proc/diskstats",
		 file, file);
	return ct_sh(t, s, cmd);
}

/* The disk of /tmp as the machine is: counted (then the container's 4 MiB show) or not yet
 * (then the disk is listed with 0). Never changes how the host's disk counts. */
Test(resources, diskstats_count_the_containers_own_io)
{
	struct cg_opts o = {.memory_limit = "268435456"};
	unsigned long long reads, writes, wsect, host;
	char out[65536];
	unsigned ma, mi;
	struct testns t;
	struct cgset s;
	struct stat st;

	cr_assert_eq(stat("/tmp", &st), 0);
	whole_disk(&st, &ma, &mi);
	if (!host_disk_rw(ma, mi, &host))
		cr_skip_test("/tmp is on no disk of /proc/diskstats (%u:%u)", ma, mi);
	cg_make(&top, "ct", &o, &s);
	ct_start(&t, &s);

	snprintf(out, sizeof(out), "%s", ct_write_4mib(&t, &s));
	cr_assert(diskstats_rw(out, ma, mi, &reads, &writes, &wsect), "no line for %u:%u in:\n%s",
		  ma, mi, out);
	if (kernel_counts(s.dir[CG_BLKIO], ma, mi)) {
		cr_log_info("the kernel counts the cgroup's I/O on %u:%u", ma, mi);
		cr_assert_geq(writes, 1u, "%s", out);
		cr_assert_geq(wsect, 8192u, "4 MiB are 8192 sectors: %s", out);
		/* the container's I/O is part of the host's, never more */
		cr_assert(host_disk_rw(ma, mi, &host));
		cr_assert_leq(wsect, host);
	} else {
		/* No counters: the disk is still there, with 0 rather than made-up numbers. */
		cr_log_info("the kernel keeps no I/O counters of the cgroup on %u:%u", ma, mi);
		cr_assert_eq(reads + writes + wsect, 0u, "%s", diskstats_line(out, ma, mi));
	}
	ct_stop(&t);
	daemon_done();
}

/* A loop device of the test's own, so that its queue is new: on cgroup v1 nothing counts a
 * cgroup's I/O on it until a throttle rule was once set on it. */
static struct {
	int index;    /* -1: none */
	char dir[64]; /* the backing file and the device node */
} loop = {.index = -1};

static void loop_remove(void)
{
	char path[128];
	int ctl;

	if (loop.dir[0] && loop.index >= 0) {
		int fd;

		snprintf(path, sizeof(path), "%s/dev", loop.dir);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			ioctl(fd, LOOP_CLR_FD, 0);
			close(fd);
		}
	}
	if (loop.index >= 0) {
		int r = -1;

		ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
		/* the detach finishes asynchronously: EBUSY for a moment */
		for (int i = 0; ctl >= 0 && i < 250; i++) {
			r = ioctl(ctl, LOOP_CTL_REMOVE, loop.index);
			if (r >= 0 || errno != EBUSY)
				break;
			usleep(20000);
		}
		if (r < 0)
			cr_log_warn("loop%d is left: %s", loop.index, strerror(errno));
		if (ctl >= 0)
			close(ctl);
		loop.index = -1;
	}
	if (loop.dir[0]) {
		snprintf(path, sizeof(path), "%s/backing", loop.dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/dev", loop.dir);
		unlink(path);
		rmdir(loop.dir);
		loop.dir[0] = 0;
	}
}

/* A new 16 MiB loop device; its numbers in ma:mi, its node at loop.dir/dev. */
static void loop_make(unsigned *ma, unsigned *mi)
{
	char path[128], buf[64];
	int ctl, backing, fd, r;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		cr_skip_test("no /dev/loop-control: %s", strerror(errno));
	/* A number of its own, far above the ones losetup hands out. */
	for (int i = 0; i < 512 && loop.index < 0; i++) {
		int n = 4096 + (int)(((unsigned)getpid() + (unsigned)i) % 100000);

		if (ioctl(ctl, LOOP_CTL_ADD, n) >= 0)
			loop.index = n;
		else
			cr_assert_eq(errno, EEXIST, "LOOP_CTL_ADD %d: %s", n, strerror(errno));
	}
	close(ctl);
	cr_assert_geq(loop.index, 0, "no free loop device number");
	snprintf(loop.dir, sizeof(loop.dir), "/tmp/procbox-res-loop.XXXXXX");
	cr_assert_not_null(mkdtemp(loop.dir));
	snprintf(path, sizeof(path), "%s/backing", loop.dir);
	backing = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(backing, 0, "%s", path);
	cr_assert_eq(ftruncate(backing, 16 * MiB), 0);
	snprintf(path, sizeof(path), "/sys/block/loop%d/dev", loop.index);
	cr_assert_eq(read_line(path, buf, sizeof(buf)), 0, "%s", path);
	cr_assert_eq(sscanf(buf, "%u:%u", ma, mi), 2, "%s", buf);
	/* a node of our own: /dev may have none yet */
	snprintf(path, sizeof(path), "%s/dev", loop.dir);
	cr_assert_eq(mknod(path, S_IFBLK | 0600, makedev(*ma, *mi)), 0, "%s", strerror(errno));
	/* No fd stays open: a process forked meanwhile would keep the device busy. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	r = ioctl(fd, LOOP_SET_FD, backing);
	close(fd);
	close(backing);
	cr_assert_eq(r, 0, "LOOP_SET_FD: %s", strerror(errno));
}

/* 4 MiB written with O_DIRECT to the loop device by a process in the cgroups s. */
static void loop_write_4mib(const struct cgset *s)
{
	char path[128];
	pid_t pid;
	int st;

	snprintf(path, sizeof(path), "%s/dev", loop.dir);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		void *buf;
		int fd;

		if (cg_attach(s, getpid()) < 0 || posix_memalign(&buf, 4096, MiB) != 0)
			_exit(1);
		memset(buf, 0x5a, MiB);
		fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
		for (int i = 0; fd >= 0 && i < 4; i++)
			if (write(fd, buf, MiB) != (ssize_t)MiB)
				_exit(2);
		_exit(fd >= 0 ? 0 : 3);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer failed (%d)", st);
}

/* procps' vmstat -d in the container: the loop device's line must carry what its
 * /proc/diskstats says (reads, sectors read, writes, sectors written). */
static void vmstat_agrees(const struct testns *t, const struct cgset *s, const char *diskstats,
			  unsigned ma, unsigned mi)
{
	unsigned long long r, rs, w, ws, dr, dw, dws, drs;
	char name[32], *out;
	const char *line;
	size_t n;

	line = diskstats_line(diskstats, ma, mi);
	cr_assert_not_null(line);
	cr_assert_eq(
	    sscanf(line, "%*u %*u %*s %llu %*u %llu %*u %llu %*u %llu", &dr, &drs, &dw, &dws), 4,
	    "%s", line);
	out = ct_sh(t, s, "vmstat -d");
	n = (size_t)snprintf(name, sizeof(name), "loop%d ", loop.index);
	for (line = out; line && *line && strncmp(line, name, n) != 0;) {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	cr_assert(line && *line, "vmstat -d has no %s:\n%s", name, out);
	cr_assert_eq(sscanf(line, "%*s %llu %*u %llu %*u %llu %*u %llu", &r, &rs, &w, &ws), 4, "%s",
		     line);
	cr_assert(r == dr && rs == drs && w == dw && ws == dws, "vmstat -d: %.80s", line);
}

/*
 * Both states of the kernel's counting, on a disk made here: first as a new queue is (on
 * cgroup v1 not counted: the line is there with 0), then counted. Counting is turned on only
 * through the test's own cgroup, by a throttle rule set on it and removed at once; the loop
 * device, and with it that state, is removed afterwards.
 */
Test(resources, diskstats_before_and_after_the_kernel_counts, .fini = loop_remove)
{
	struct cg_opts o = {.memory_limit = "268435456"};
	unsigned long long reads, writes, wsect;
	char out[65536], rule[64];
	unsigned ma, mi;
	struct testns t;
	struct cgset s;

	cg_make(&top, "ct", &o, &s);
	ct_start(&t, &s);
	loop_make(&ma, &mi);

	loop_write_4mib(&s);
	snprintf(out, sizeof(out), "%s", ct_sh(&t, &s, "cat /proc/diskstats"));
	cr_assert(diskstats_rw(out, ma, mi, &reads, &writes, &wsect), "no line for %u:%u in:\n%s",
		  ma, mi, out);
	vmstat_agrees(&t, &s, out, ma, mi);
	if (kernel_counts(s.dir[CG_BLKIO], ma, mi)) {
		cr_log_info("this kernel counts a new queue at once");
		cr_assert_geq(wsect, 8192u, "%s", diskstats_line(out, ma, mi));
	} else {
		cr_assert_eq(reads + writes + wsect, 0u, "%s", diskstats_line(out, ma, mi));
	}

	/* Counting on: a rule far above any real rate on the test's own cgroup, removed. */
	snprintf(rule, sizeof(rule), "%u:%u %llu", ma, mi, 1ULL << 50);
	cr_assert_eq(write_str(s.dir[CG_BLKIO], "blkio.throttle.write_bps_device", rule), 0);
	snprintf(rule, sizeof(rule), "%u:%u 0", ma, mi);
	cr_assert_eq(write_str(s.dir[CG_BLKIO], "blkio.throttle.write_bps_device", rule), 0);

	loop_write_4mib(&s);
	snprintf(out, sizeof(out), "%s", ct_sh(&t, &s, "cat /proc/diskstats"));
	cr_assert(kernel_counts(s.dir[CG_BLKIO], ma, mi), "a throttle rule did not start counting");
	{
		unsigned long long reads1, writes1, wsect1;

		cr_assert(diskstats_rw(out, ma, mi, &reads1, &writes1, &wsect1),
			  "no line for %u:%u in:\n%s", ma, mi, out);
		cr_assert_geq(writes1, writes + 1, "%s", diskstats_line(out, ma, mi));
		cr_assert_geq(wsect1, wsect + 8192, "4 MiB are 8192 sectors: %s",
			      diskstats_line(out, ma, mi));
	}
	vmstat_agrees(&t, &s, out, ma, mi);
	ct_stop(&t);
	daemon_done();
}

/* The counters of ma:mi's diskstats line as the kernel's sys/block/<disk>/stat prints them
 * (each "%8llu", one space apart), in buf. */
static void diskstats_as_stat(const char *text, unsigned ma, unsigned mi, char *buf, size_t size)
{
	const char *line = diskstats_line(text, ma, mi), *p;
	size_t n = 0;

	cr_assert_not_null(line, "no line for %u:%u in:\n%s", ma, mi, text);
	p = line;
	for (int skip = 0; skip < 3; skip++) {
		p += strspn(p, " ");
		p += strcspn(p, " \n");
	}
	buf[0] = 0;
	while (*p == ' ') {
		unsigned long long v;
		char *e;

		v = strtoull(p, &e, 10);
		if (e == p)
			break;
		n += (size_t)snprintf(buf + n, size - n, "%s%8llu", n ? " " : "", v);
		p = e;
	}
}

/*
 * sys/block/<disk>/stat, what sysstat's iostat reads, in both states of the kernel's counting
 * on a disk made here: the kernel's 17 counters, the same as the container's /proc/diskstats
 * line of the disk (0 while the kernel does not count, the container's writes once it does),
 * while the host's own file keeps the host's. Counting is turned on only through the test's own
 * cgroup (see diskstats_before_and_after_the_kernel_counts).
 */
Test(resources, disk_stat_file_shows_the_containers_counters, .fini = loop_remove)
{
	struct cg_opts o = {.memory_limit = "268435456"};
	char ds[65536], stat_ct[512], want[512], host[512], path[128], cmd[512], rule[64];
	unsigned long long reads, writes, wsect;
	unsigned ma, mi;
	struct testns t;
	struct cgset s;

	cg_make(&top, "ct", &o, &s);
	ct_start(&t, &s);
	loop_make(&ma, &mi);
	/* over the file the container's /sys/block/loopN link leads to, as procbox attach does */
	snprintf(cmd, sizeof(cmd),
		 "mount --bind %s/sys/block/loop%d/stat /sys/devices/virtual/block/loop%d/stat",
		 d.mnt, loop.index, loop.index);
	ct_sh(&t, &s, cmd);
	snprintf(cmd, sizeof(cmd), "cat /sys/block/loop%d/stat", loop.index);

	for (int state = 0; state < 2; state++) {
		if (state == 1) {
			/* Counting on: a rule on the test's own cgroup, removed at once. */
			snprintf(rule, sizeof(rule), "%u:%u %llu", ma, mi, 1ULL << 50);
			cr_assert_eq(
			    write_str(s.dir[CG_BLKIO], "blkio.throttle.write_bps_device", rule), 0);
			snprintf(rule, sizeof(rule), "%u:%u 0", ma, mi);
			cr_assert_eq(
			    write_str(s.dir[CG_BLKIO], "blkio.throttle.write_bps_device", rule), 0);
		}
		loop_write_4mib(&s);
		snprintf(stat_ct, sizeof(stat_ct), "%s", ct_sh(&t, &s, cmd));
		snprintf(ds, sizeof(ds), "%s", ct_sh(&t, &s, "cat /proc/diskstats"));
		diskstats_as_stat(ds, ma, mi, want, sizeof(want));
		cr_assert_str_eq(stat_ct, want, "state %d: /sys/block/loop%d/stat vs diskstats",
				 state, loop.index);
		cr_assert_eq(
		    sscanf(stat_ct, "%llu %*u %*u %*u %llu %*u %llu", &reads, &writes, &wsect), 3,
		    "%s", stat_ct);
		if (kernel_counts(s.dir[CG_BLKIO], ma, mi)) {
			cr_log_info("state %d: the kernel counts the cgroup's I/O on loop%d", state,
				    loop.index);
			cr_assert_geq(writes, 1u, "%s", stat_ct);
			cr_assert_geq(wsect, 8192u, "4 MiB are 8192 sectors: %s", stat_ct);
		} else {
			cr_assert_eq(state, 0, "a throttle rule did not start counting");
			cr_assert_eq(reads + writes + wsect, 0u, "%s", stat_ct);
			/* the other 14 counters are 0 too: the 17 fields, all 0 */
			cr_assert_eq(strspn(stat_ct, " 0"), strlen(stat_ct), "%s", stat_ct);
			cr_assert_eq(strlen(stat_ct), 17 * 9 - 1, "'%s'", stat_ct);
		}
		/* The host's file is the host's: every write shows. */
		snprintf(path, sizeof(path), "/sys/block/loop%d/stat", loop.index);
		cr_assert_eq(read_line(path, host, sizeof(host)), 0);
		cr_assert_eq(sscanf(host, "%*u %*u %*u %*u %*u %*u %llu", &wsect), 1, "%s", host);
		cr_assert_geq(wsect, 8192u * (unsigned)(state + 1), "host: %s", host);
	}
	ct_stop(&t);
	daemon_done();
}

/* Views follow the cgroup the container is in now (cgroup/owner.h): moved into another
 * cgroup and its first one removed, it reads the new one's limits, never the removed
 * cgroup's and never the host's. */
Test(resources, a_container_moved_out_of_a_removed_cgroup_reads_its_new_one)
{
	static const char *const files[] = {
	    "/proc/meminfo",
	    "/proc/cpuinfo",
	    "/proc/stat",
	    "/proc/loadavg",
	    "/proc/swaps",
	    "/proc/diskstats",
	    "/sys/devices/system/cpu/online",
	};
	struct cg_opts o = {.memory_limit = "268435456", .cpus = "0", .quota = "50000"};
	struct cg_opts o2 = {.memory_limit = "134217728", .cpus = "0"};
	char cmd[256], out[8192];
	struct testns t;
	struct cgset s, moved;

	cg_make(&top, "gone", &o, &s);
	cg_make(&top, "moved", &o2, &moved);
	ct_start(&t, &s);
	cr_assert_eq(meminfo_kb(ct_sh(&t, &s, "cat /proc/meminfo"), "MemTotal"), 262144);

	cr_assert_eq(cg_attach(&moved, t.outer), 0);
	cr_assert_eq(cg_attach(&moved, t.pid), 0);
	for (int i = 0; i < CG_N; i++) {
		if (rmdir(s.dir[i]) < 0)
			cr_assert_eq(errno, ENOENT, "rmdir %s: %s", s.dir[i], strerror(errno));
	}
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		snprintf(cmd, sizeof(cmd), "cat %s 2>&1", files[i]);
		cr_assert_eq(ct_run(&t, &moved, cmd, out, sizeof(out)), 0, "%s: %s", files[i], out);
	}
	cr_assert_eq(meminfo_kb(ct_sh(&t, &moved, "cat /proc/meminfo"), "MemTotal"), 131072);
	ct_stop(&t);
	daemon_done();
}

/* ---- timing ---- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Mean µs per pread(4096 at 0) of path on one open fd, over about ms milliseconds. */
static double pread_mean_us(const char *path, int ms)
{
	char buf[4096];
	double start, t;
	long n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	start = now_us();
	do {
		for (int i = 0; i < 100; i++, n++)
			if (pread(fd, buf, sizeof(buf), 0) <= 0) {
				close(fd);
				return -EIO;
			}
		t = now_us();
	} while (t - start < ms * 1000.0);
	close(fd);
	return (t - start) / (double)n;
}

static const struct handler *find_handler(const char *path)
{
	for (size_t i = 0; i < n_views_handlers; i++)
		if (strcmp(views_handlers[i].path, path) == 0)
			return &views_handlers[i];
	cr_assert_fail("no handler for %s", path);
	return NULL;
}

/* Every view renders, through FUSE and directly; the times are logged, not judged:
 * speed is bench/'s to measure. */
Test(resources, every_view_renders)
{
	struct cg_opts o = {.memory_limit = "268435456", .cpus = "0", .quota = "50000"};
	static const char *const rel[] = {"proc/meminfo", "proc/uptime", "proc/loadavg",
					  "proc/stat", "proc/cpuinfo"};
	struct container_registry *reg = NULL;
	_cleanup_container_ struct container *ct = NULL;
	double fuse_us[ELEMENTSOF(rel)];
	int cmd[2], res[2];
	struct cgset s;
	pid_t child;
	char c;

	cg_make(&top, "fast", &o, &s);
	cr_assert_eq(pipe2(cmd, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(res, O_CLOEXEC), 0);
	/* A container of its own UTS namespace, in the cgroups: the daemon takes it as the
	 * container's init, as it takes the parent of nothing else. */
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		double v[ELEMENTSOF(rel)];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (cg_attach(&s, getpid()) < 0 || unshare(CLONE_NEWUTS) < 0)
			_exit(1);
		if (write(res[1], "r", 1) != 1 || read(cmd[0], &c, 1) != 1)
			_exit(2);
		for (size_t i = 0; i < ELEMENTSOF(rel); i++)
			v[i] = pread_mean_us(mnt_path(rel[i]), 400);
		if (write(res[1], v, sizeof(v)) != (ssize_t)sizeof(v))
			_exit(3);
		pause();
		_exit(0);
	}
	cr_assert_eq(read(res[0], &c, 1), 1);
	cr_assert_eq(write(cmd[1], "g", 1), 1);
	cr_assert_eq(read(res[0], fuse_us, sizeof(fuse_us)), (ssize_t)sizeof(fuse_us));
	for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
		cr_log_info("FUSE pread %-14s %7.2f us (%.0f/s)", rel[i], fuse_us[i],
			    1e6 / fuse_us[i]);
		cr_assert_gt(fuse_us[i], 0, "%s: %s", rel[i], strerror((int)-fuse_us[i]));
	}

	/* The handlers' own time per read, without FUSE, for the same container. */
	cr_assert_eq(container_registry_new(NULL, NULL, &reg), 0);
	cr_assert_eq(container_registry_get(reg, child, &ct), 0);
	cr_assert_not(container_is_host(ct));
	{
		static const char *const timed[] = {
		    "proc/meminfo", "proc/loadavg",   "proc/stat",
		    "proc/cpuinfo", "proc/diskstats", "sys/devices/system/cpu/online"};
		struct pb_caller caller = {.pid = child, .container = ct};

		for (size_t i = 0; i < ELEMENTSOF(timed); i++) {
			const struct handler *h = find_handler(timed[i]);
			struct pb_file f = {.h = h, .path = (char *)timed[i], .fd = -EBADF};
			int n = 2000;
			double start;

			start = now_us();
			for (int k = 0; k < n; k++) {
				char *text = NULL;
				size_t len = 0;
				int r = h->content(&caller, &f, &text, &len);

				cr_assert_eq(r, 0, "%s: %s", timed[i], strerror(-r));
				/* diskstats too: it lists every disk, with 0 where nothing is
				 * counted */
				cr_assert_gt(len, 0, "%s", timed[i]);
				free(text);
			}
			cr_log_info("render %-30s %7.2f us", timed[i], (now_us() - start) / n);
		}
	}
	container_unref(TAKE_PTR(ct));
	container_registry_free(reg);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(cmd[0]);
	close(cmd[1]);
	close(res[0]);
	close(res[1]);
	daemon_done();
}

/* ---- the memory reader on fixtures ---- */

Test(resources_memory, fixture_values)
{
	struct cgroup_layout *l = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_reader *m = NULL;
	struct cgroup_memory mem;

	cr_assert_eq(cgroup_layout_detect(FIXTURES "/v2", &l), 0);
	cr_assert_eq(cgroup_resolve_pid(l, 200, &cg), 0);
	cr_assert_eq(cgroup_reader_open(cg, CGROUP_READ_MEMORY, &m), 0);
	cr_assert_eq(cgroup_read_memory(m, &mem), 0);
	cr_assert_eq(mem.limit, 512 * MiB,
		     "kubepods 1 GiB / burstable 512 MiB / pod max / ctr max");
	cgroup_reader_free(m);
	cgroup_free(cg);
	cgroup_layout_free(l);
}

Test(resources_memory, a_removed_cgroup_is_enoent)
{
	struct cgroup_layout *l = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_reader *m = NULL;
	struct cgroup_memory mem;

	cr_assert_eq(cgroup_layout_detect(FIXTURES "/v1", &l), 0);
	/* /proc/500/cgroup names docker/gone, which the fixture does not have */
	cr_assert_eq(cgroup_resolve_pid(l, 500, &cg), 0);
	cr_assert_eq(cgroup_reader_open(cg, CGROUP_READ_MEMORY, &m), -ENOENT);
	cgroup_free(cg);
	cgroup_layout_free(l);
	l = NULL;

	/* a real one, removed while its fds are open */
	if (geteuid() != 0)
		cr_skip_test("needs root to make cgroups");
	cgroups_setup();
	{
		char text[700];
		struct cgset s;

		cg_make(&top, "rm", NULL, &s);
		snprintf(text, sizeof(text), "3:memory:%s\n",
			 s.dir[CG_MEMORY] + strlen(cgroup_layout_mount(layout, CGROUP_MEMORY)));
		cr_assert_eq(cgroup_resolve_text(layout, text, &cg), 0);
		cr_assert_eq(cgroup_reader_open(cg, CGROUP_READ_MEMORY, &m), 0);
		cr_assert_eq(cgroup_read_memory(m, &mem), 0);
		cr_assert_eq(rmdir(s.dir[CG_MEMORY]), 0);
		cr_assert_eq(cgroup_read_memory(m, &mem), -ENOENT);
		cgroup_reader_free(m);
		cgroup_free(cg);
	}
	cgroups_teardown();
}

/* ---- tasks and the last pid, on real pid namespaces ---- */

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

Test(resources_tasks, last_pid_is_the_readers_namespaces_never_the_hosts, .timeout = 60)
{
	struct cgroup *cg = NULL;
	struct cgroup_reader *rd = NULL;
	struct cgroup_tasks tasks, lib;
	char text[700];
	int up[2], pids[3];
	pid_t a, e, last = 0;
	struct cgset s;

	if (geteuid() != 0)
		cr_skip_test("needs root to make cgroups and pid namespaces");
	cgroups_setup();
	cg_make(&top, "pidns", NULL, &s);
	cr_assert_eq(pipe2(up, O_CLOEXEC), 0);

	/* a (host pid namespace) -> b (pid 1 of a new one) -> c (2) -> d (3), all in s. */
	a = fork();
	cr_assert_geq(a, 0);
	if (a == 0) {
		pid_t b;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (cg_attach(&s, getpid()) < 0 || unshare(CLONE_NEWPID) < 0)
			_exit(1);
		b = fork();
		if (b == 0) {
			if (fork() == 0) {
				if (fork() == 0)
					for (;;)
						pause();
				for (;;)
					pause();
			}
			for (;;)
				pause();
		}
		if (b < 0)
			_exit(2);
		if (write(up[1], &b, sizeof(b)) != sizeof(b))
			_exit(3);
		/* b is the init of the new namespace: its death takes c and d along */
		while (waitpid(b, NULL, 0) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(up[1]);
	cr_assert_eq(read(up[0], &pids[0], sizeof(pids[0])), (ssize_t)sizeof(pids[0]));
	close(up[0]);
	/* wait for c and d to exist: b's children, then c's */
	for (int i = 0; i < 200; i++) {
		char path[64], buf[64];

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pids[0], pids[0]);
		if (read_line(path, buf, sizeof(buf)) == 0 && sscanf(buf, "%d", &pids[1]) == 1) {
			snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pids[1], pids[1]);
			if (read_line(path, buf, sizeof(buf)) == 0 &&
			    sscanf(buf, "%d", &pids[2]) == 1)
				break;
		}
		usleep(10000);
	}
	cr_assert_gt(pids[2], 0, "the pid namespace's tasks did not start");
	/* e: newer than all of them, in the same cgroup, in the host's pid namespace */
	usleep(20000);
	e = fork();
	cr_assert_geq(e, 0);
	if (e == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	cr_assert_eq(cg_attach(&s, e), 0);

	snprintf(text, sizeof(text), "3:memory:%s\n5:cpu:%s\n",
		 s.dir[CG_MEMORY] + strlen(cgroup_layout_mount(layout, CGROUP_MEMORY)),
		 s.dir[CG_CPU] + strlen(cgroup_layout_mount(layout, CGROUP_CPU)));
	cr_assert_eq(cgroup_resolve_text(layout, text, &cg), 0);
	cr_assert_eq(cgroup_reader_open(cg, 0, &rd), 0);

	/* Read by b (pid 1 there): the newest task there is d, pid 3; e is newer but a host
	 * task, and its pid must not show. */
	cr_assert_eq(cgroup_read_tasks(rd, pids[0], &tasks, &last), 0);
	cr_assert_eq(last, 3, "last pid %d (host pids: b %d, c %d, d %d, e %d)", (int)last, pids[0],
		     pids[1], pids[2], (int)e);
	cr_assert_eq(tasks.total, 5u, "a, b, c, d, e");
	cr_assert(tasks.reader_seen);
	cr_assert_geq(tasks.running, 1u);
	cr_assert_eq(cgroup_get_tasks(cg, pids[0], &lib), 0);
	cr_assert_eq(lib.total, tasks.total);

	/* Read by a host task: the daemon's (here: our) own ns_last_pid, at least e's. */
	cr_assert_eq(cgroup_read_tasks(rd, e, &tasks, &last), 0);
	cr_assert_geq(last, e);

	cgroup_reader_free(rd);
	cgroup_free(cg);
	reap(e);
	kill(pids[0], SIGKILL);
	while (waitpid(a, NULL, 0) < 0 && errno == EINTR)
		;
	cgroups_teardown();
}
