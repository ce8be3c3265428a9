/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The emulated files, end to end: the real procbox binary on a temporary mountpoint, and
 * containers made of fresh namespaces with the mount's proc/sys bound over /proc/sys.
 *
 * A container here runs its commands as children of its init, as a real container does:
 * procbox takes a container's init to be the oldest ancestor of its first caller, and
 * keeps the container's values for that process's life.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/daemon.h"
#include "lib/suite.h"
#include "lib/testns.h"
#include "util/macro.h"

#define ROOT_MAP "0 100000 65536"
#define USER 1000 /* a non-root user inside every container */

/* Copies what fits of src. */
static void scopy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* ---- the daemon ---- */

static struct test_daemon d;

static void start_daemon(void)
{
	/* PROCBOX_TEST_DEBUG=1 logs every request into the log next to the mount. */
	const char *debug[] = {"-d", NULL};

	suite_setup(&d, getenv("PROCBOX_TEST_DEBUG") ? debug : NULL);
}

/* Host values a test raised, restored whatever the test's outcome. */
static struct {
	char path[160];
	char value[128];
} saved[16];
static int n_saved;

static void save_host(const char *kpath)
{
	cr_assert_lt(n_saved, 16);
	scopy(saved[n_saved].path, sizeof(saved[0].path), kpath);
	cr_assert_eq(read_line(kpath, saved[n_saved].value, sizeof(saved[0].value)), 0);
	n_saved++;
}

static void restore_host(void)
{
	while (n_saved > 0) {
		n_saved--;
		write_file(saved[n_saved].path, saved[n_saved].value);
	}
}

static void teardown(void)
{
	restore_host();
	suite_teardown(&d);
	if (!getenv("PROCBOX_TEST_DEBUG"))
		unlink(d.log);
}

TestSuite(emulated, .fini = teardown, .timeout = 240);

/* ---- containers ---- */

struct box {
	pid_t init;
	int req, resp;
};

struct box_opts {
	bool userns;
	bool netns;
	const char *gid_map; /* default ROOT_MAP */
};

static const struct box_opts variants[] = {
    {.userns = true, .netns = true},
    {.userns = false, .netns = true},
};

static const char *variant_name(const struct box_opts *o)
{
	return o->userns ? "user-namespaced" : "without user namespace";
}

static int xread(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		got += (size_t)r;
	}
	return 0;
}

static int xwrite(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n) == (ssize_t)n ? 0 : -EIO;
}

struct box_req {
	uid_t uid;
	gid_t gid;
	uint32_t len;
};

