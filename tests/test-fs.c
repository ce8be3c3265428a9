/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon end to end: real mount, real containers (unshare'd namespaces with procbox's
 * proc/sys bound over their /proc/sys), the kernel's own values checked from outside. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile-lib.h"
#include "lib/daemon.h"
#include "lib/suite.h"
#include "lib/testns.h"
#include "util/macro.h"

static struct test_daemon d;
static char sysdir[256];

static void setup(void)
{
	suite_setup(&d, NULL);
	daemon_path(&d, "proc/sys", sysdir, sizeof(sysdir));
}

static void teardown(void)
{
	suite_teardown(&d);
}

TestSuite(fs, .init = setup, .fini = teardown, .timeout = 120);

#define CT_FLAGS                                                                                   \
	(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS)

static void ct_start(struct testns *t, int flags, uid_t uid, const char *hostname)
{
	struct testns_opts o = {
	    .clone_flags = flags,
	    .uid_map = "0 100000 65536",
	    .gid_map = "0 100000 65536",
	    .uid = uid,
	    .gid = uid,
	    .hostname = hostname,
	    .bind_src = sysdir,
	    .bind_dst = "/proc/sys",
	};
	cr_assert_eq(testns_start(&o, t), 0, "container start");
}

/* Runs cmd in t, returns its stdout with the trailing newline cut. */
static char *ct_sh(const struct testns *t, const char *cmd, int *ret_status)
{
	static char out[65536];
	int st = testns_sh(t, cmd, out, sizeof(out));
	size_t n = strlen(out);

	while (n && out[n - 1] == '\n')
		out[--n] = 0;
	if (ret_status)
		*ret_status = st;
	return out;
}

static void host_read(const char *path, char *buf, size_t size)
{
	cr_assert_eq(read_line(path, buf, size), 0, "read %s", path);
}

Test(fs, namespaced_values_change_only_in_their_container)
{
	static const struct {
		const char *path, *value;
	} cases[] = {
	    {"net/ipv4/ip_forward", "1"},
	    {"net/ipv4/ip_default_ttl", "101"},
	    {"net/ipv6/conf/all/disable_ipv6", "1"},
	    {"net/ipv4/tcp_keepalive_time", "1234"},
	    {"kernel/hostname", "changed-inside"},
	};
	struct testns a, b;
	char host[ELEMENTSOF(cases)][256], cmd[512], bval[ELEMENTSOF(cases)][256];

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		snprintf(cmd, sizeof(cmd), "/proc/sys/%s", cases[i].path);
		host_read(cmd, host[i], sizeof(host[i]));
	}
	/* without a user namespace too, so hostname is writable through the file */
	ct_start(&a, CT_FLAGS & ~CLONE_NEWUSER, 0, "ct-a");
	ct_start(&b, CT_FLAGS, 0, "ct-b");
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		snprintf(cmd, sizeof(cmd), "cat /proc/sys/%s", cases[i].path);
		snprintf(bval[i], sizeof(bval[i]), "%s", ct_sh(&b, cmd, NULL));
	}
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int st;

		snprintf(cmd, sizeof(cmd), "echo %s > /proc/sys/%s && cat /proc/sys/%s",
			 cases[i].value, cases[i].path, cases[i].path);
		cr_assert_str_eq(ct_sh(&a, cmd, &st), cases[i].value, "%s", cases[i].path);
		cr_assert_eq(st, 0);
	}
	/* the kernel's own value in the container's namespace changed (read without
	 * procbox, through a fresh nsenter into the same namespaces) */
	{
		char fwd[64];
		pid_t pid = fork();
		if (pid == 0) {
			char p[64];
			snprintf(p, sizeof(p), "/proc/%d/ns/net", a.pid);
			int fd = open(p, O_RDONLY);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
				_exit(2);
			if (read_line("/proc/sys/net/ipv4/ip_default_ttl", fwd, sizeof(fwd)) < 0)
				_exit(3);
			_exit(strcmp(fwd, "101") == 0 ? 0 : 1);
		}
		int status;
		waitpid(pid, &status, 0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "the container's netns must hold the value written through procbox");
	}
	cr_assert_str_eq(ct_sh(&a, "hostname", NULL), "changed-inside");
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char now[256];

		snprintf(cmd, sizeof(cmd), "/proc/sys/%s", cases[i].path);
		host_read(cmd, now, sizeof(now));
		cr_assert_str_eq(now, host[i], "host %s changed", cases[i].path);
		snprintf(cmd, sizeof(cmd), "cat /proc/sys/%s", cases[i].path);
		cr_assert_str_eq(ct_sh(&b, cmd, NULL), bval[i], "container b %s changed",
				 cases[i].path);
	}
	testns_stop(&a);
	testns_stop(&b);
}

