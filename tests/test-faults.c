/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Faults against the real daemon: its children killed and stopped at random under load
 * from ten containers, and containers that exit in the middle of a request. Every
 * request must end (an answer or an error, never a hang), the daemon must keep serving,
 * and nothing may be left behind: no zombie, no fd, no child. Times are printed, never
 * judged: speed is bench/'s to measure.
 *
 * PROCBOX_LONG=1 runs the load for a minute instead of a few seconds.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostile-lib.h"
#include "lib/daemon.h"
#include "lib/suite.h"
#include "lib/testns.h"
#include "util/macro.h"

#define TIMEOUT_MS 500

/* A request waits at most one timeout for its child to be forked and one for the
 * answer, and is retried once with a fresh agent when its agent died under it: calls
 * slower than four timeouts are counted and printed (not judged). */
#define SLOW_CALL_MS (4 * TIMEOUT_MS)

static struct test_daemon d;
static char procsys[256];

static void setup(void)
{
	/* short timeouts so that stopped children cost the test little; idle agents go
	 * after a second, so that stopped idle ones are found and killed too */
	const char *args[] = {"--timeout", "500", "--agent-idle", "1", NULL};

	suite_setup(&d, args);
	daemon_path(&d, "proc/sys", procsys, sizeof(procsys));
}

static void teardown(void)
{
	if (d.pid > 0) {
		/* nothing of the daemon's may stay stopped, or it could not stop */
		pid_t kids[256];
		int n = daemon_children(&d, kids, 256);

		for (int i = 0; i < n && i < 256; i++)
			kill(kids[i], SIGCONT);
	}
	suite_teardown(&d);
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 300);

static bool long_run(void)
{
	const char *e = getenv("PROCBOX_LONG");
	return e && *e && strcmp(e, "0") != 0;
}

/* ---- the load, run inside each container ---- */

struct load_arg {
	int ms;
	unsigned seed;
};

struct op_stats {
	int ops, errors, max_ms, slow;
	int err_by_errno[256];
};

/* Times one system call, for the record; a slow one (beyond SLOW_CALL_MS) is counted. */
#define TIMED(st, expr)                                                                            \
	({                                                                                         \
		int64_t t0_ = hct_now_ms();                                                        \
		long r_ = (long)(expr);                                                            \
		int e_ = errno;                                                                    \
		int dt_ = (int)(hct_now_ms() - t0_);                                               \
		(st)->ops++;                                                                       \
		if (dt_ > (st)->max_ms)                                                            \
			(st)->max_ms = dt_;                                                        \
		if (dt_ > SLOW_CALL_MS)                                                            \
			(st)->slow++;                                                              \
		if (r_ < 0) {                                                                      \
			(st)->errors++;                                                            \
			(st)->err_by_errno[e_ < 256 ? e_ : 0]++;                                   \
		}                                                                                  \
		errno = e_;                                                                        \
		r_;                                                                                \
	})

static void one_read(struct op_stats *st, const char *path)
{
	char buf[256];
	int fd = TIMED(st, open(path, O_RDONLY | O_CLOEXEC));

	if (fd < 0)
		return;
	(void)TIMED(st, read(fd, buf, sizeof(buf)));
	close(fd);
}

static void one_write(struct op_stats *st, const char *path, const char *v)
{
	int fd = TIMED(st, open(path, O_WRONLY | O_CLOEXEC));

	if (fd < 0)
		return;
	(void)TIMED(st, write(fd, v, strlen(v)));
	close(fd);
}