/* The init: runs each command as its child, sends back exit status and stdout. */
_Noreturn static void box_serve(int req, int resp)
{
	static char out[65536];
	char cmd[4096];

	for (;;) {
		struct box_req h;
		uint32_t len = 0;
		int32_t status;
		int pfd[2], st;
		pid_t p;

		if (xread(req, &h, sizeof(h)) < 0)
			_exit(0);
		if (h.len >= sizeof(cmd) || xread(req, cmd, h.len) < 0)
			_exit(1);
		cmd[h.len] = 0;
		if (pipe2(pfd, O_CLOEXEC) < 0)
			_exit(1);
		p = fork();
		if (p == 0) {
			dup2(pfd[1], 1);
			if (h.uid || h.gid) {
				if (setgroups(0, NULL) < 0 || setresgid(h.gid, h.gid, h.gid) < 0 ||
				    setresuid(h.uid, h.uid, h.uid) < 0)
					_exit(126);
			}
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		close(pfd[1]);
		for (;;) {
			ssize_t n = read(pfd[0], out + len, sizeof(out) - 1 - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (uint32_t)n;
			if (len == sizeof(out) - 1)
				break;
		}
		close(pfd[0]);
		while (waitpid(p, &st, 0) < 0 && errno == EINTR)
			;
		status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (xwrite(resp, &status, sizeof(status)) < 0 ||
		    xwrite(resp, &len, sizeof(len)) < 0 || xwrite(resp, out, len) < 0)
			_exit(1);
	}
}

static void box_start(const struct box_opts *o, struct box *b)
{
	int req[2], resp[2], up[2], down[2];
	char c = 0;
	pid_t pid;

	cr_assert_eq(pipe2(req, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(resp, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(up, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(down, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int flags =
		    CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (o->netns ? CLONE_NEWNET : 0);
		char src[192];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The user namespace first and mapped, then the others, as runc does: a netns
		 * made before the map exists gives its devices' sysfs files to the host's root. */
		if (o->userns) {
			if (unshare(CLONE_NEWUSER) < 0)
				_exit(10);
			if (xwrite(up[1], "u", 1) < 0 || xread(down[0], &c, 1) < 0)
				_exit(11);
			if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
				_exit(12);
		}
		if (unshare(flags) < 0)
			_exit(10);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(13);
		snprintf(src, sizeof(src), "%s/proc/sys", d.mnt);
		if (mount(src, "/proc/sys", NULL, MS_BIND, NULL) < 0)
			_exit(14);
		snprintf(src, sizeof(src), "%s/proc/uptime", d.mnt);
		if (mount(src, "/proc/uptime", NULL, MS_BIND, NULL) < 0)
			_exit(15);
		if (xwrite(up[1], "r", 1) < 0)
			_exit(16);
		box_serve(req[0], resp[1]);
	}
	close(req[0]);
	close(resp[1]);
	close(up[1]);
	close(down[0]);
	if (o->userns) {
		char path[64];

		cr_assert_eq(xread(up[0], &c, 1), 0);
		snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
		cr_assert_eq(write_file(path, ROOT_MAP), 0);
		snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
		cr_assert_eq(write_file(path, o->gid_map ? o->gid_map : ROOT_MAP), 0);
		cr_assert_eq(xwrite(down[1], "g", 1), 0);
	}
	cr_assert_eq(xread(up[0], &c, 1), 0, "the container's init failed to start");
	cr_assert_eq(c, 'r');
	close(up[0]);
	close(down[1]);
	*b = (struct box){.init = pid, .req = req[1], .resp = resp[0]};
}

static void box_stop(struct box *b)
{
	if (b->init <= 0)
		return;
	close(b->req);
	close(b->resp);
	kill(b->init, SIGKILL);
	while (waitpid(b->init, NULL, 0) < 0 && errno == EINTR)
		;
	b->init = 0;
}

/* Runs cmd inside as uid (gid the same); stdout into out, trailing newlines cut. */
static int box_sh(const struct box *b, uid_t uid, const char *cmd, char *out, size_t size)
{
	struct box_req h = {.uid = uid, .gid = uid, .len = (uint32_t)strlen(cmd)};
	static char buf[65536];
	int32_t status;
	uint32_t len;

	cr_assert_eq(xwrite(b->req, &h, sizeof(h)), 0);
	cr_assert_eq(xwrite(b->req, cmd, h.len), 0);
	cr_assert_eq(xread(b->resp, &status, sizeof(status)), 0);
	cr_assert_eq(xread(b->resp, &len, sizeof(len)), 0);
	cr_assert_lt(len, sizeof(buf));
	cr_assert_eq(xread(b->resp, buf, len), 0);
	buf[len] = 0;
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = 0;
	if (out)
		scopy(out, size, buf);
	return status;
}

/* Where a container finds a file of the mount: proc/sys is bound over /proc/sys. */
static void box_path(const char *rel, char *buf, size_t size)
{
	if (strncmp(rel, "proc/sys/", 9) == 0)
		snprintf(buf, size, "/%s", rel);
	else
		snprintf(buf, size, "%s/%s", d.mnt, rel);
}

/* The file's content as the container reads it; "E<errno text>" if cat fails. */
static const char *box_read(const struct box *b, uid_t uid, const char *rel)
{
	static char out[4096];
	char path[256], cmd[512];

	box_path(rel, path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "cat %s 2>&1", path);
	if (box_sh(b, uid, cmd, out, sizeof(out)) != 0) {
		memmove(out + 1, out, strlen(out) + 1);
		out[0] = 'E';
	}
	return out;
}

/* The negative errno of a failed write (or open), from the shell's or coreutils' message. */
static int errno_of_message(const char *what, const char *out)
{
	cr_log_info("%s: %s", what, out);
	if (strstr(out, "Invalid argument"))
		return -EINVAL;
	if (strstr(out, "Permission denied"))
		return -EACCES;
	if (strstr(out, "Operation not permitted"))
		return -EPERM;
	cr_log_warn("%s: %s", what, out);
	return -EIO;
}

/* 0 or the negative errno the write (or the open) failed with; the shell that writes runs
 * under wrap (a command prefix such as setpriv, or ""). */
static int box_write_wrapped(const struct box *b, uid_t uid, const char *wrap, const char *rel,
			     const char *value)
{
	char path[256], cmd[768], out[1024], what[512];
	int st;

	box_path(rel, path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "%s sh -c \"{ /usr/bin/printf '%%s\\n' '%s' > %s; } 2>&1\"",
		 wrap, value, path);
	st = box_sh(b, uid, cmd, out, sizeof(out));
	if (st == 0)
		return 0;
	snprintf(what, sizeof(what), "write of '%s' to %s", value, rel);
	return errno_of_message(what, out);
}

static int box_write(const struct box *b, uid_t uid, const char *rel, const char *value)
{
	return box_write_wrapped(b, uid, "", rel, value);
}

/* The kernel's value in the container's network namespace (as the host's root sees it). */
static const char *netns_read(const struct box *b, const char *rel)
{
	static char out[256];
	char cmd[512];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nsenter -t %d -n cat /%s", b->init, rel);
	f = popen(cmd, "re");
	cr_assert_not_null(f);
	if (!fgets(out, sizeof(out), f))
		out[0] = 0;
	pclose(f);
	out[strcspn(out, "\n")] = 0;
	return out;
}

static const char *host_read(const char *rel)
{
	static char out[256];
	char path[256];

	snprintf(path, sizeof(path), "/%s", rel);
	if (read_line(path, out, sizeof(out)) < 0)
		return NULL;
	return out;
}

/* ---- per-container values ---- */

struct value_row {
	const char *rel;
	const char *write[2]; /* two valid values: the one unlike the host's is used */
	const char *expect[2];
	const char *invalid;
};

static const struct value_row value_rows[] = {
    {"proc/sys/kernel/panic", {"7", "8"}, {"7", "8"}, "7x"},
    {"proc/sys/kernel/panic_on_oops", {"1", "0"}, {"1", "0"}, "2147483648"},
    {"proc/sys/kernel/printk", {"3 4 1 7", "5 4 1 7"}, {"3\t4\t1\t7", "5\t4\t1\t7"}, "1 2 3 4 5"},
    {"proc/sys/kernel/kptr_restrict", {"2", "1"}, {"2", "1"}, "3"},
    {"proc/sys/kernel/dmesg_restrict", {"0", "1"}, {"0", "1"}, "2"},
    {"proc/sys/kernel/sysrq", {"16", "0"}, {"16", "0"}, "512"},
    {"proc/sys/kernel/yama/ptrace_scope", {"2", "3"}, {"2", "3"}, "4"},
    {"proc/sys/fs/protected_hardlinks", {"0", "1"}, {"0", "1"}, "2"},
    {"proc/sys/fs/protected_symlinks", {"1", "0"}, {"1", "0"}, "-1"},
    {"proc/sys/vm/overcommit_memory", {"2", "1"}, {"2", "1"}, "3"},
    {"proc/sys/vm/mmap_min_addr", {"65536", "32768"}, {"65536", "32768"}, "-1"},
};

Test(emulated, per_container_values)
{
	start_daemon();
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		struct box a, b;

		box_start(&variants[v], &a);
		box_start(&variants[v], &b);
		for (size_t i = 0; i < ELEMENTSOF(value_rows); i++) {
			const struct value_row *row = &value_rows[i];
			const char *h = host_read(row->rel);
			char host[128], w[64];
			int k;

			if (!h) {
				/* The host's kernel lacks it (no CONFIG_MAGIC_SYSRQ, no Yama):
				 * the container must not see it either. */
				cr_expect(strstr(box_read(&a, 0, row->rel), "No such file"),
					  "%s is listed without a kernel file", row->rel);
				continue;
			}
			scopy(host, sizeof(host), h);
			k = strcmp(row->expect[0], host) == 0 ? 1 : 0;
			scopy(w, sizeof(w), row->expect[k]);

			cr_expect_str_eq(box_read(&a, 0, row->rel), host, "%s (%s): first read",
					 row->rel, variant_name(&variants[v]));
			cr_expect_eq(box_write(&a, 0, row->rel, row->write[k]), 0,
				     "%s: valid write", row->rel);
			cr_expect_str_eq(box_read(&a, 0, row->rel), w, "%s: read back", row->rel);
			cr_expect_str_eq(box_read(&a, USER, row->rel), w, "%s: read back by a user",
					 row->rel);
			if (h)
				cr_expect_str_eq(host_read(row->rel), host, "%s: the host changed",
						 row->rel);
			cr_expect_str_eq(box_read(&b, 0, row->rel), host,
					 "%s: another container sees the write", row->rel);

			cr_expect_eq(box_write(&a, 0, row->rel, row->invalid), -EINVAL,
				     "%s: '%s' accepted", row->rel, row->invalid);
			cr_expect_str_eq(box_read(&a, 0, row->rel), w, "%s: changed by a bad write",
					 row->rel);
			cr_expect_eq(box_write(&a, USER, row->rel, row->write[1 - k]), -EACCES,
				     "%s: a user wrote", row->rel);
			cr_expect_str_eq(box_read(&a, 0, row->rel), w, "%s: changed by a user",
					 row->rel);
		}
		/* fewer fields than the entry has set those alone, as in the kernel */
		cr_expect_eq(box_write(&a, 0, "proc/sys/kernel/printk", "2"), 0);
		cr_expect_str_eq(box_read(&a, 0, "proc/sys/kernel/printk"), "2\t4\t1\t7");
		box_stop(&a);
		box_stop(&b);
	}
}

Test(emulated, read_only_host_values)
{
	static const char *const rows[] = {"proc/sys/kernel/cap_last_cap",
					   "proc/sys/kernel/ngroups_max"};

	start_daemon();
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		struct box a;

		box_start(&variants[v], &a);
		for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
			char host[64];

			scopy(host, sizeof(host), host_read(rows[i]));
			cr_expect_str_eq(box_read(&a, 0, rows[i]), host);
			cr_expect_str_eq(box_read(&a, USER, rows[i]), host);
			cr_expect_eq(box_write(&a, 0, rows[i], "1"), -EACCES, "%s (%s)", rows[i],
				     variant_name(&variants[v]));
			cr_expect_eq(box_write(&a, USER, rows[i], "1"), -EACCES);
			cr_expect_str_eq(box_read(&a, 0, rows[i]), host);
		}
		box_stop(&a);
	}
}

Test(emulated, random_uuid)
{
	regex_t re;

	start_daemon();
	cr_assert_eq(
	    regcomp(&re, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
		    REG_EXTENDED | REG_NOSUB),
	    0);
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		char out[1024], *save = NULL;
		char seen[10][40];
		int n = 0;
		struct box a;

		box_start(&variants[v], &a);
		cr_assert_eq(box_sh(&a, USER,
				    "for i in 1 2 3 4 5 6 7 8 9 10; do "
				    "cat /proc/sys/kernel/random/uuid; done",
				    out, sizeof(out)),
			     0);
		for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			cr_assert_lt(n, 10);
			cr_expect_eq(regexec(&re, l, 0, NULL, 0), 0, "not a v4 uuid: '%s'", l);
			for (int j = 0; j < n; j++)
				cr_expect_str_neq(seen[j], l, "uuid repeated");
			scopy(seen[n++], sizeof(seen[0]), l);
		}
		cr_expect_eq(n, 10);
		cr_expect_eq(box_write(&a, 0, "proc/sys/kernel/random/uuid", "x"), -EPERM);
		cr_expect_eq(box_write(&a, USER, "proc/sys/kernel/random/uuid", "x"), -EACCES);
		box_stop(&a);
	}
	regfree(&re);
}

/* ---- limits: per container, the kernel's value never changed ---- */

struct raise_row {
	const char *rel;
	long long step;
	const char *invalid;
};

static const struct raise_row raise_rows[] = {
    {"proc/sys/fs/file-max", 1000, "-1"},
    {"proc/sys/fs/nr_open", 64, "63"},
    {"proc/sys/net/netfilter/nf_conntrack_max", 1000, "-1"},
    {"sys/module/nf_conntrack/parameters/hashsize", 1024, "0"},
};

static long long to_ll(const char *s)
{
	cr_assert_not_null(s);
	return strtoll(s, NULL, 10);
}

static bool is_conntrack(const struct raise_row *row)
{
	return strstr(row->rel, "nf_conntrack") != NULL;
}

/* The raise_rows whose is_conntrack() is conntrack. */
static void limits_stay_per_container(bool conntrack)
{
	start_daemon();
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		struct box a, b;

		box_start(&variants[v], &a);
		box_start(&variants[v], &b);
		for (size_t i = 0; i < ELEMENTSOF(raise_rows); i++) {
			const struct raise_row *row = &raise_rows[i];
			const char *name = variant_name(&variants[v]);
			char kpath[192], lower[32], higher[32], hostv[64], kern[64];
			long long base;

			if (is_conntrack(row) != conntrack)
				continue;
			if (!host_read(row->rel)) {
				cr_log_warn("%s: not on this host, skipped", row->rel);
				continue;
			}
			snprintf(kpath, sizeof(kpath), "/%s", row->rel);
			scopy(hostv, sizeof(hostv), host_read(row->rel));
			/* the kernel's value the container starts from */
			snprintf(kern, sizeof(kern), "%s", hostv);
			base = to_ll(kern);
			snprintf(lower, sizeof(lower), "%lld", base - 1);
			snprintf(higher, sizeof(higher), "%lld", base + row->step);
			save_host(kpath);

			cr_expect_str_eq(box_read(&a, 0, row->rel), kern, "%s (%s): first read",
					 row->rel, name);
			cr_expect_str_eq(box_read(&b, 0, row->rel), hostv);

			/* lower: the container reads it back, the kernel is not lowered */
			cr_expect_eq(box_write(&a, 0, row->rel, lower), 0, "%s: lower", row->rel);
			cr_expect_str_eq(box_read(&a, 0, row->rel), lower, "%s", row->rel);
			cr_expect_str_eq(host_read(row->rel), hostv, "%s: host lowered", row->rel);

			/* higher: the container reads it back, the kernel is not raised */
			cr_expect_eq(box_write(&a, 0, row->rel, higher), 0, "%s: higher", row->rel);
			cr_expect_str_eq(box_read(&a, 0, row->rel), higher, "%s", row->rel);
			cr_expect_str_eq(host_read(row->rel), hostv, "%s: host raised", row->rel);
			/* the other container keeps the value it was seeded with */
			cr_expect_str_eq(box_read(&b, 0, row->rel), hostv,
					 "%s: another container sees the raise", row->rel);

			cr_expect_eq(box_write(&a, 0, row->rel, row->invalid), -EINVAL,
				     "%s: '%s' accepted", row->rel, row->invalid);
			cr_expect_str_eq(box_read(&a, 0, row->rel), higher, "%s", row->rel);
			cr_expect_eq(box_write(&a, USER, row->rel, lower), -EACCES,
				     "%s: user write", row->rel);
			restore_host();
		}
		box_stop(&a);
		box_stop(&b);
	}
}