Test(fs, concurrent_containers_read_back_their_own)
{
	struct testns t[5];
	pid_t runners[5];

	for (int k = 0; k < 5; k++)
		ct_start(&t[k], CT_FLAGS, 0, NULL);
	for (int k = 0; k < 5; k++) {
		runners[k] = fork();
		if (runners[k] == 0) {
			char cmd[512];
			snprintf(cmd, sizeof(cmd),
				 "for i in $(seq 1 20); do v=$((%d * 1000 + i)); "
				 "echo $v > /proc/sys/net/ipv4/tcp_keepalive_time || exit 3; "
				 "r=$(cat /proc/sys/net/ipv4/tcp_keepalive_time); "
				 "[ \"$r\" = \"$v\" ] || { echo \"bad $r != $v\"; exit 4; }; done",
				 k + 1);
			char out[256];
			_exit(testns_sh(&t[k], cmd, out, sizeof(out)));
		}
	}
	for (int k = 0; k < 5; k++) {
		int status;
		waitpid(runners[k], &status, 0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "container %d: %d", k,
			  WEXITSTATUS(status));
	}
	for (int k = 0; k < 5; k++) {
		char want[32];
		snprintf(want, sizeof(want), "%d", (k + 1) * 1000 + 20);
		cr_assert_str_eq(ct_sh(&t[k], "cat /proc/sys/net/ipv4/tcp_keepalive_time", NULL),
				 want);
		testns_stop(&t[k]);
	}
}

Test(fs, non_root_gets_permission_denied_and_host_wide_writes_are_refused)
{
	static const char *const host_wide[] = {"kernel/threads-max", "vm/swappiness",
						"fs/pipe-max-size"};
	struct testns user, root;
	char before[64], out[4096], cmd[256];
	int st;

	ct_start(&user, CT_FLAGS, 1000, NULL);
	snprintf(before, sizeof(before), "%s",
		 ct_sh(&user, "cat /proc/sys/net/ipv4/ip_forward", NULL));
	snprintf(out, sizeof(out), "%s",
		 ct_sh(&user, "(echo 1 > /proc/sys/net/ipv4/ip_forward) 2>&1; echo rc=$?", &st));
	cr_assert(strstr(out, "Permission denied"), "got: %s", out);
	cr_assert_str_eq(ct_sh(&user, "cat /proc/sys/net/ipv4/ip_forward", NULL), before);
	testns_stop(&user);

	ct_start(&root, CT_FLAGS, 0, NULL);
	for (size_t i = 0; i < ELEMENTSOF(host_wide); i++) {
		char host[64], now[64], path[128];

		snprintf(path, sizeof(path), "/proc/sys/%s", host_wide[i]);
		host_read(path, host, sizeof(host));
		snprintf(cmd, sizeof(cmd), "echo 77 > %s", path);
		ct_sh(&root, cmd, &st);
		cr_assert_neq(st, 0, "writing %s must fail", path);
		host_read(path, now, sizeof(now));
		cr_assert_str_eq(now, host);
	}
	testns_stop(&root);
}

Test(fs, host_root_container_cannot_change_host_wide_values)
{
	struct testns t;
	char sw[64], tm[64], fwd[64], now[64];
	int st;

	host_read("/proc/sys/vm/swappiness", sw, sizeof(sw));
	host_read("/proc/sys/kernel/threads-max", tm, sizeof(tm));
	host_read("/proc/sys/net/ipv4/ip_forward", fwd, sizeof(fwd));
	/* no user namespace: the container's root is the host's uid 0 */
	ct_start(&t, CT_FLAGS & ~CLONE_NEWUSER, 0, NULL);
	ct_sh(&t, "echo 3 > /proc/sys/vm/swappiness", &st);
	cr_assert_neq(st, 0);
	ct_sh(&t, "echo 4242 > /proc/sys/kernel/threads-max", &st);
	cr_assert_neq(st, 0);
	cr_assert_str_eq(ct_sh(&t, "sysctl -w vm.swappiness=4 2>&1 | grep -c denied", NULL), "1");
	host_read("/proc/sys/vm/swappiness", now, sizeof(now));
	cr_assert_str_eq(now, sw);
	host_read("/proc/sys/kernel/threads-max", now, sizeof(now));
	cr_assert_str_eq(now, tm);

	const char *v = strcmp(fwd, "1") == 0 ? "0" : "1";
	char cmd[128];
	snprintf(cmd, sizeof(cmd),
		 "echo %s > /proc/sys/net/ipv4/ip_forward; cat /proc/sys/net/ipv4/ip_forward", v);
	cr_assert_str_eq(ct_sh(&t, cmd, &st), v);
	host_read("/proc/sys/net/ipv4/ip_forward", now, sizeof(now));
	cr_assert_str_eq(now, fwd);
	testns_stop(&t);
}

Test(fs, tree_matches_the_kernels_for_the_same_namespaces)
{
	struct testns with, plain;
	struct testns_opts o = {
	    .clone_flags = CT_FLAGS, .uid_map = "0 100000 65536", .gid_map = "0 100000 65536"};
	char *a, *b;
	size_t n;

	ct_start(&with, CT_FLAGS, 0, NULL);
	cr_assert_eq(testns_start(&o, &plain), 0);
	a = strdup(ct_sh(&with, "find /proc/sys | sort | md5sum; find /proc/sys | wc -l", NULL));
	b = strdup(ct_sh(&plain, "find /proc/sys | sort | md5sum; find /proc/sys | wc -l", NULL));
	n = strlen(a);
	cr_assert_gt(n, 36, "with procbox: %s / without: %s", a, b);
	cr_assert_gt(atoi(strchr(a, '\n') + 1), 500, "too few entries: %s", a);
	cr_assert_str_eq(a, b, "procbox's tree differs from the kernel's: %s vs %s", a, b);
	/* and it is really procbox's mount that was listed */
	cr_assert_str_eq(
	    ct_sh(&with,
		  "awk '$5 == \"/proc/sys\"' /proc/self/mountinfo | grep -c ' - fuse.procbox '",
		  NULL),
	    "1");
	free(a);
	free(b);
	testns_stop(&with);
	testns_stop(&plain);
}