static int do_load(const void *p, char *out, size_t outsz)
{
	static const char *const reads[] = {
	    "/proc/sys/net/ipv4/ip_default_ttl",
	    "/proc/sys/net/ipv4/tcp_keepalive_time",
	    "/proc/sys/kernel/panic",
	    "/proc/sys/kernel/hostname",
	    "/proc/sys/kernel/ns_last_pid",
	    "/proc/sys/net/core/somaxconn",
	    "/proc/sys/net/ipv4/ping_group_range",
	    "/proc/sys/kernel/shmmax",
	};
	const struct load_arg *a = p;
	unsigned short seed[3] = {(unsigned short)a->seed, (unsigned short)(a->seed >> 16), 7};
	int64_t end = hct_now_ms() + a->ms;
	struct op_stats st = {0};
	size_t len;

	while (hct_now_ms() < end) {
		long x = nrand48(seed);
		char v[32];

		switch (x % 4) {
		case 0:
		case 1:
			one_read(&st, reads[(x >> 3) % ELEMENTSOF(reads)]);
			break;
		case 2:
			snprintf(v, sizeof(v), "%ld\n", 100 + (x >> 4) % 10000);
			one_write(&st, "/proc/sys/net/ipv4/tcp_keepalive_time", v);
			break;
		default:
			snprintf(v, sizeof(v), "%ld\n", (x >> 4) % 100);
			one_write(&st, "/proc/sys/kernel/panic", v);
			break;
		}
	}
	len = (size_t)snprintf(out, outsz, "%d %d %d %d", st.ops, st.errors, st.max_ms, st.slow);
	for (int e = 0; e < 256 && len < outsz; e++)
		if (st.err_by_errno[e])
			len +=
			    (size_t)snprintf(out + len, outsz - len, " %s:%d",
					     e ? strerrorname_np(e) : "other", st.err_by_errno[e]);
	return 0;
}

static int do_read(const void *p, char *out, size_t outsz)
{
	int r = hct_read_file(p, out, outsz);

	if (r < 0)
		snprintf(out, outsz, "error %s", strerror(-r));
	return r < 0 ? r : 0;
}

/* ---- faults from outside ---- */

/* The daemon's children and their children (the one-shot children that forked into a
 * pid namespace). */
static int daemon_descendants(pid_t *pids, int max)
{
	int n = daemon_children(&d, pids, max);

	if (n > max)
		n = max;
	for (int i = 0, top = n; i < top && n < max; i++) {
		char path[64], buf[1024];

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pids[i], pids[i]);
		if (read_line(path, buf, sizeof(buf)) < 0)
			continue;
		for (char *s = strtok(buf, " "); s && n < max; s = strtok(NULL, " "))
			pids[n++] = atoi(s);
	}
	return n;
}

struct fault_stats {
	int killed, stopped;
};

/* Runs until *stop: every 10-60 ms, SIGKILL (3 in 4) or SIGSTOP (1 in 4) one of the
 * daemon's descendants, chosen at random. */
static void fault_loop(int ms, unsigned seed, struct fault_stats *fs)
{
	unsigned short s[3] = {(unsigned short)seed, 1, 2};
	int64_t end = hct_now_ms() + ms;

	while (hct_now_ms() < end) {
		pid_t pids[512];
		int n = daemon_descendants(pids, 512);

		if (n > 0) {
			long x = nrand48(s);
			pid_t victim = pids[x % n];

			if ((x >> 10) % 4 == 0) {
				if (kill(victim, SIGSTOP) == 0)
					fs->stopped++;
			} else if (kill(victim, SIGKILL) == 0) {
				fs->killed++;
			}
		}
		usleep((useconds_t)(10000 + nrand48(s) % 50000));
	}
}

static int zombies_now(void)
{
	int z = 0;

	hct_daemon_children(&d, &z);
	return z;
}