Test(emulated, limits_stay_per_container)
{
	limits_stay_per_container(false);
}

/* Only where the host's kernel has nf_conntrack (loaded or built in): the test loads no
 * module, since that would change the host for everyone after it. A host without it
 * reports the test as skipped rather than passed. */
Test(emulated, limits_stay_per_container_nf_conntrack)
{
	if (access("/proc/sys/net/netfilter/nf_conntrack_max", F_OK) < 0)
		cr_skip_test("no nf_conntrack on this host's kernel (not loaded)");
	limits_stay_per_container(true);
}

/* ---- keys this kernel keeps per network namespace ---- */

static const char *const netns_keys[] = {
    "proc/sys/net/core/somaxconn",
    "proc/sys/net/unix/max_dgram_qlen",
    "proc/sys/net/netfilter/nf_conntrack_generic_timeout",
    "proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established",
    "proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait",
};

/* Emulated on kernels that keep them host-wide; this one (6.x) keeps them per netns, so a
 * container's value is its netns's, lowered as well as raised, and never the host's. */
Test(emulated, netns_keys_pass_through)
{
	start_daemon();
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		struct box a, b;

		box_start(&variants[v], &a);
		box_start(&variants[v], &b);
		for (size_t i = 0; i < ELEMENTSOF(netns_keys); i++) {
			const char *rel = netns_keys[i], *name = variant_name(&variants[v]);
			char hostv[64], kern[64], lower[32];

			if (!host_read(rel)) {
				cr_log_warn("%s: not on this host, skipped", rel);
				continue;
			}
			scopy(hostv, sizeof(hostv), host_read(rel));
			scopy(kern, sizeof(kern), netns_read(&a, rel));
			snprintf(lower, sizeof(lower), "%lld", to_ll(kern) - 1);
			cr_expect_str_eq(box_read(&a, 0, rel), kern, "%s (%s): first read", rel,
					 name);
			cr_expect_eq(box_write(&a, 0, rel, lower), 0, "%s (%s): lower", rel, name);
			cr_expect_str_eq(netns_read(&a, rel), lower, "%s (%s): the netns keeps %s",
					 rel, name, kern);
			cr_expect_str_eq(box_read(&a, 0, rel), lower, "%s", rel);
			cr_expect_str_eq(box_read(&b, 0, rel), netns_read(&b, rel),
					 "%s: another container", rel);
			cr_expect_str_eq(host_read(rel), hostv, "%s: the host's changed", rel);
			cr_expect_eq(box_write(&a, USER, rel, kern), -EACCES, "%s: user write",
				     rel);
			cr_expect_eq(box_write(&a, 0, rel, kern), 0, "%s: back", rel);
		}
		box_stop(&a);
		box_stop(&b);
	}
}