Test(fs, readers_behave_as_on_proc)
{
	struct testns t;
	char *out;

	ct_start(&t, CT_FLAGS, 0, "reader");
	cr_assert_str_eq(ct_sh(&t, "head -c 3 /proc/sys/kernel/ostype", NULL), "Lin");
	cr_assert_str_eq(
	    ct_sh(&t, "dd if=/proc/sys/kernel/ostype bs=1 skip=2 count=3 2>/dev/null", NULL),
	    "nux");
	cr_assert_str_eq(ct_sh(&t, "busybox cat /proc/sys/kernel/hostname", NULL), "reader");
	out = ct_sh(&t, "sysctl -w net.ipv4.ip_default_ttl=55 && sysctl -n net.ipv4.ip_default_ttl",
		    NULL);
	cr_assert(strstr(out, "55"), "%s", out);
	cr_assert_str_eq(ct_sh(&t, "stat -c %s /proc/sys/net/ipv4/ip_forward", NULL), "4096");
	/* uid 0 inside the user namespace owns the container's net sysctls */
	cr_assert_str_eq(ct_sh(&t, "stat -c %u:%g /proc/sys/net/ipv4/ip_forward", NULL), "0:0");
	cr_assert_str_eq(
	    ct_sh(&t, "chmod 777 /proc/sys/net/ipv4/ip_forward 2>/dev/null; echo $?", NULL), "1");
	testns_stop(&t);
}

/* Text of up to n bytes read from fd at its offset, newline cut; "E<errno>" on failure. */
static void read_on(int fd, size_t n, char *buf, size_t size)
{
	ssize_t r = read(fd, buf, MIN(n, size - 1));

	if (r < 0) {
		snprintf(buf, size, "E%d", errno);
		return;
	}
	buf[r] = 0;
	while (r > 0 && buf[r - 1] == '\n')
		buf[--r] = 0;
}

/* In the container, as its root: one open file read in pieces while the value changes
 * under it, then from the start again. Prints what each read saw. */
static int reads_one_open_file(const void *arg, char *out, size_t outsz)
{
	const char *path = "/proc/sys/net/ipv4/ip_default_ttl";
	char first[8], on[8], again[8], fresh[8];
	int fd;

	if (write_file(path, "70") < 0)
		return 1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 2;
	read_on(fd, 1, first, sizeof(first)); /* at 0: the snapshot "70\n" is taken */
	if (write_file(path, "71") < 0)
		return 3;
	read_on(fd, 8, on, sizeof(on)); /* at 1: from that snapshot */
	if (lseek(fd, 0, SEEK_SET) != 0)
		return 4;
	read_on(fd, 8, again, sizeof(again)); /* at 0 again: a new snapshot */
	close(fd);
	if (read_line(path, fresh, sizeof(fresh)) < 0)
		return 5;
	snprintf(out, outsz, "%s %s %s %s", first, on, again, fresh);
	return 0;
}

Test(fs, one_open_reads_one_snapshot_and_rereads_after_seek)
{
	struct testns t;
	struct hct c;
	char out[64];

	ct_start(&t, CT_FLAGS, 0, NULL);
	c = (struct hct){.init = t.pid, .outer = t.outer, .userns = true};
	cr_assert_eq(hct_call(&c, 0, reads_one_open_file, NULL, out, sizeof(out)), 0, "%s", out);
	/* "7 1 ..." would be a read on from a new snapshot, "... 0 70 ..." a read at 0 from
	 * the old one */
	cr_expect_str_eq(out, "7 0 71 71");
	testns_stop(&t);
}

Test(fs, stops_cleanly_on_sigterm_with_no_child_left)
{
	struct testns t;
	pid_t kids[64];
	int n;

	ct_start(&t, CT_FLAGS, 0, NULL);
	cr_assert_str_eq(ct_sh(&t, "cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "64");
	n = daemon_children(&d, kids, 64);
	cr_assert_geq(n, 1, "an agent serves the container");
	cr_assert_eq(daemon_stop(&d), 0, "exit status 0 on SIGTERM");
	for (int i = 0; i < n && i < 64; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d", kids[i]);
		cr_assert_neq(access(p, F_OK), 0, "child %d left behind (or not reaped)", kids[i]);
	}
	testns_stop(&t);
}

/* Runs fn(arg) in a child whose stdout and stderr go to out; its exit status, or -1. */
static int run_child(void (*fn)(const void *arg), const void *arg, char *out, size_t outsz)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		fn(arg);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], out, outsz - 1);
	out[n > 0 ? n : 0] = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void exec_procbox(const void *args)
{
	execv(PROCBOX_BUILD_ROOT "/procbox", (char *const *)args);
}

static int run_procbox(const char *const *args, char *out, size_t outsz)
{
	return run_child(exec_procbox, args, out, outsz);
}

