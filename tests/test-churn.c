/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Container churn against the real daemon: N containers started, used (ten namespaced
 * sysctls read) and stopped, four at a time, while two others keep reading. Afterwards
 * the daemon holds what it held before: fds (each container's entry holds its init's
 * pidfd and cgroup fds, each agent a socket and a pidfd), children (agents) and memory.
 *
 * N is 50; PROCBOX_LONG=1 makes it 500.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile-lib.h"
#include "lib/daemon.h"
#include "lib/suite.h"
#include "lib/testns.h"
#include "util/macro.h"

static struct test_daemon d;
static char procsys[256];

static void setup(void)
{
	suite_setup(&d, NULL);
	daemon_path(&d, "proc/sys", procsys, sizeof(procsys));
}

static void teardown(void)
{
	suite_teardown(&d);
}

TestSuite(churn, .init = setup, .fini = teardown, .timeout = 1800);

/* Ten files that follow the container's namespaces, and what a fresh container reads. */
static const struct {
	const char *path, *want; /* NULL: any value */
} namespaced[] = {
    {"/proc/sys/net/ipv4/ip_default_ttl", "64"},
    {"/proc/sys/net/ipv4/ip_forward", "0"},
    {"/proc/sys/net/ipv4/tcp_keepalive_time", "7200"},
    {"/proc/sys/net/ipv4/conf/lo/forwarding", "0"},
    {"/proc/sys/net/ipv6/conf/lo/disable_ipv6", NULL},
    {"/proc/sys/net/core/somaxconn", NULL},
    {"/proc/sys/kernel/hostname", NULL},
    {"/proc/sys/kernel/shmmni", "4096"},
    {"/proc/sys/kernel/msgmax", "8192"},
    {"/proc/sys/user/max_user_namespaces", NULL},
};

/* Reads the ten once; returns how many did not read as expected, listed in out. */
static int do_use(const void *p, char *out, size_t outsz)
{
	int bad = 0;

	for (size_t i = 0; i < ELEMENTSOF(namespaced); i++) {
		char buf[256];
		int r = hct_read_file(namespaced[i].path, buf, sizeof(buf));

		if (r < 0 || (namespaced[i].want && strcmp(buf, namespaced[i].want) != 0)) {
			size_t len = strlen(out);

			snprintf(out + len, outsz - len, "%s: %s; ", namespaced[i].path,
				 r < 0 ? strerror(-r) : buf);
			bad++;
		}
	}
	return bad;
}

/* Reads the ten over and over until the fd in p polls readable; returns the failures. */
static int do_keep_reading(const void *p, char *out, size_t outsz)
{
	struct pollfd stop = {.fd = *(const int *)p, .events = POLLIN};
	int rounds = 0, bad = 0;

	while (poll(&stop, 1, 0) == 0) {
		bad += do_use(NULL, out, outsz) > 0;
		rounds++;
	}
	snprintf(out + strlen(out), outsz - strlen(out), "%d rounds", rounds);
	return bad;
}

/* Starts, uses and stops n containers one after the other; exits with the failures. */
_Noreturn static void churner(int first, int n)
{
	int bad = 0;

	for (int i = first; i < first + n; i++) {
		struct hct_opts o = {
		    .userns = i % 3 != 2, .pidns = true, .netns = true, .procsys = procsys};
		char out[4096];
		struct hct c;

		if (hct_start(&o, &c) < 0) {
			fprintf(stderr, "container %d did not start\n", i);
			bad++;
			continue;
		}
		if (hct_call(&c, 0, do_use, NULL, out, sizeof(out)) != 0) {
			fprintf(stderr, "container %d: %s\n", i, out);
			bad++;
		}
		hct_stop(&c);
	}
	_exit(bad > 255 ? 255 : bad);
}

static int churn(int n, int parallel)
{
	pid_t pids[16];
	int bad = 0;

	for (int k = 0; k < parallel; k++) {
		int first = n * k / parallel, count = n * (k + 1) / parallel - first;

		pids[k] = fork();
		cr_assert_geq(pids[k], 0);
		if (pids[k] == 0)
			churner(first, count);
	}
	for (int k = 0; k < parallel; k++) {
		int status;

		waitpid(pids[k], &status, 0);
		bad += WIFEXITED(status) ? WEXITSTATUS(status) : 1000;
	}
	return bad;
}