/* somaxconn in a container that shares the host's netns: the host's value, which the
 * container may not change. */
Test(emulated, netns_key_in_host_netns)
{
	static const struct box_opts shared = {.userns = true, .netns = false};
	const char *rel = "proc/sys/net/core/somaxconn";
	char hostv[32], lower[32];
	struct box a;

	start_daemon();
	scopy(hostv, sizeof(hostv), host_read(rel));
	snprintf(lower, sizeof(lower), "%lld", to_ll(hostv) - 7);
	save_host("/proc/sys/net/core/somaxconn");
	box_start(&shared, &a);
	cr_expect_str_eq(box_read(&a, 0, rel), hostv);
	cr_expect_neq(box_write(&a, 0, rel, lower), 0);
	cr_expect_str_eq(host_read(rel), hostv);
	box_stop(&a);
	restore_host();
}

/* ---- ping_group_range ---- */

/* A gid map in two pieces: the range applied lies in one of them, never from one to the
 * other, whose host gids between belong to others. */
Test(emulated, ping_group_range_within_one_extent)
{
	static const struct box_opts split = {
	    .userns = true, .netns = true, .gid_map = "0 100000 10\n10 200000 1000\n"};
	const char *rel = "proc/sys/net/ipv4/ping_group_range";
	struct box a;

	start_daemon();
	box_start(&split, &a);
	cr_expect_eq(box_write(&a, 0, rel, "0 2147483647"), 0);
	cr_expect_str_eq(box_read(&a, 0, rel), "0\t2147483647");
	cr_expect_str_eq(netns_read(&a, rel), "200000\t200999");
	/* 5..9 in the first piece, 10..15 in the second: the larger part */
	cr_expect_eq(box_write(&a, 0, rel, "5 15"), 0);
	cr_expect_str_eq(netns_read(&a, rel), "200000\t200005");
	cr_expect_eq(box_write(&a, 0, rel, "2 8"), 0);
	cr_expect_str_eq(netns_read(&a, rel), "100002\t100008");
	box_stop(&a);
}

