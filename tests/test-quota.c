/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What one container may cost the daemon, and what it may change on the host: open files
 * and snapshot bytes are bounded per container (the container that hits its quota gets
 * EMFILE or ENOMEM, another one goes on being served), agents per container (credential
 * rotation in one container never stops another's agents), and writes of host-wide
 * limits (fs/file-max, nf_conntrack_max, hashsize) stay the container's own.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hostile-lib.h"
#include "lib/daemon.h"
#include "lib/suite.h"
#include "lib/testns.h"
#include "util/macro.h"

static struct test_daemon d;
static char procsys[256];

static void start(const char *const *args)
{
	suite_setup(&d, args);
	daemon_path(&d, "proc/sys", procsys, sizeof(procsys));
}

static void teardown(void)
{
	suite_teardown(&d);
}

TestSuite(quota, .fini = teardown, .timeout = 120);

static void ct_start(const char *file_src, const char *file_dst, struct hct *c)
{
	struct hct_opts o = {.userns = true, .pidns = true, .netns = true, .procsys = procsys};

	o.file_src = file_src;
	o.file_dst = file_dst;
	cr_assert_eq(hct_start(&o, c), 0, "container start");
}

/* ---- open files and snapshots ---- */

#define HOG_MAX 4096

struct hog {
	const char *path;
	bool read_each; /* read a byte of every file it opens (a snapshot each) */
	int report_fd;	/* gets {count, errno, failed in read} once the hog is stopped */
	int release_fd; /* a byte here lets it close its files */
};

/* Opens path until procbox refuses, holds the files until released, closes them and opens
 * once more: 0 if that last open and read succeed, else -errno. */
static int hog_fn(const void *arg, char *out, size_t outsz)
{
	const struct hog *h = arg;
	static int fds[HOG_MAX];
	int rep[3] = {0, 0, 0}, fd, n = 0;
	struct rlimit rl;
	char c;

	/* Its own fd limit must not be what stops it. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	while (n < HOG_MAX) {
		fd = open(h->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rep[1] = errno;
			break;
		}
		fds[n++] = fd;
		if (h->read_each && read(fd, &c, 1) != 1) {
			rep[1] = errno;
			rep[2] = 1;
			break;
		}
	}
	rep[0] = n;
	if (write(h->report_fd, rep, sizeof(rep)) != sizeof(rep) || read(h->release_fd, &c, 1) != 1)
		return -EIO;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	snprintf(out, outsz, "%d files", n);
	fd = open(h->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (read(fd, &c, 1) != 1) {
		int r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

struct hog_run {
	struct hct *c;
	struct hog h;
	int result;
	char out[128];
};

static void *hog_thread(void *arg)
{
	struct hog_run *run = arg;

	run->result = hct_call(run->c, 0, hog_fn, &run->h, run->out, sizeof(run->out));
	return NULL;
}

/* In another container: holds `hold` files of each path open at once and reads them. */
struct served {
	const char *paths[4];
	int hold;
};

static int served_fn(const void *arg, char *out, size_t outsz)
{
	const struct served *s = arg;
	int fds[64], n = 0, r = 0;
	char buf[64];

	for (int p = 0; p < 4 && s->paths[p] && r == 0; p++)
		for (int i = 0; i < s->hold && n < (int)ELEMENTSOF(fds); i++) {
			int fd = open(s->paths[p], O_RDONLY | O_CLOEXEC);

			if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0) {
				r = -errno;
				snprintf(out, outsz, "%s: %s", s->paths[p], strerror(errno));
				if (fd >= 0)
					close(fd);
				break;
			}
			fds[n++] = fd;
		}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return r;
}

/* Starts a hog in a, waits until procbox stopped it; returns with the report. */
static void hog_start(struct hog_run *run, pthread_t *t, int pipes[2][2], int rep[3])
{
	cr_assert_eq(pipe(pipes[0]), 0);
	cr_assert_eq(pipe(pipes[1]), 0);
	run->h.report_fd = pipes[0][1];
	run->h.release_fd = pipes[1][0];
	cr_assert_eq(pthread_create(t, NULL, hog_thread, run), 0);
	cr_assert_eq(read(pipes[0][0], rep, 3 * sizeof(int)), (ssize_t)(3 * sizeof(int)),
		     "the hog never reported");
}

static void hog_release(struct hog_run *run, pthread_t t, int pipes[2][2])
{
	cr_assert_eq(write(pipes[1][1], "x", 1), 1);
	pthread_join(t, NULL);
	for (int i = 0; i < 2; i++) {
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
	cr_assert_eq(run->result, 0,
		     "after closing its files the container is served again: %s (%s)",
		     strerror(-run->result), run->out);
}

Test(quota, a_container_at_its_open_file_quota_gets_emfile_and_others_are_served)
{
	static const char *const args[] = {"--max-files-per-container", "20", NULL};
	struct served others = {
	    .paths = {"/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/panic",
		      "/proc/sys/kernel/hostname"},
	    .hold = 5,
	};
	struct hog_run run = {0};
	int pipes[2][2], rep[3], r;
	struct hct a, b;
	char out[256];
	pthread_t t;

	start(args);
	ct_start(NULL, NULL, &a);
	ct_start(NULL, NULL, &b);
	run.c = &a;
	/* A namespaced sysctl: after the first, its opens are the fast ones, served from
	 * the caller's pid and a kept fd. */
	run.h.path = "/proc/sys/net/ipv4/ip_forward";
	hog_start(&run, &t, pipes, rep);
	cr_expect_eq(rep[1], EMFILE, "A is refused with %s, not EMFILE", strerror(rep[1]));
	cr_expect_eq(rep[0], 20, "A held %d files, its quota is 20", rep[0]);

	/* B, meanwhile: opens and reads succeed, also several files at once. */
	r = hct_call(&b, 0, served_fn, &others, out, sizeof(out));
	cr_expect_eq(r, 0, "B is not served while A is at its quota: %s", out);

	hog_release(&run, t, pipes);
	r = hct_call(&b, 0, served_fn, &others, out, sizeof(out));
	cr_expect_eq(r, 0, "B: %s", out);
	hct_stop(&a);
	hct_stop(&b);
	suite_stop_cleanly(&d);
}

/* Opens path until refused; returns the count, out gets the errno's name. */
static int count_opens_fn(const void *arg, char *out, size_t outsz)
{
	static int fds[HOG_MAX];
	int n = 0;

	while (n < HOG_MAX) {
		int fd = open(arg, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			snprintf(out, outsz, "%s", strerror(errno));
			break;
		}
		fds[n++] = fd;
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return n;
}

Test(quota, the_total_of_open_files_gets_enfile)
{
	static const char *const args[] = {"--max-files-per-container", "20", "--max-files", "30",
					   NULL};
	struct hog_run run = {0};
	int pipes[2][2], rep[3], r;
	struct hct a, b;
	char out[256];
	pthread_t t;

	start(args);
	ct_start(NULL, NULL, &a);
	ct_start(NULL, NULL, &b);
	run.c = &a;
	run.h.path = "/proc/sys/kernel/panic";
	hog_start(&run, &t, pipes, rep);
	cr_expect_eq(rep[0], 20);
	cr_expect_eq(rep[1], EMFILE, "A: %s", strerror(rep[1]));
	/* A holds 20 of the 30: B gets the other 10, then ENFILE, the total's errno. */
	r = hct_call(&b, 0, count_opens_fn, "/proc/sys/kernel/panic", out, sizeof(out));
	cr_expect_eq(r, 10, "B opened %d files", r);
	cr_expect_str_eq(out, strerror(ENFILE));
	hog_release(&run, t, pipes);
	r = hct_call(&b, 0, count_opens_fn, "/proc/sys/kernel/panic", out, sizeof(out));
	cr_expect_eq(r, 20, "B opened %d files once A let go", r);
	hct_stop(&a);
	hct_stop(&b);
	suite_stop_cleanly(&d);
}

Test(quota, a_container_at_its_snapshot_quota_gets_enomem_and_others_are_served)
{
	static const char *const args[] = {"--max-snapshot-mib-per-container", "1",
					   "--max-files-per-container", "100000", NULL};
	struct served others = {.paths = {"/proc/cpuinfo", "/proc/sys/kernel/panic"}, .hold = 8};
	char cpuinfo[256], text[65536], out[256];
	struct hog_run run = {0};
	int pipes[2][2], rep[3], r;
	size_t len;
	struct hct a, b;
	pthread_t t;
	FILE *f;

	start(args);
	daemon_path(&d, "proc/cpuinfo", cpuinfo, sizeof(cpuinfo));
	f = fopen(cpuinfo, "re");
	cr_assert(f);
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	cr_assert_gt(len, 0);
	/* Every open file keeps its own snapshot of the whole content. */
	if ((1u << 20) / len >= HOG_MAX - 16)
		cr_skip_test("procbox's cpuinfo (%zu bytes) is too short to fill 1 MiB", len);
	ct_start(cpuinfo, "/proc/cpuinfo", &a);
	ct_start(cpuinfo, "/proc/cpuinfo", &b);
	run.c = &a;
	run.h.path = "/proc/cpuinfo";
	run.h.read_each = true;
	hog_start(&run, &t, pipes, rep);
	cr_expect(rep[2] == 1 && rep[1] == ENOMEM,
		  "A is refused a snapshot with ENOMEM (got %s on %s, after %d files)",
		  strerror(rep[1]), rep[2] ? "read" : "open", rep[0]);
	cr_expect_leq((size_t)(rep[0] - 1) * len, (size_t)1 << 20,
		      "A kept %d snapshots of %zu bytes", rep[0] - 1, len);

	r = hct_call(&b, 0, served_fn, &others, out, sizeof(out));
	cr_expect_eq(r, 0, "B is not served while A is at its quota: %s", out);

	hog_release(&run, t, pipes);
	hct_stop(&a);
	hct_stop(&b);
	suite_stop_cleanly(&d);
}

/* ---- agents ---- */

/* Opens ip_forward for writing as uid (a permission probe, through an agent with that
 * uid's credentials: one agent per uid). */
static int probe_as_fn(const void *arg, char *out, size_t outsz)
{
	uid_t uid = *(const uid_t *)arg;
	int fd;

	if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int children_of(pid_t *pids, int max)
{
	return daemon_children(&d, pids, max);
}

static bool has(const pid_t *pids, int n, pid_t p)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == p)
			return true;
	return false;
}

Test(quota, credential_rotation_never_stops_another_containers_agents)
{
	static const char *const args[] = {"--max-agents", "4", "--max-agents-per-container", "2",
					   NULL};
	pid_t before[64], after_b[64], now[64], mine[64];
	int n0, nb, nn, n_mine = 0;
	struct hct a, b;
	char out[256];

	start(args);
	ct_start(NULL, NULL, &a);
	ct_start(NULL, NULL, &b);
	n0 = children_of(before, 64);
	/* B's root and one of its users: two agents, B's share. */
	for (uid_t uid = 0; uid < 2; uid++)
		hct_call(&b, 0, probe_as_fn, &uid, out, sizeof(out));
	nb = children_of(after_b, 64);
	for (int i = 0; i < nb; i++)
		if (!has(before, n0, after_b[i]))
			mine[n_mine++] = after_b[i];
	cr_assert_eq(n_mine, 2, "B has %d agents, expected 2", n_mine);

	/* A rotates through eight credentials. */
	for (uid_t uid = 0; uid < 8; uid++)
		hct_call(&a, 0, probe_as_fn, &uid, out, sizeof(out));
	nn = children_of(now, 64);
	for (int i = 0; i < n_mine; i++)
		cr_expect(has(now, nn, mine[i]), "B's agent %d was stopped by A's requests",
			  (int)mine[i]);
	cr_expect_leq(nn - n0, 4, "the daemon has %d agents, at most 4 allowed", nn - n0);
	hct_stop(&a);
	hct_stop(&b);
	suite_stop_cleanly(&d);
}

/* ---- host-wide limits ---- */

static const char *const host_limits[] = {
    "/proc/sys/fs/file-max",
    "/proc/sys/net/netfilter/nf_conntrack_max",
    "/sys/module/nf_conntrack/parameters/hashsize",
};
static char saved[ELEMENTSOF(host_limits)][64];

static void restore_host_limits(void)
{
	for (size_t i = 0; i < ELEMENTSOF(host_limits); i++)
		if (saved[i][0]) {
			char now[64];

			if (read_line(host_limits[i], now, sizeof(now)) == 0 &&
			    strcmp(now, saved[i]) != 0)
				(void)write_file(host_limits[i], saved[i]);
		}
	teardown();
}

struct raise {
	const char *path;
	char value[64];
};

static int raise_fn(const void *arg, char *out, size_t outsz)
{
	const struct raise *w = arg;
	ssize_t n = hct_write_file(w->path, w->value, strlen(w->value), 0);
	int r;

	if (n < 0)
		return (int)n;
	r = hct_read_file(w->path, out, outsz);
	return r < 0 ? r : 0;
}

Test(quota, host_wide_limits_written_in_a_container_stay_its_own, .fini = restore_host_limits)
{
	char hashsize[256];
	struct hct a;
	int tested = 0;

	start(NULL);
	/* nf_conntrack's files exist only where it is loaded or built in: this test does not
	 * load it, and checks what the host has. */
	for (size_t i = 0; i < ELEMENTSOF(host_limits); i++)
		if (read_line(host_limits[i], saved[i], sizeof(saved[i])) < 0)
			saved[i][0] = 0;
	daemon_path(&d, "sys/module/nf_conntrack/parameters/hashsize", hashsize, sizeof(hashsize));
	ct_start(saved[2][0] ? hashsize : NULL, saved[2][0] ? host_limits[2] : NULL, &a);
	for (size_t i = 0; i < ELEMENTSOF(host_limits); i++) {
		struct raise w = {.path = host_limits[i]};
		char out[256], now[64];
		int r;

		if (!saved[i][0]) {
			cr_log_info("%s: not on this host, not tested", host_limits[i]);
			continue;
		}
		/* Above the host's value: what the daemon used to raise the host's to. */
		snprintf(w.value, sizeof(w.value), "%lld\n", atoll(saved[i]) + 1024);
		r = hct_call(&a, 0, raise_fn, &w, out, sizeof(out));
		cr_expect_eq(r, 0, "%s: the container's write failed: %s", w.path, strerror(-r));
		cr_expect_eq(atoll(out), atoll(w.value),
			     "%s: the container reads back %s, wrote %s", w.path, out, w.value);
		cr_assert_eq(read_line(host_limits[i], now, sizeof(now)), 0);
		cr_expect_str_eq(now, saved[i], "%s: the host's value went from %s to %s", w.path,
				 saved[i], now);
		tested++;
	}
	cr_expect_gt(tested, 0);
	hct_stop(&a);
	suite_stop_cleanly(&d);
}

/* ---- one inode per path, shared by every container ---- */

struct locker {
	int report_fd, release_fd;
};

/* Takes a flock and a POSIX write lock on kernel/panic; reports {flock errno, fcntl errno,
 * the F_GETLK type seen}; holds them until released. */
static int lock_fn(const void *arg, char *out, size_t outsz)
{
	const struct locker *l = arg;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int rep[3] = {0, 0, 0}, fd;
	char c;

	fd = open("/proc/sys/kernel/panic", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rep[0] = flock(fd, LOCK_EX | LOCK_NB) < 0 ? errno : 0;
	rep[1] = fcntl(fd, F_SETLK, &fl) < 0 ? errno : 0;
	fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET};
	rep[2] = fcntl(fd, F_GETLK, &fl) < 0 ? -errno : fl.l_type;
	if (l->report_fd >= 0) {
		if (write(l->report_fd, rep, sizeof(rep)) != sizeof(rep) ||
		    read(l->release_fd, &c, 1) != 1)
			return -EIO;
	} else {
		snprintf(out, outsz, "%d %d %d", rep[0], rep[1], rep[2]);
	}
	close(fd);
	return 0;
}

static void *lock_thread(void *arg)
{
	struct hog_run *run = arg;
	struct locker l = {run->h.report_fd, run->h.release_fd};

	run->result = hct_call(run->c, 0, lock_fn, &l, run->out, sizeof(run->out));
	return NULL;
}

Test(quota, locks_never_reach_another_container)
{
	struct hog_run run = {0};
	struct locker mine = {-1, -1};
	int pipes[2][2], rep[3], r, b_flock, b_fcntl, b_getlk;
	struct hct a, b;
	char out[256];
	pthread_t t;

	start(NULL);
	ct_start(NULL, NULL, &a);
	ct_start(NULL, NULL, &b);
	run.c = &a;
	cr_assert_eq(pipe(pipes[0]), 0);
	cr_assert_eq(pipe(pipes[1]), 0);
	run.h.report_fd = pipes[0][1];
	run.h.release_fd = pipes[1][0];
	cr_assert_eq(pthread_create(&t, NULL, lock_thread, &run), 0);
	cr_assert_eq(read(pipes[0][0], rep, sizeof(rep)), (ssize_t)sizeof(rep));
	cr_log_info("A: flock %s, F_SETLK %s", strerror(rep[0]), strerror(rep[1]));

	/* While A holds whatever it was granted, B is neither blocked nor shown A's lock. */
	r = hct_call(&b, 0, lock_fn, &mine, out, sizeof(out));
	cr_assert_eq(r, 0, "B: %s", strerror(-r));
	cr_assert_eq(sscanf(out, "%d %d %d", &b_flock, &b_fcntl, &b_getlk), 3);
	cr_expect_neq(b_flock, EWOULDBLOCK, "A's flock blocks B");
	cr_expect(b_fcntl != EAGAIN && b_fcntl != EACCES, "A's POSIX lock blocks B");
	cr_expect_eq(b_getlk, F_UNLCK, "B's F_GETLK shows a lock (type %d)", b_getlk);
	/* A lock that would work in B but not across is no better: none is granted. */
	cr_expect_eq(rep[0], ENOLCK, "A was granted a flock");
	cr_expect_eq(rep[1], ENOLCK, "A was granted a POSIX lock");

	cr_assert_eq(write(pipes[1][1], "x", 1), 1);
	pthread_join(t, NULL);
	for (int i = 0; i < 2; i++) {
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
	cr_expect_eq(run.result, 0);
	hct_stop(&a);
	hct_stop(&b);
	suite_stop_cleanly(&d);
}