Test(faults, killed_and_stopped_children_under_load_from_ten_containers)
{
	enum { N = 10, WORKERS = 2 };
	int load_ms = long_run() ? 60000 : 6000;
	struct hct ct[N];
	pid_t runners[N * WORKERS];
	int fds0, fds, kids, zombies, ops = 0, errors = 0, max_ms = 0, slow = 0;
	struct fault_stats fs = {0};
	char errs[N * WORKERS][512];
	int pipes[N * WORKERS][2];

	/* Baseline after one container came and went (worker threads, the host's entry). */
	{
		struct hct_opts o = {
		    .userns = true, .pidns = true, .netns = true, .procsys = procsys};
		struct hct w;
		struct load_arg a = {.ms = 200, .seed = 1};
		char out[512];

		cr_assert_eq(hct_start(&o, &w), 0);
		cr_assert_eq(hct_call(&w, 0, do_load, &a, out, sizeof(out)), 0, "%s", out);
		hct_stop(&w);
		hct_daemon_settle(&d, 0, 0, 3000, NULL, NULL);
	}
	fds0 = hct_daemon_fds(&d);

	for (int i = 0; i < N; i++) {
		/* most user-namespaced, a few whose root is the host's uid 0 */
		struct hct_opts o = {
		    .userns = i % 4 != 3, .pidns = true, .netns = true, .procsys = procsys};

		cr_assert_eq(hct_start(&o, &ct[i]), 0);
	}
	for (int k = 0; k < N * WORKERS; k++) {
		cr_assert_eq(pipe(pipes[k]), 0);
		runners[k] = fork();
		cr_assert_geq(runners[k], 0);
		if (runners[k] == 0) {
			struct load_arg a = {.ms = load_ms, .seed = 1000u + (unsigned)k};
			char out[512];
			int r = hct_call(&ct[k / WORKERS], 0, do_load, &a, out, sizeof(out));

			if (r != 0)
				snprintf(out, sizeof(out), "0 0 0 0 helper:%d", r);
			(void)!write(pipes[k][1], out, strlen(out) + 1);
			_exit(0);
		}
		close(pipes[k][1]);
	}
	fault_loop(load_ms, 42, &fs);

	for (int k = 0; k < N * WORKERS; k++) {
		int o = 0, e = 0, m = 0, s = 0, status;
		ssize_t n;

		/* a worker runs load_ms plus at most one stuck call */
		n = read(pipes[k][0], errs[k], sizeof(errs[k]) - 1);
		errs[k][n > 0 ? n : 0] = 0;
		close(pipes[k][0]);
		waitpid(runners[k], &status, 0);
		cr_expect_eq(sscanf(errs[k], "%d %d %d %d", &o, &e, &m, &s), 4, "worker %d: %s", k,
			     errs[k]);
		ops += o, errors += e, slow += s;
		if (m > max_ms)
			max_ms = m;
	}
	/* Stopped children that were idle: a signal from us is what the container's
	 * processes could never send; they must still end (idle expiry, or the next
	 * request's timeout). */
	{
		pid_t pids[512];
		int n = daemon_descendants(pids, 512);

		for (int i = 0; i < n; i++)
			kill(pids[i], SIGCONT);
	}
	cr_log_info("%d ops from %d processes in %d containers, %d errors, slowest %d ms, "
		    "%d above %d ms; %d children killed, %d stopped",
		    ops, N * WORKERS, N, errors, max_ms, slow, SLOW_CALL_MS, fs.killed, fs.stopped);
	for (int k = 0; k < N * WORKERS; k++)
		cr_log_info("worker %d: %s", k, errs[k]);
	cr_expect_gt(ops, N * WORKERS * 10, "the load did not run");
	cr_expect_gt(fs.killed, 0);

	/* procbox keeps serving, every container alike */
	for (int i = 0; i < N; i++) {
		char out[256];

		cr_expect_eq(hct_call(&ct[i], 0, do_read, "/proc/sys/net/ipv4/ip_default_ttl", out,
				      sizeof(out)),
			     0, "container %d: %s", i, out);
		cr_expect_str_eq(out, "64");
	}
	for (int i = 0; i < N; i++)
		hct_stop(&ct[i]);

	cr_expect(hct_daemon_settle(&d, fds0, 0, 5000, &fds, &kids),
		  "left behind: %d fds (%d before), %d children", fds, fds0, kids);
	zombies = zombies_now();
	cr_expect_eq(zombies, 0);
	cr_log_info("afterwards: %d fds (%d before), %d children, %d zombies", fds, fds0, kids,
		    zombies);
	suite_stop_cleanly(&d);
}