Test(emulated, ping_group_range)
{
	const char *rel = "proc/sys/net/ipv4/ping_group_range";
	char hostv[64];

	start_daemon();
	scopy(hostv, sizeof(hostv), host_read(rel));
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		bool userns = variants[v].userns;
		char first[64], cmd[256], kview[64];
		struct box a, b;
		FILE *f;

		box_start(&variants[v], &a);
		box_start(&variants[v], &b);
		/* what the kernel shows inside, without procbox */
		snprintf(cmd, sizeof(cmd), "nsenter -t %d -n %s cat /%s", a.init,
			 userns ? "-U" : "", rel);
		f = popen(cmd, "re");
		cr_assert_not_null(f);
		cr_assert_not_null(fgets(kview, sizeof(kview), f));
		pclose(f);
		kview[strcspn(kview, "\n")] = 0;
		scopy(first, sizeof(first), box_read(&a, 0, rel));
		cr_expect_str_eq(first, kview, "%s", variant_name(&variants[v]));

		/* Docker's value: read back as written, applied within the gid map */
		cr_expect_eq(box_write(&a, 0, rel, "0 2147483647"), 0);
		cr_expect_str_eq(box_read(&a, 0, rel), "0\t2147483647");
		cr_expect_str_eq(netns_read(&a, rel), userns ? "100000\t165535" : "0\t2147483647");
		cr_expect_str_eq(host_read(rel), hostv);
		cr_expect_str_eq(box_read(&b, 0, rel), first);

		cr_expect_eq(box_write(&a, 0, rel, "10 20"), 0);
		cr_expect_str_eq(box_read(&a, 0, rel), "10\t20");
		cr_expect_str_eq(netns_read(&a, rel), userns ? "100010\t100020" : "10\t20");

		/* min above max: nobody may ping, as the kernel has it */
		cr_expect_eq(box_write(&a, 0, rel, "5 3"), 0);
		cr_expect_str_eq(box_read(&a, 0, rel), "5\t3");
		cr_expect_str_eq(netns_read(&a, rel), "1\t0");

		cr_expect_eq(box_write(&a, 0, rel, "-1 5"), -EINVAL);
		cr_expect_eq(box_write(&a, 0, rel, "0 2147483648"), -EINVAL);
		cr_expect_eq(box_write(&a, 0, rel, "5"), -EINVAL);
		cr_expect_eq(box_write(&a, 0, rel, "1 2 3"), -EINVAL);
		cr_expect_eq(box_write(&a, USER, rel, "0 0"), -EACCES);
		cr_expect_str_eq(box_read(&a, 0, rel), "5\t3");
		cr_expect_str_eq(netns_read(&a, rel), "1\t0");
		cr_expect_str_eq(host_read(rel), hostv);
		box_stop(&a);
		box_stop(&b);
	}
}

/* What the kernel answers a write of value to its own file rel, made in the namespaces of
 * pid (user and net) as root there, under wrap: 0 or the negative errno. */
static int kernel_write_as(pid_t pid, const char *wrap, const char *rel, const char *value)
{
	char cmd[768], out[1024], what[512];
	size_t len = 0;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "nsenter -t %d -U -n %s sh -c \"{ /usr/bin/printf '%%s\\n' '%s' > /%s; } 2>&1\"",
		 pid, wrap, value, rel);
	f = popen(cmd, "re");
	cr_assert_not_null(f);
	len = fread(out, 1, sizeof(out) - 1, f);
	out[len] = 0;
	st = pclose(f);
	if (st == 0)
		return 0;
	snprintf(what, sizeof(what), "the kernel's answer to '%s' on %s", value, rel);
	return errno_of_message(what, out);
}

/* The container's root without CAP_NET_ADMIN: the kernel lets no task without it over the
 * netns's owner write the range, so procbox, which writes as the writer, may not either.
 * Nothing is applied and nothing stored. */
Test(emulated, ping_group_range_write_needs_the_writers_net_admin)
{
	static const char drop[] = "setpriv --inh-caps=-net_admin --bounding-set=-net_admin";
	const char *rel = "proc/sys/net/ipv4/ping_group_range";
	char hostv[64], applied[64];
	struct box a;
	int kernel;

	start_daemon();
	scopy(hostv, sizeof(hostv), host_read(rel));
	box_start(&variants[0], &a);
	cr_assert_eq(box_write(&a, 0, rel, "10 20"), 0);
	scopy(applied, sizeof(applied), netns_read(&a, rel));
	cr_assert_str_eq(applied, "100010\t100020");

	kernel = kernel_write_as(a.init, drop, rel, "30 40");
	cr_assert_neq(kernel, 0, "the kernel let a writer without CAP_NET_ADMIN write");
	cr_expect_str_eq(netns_read(&a, rel), applied);
	cr_expect_eq(box_write_wrapped(&a, 0, drop, rel, "30 40"), kernel,
		     "the writer gets the kernel's own answer");
	cr_expect_str_eq(netns_read(&a, rel), applied);
	cr_expect_str_eq(box_read(&a, 0, rel), "10\t20");
	/* the same root with its capabilities still may */
	cr_expect_eq(box_write(&a, 0, rel, "30 40"), 0);
	cr_expect_str_eq(netns_read(&a, rel), "100030\t100040");
	cr_expect_str_eq(host_read(rel), hostv);
	box_stop(&a);
}

/*
 * A process of the container in a user namespace of its own (nested in the container's),
 * with a network namespace of its own: it writes gids of its namespace, as the kernel
 * reads them, and reads back from the kernel, in its namespace, the range it wrote
 * (narrowed to its gid map).
 */
struct nested {
	pid_t pid;
	int req, resp;
};

_Noreturn static void nested_serve(pid_t init, int up, int down, int req, int resp)
{
	char path[64], value[128], c;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
		_exit(10);
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0)
		_exit(11);
	close(fd);
	/* The container's root, which then owns the nested namespace and may map it. */
	(void)setgroups(0, NULL);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		_exit(12);
	prctl(PR_SET_DUMPABLE, 1);
	if (unshare(CLONE_NEWUSER) < 0)
		_exit(13);
	if (xwrite(up, "u", 1) < 0 || xread(down, &c, 1) < 0)
		_exit(14);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		_exit(15);
	if (unshare(CLONE_NEWNET) < 0)
		_exit(16);
	if (xwrite(up, "r", 1) < 0)
		_exit(17);
	for (;;) {
		uint32_t len;
		int32_t r = 0;

		if (xread(req, &len, sizeof(len)) < 0 || len >= sizeof(value) ||
		    xread(req, value, len) < 0)
			_exit(0);
		fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, value, len) != (ssize_t)len)
			r = -errno;
		if (fd >= 0)
			close(fd);
		if (xwrite(resp, &r, sizeof(r)) < 0)
			_exit(1);
	}
}