Test(fs, clear_errors)
{
	char out[1024], file[64] = "/tmp/procbox-notdir-XXXXXX";
	int fd;

	/* busy: the daemon of this suite holds d.mnt */
	const char *busy[] = {"procbox", "-f", d.mnt, NULL};
	cr_assert_eq(run_procbox(busy, out, sizeof(out)), 1);
	cr_assert(strstr(out, "is busy"), "%s", out);

	fd = mkstemp(file);
	cr_assert_geq(fd, 0);
	close(fd);
	const char *notdir[] = {"procbox", "-f", file, NULL};
	cr_assert_eq(run_procbox(notdir, out, sizeof(out)), 1);
	cr_assert(strstr(out, "is not a folder"), "%s", out);
	unlink(file);

	const char *bad[] = {"procbox", "--timeout", "soon", NULL};
	cr_assert_eq(run_procbox(bad, out, sizeof(out)), 2);
	cr_assert(strstr(out, "invalid timeout"), "%s", out);
	const char *bad_fds[] = {"procbox", "--max-agent-fds", "0", NULL};
	cr_assert_eq(run_procbox(bad_fds, out, sizeof(out)), 2);
	cr_assert(strstr(out, "invalid agent fd limit '0' (expected 1..65536)"), "%s", out);
	const char *zero[] = {"procbox", "--timeout", "0", NULL};
	cr_assert_eq(run_procbox(zero, out, sizeof(out)), 2);
	cr_assert(strstr(out, "invalid timeout '0'"), "%s", out);

	/* A mountpoint of this run's own, never a name an earlier run may have left. */
	char spare[64] = "/tmp/procbox-fs-spare-XXXXXX", spare_mnt[80];
	cr_assert_not_null(mkdtemp(spare));
	snprintf(spare_mnt, sizeof(spare_mnt), "%s/mnt", spare);

	/* no /dev/fuse: hide it in a private mount namespace */
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", "/dev", "tmpfs", 0, NULL) < 0)
			_exit(100);
		const char *nofuse[] = {"procbox", "-f", spare_mnt, NULL};
		char o[1024];
		int r = run_procbox(nofuse, o, sizeof(o));
		_exit(r == 1 && strstr(o, "/dev/fuse is not available") ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "missing /dev/fuse: %d",
		  WEXITSTATUS(status));

	/* not root */
	pid = fork();
	if (pid == 0) {
		if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
			_exit(100);
		const char *mnt[] = {"procbox", "-f", spare_mnt, NULL};
		char o[1024];
		int r = run_procbox(mnt, o, sizeof(o));
		_exit(r == 1 && strstr(o, "must run as root") ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	rmdir(spare_mnt);
	rmdir(spare);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "not root: %d",
		  WEXITSTATUS(status));

	const char *help[] = {"procbox", "--help", NULL};
	cr_assert_eq(run_procbox(help, out, sizeof(out)), 0);
	cr_assert(strstr(out, "Usage: procbox"));
}

/* Without --max-in-flight, a container gets half the CPUs and half the 16 workers, at
 * least 1: on a 2-CPU machine its flood keeps one CPU's worth of the daemon. */
Test(fs, the_default_in_flight_limit_follows_the_cpus)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned want = cpus > 1 ? (unsigned)(cpus / 2) : 1;
	char out[8192];
	const char *p;

	want = want > 8 ? 8 : want;
	const char *status[] = {"procbox", "status", "-m", d.mnt, "--json", NULL};
	cr_assert_eq(run_procbox(status, out, sizeof(out)), 0, "%s", out);
	p = strstr(out, "\"max_in_flight\":");
	cr_assert(p, "%s", out);
	cr_expect_eq(strtoul(p + strlen("\"max_in_flight\":"), NULL, 10), want, "%ld CPUs: %s",
		     cpus, p);
}

/* The daemon takes the hard limit of open files as its soft one: kept fds and agents'
 * sockets outgrow the usual 1,024. */
Test(fs, raises_its_open_files_limit)
{
	struct rlimit saved, low;
	struct test_daemon dd;
	char path[64], line[256];
	unsigned long long soft = 0, hard = 0;
	FILE *f;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	if (saved.rlim_max <= 512)
		cr_skip_test("the hard limit of open files is only %llu",
			     (unsigned long long)saved.rlim_max);
	low = (struct rlimit){.rlim_cur = 512, .rlim_max = saved.rlim_max};
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	cr_assert_eq(daemon_start(&dd, NULL), 0);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);

	snprintf(path, sizeof(path), "/proc/%d/limits", dd.pid);
	f = fopen(path, "re");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Max open files", 14) == 0)
			cr_assert_eq(sscanf(line + 14, "%llu %llu", &soft, &hard), 2);
	fclose(f);
	cr_assert_eq(daemon_stop(&dd), 0);
	cr_assert_eq(hard, (unsigned long long)saved.rlim_max);
	cr_assert_eq(soft, hard, "soft limit %llu", soft);

	/* and says when the limit is short of what the caches and open files may keep open:
	 * the defaults, 1024 agents x (64 + 2) + 4096 + 65536 open files + 256, against a
	 * hard limit of 4096 */
	low = (struct rlimit){.rlim_cur = 1024, .rlim_max = 4096};
	if (saved.rlim_max < 4096)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		struct test_daemon d2;
		char *log = NULL;
		size_t n = 0;
		FILE *lf;

		if (setrlimit(RLIMIT_NOFILE, &low) < 0 || daemon_start(&d2, NULL) < 0)
			_exit(100);
		(void)daemon_stop(&d2);
		lf = fopen(d2.log, "re");
		if (!lf || getdelim(&log, &n, 0, lf) <= 0)
			_exit(101);
		_exit(strstr(log, "The limit of open files (4096) is below the 137472") ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "no warning of a short limit");
}