/* ---- requests queued behind a stuck child ---- */

struct timed_arg {
	const char *path;
	int delay_ms;
};

/* "<ms> ms ok <content>" or "<ms> ms err <errno name>" for one open+read of path (the
 * time is for the record) */
static int do_timed_read(const void *p, char *out, size_t outsz)
{
	const struct timed_arg *a = p;
	char buf[256];
	int64_t t0;
	int r;

	usleep((useconds_t)a->delay_ms * 1000);
	t0 = hct_now_ms();
	r = hct_read_file(a->path, buf, sizeof(buf));
	snprintf(out, outsz, "%d ms %s %s", (int)(hct_now_ms() - t0), r < 0 ? "err" : "ok",
		 r < 0 ? strerrorname_np(-r) : buf);
	return 0;
}

/*
 * A stopped agent answers nothing: the request that waits on it ends at the timeout
 * (ETIMEDOUT), and every request queued behind it on the same agent goes to a fresh
 * agent and is answered, instead of waiting out a timeout of its own on the stopped one.
 */
Test(faults, requests_queued_on_a_stopped_agent_go_to_a_fresh_one)
{
	static const char *const warm[] = {
	    "/proc/sys/kernel/version", "/proc/sys/vm/overcommit_ratio", "/proc/sys/fs/inode-nr"};
	/* files never opened before: nothing cached answers them; what each reads when
	 * answered (ostype and osrelease are the host's in any container) */
	static const char *const paths[] = {"/proc/sys/kernel/ostype", "/proc/sys/vm/swappiness",
					    "/proc/sys/fs/file-nr", "/proc/sys/kernel/osrelease"};
	enum { READERS = 4 };
	struct hct_opts o = {.userns = true, .pidns = true, .netns = true, .procsys = procsys};
	pid_t kids[64], runners[READERS];
	int pipes[READERS][2], n, timed_out = 0;
	char out[READERS][256], want[256];
	struct hct c;

	cr_assert_eq(hct_start(&o, &c), 0);
	/* Folders every container has are entries the kernel keeps: looked up once here,
	 * the readers' first request is the open of a file of their own, each sent to the
	 * agent (a shared folder's lookup would rather be made once by the kernel for all
	 * of them). */
	for (size_t i = 0; i < ELEMENTSOF(warm); i++)
		cr_assert_eq(hct_call(&c, 0, do_read, warm[i], out[0], sizeof(out[0])), 0, "%s: %s",
			     warm[i], out[0]);
	n = daemon_children(&d, kids, 64);
	cr_assert_gt(n, 0);
	for (int i = 0; i < n && i < 64; i++)
		kill(kids[i], SIGSTOP);

	for (int k = 0; k < READERS; k++) {
		cr_assert_eq(pipe(pipes[k]), 0);
		runners[k] = fork();
		if (runners[k] == 0) {
			struct timed_arg a = {paths[k], 20 * k};
			char res[256] = "";

			(void)hct_call(&c, 0, do_timed_read, &a, res, sizeof(res));
			(void)!write(pipes[k][1], res, strlen(res) + 1);
			_exit(0);
		}
		close(pipes[k][1]);
	}
	/* Collected while the agent is still stopped: every answer came without it. */
	for (int k = 0; k < READERS; k++) {
		ssize_t r = read(pipes[k][0], out[k], sizeof(out[k]) - 1);

		out[k][r > 0 ? r : 0] = 0;
		close(pipes[k][0]);
		waitpid(runners[k], NULL, 0);
		cr_log_info("reader %d (%s): %s", k, paths[k], out[k]);
	}
	for (int i = 0; i < n && i < 64; i++)
		kill(kids[i], SIGCONT);

	for (int k = 0; k < READERS; k++) {
		const char *res = strstr(out[k], " ms ");

		cr_assert_not_null(res, "reader %d reported nothing", k);
		res += 4;
		if (strncmp(res, "err ", 4) == 0) {
			/* the one request the stopped agent held */
			cr_expect_str_eq(res, "err ETIMEDOUT", "reader %d", k);
			timed_out++;
			continue;
		}
		cr_expect_eq(strncmp(res, "ok ", 3), 0, "reader %d: %s", k, res);
		if (k == 0 || k == 3) {
			cr_assert_eq(read_line(paths[k], want, sizeof(want)), 0);
			cr_expect_str_eq(res + 3, want, "reader %d", k);
		} else {
			cr_expect_neq(res[3], 0, "reader %d read nothing", k);
		}
	}
	cr_expect_leq(
	    timed_out, 1,
	    "%d requests timed out: the ones queued behind the stopped agent waited on it",
	    timed_out);
	/* and the container is served again */
	cr_assert_eq(
	    hct_call(&c, 0, do_read, "/proc/sys/net/ipv4/ip_default_ttl", out[0], sizeof(out[0])),
	    0);
	cr_assert_str_eq(out[0], "64");
	hct_stop(&c);
	suite_stop_cleanly(&d);
}