static void nested_start(const struct box *b, const char *gid_map, struct nested *n)
{
	int req[2], resp[2], up[2], down[2];
	char c = 0, cmd[256];
	pid_t pid;

	cr_assert_eq(pipe2(req, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(resp, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(up, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(down, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		nested_serve(b->init, up[1], down[0], req[0], resp[1]);
	close(req[0]);
	close(resp[1]);
	close(up[1]);
	close(down[0]);
	cr_assert_eq(xread(up[0], &c, 1), 0, "the nested process failed to start");
	/* mapped by the container's root, in the container's ids */
	snprintf(cmd, sizeof(cmd),
		 "echo '0 0 1' > /proc/%d/uid_map && echo '%s' > /proc/%d/gid_map", pid, gid_map,
		 pid);
	cr_assert_eq(box_sh(b, 0, cmd, NULL, 0), 0);
	cr_assert_eq(xwrite(down[1], "g", 1), 0);
	cr_assert_eq(xread(up[0], &c, 1), 0, "the nested process failed to start");
	close(up[0]);
	close(down[1]);
	*n = (struct nested){.pid = pid, .req = req[1], .resp = resp[0]};
}

static int nested_write(const struct nested *n, const char *value)
{
	uint32_t len = (uint32_t)strlen(value);
	int32_t r;

	cr_assert_eq(xwrite(n->req, &len, sizeof(len)), 0);
	cr_assert_eq(xwrite(n->req, value, len), 0);
	cr_assert_eq(xread(n->resp, &r, sizeof(r)), 0);
	return r;
}

/* The kernel's value in n's network namespace, as n's user namespace reads it ("" for the
 * host's view). */
static const char *nested_kernel_read(const struct nested *n, bool own_userns)
{
	static char out[256];
	char cmd[256];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nsenter -t %d %s -n cat /proc/sys/net/ipv4/ping_group_range",
		 n->pid, own_userns ? "-U" : "");
	f = popen(cmd, "re");
	cr_assert_not_null(f);
	if (!fgets(out, sizeof(out), f))
		out[0] = 0;
	pclose(f);
	out[strcspn(out, "\n")] = 0;
	return out;
}

static void nested_stop(struct nested *n)
{
	close(n->req);
	close(n->resp);
	kill(n->pid, SIGKILL);
	while (waitpid(n->pid, NULL, 0) < 0 && errno == EINTR)
		;
}

Test(emulated, ping_group_range_is_read_in_the_writers_user_namespace)
{
	const char *rel = "proc/sys/net/ipv4/ping_group_range";
	char hostv[64];
	struct nested n;
	struct box a;

	start_daemon();
	scopy(hostv, sizeof(hostv), host_read(rel));
	box_start(&variants[0], &a);
	/* its gids 0..99 are the container's 1000..1099, the host's 101000..101099 */
	nested_start(&a, "0 1000 100", &n);

	cr_expect_eq(nested_write(&n, "0 99\n"), 0);
	cr_expect_str_eq(nested_kernel_read(&n, true), "0\t99");
	cr_expect_str_eq(nested_kernel_read(&n, false), "101000\t101099");
	/* Docker's value: narrowed to the writer's own map */
	cr_expect_eq(nested_write(&n, "0 2147483647\n"), 0);
	cr_expect_str_eq(nested_kernel_read(&n, true), "0\t99");
	cr_expect_eq(nested_write(&n, "10 20\n"), 0);
	cr_expect_str_eq(nested_kernel_read(&n, true), "10\t20");
	cr_expect_str_eq(nested_kernel_read(&n, false), "101010\t101020");
	/* gids the writer's namespace does not map: the kernel's answer, nothing stored */
	cr_expect_eq(nested_write(&n, "200 300\n"), -EINVAL);
	cr_expect_str_eq(nested_kernel_read(&n, true), "10\t20");
	cr_expect_str_eq(box_read(&a, 0, rel), "10\t20");
	/* the container's own netns was left alone */
	cr_expect_str_eq(netns_read(&a, rel), "1\t0");
	cr_expect_str_eq(host_read(rel), hostv);
	nested_stop(&n);
	box_stop(&a);
}

/* ---- uptime, swaps ---- */

/* Seconds on the clock /proc/uptime counts (boot time, suspend included). */
static double boottime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The container's uptime is its age: at least the 3 s it slept, at most the time since
 * just before it started (the kernel counts a start in 10 ms ticks, rounded down), however
 * slow the machine. */
Test(emulated, uptime)
{
	char out[256], host[64];
	double a1, a2, b1, b2, h, t0, t1;
	struct box a;

	start_daemon();
	t0 = boottime_s();
	box_start(&variants[0], &a);
	sleep(3);
	cr_assert_eq(box_sh(&a, USER, "cat /proc/uptime", out, sizeof(out)), 0);
	t1 = boottime_s();
	cr_assert_eq(sscanf(out, "%lf %lf", &a1, &a2), 2, "'%s'", out);
	cr_expect(a1 >= 2.99 && a1 <= t1 - t0 + 0.02, "uptime %.2f of a container %.2f s old", a1,
		  t1 - t0);
	/* idle: the idle time of the container's CPUs, at most all of them all the time */
	cr_assert_eq(box_sh(&a, USER, "nproc", host, sizeof(host)), 0);
	cr_expect(a2 >= 0 && a2 <= strtod(host, NULL) * a1 + 0.01, "idle %.2f of %s CPUs in %.2f s",
		  a2, host, a1);
	cr_assert_eq(read_line("/proc/uptime", host, sizeof(host)), 0);
	h = strtod(host, NULL);
	if (h > 60)
		cr_expect(a1 < h - 30, "the host's uptime shows through");

	/* a reader that keeps the file open and seeks back sees time pass: the second, at
	 * least the 1 s it slept, at most the time the command took */
	t0 = boottime_s();
	cr_assert_eq(box_sh(&a, 0,
			    "perl -e 'open(F, \"<\", \"/proc/uptime\") or die; $a = <F>; sleep 1; "
			    "seek(F, 0, 0); $b = <F>; print $a, $b'",
			    out, sizeof(out)),
		     0);
	t1 = boottime_s();
	cr_assert_eq(sscanf(out, "%lf %*f\n%lf", &b1, &b2), 2, "'%s'", out);
	cr_expect(b2 - b1 >= 0.99 && b2 - b1 <= t1 - t0 + 0.02, "%.2f then %.2f, in %.2f s", b1, b2,
		  t1 - t0);
	cr_expect_eq(box_write(&a, 0, "proc/uptime", "1"), -EACCES);
	box_stop(&a);
}

Test(emulated, swaps)
{
	char out[1024], meminfo[8192];
	unsigned long long swap_total = 1;
	struct box a;
	FILE *f;

	start_daemon();
	f = fopen("/proc/meminfo", "re");
	cr_assert_not_null(f);
	while (fgets(meminfo, sizeof(meminfo), f))
		sscanf(meminfo, "SwapTotal: %llu", &swap_total);
	fclose(f);
	box_start(&variants[0], &a);
	snprintf(meminfo, sizeof(meminfo), "cat %s/proc/swaps", d.mnt);
	cr_assert_eq(box_sh(&a, USER, meminfo, out, sizeof(out)), 0);
	cr_expect_eq(strncmp(out, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority", 40), 0,
		     "'%s'", out);
	if (swap_total == 0)
		cr_expect_str_eq(out, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority");
	cr_expect_eq(box_write(&a, 0, "proc/swaps", "1"), -EACCES);
	box_stop(&a);
}

/* ---- /sys ---- */

Test(emulated, sys_kernel_folders)
{
	static const char *const dirs[] = {"config", "debug", "tracing", "security"};
	static const char *const modes[] = {"755", "700", "700", "755"};

	start_daemon();
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		struct box a;

		box_start(&variants[v], &a);
		for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
			char cmd[256], out[256], expect[64];

			snprintf(cmd, sizeof(cmd), "stat -c '%%F %%a %%u %%g' %s/sys/kernel/%s",
				 d.mnt, dirs[i]);
			cr_assert_eq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
			snprintf(expect, sizeof(expect), "directory %s 0 0", modes[i]);
			cr_expect_str_eq(out, expect, "%s", dirs[i]);
			snprintf(cmd, sizeof(cmd), "ls -A %s/sys/kernel/%s", d.mnt, dirs[i]);
			cr_expect_eq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
			cr_expect_str_eq(out, "", "%s is not empty", dirs[i]);
			cr_expect_eq(box_sh(&a, USER, cmd, out, sizeof(out)) == 0,
				     strcmp(modes[i], "755") == 0, "user listing %s", dirs[i]);
		}
		box_stop(&a);
	}
}

Test(emulated, sys_devices_virtual_net)
{
	start_daemon();
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		char cmd[256], out[1024];
		struct box a;

		box_start(&variants[v], &a);
		snprintf(cmd, sizeof(cmd), "ls %s/sys/devices/virtual/net", d.mnt);
		cr_assert_eq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
		cr_expect_str_eq(out, "lo", "a fresh netns has lo alone (%s)",
				 variant_name(&variants[v]));
		cr_expect_str_eq(box_read(&a, USER, "sys/devices/virtual/net/lo/mtu"), "65536");
		cr_expect_eq(box_write(&a, 0, "sys/devices/virtual/net/lo/mtu", "1500"), 0);
		cr_expect_str_eq(box_read(&a, 0, "sys/devices/virtual/net/lo/mtu"), "1500");
		cr_expect_str_eq(host_read("sys/devices/virtual/net/lo/mtu"), "65536");
		cr_expect_neq(box_write(&a, USER, "sys/devices/virtual/net/lo/mtu", "1400"), 0);
		cr_expect_str_eq(box_read(&a, 0, "sys/devices/virtual/net/lo/mtu"), "1500");
		snprintf(cmd, sizeof(cmd), "readlink %s/sys/devices/virtual/net/lo/subsystem",
			 d.mnt);
		cr_expect_eq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
		cr_expect_str_eq(out, "../../../../class/net");
		snprintf(cmd, sizeof(cmd), "stat -c '%%u' %s/sys/devices/virtual/net/lo/mtu",
			 d.mnt);
		cr_expect_eq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
		cr_expect_str_eq(out, "0", "owned by the container's root");
		box_stop(&a);
	}
}

Test(emulated, product_uuid)
{
	const char *rel = "sys/devices/virtual/dmi/id/product_uuid";
	char u1[64], u2[64], u3[64], cmd[256], out[64], hostu[64], path[256];
	struct box a, b;

	start_daemon();
	box_start(&variants[0], &a);
	box_start(&variants[1], &b);
	scopy(u1, sizeof(u1), box_read(&a, 0, rel));
	scopy(u2, sizeof(u2), box_read(&a, 0, rel));
	scopy(u3, sizeof(u3), box_read(&b, 0, rel));
	cr_expect_eq(strlen(u1), 36, "'%s'", u1);
	cr_expect_str_eq(u1, u2, "not stable");
	cr_expect_str_neq(u1, u3, "two containers share a uuid");
	/* Nothing of the host's uuid, which the host's root reads through the mount. */
	snprintf(path, sizeof(path), "%s/%s", d.mnt, rel);
	cr_assert_eq(read_line(path, hostu, sizeof(hostu)), 0);
	cr_expect_eq(strlen(hostu), 36, "'%s'", hostu);
	for (size_t i = 0; i + 4 <= 36; i++) {
		char part[5];

		if (hostu[i] == '-' || memchr(hostu + i, '-', 4))
			continue;
		memcpy(part, hostu + i, 4);
		part[4] = 0;
		cr_expect(!strstr(u1, part) || !strstr(u3, part),
			  "both containers' uuids (%s, %s) hold '%s' of the host's %s", u1, u3,
			  part, hostu);
	}
	cr_expect_eq(box_read(&a, USER, rel)[0], 'E', "a user read the 0400 file");
	cr_expect_eq(box_write(&a, 0, rel, "x"), -EACCES);
	snprintf(cmd, sizeof(cmd), "stat -c '%%a %%u' %s/%s", d.mnt, rel);
	cr_expect_eq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "400 0");
	box_stop(&a);
	box_stop(&b);
}

/* ---- stat, readdir ---- */

Test(emulated, stat_of_emulated_files)
{
	static const struct {
		const char *rel, *expect;
	} rows[] = {
	    {"proc/sys/kernel/panic", "regular file 644 0 0"},
	    {"proc/sys/fs/file-max", "regular file 644 0 0"},
	    {"proc/sys/kernel/cap_last_cap", "regular file 444 0 0"},
	    {"proc/sys/kernel/random/uuid", "regular file 444 0 0"},
	    {"proc/sys/net/ipv4/ping_group_range", "regular file 644 0 0"},
	    {"proc/uptime", "regular file 444 0 0"},
	    {"proc/swaps", "regular file 444 0 0"},
	    {"sys/module/nf_conntrack/parameters/hashsize", "regular file 600 0 0"},
	};

	start_daemon();
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		struct box a;

		box_start(&variants[v], &a);
		for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
			char path[256], cmd[512], out[256];
			long size;

			box_path(rows[i].rel, path, sizeof(path));
			snprintf(cmd, sizeof(cmd), "stat -c '%%F %%a %%u %%g' %s", path);
			cr_assert_eq(box_sh(&a, 0, cmd, out, sizeof(out)), 0, "%s", rows[i].rel);
			cr_expect_str_eq(out, rows[i].expect, "%s (%s)", rows[i].rel,
					 variant_name(&variants[v]));
			snprintf(cmd, sizeof(cmd), "stat -c %%s %s", path);
			cr_assert_eq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
			size = strtol(out, NULL, 10);
			cr_expect_gt(size, 0, "%s: size 0", rows[i].rel);
			snprintf(cmd, sizeof(cmd), "chmod 600 %s 2>&1", path);
			cr_expect_neq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
			cr_expect(strstr(out, "Operation not permitted"), "chmod %s: %s",
				  rows[i].rel, out);
			snprintf(cmd, sizeof(cmd), "chown 1:1 %s 2>&1", path);
			cr_expect_neq(box_sh(&a, 0, cmd, out, sizeof(out)), 0);
			cr_expect(strstr(out, "Operation not permitted"), "chown %s: %s",
				  rows[i].rel, out);
		}
		/* listed where they belong */
		{
			char out[8192];

			cr_assert_eq(
			    box_sh(&a, 0,
				   "ls /proc/sys/kernel; ls /proc/sys/kernel/yama 2>&1; true", out,
				   sizeof(out)),
			    0);
			cr_expect(strstr(out, "\npanic\n"), "panic not listed");
			if (host_read("proc/sys/kernel/yama/ptrace_scope"))
				cr_expect(strstr(out, "\nptrace_scope"), "ptrace_scope not listed");
			else
				cr_expect(strstr(out, "No such file"), "yama listed without Yama");
			/* busybox-style readers trust st_size: sendfile through cat works */
			cr_expect_str_eq(box_read(&a, 0, "proc/sys/kernel/panic"),
					 host_read("proc/sys/kernel/panic"));
		}
		box_stop(&a);
	}
}