/* -d logs each request as it comes, and each that fails. */
Test(fs, debug_logs_every_request)
{
	static const char *const args[] = {"-d", NULL};
	struct test_daemon dd;
	char path[256], buf[64], *log = NULL;
	size_t n = 0;
	FILE *f;

	cr_assert_eq(daemon_start(&dd, args), 0);
	daemon_path(&dd, "proc/sys/kernel/ostype", path, sizeof(path));
	cr_assert_eq(read_line(path, buf, sizeof(buf)), 0);
	daemon_path(&dd, "proc/sys/kernel/no-such-file", path, sizeof(path));
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(daemon_stop(&dd), 0);

	f = fopen(dd.log, "re");
	cr_assert_not_null(f);
	cr_assert_gt(getdelim(&log, &n, 0, f), 0);
	fclose(f);
	cr_expect_not_null(strstr(log, "debug: lookup "), "%s", log);
	cr_expect_not_null(strstr(log, " ostype (pid "), "%s", log);
	cr_expect_not_null(strstr(log, "debug: open "), "%s", log);
	cr_expect_not_null(strstr(log, "debug: read "), "%s", log);
	cr_expect_not_null(strstr(log, " no-such-file (pid "), "%s", log);
	cr_expect_not_null(strstr(log, "No such file or directory"), "%s", log);
	free(log);
}

Test(fs, container_init_is_its_pid1_not_the_first_caller)
{
	struct testns t;
	char cmd[512], host_panic[64], *out;

	struct testns_opts o = {
	    .clone_flags = CT_FLAGS, .uid_map = "0 100000 65536", .gid_map = "0 100000 65536"};

	host_read("/proc/sys/kernel/panic", host_panic, sizeof(host_panic));
	/* no bind at start: nothing of the container has talked to procbox yet */
	cr_assert_eq(testns_start(&o, &t), 0);
	usleep(1500 * 1000);
	/* The first request comes from a process entered from outside (like docker exec),
	 * not from a descendant of the container's init. */
	snprintf(cmd, sizeof(cmd),
		 "mount --bind %s/proc/uptime /proc/uptime && mount --bind %s /proc/sys && "
		 "cut -d' ' -f1 /proc/uptime",
		 d.mnt, sysdir);
	out = ct_sh(&t, cmd, NULL);
	cr_assert_geq(atof(out), 1.4, "uptime %s: the entering process was taken for the init",
		      out);
	/* State outlives the process that created it. */
	cr_assert_str_eq(
	    ct_sh(&t, "echo 42 > /proc/sys/kernel/panic && cat /proc/sys/kernel/panic", NULL),
	    "42");
	cr_assert_str_eq(ct_sh(&t, "cat /proc/sys/kernel/panic", NULL), "42");
	host_read("/proc/sys/kernel/panic", cmd, sizeof(cmd));
	cr_assert_str_eq(cmd, host_panic);
	testns_stop(&t);
}

/* One mount serves every container: what the kernel caches for one must never show
 * another an entry that is not its own. */
Test(fs, kernel_caches_never_cross_containers)
{
	struct testns a, b;
	char path[512], out[64];

	ct_start(&a, CT_FLAGS, 0, NULL);
	ct_start(&b, CT_FLAGS, 0, NULL);
	cr_assert_str_eq(ct_sh(&a,
			       "ip link add pbv0 type veth peer name pbv1 && "
			       "cat /proc/sys/net/ipv4/conf/pbv0/forwarding",
			       NULL),
			 "0");
	cr_assert_str_eq(ct_sh(&a, "ls /proc/sys/net/ipv4/conf | tr '\\n' ' '", NULL),
			 "all default lo pbv0 pbv1 ");
	for (int i = 0; i < 3; i++) {
		/* stat() asks the daemon (attributes are never cached); access(2) and O_PATH
		 * opens only walk the path, through whatever entries the kernel kept. */
		cr_assert_str_eq(
		    ct_sh(&b, "test -e /proc/sys/net/ipv4/conf/pbv0 && echo leak || echo ok", NULL),
		    "ok");
		cr_assert_str_eq(
		    ct_sh(&b,
			  "python3 -c 'import os; p=\"/proc/sys/net/ipv4/conf/pbv0\"; "
			  "print(os.access(p, os.F_OK), os.access(p + \"/forwarding\", os.F_OK))'",
			  NULL),
		    "False False");
		cr_assert_str_eq(
		    ct_sh(&b,
			  "cat /proc/sys/net/ipv4/conf/pbv0/forwarding 2>&1 | grep -c 'No such'",
			  NULL),
		    "1");
	}
	/* a global sysctl of the host's network namespace, looked up through procbox by
	 * the host first, stays invisible in a container's */
	daemon_path(&d, "proc/sys/net/core/netdev_max_backlog", path, sizeof(path));
	cr_assert_eq(read_line(path, out, sizeof(out)), 0);
	cr_assert_str_eq(
	    ct_sh(&b,
		  "python3 -c 'import os; p=\"/proc/sys/net/core/netdev_max_backlog\"; "
		  "print(os.access(p, os.F_OK))'",
		  NULL),
	    "False");
	/* and entries every namespace has are found by all */
	cr_assert_str_eq(ct_sh(&b, "cat /proc/sys/net/ipv4/conf/lo/forwarding", NULL), "0");
	testns_stop(&a);
	testns_stop(&b);
}