/*
 * A container that exits while its request waits on a stopped agent: its processes can
 * only go once the daemon answers (a FUSE request already read by the daemon is waited
 * for even by a killed task), so the daemon must answer it without the agent (at its
 * timeout), and the container be gone while the agent is still stopped, leaving nothing
 * behind. A daemon that held the request would hold the container for ever: the suite's
 * timeout turns that into a failure.
 */
Test(faults, a_container_exiting_mid_request_is_not_held)
{
	struct hct_opts o = {.userns = true, .pidns = true, .netns = true, .procsys = procsys};
	pid_t kids[64], runner;
	int fds0, n, status, fds, nkids, p[2];
	int64_t t_kill, t_gone, t_runner;
	char out[256];
	struct hct c;

	cr_assert_eq(hct_start(&o, &c), 0);
	cr_assert_eq(hct_call(&c, 0, do_read, "/proc/sys/kernel/version", out, sizeof(out)), 0);
	fds0 = hct_daemon_fds(&d);
	n = daemon_children(&d, kids, 64);
	cr_assert_gt(n, 0);
	for (int i = 0; i < n && i < 64; i++)
		kill(kids[i], SIGSTOP);

	cr_assert_eq(pipe(p), 0);
	runner = fork();
	cr_assert_geq(runner, 0);
	if (runner == 0) {
		struct timed_arg a = {"/proc/sys/kernel/ostype", 0};

		(void)hct_call(&c, 0, do_timed_read, &a, out, sizeof(out));
		(void)!write(p[1], "x", 1);
		_exit(0);
	}
	close(p[1]);
	usleep(150 * 1000); /* the request is in the daemon, waiting on the stopped agent */
	t_kill = hct_now_ms();
	hct_stop(&c);
	t_gone = hct_now_ms();
	(void)!read(p[0], out, 1);
	close(p[0]);
	waitpid(runner, &status, 0);
	t_runner = hct_now_ms();
	cr_log_info("container killed mid-request: gone after %d ms, its reader after %d ms",
		    (int)(t_gone - t_kill), (int)(t_runner - t_kill));
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader did not end");

	for (int i = 0; i < n && i < 64; i++)
		kill(kids[i], SIGCONT);
	cr_expect(hct_daemon_settle(&d, fds0, 0, 5000, &fds, &nkids),
		  "left behind: %d fds (%d before), %d children", fds, fds0, nkids);
	cr_expect_eq(zombies_now(), 0);
	suite_stop_cleanly(&d);
}