/* ---- lifetime ---- */

static int count_daemon_children(void)
{
	char path[64], buf[4096];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", d.pid);
	{
		DIR *dir = opendir(path);
		struct dirent *de;

		cr_assert_not_null(dir);
		while ((de = readdir(dir))) {
			char p2[512];

			if (de->d_name[0] == '.')
				continue;
			snprintf(p2, sizeof(p2), "%s/%s/children", path, de->d_name);
			if (read_line(p2, buf, sizeof(buf)) < 0)
				continue;
			for (char *s = buf, *save = NULL, *t; (t = strtok_r(s, " ", &save));
			     s = NULL)
				n++;
		}
		closedir(dir);
	}
	return n;
}

static int count_daemon_fds(void)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", d.pid);
	dir = opendir(path);
	cr_assert_not_null(dir);
	while ((de = readdir(dir))) {
		char link[320], target[256];
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		/* libfuse opens one /dev/fuse clone per worker thread, and starts workers
		 * as load comes (up to --threads): not a container's */
		if (strcmp(target, "/dev/fuse") != 0)
			n++;
	}
	closedir(dir);
	return n;
}

/* Waits for the daemon to drop what it kept for exited containers (its sweep runs every
 * second), up to 5 s; returns the last counts. */
static void settle(int max_fds, int max_children, int *ret_fds, int *ret_children)
{
	for (int i = 0; i < 50; i++) {
		*ret_fds = count_daemon_fds();
		*ret_children = count_daemon_children();
		if (*ret_fds <= max_fds && *ret_children <= max_children)
			return;
		usleep(100000);
	}
}