/* Reused fds: only for files every credential may read, and never across containers. */
Test(fs, reused_fds_never_cross_credentials_or_containers)
{
	struct testns a, b;
	char *out;

	/* root of a container without a user namespace reads a 0600 file, then a user of
	 * the same container must still be refused, as by the kernel */
	ct_start(&a, CT_FLAGS & ~CLONE_NEWUSER, 0, NULL);
	for (int i = 0; i < 2; i++) {
		out = ct_sh(&a, "cat /proc/sys/net/ipv4/tcp_fastopen_key >/dev/null && echo ok",
			    NULL);
		cr_assert_str_eq(out, "ok");
		out = ct_sh(&a, "cat /proc/sys/kernel/usermodehelper/bset >/dev/null && echo ok",
			    NULL);
		cr_assert_str_eq(out, "ok");
		out = ct_sh(&a,
			    "setpriv --reuid 1000 --regid 1000 --clear-groups "
			    "cat /proc/sys/net/ipv4/tcp_fastopen_key 2>&1",
			    NULL);
		cr_assert(strstr(out, "Permission denied"), "a user read a 0600 file: %s", out);
		out = ct_sh(&a,
			    "setpriv --reuid 1000 --regid 1000 --clear-groups "
			    "cat /proc/sys/kernel/usermodehelper/bset 2>&1",
			    NULL);
		cr_assert(strstr(out, "Permission denied"), "a user read a 0600 file: %s", out);
		/* a world-readable one is read by both */
		cr_assert_str_eq(ct_sh(&a,
				       "echo 33 > /proc/sys/net/ipv4/ip_default_ttl; "
				       "setpriv --reuid 1000 --regid 1000 --clear-groups "
				       "cat /proc/sys/net/ipv4/ip_default_ttl",
				       NULL),
				 "33");
	}
	/* another container reading the same path gets its own namespace's value */
	ct_start(&b, CT_FLAGS, 0, NULL);
	cr_assert_str_eq(ct_sh(&b, "cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "64");
	cr_assert_str_eq(ct_sh(&a, "cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "33");
	/* a process of container a in a network namespace of its own (nested unshare):
	 * same container, another namespace, another value */
	cr_assert_str_eq(ct_sh(&a, "unshare -n cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "64");
	testns_stop(&a);
	testns_stop(&b);
}

static uint64_t stat_counter_of(const struct test_daemon *dd, const char *name)
{
	char path[300], text[512], key[64];
	unsigned long long v;
	const char *p;

	daemon_path(dd, ".procbox-stats", path, sizeof(path));
	cr_assert_eq(read_line(path, text, sizeof(text)), 0);
	snprintf(key, sizeof(key), "\"%s\": ", name);
	p = strstr(text, key);
	cr_assert_not_null(p, "no %s in %s", name, text);
	cr_assert_eq(sscanf(p + strlen(key), "%llu", &v), 1);
	return v;
}

static uint64_t stat_counter(const char *name)
{
	return stat_counter_of(&d, name);
}

/* A host process that joined target's network namespace alone reads path. */
struct netns_read {
	pid_t target;
	const char *path;
};

static void print_in_netns(const void *arg)
{
	const struct netns_read *a = arg;
	char ns[64], buf[64];
	int fd;

	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", a->target);
	fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0 || read_line(a->path, buf, sizeof(buf)) < 0)
		_exit(1);
	fputs(buf, stdout);
	fflush(stdout);
	_exit(0);
}

static int read_in_netns(pid_t target, const char *path, char *buf, size_t size)
{
	struct netns_read a = {target, path};

	return run_child(print_in_netns, &a, buf, size) == 0 ? 0 : -1;
}

/* The caller's pid finds a reused fd of a namespaced sysctl (no look at its container
 * or credentials): one kept for namespace N serves whoever is in N, the host's own
 * processes included, and no one else. */
Test(fs, reused_fds_follow_the_callers_namespace)
{
	char path[300], out[64];
	struct testns a, b;
	uint64_t fast0;

	daemon_path(&d, "proc/sys/net/ipv4/ip_default_ttl", path, sizeof(path));
	ct_start(&a, CT_FLAGS, 0, NULL);
	ct_start(&b, CT_FLAGS, 0, NULL);
	cr_assert_str_eq(ct_sh(&a,
			       "echo 21 > /proc/sys/net/ipv4/ip_default_ttl; "
			       "cat /proc/sys/net/ipv4/ip_default_ttl",
			       NULL),
			 "21");
	fast0 = stat_counter("sysctl_fast_opens");
	cr_assert_str_eq(ct_sh(&a, "cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "21");
	cr_assert_gt(stat_counter("sysctl_fast_opens"), fast0, "the open was not a fast one");
	/* live: a write shows at the next read through the same kept fd */
	cr_assert_str_eq(ct_sh(&a,
			       "echo 22 > /proc/sys/net/ipv4/ip_default_ttl; "
			       "cat /proc/sys/net/ipv4/ip_default_ttl",
			       NULL),
			 "22");
	/* another namespace: its own value, whatever a had kept */
	for (int i = 0; i < 2; i++)
		cr_assert_str_eq(ct_sh(&b, "cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "64");
	cr_assert_str_eq(ct_sh(&a, "unshare -n cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "64");
	/* a host process that joined a's network namespace alone reads a's value, as the
	 * kernel's file would give it; one in the host's namespace the host's */
	cr_assert_eq(read_in_netns(a.pid, path, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "22");
	cr_assert_eq(read_in_netns(getpid(), path, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "64");
	testns_stop(&a);
	testns_stop(&b);
}

/* A kept fd whose entry went away (an interface removed and made again under the same
 * name) answers ENOENT: it is dropped and the file opened anew, once. Round 0 reads
 * through an fd found from the caller's pid alone; round 1 through one the agent kept
 * (the round before left none of the first kind), and writes through one. */
Test(fs, a_dead_kept_fd_is_dropped_and_the_read_retried)
{
	static const char *const file = "/proc/sys/net/ipv4/conf/pbv0/forwarding";
	char cmd[512], *out;
	struct testns a;
	uint64_t kept0;

	ct_start(&a, CT_FLAGS, 0, NULL);
	snprintf(cmd, sizeof(cmd), "ip link add pbv0 type veth peer name pbv1 && cat %s && cat %s",
		 file, file);
	cr_assert_str_eq(ct_sh(&a, cmd, NULL), "0\n0");
	for (int i = 0; i < 2; i++) {
		const char *counter = i == 0 ? "sysctl_fast_opens" : "fd_hits";

		kept0 = stat_counter(counter);
		snprintf(cmd, sizeof(cmd),
			 "ip link del pbv0 && ip link add pbv0 type veth peer name pbv1 && "
			 "echo %d > %s && cat %s",
			 1 - i, file, file);
		out = ct_sh(&a, cmd, NULL);
		cr_assert_str_eq(out, i == 0 ? "1" : "0", "round %d: %s", i, out);
		cr_assert_gt(stat_counter(counter), kept0, "round %d: no kept fd was used", i);
	}
	testns_stop(&a);
}

/* An open file handed to a process of another network namespace, after its kept fd
 * died: that process gets the error, and the file is not opened anew in its namespace,
 * so the opener never reads another namespace's value through it. */
Test(fs, a_dead_kept_fd_is_not_reopened_in_another_namespace)
{
	struct testns a;

	ct_start(&a, CT_FLAGS, 0, NULL);
	cr_assert_str_eq(
	    ct_sh(&a,
		  "f=/proc/sys/net/ipv4/conf/pbv0/forwarding; "
		  "ip link add pbv0 type veth peer name pbv1 && exec 3< $f && "
		  "ip link del pbv0 && ip link add pbv0 type veth peer name pbv1 && "
		  "unshare -n sh -c \"ip link add pbv0 type veth peer name pbv1 && echo 1 > $f && "
		  "python3 -c 'import os; os.pread(3, 64, 0)' 2>&1 | grep -c 'No such file'\"; "
		  "python3 -c 'import os; print(os.pread(3, 64, 0).decode().strip())'",
		  NULL),
	    "1\n0");
	testns_stop(&a);
}

/* Writes are made with the writer's credentials, capabilities included: without
 * CAP_NET_ADMIN the kernel refuses an ip_forward write (EPERM), and so does procbox
 * (a write through an fd in the daemon, which has every capability, went through). */
Test(fs, writes_carry_the_writers_capabilities)
{
	static const char *const write_py =
	    "python3 -c 'import os\n"
	    "fd = os.open(\"/proc/sys/net/ipv4/ip_forward\", os.O_WRONLY)\n"
	    "try:\n    os.write(fd, b\"1\")\n    print(\"written\")\n"
	    "except OSError as e:\n    print(e.errno)'";
	char cmd[1024];
	struct testns a;

	ct_start(&a, CT_FLAGS & ~CLONE_NEWUSER, 0, NULL);
	snprintf(cmd, sizeof(cmd),
		 "setpriv --bounding-set -net_admin --inh-caps -net_admin %s; "
		 "cat /proc/sys/net/ipv4/ip_forward",
		 write_py);
	cr_assert_str_eq(ct_sh(&a, cmd, NULL), "1\n0", "EPERM, and the value stays");
	snprintf(cmd, sizeof(cmd), "%s; cat /proc/sys/net/ipv4/ip_forward", write_py);
	cr_assert_str_eq(ct_sh(&a, cmd, NULL), "written\n1", "with CAP_NET_ADMIN it is written");
	testns_stop(&a);
}

/* --max-sysctl-fds and --max-agent-fds bound what is kept; 0 sysctl fds keeps none. The
 * values stay the kernel's either way. */
Test(fs, kept_fds_stay_within_their_limits)
{
	static const char *const bounded[] = {"--max-sysctl-fds", "2", "--max-agent-fds", "1",
					      NULL};
	static const char *const none[] = {"--max-sysctl-fds", "0", NULL};
	static const char *const files[] = {"ip_default_ttl", "tcp_syncookies", "tcp_fin_timeout",
					    "ip_no_pmtu_disc"};
	struct test_daemon dd;
	struct testns a;
	char path[300], kpath[128], got[64], want[64];

	ct_start(&a, CT_FLAGS, 0, NULL);
	for (int run = 0; run < 2; run++) {
		cr_assert_eq(daemon_start(&dd, run == 0 ? bounded : none), 0);
		for (int round = 0; round < 2; round++)
			for (size_t i = 0; i < ELEMENTSOF(files); i++) {
				snprintf(kpath, sizeof(kpath), "/proc/sys/net/ipv4/%s", files[i]);
				daemon_path(&dd, kpath + 1, path, sizeof(path));
				cr_assert_eq(read_in_netns(a.pid, path, got, sizeof(got)), 0);
				cr_assert_eq(read_in_netns(a.pid, kpath, want, sizeof(want)), 0);
				cr_assert_str_eq(got, want, "%s", kpath);
			}
		if (run == 0) {
			cr_assert_leq(stat_counter_of(&dd, "sysctl_fds"), 2);
			cr_assert_gt(stat_counter_of(&dd, "sysctl_fds"), 0);
			cr_assert_leq(stat_counter_of(&dd, "cached_fds"),
				      stat_counter_of(&dd, "agents"), "more than 1 fd per agent");
		} else {
			cr_assert_eq(stat_counter_of(&dd, "sysctl_fds"), 0);
			cr_assert_eq(stat_counter_of(&dd, "sysctl_fast_opens"), 0);
		}
		cr_assert_eq(daemon_stop(&dd), 0);
	}
	testns_stop(&a);
}

/* The daemon's counters, for the host's root; containers are released with their init. */
Test(fs, counters_and_release_of_containers)
{
	char path[300], before[512], after[512], cmd[400];
	struct testns t[5];
	unsigned c0, a0, c1, a1, c2, a2;
	uint64_t f0;

	daemon_path(&d, ".procbox-stats", path, sizeof(path));
	cr_assert_eq(read_line(path, before, sizeof(before)), 0);
	cr_assert_eq(sscanf(strstr(before, "\"containers\""), "\"containers\": %u, \"agents\": %u",
			    &c0, &a0),
		     2, "%s", before);
	f0 = stat_counter("sysctl_fds");
	for (int k = 0; k < 5; k++) {
		ct_start(&t[k], CT_FLAGS, 0, NULL);
		cr_assert_str_eq(ct_sh(&t[k], "cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "64");
	}
	cr_assert_geq(stat_counter("sysctl_fds"), f0 + 5, "one kept fd per namespace");
	cr_assert_eq(read_line(path, after, sizeof(after)), 0);
	cr_assert_eq(
	    sscanf(strstr(after, "\"containers\""), "\"containers\": %u, \"agents\": %u", &c1, &a1),
	    2);
	cr_assert_geq(c1, c0 + 5, "%s", after);
	cr_assert_geq(a1, a0 + 5, "%s", after);
	/* not for containers, not even their root */
	snprintf(cmd, sizeof(cmd), "cat %s 2>&1", path);
	cr_assert(strstr(ct_sh(&t[0], cmd, NULL), "No such file"));
	for (int k = 0; k < 5; k++)
		testns_stop(&t[k]);
	/* the pidfd watch releases them (and their agents) promptly */
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(read_line(path, after, sizeof(after)), 0);
		sscanf(strstr(after, "\"containers\""), "\"containers\": %u, \"agents\": %u", &c2,
		       &a2);
		/* an agent leaves the counters at once; it is reaped right after */
		if (c2 <= c0 && a2 <= a0 && daemon_children(&d, NULL, 0) == (int)a2)
			break;
		usleep(20000);
	}
	cr_assert_leq(c2, c0, "containers left: %s", after);
	cr_assert_leq(a2, a0, "agents left: %s", after);
	cr_assert_leq(stat_counter("sysctl_fds"), f0, "kept sysctl fds left: %s", after);
	cr_assert_eq(daemon_children(&d, NULL, 0), (int)a2);
}

/* The kernel keeps one size for the one inode every container shares: a truncating open
 * and a short write in one container must not cut what readers that trust st_size
 * (busybox cat uses sendfile) read in another. */
Test(fs, writes_never_shrink_what_others_read)
{
	struct testns a, b;

	ct_start(&a, CT_FLAGS, 0, NULL);
	ct_start(&b, CT_FLAGS, 0, NULL);
	cr_assert_str_eq(ct_sh(&a,
			       "echo 9 > /proc/sys/net/ipv4/ip_default_ttl && busybox cat "
			       "/proc/sys/net/ipv4/ip_default_ttl",
			       NULL),
			 "9");
	cr_assert_str_eq(ct_sh(&b, "busybox cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "64");
	/* a failed write after a truncating open */
	ct_sh(&a, "echo -5 > /proc/sys/net/ipv4/ip_default_ttl", NULL);
	cr_assert_str_eq(ct_sh(&a, "busybox cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "9");
	cr_assert_str_eq(ct_sh(&b, "busybox cat /proc/sys/net/ipv4/ip_default_ttl", NULL), "64");
	cr_assert_str_eq(ct_sh(&b, "stat -c %s /proc/sys/net/ipv4/ip_default_ttl", NULL), "4096");
	testns_stop(&a);
	testns_stop(&b);
}