Test(churn, containers_come_and_go_and_the_daemon_returns_to_where_it_was)
{
	const char *e = getenv("PROCBOX_LONG");
	int n = e && *e && strcmp(e, "0") != 0 ? 500 : 50;
	int fds0, kids0, fds, kids, zombies, peak_fds = 0, peak_kids = 0, stop[2];
	long rss0, rss;
	struct hct bg[2];
	pid_t readers[2];
	int64_t t0;

	/* What the daemon keeps for good (worker threads, the host's entry, malloc's
	 * arenas) is taken by a first round. */
	cr_assert_eq(churn(12, 4), 0);
	hct_daemon_settle(&d, 0, 0, 5000, NULL, NULL);
	fds0 = hct_daemon_fds(&d);
	kids0 = hct_daemon_children(&d, NULL);
	rss0 = hct_daemon_rss_kib(&d);

	/* Two containers that keep reading throughout. */
	cr_assert_eq(pipe2(stop, O_CLOEXEC), 0);
	for (int i = 0; i < 2; i++) {
		struct hct_opts o = {
		    .userns = i == 0, .pidns = true, .netns = true, .procsys = procsys};
		int fd = stop[0];

		cr_assert_eq(hct_start(&o, &bg[i]), 0);
		readers[i] = fork();
		cr_assert_geq(readers[i], 0);
		if (readers[i] == 0) {
			char out[4096] = "";
			int r = hct_call(&bg[i], 0, do_keep_reading, &fd, out, sizeof(out));

			fprintf(stderr, "background reader %d: %s\n", i, out);
			_exit(r == 0 ? 0 : 1);
		}
	}

	t0 = hct_now_ms();
	{
		pid_t churners = fork();

		cr_assert_geq(churners, 0);
		if (churners == 0)
			_exit(churn(n, 4) == 0 ? 0 : 1);
		for (;;) {
			int status, f = hct_daemon_fds(&d), c = hct_daemon_children(&d, NULL);

			peak_fds = MAX(peak_fds, f);
			peak_kids = MAX(peak_kids, c);
			if (waitpid(churners, &status, WNOHANG) == churners) {
				cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
					  "some containers failed (see stderr)");
				break;
			}
			usleep(100 * 1000);
		}
	}
	t0 = hct_now_ms() - t0;

	cr_assert_eq(write(stop[1], "x", 1), 1);
	for (int i = 0; i < 2; i++) {
		int status;

		waitpid(readers[i], &status, 0);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "background reader %d saw wrong values", i);
		hct_stop(&bg[i]);
	}
	close(stop[0]);
	close(stop[1]);

	cr_expect(hct_daemon_settle(&d, fds0, kids0, 10000, &fds, &kids),
		  "after %d containers: %d fds (%d before), %d children (%d before)", n, fds, fds0,
		  kids, kids0);
	hct_daemon_children(&d, &zombies);
	cr_expect_eq(zombies, 0);
	rss = hct_daemon_rss_kib(&d);
#if !defined(__SANITIZE_ADDRESS__)
	/* malloc keeps some freed memory in its arenas; a leak grows with n (the sanitizer's
	 * quarantine holds freed memory on purpose: there LeakSanitizer does this check) */
	cr_expect_leq(rss, rss0 + 4096 + (long)n * 8, "RSS %ld KiB -> %ld KiB after %d containers",
		      rss0, rss, n);
#endif
	cr_log_info("%d containers in %.1f s (%.0f per second) beside 2 readers; daemon before: "
		    "%d fds, %d children, %ld KiB RSS; peak %d fds, %d children; after: %d fds, %d "
		    "children, %d zombies, %ld KiB RSS",
		    n, (double)t0 / 1000, n * 1000.0 / (double)MAX(t0, 1), fds0, kids0, rss0,
		    peak_fds, peak_kids, fds, kids, zombies, rss);
	suite_stop_cleanly(&d);
}