Test(emulated, state_ends_with_the_container)
{
	const char *rel = "proc/sys/kernel/panic";
	int fds0, children0, fds, children;
	char host[32], w[32];

	start_daemon();
	scopy(host, sizeof(host), host_read(rel));
	snprintf(w, sizeof(w), "%lld", to_ll(host) + 11);
	/* a first container warms up what the daemon keeps for good (threads, the host's
	 * entry) */
	for (int round = 0; round < 8; round++) {
		const struct box_opts *o = &variants[round % 2];
		struct box a;

		box_start(o, &a);
		cr_expect_str_eq(box_read(&a, 0, rel), host, "round %d: the last one's value",
				 round);
		cr_expect_eq(box_write(&a, 0, rel, w), 0);
		cr_expect_str_eq(box_read(&a, 0, rel), w);
		/* namespaced requests too, so that agents are started for the container */
		cr_expect_str_eq(box_read(&a, 0, "proc/sys/net/ipv4/ip_forward"), "0");
		cr_expect_str_eq(box_read(&a, 0, "sys/devices/virtual/net/lo/mtu"), "65536");
		box_stop(&a);
		if (round == 1) {
			sleep(3);
			fds0 = count_daemon_fds();
			children0 = count_daemon_children();
			cr_log_info("after 2 containers: %d fds, %d children", fds0, children0);
		} else if (round > 1) {
			settle(fds0, children0, &fds, &children);
			cr_expect_leq(fds, fds0, "round %d: daemon fds grew %d -> %d", round, fds0,
				      fds);
			cr_expect_leq(children, children0, "round %d: children grew %d -> %d",
				      round, children0, children);
		}
	}
}
