/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hostile containers against the real daemon: bad writes, attacks on procbox's children,
 * names that try to climb out of the tree, one container reaching for another's state, and
 * recycled pids and namespace inodes. Each test names the defence it checks.
 *
 * PROCBOX_LONG=1 runs 60 rounds of recycled pids and namespaces instead of 12.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/aio_abi.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/inode.h"
#include "handlers/tree.h"
#include "hostile-lib.h"
#include "lib/daemon.h"
#include "lib/suite.h"
#include "lib/testns.h"
#include "nsenter/child.h"
#include "util/macro.h"

static struct test_daemon d;
static char procsys[256];

static void setup(void)
{
	suite_setup(&d, NULL);
	daemon_path(&d, "proc/sys", procsys, sizeof(procsys));
}

/* Threads of the daemon a test stopped with ptrace: they must run again before the
 * daemon can be stopped and reaped. */
static pid_t frozen_tids[8];
static int n_frozen;

static void thaw_thread(pid_t tid);

static void teardown(void)
{
	for (int i = 0; i < n_frozen; i++)
		thaw_thread(frozen_tids[i]);
	n_frozen = 0;
	suite_teardown(&d);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 240);

static const struct hct_opts userns_ct = {.userns = true, .pidns = true, .netns = true};
static const struct hct_opts hostroot_ct = {.userns = false, .pidns = true, .netns = true};

static void ct_start(const struct hct_opts *o, bool with_procbox, struct hct *c)
{
	struct hct_opts oo = *o;

	oo.procsys = with_procbox ? procsys : NULL;
	cr_assert_eq(hct_start(&oo, c), 0, "container start");
}

/* ---- in-container actions (run in a forked process: args are copies) ---- */

struct rw_arg {
	const char *path;
	const char *buf;
	size_t len;
	off_t off;
};

/* "<write result> <value read back>" */
static int do_write_read(const void *p, char *out, size_t outsz)
{
	const struct rw_arg *a = p;
	char v[256];
	ssize_t n = hct_write_file(a->path, a->buf, a->len, a->off);
	int r = hct_read_file(a->path, v, sizeof(v));

	snprintf(out, outsz, "%zd %s", n, r >= 0 ? v : strerror(-r));
	return 0;
}

static int do_read(const void *p, char *out, size_t outsz)
{
	int r = hct_read_file(p, out, outsz);

	if (r < 0)
		snprintf(out, outsz, "error %d", r);
	return r < 0 ? r : 0;
}

static char *ct_read(const struct hct *c, unsigned how, const char *path)
{
	static char out[4096];
	int r = hct_call(c, how, do_read, path, out, sizeof(out));

	cr_assert_eq(r, 0, "read %s in the container: %d (%s)", path, r, out);
	return out;
}

static char *ct_write_read(const struct hct *c, const char *path, const char *buf, size_t len,
			   off_t off)
{
	static char out[512];
	struct rw_arg a = {path, buf, len, off};

	cr_assert_eq(hct_call(c, 0, do_write_read, &a, out, sizeof(out)), 0);
	return out;
}

/* ---- bad writes ---- */

#define MIB (1024 * 1024)

struct payload {
	const char *name;
	char *buf;
	size_t len;
	off_t off;
};

static char *repeat(char c, size_t n)
{
	char *b = malloc(n);

	cr_assert_not_null(b);
	memset(b, c, n);
	return b;
}

static struct payload text_payload(const char *name, const char *s, off_t off)
{
	return (struct payload){name, strdup(s), strlen(s), off};
}

/* What every entry must refuse (or, at offset > 0, ignore), whatever its format. */
static size_t common_payloads(struct payload *p)
{
	size_t n = 0;
	char *garbage = malloc(MIB);
	unsigned short seed[3] = {1, 2, 3};

	cr_assert_not_null(garbage);
	for (size_t i = 0; i < MIB; i++)
		garbage[i] = (char)(nrand48(seed) & 0xff);
	garbage[0] = (char)0xff; /* not a blank, a digit or a sign */
	p[n++] = (struct payload){"1 MiB of digits", repeat('9', MIB), MIB, 0};
	p[n++] = (struct payload){"1 MiB of binary garbage", garbage, MIB, 0};
	p[n++] = (struct payload){"binary with NULs", memcpy(malloc(8), "\0\1\2\377abc", 8), 8, 0};
	p[n++] = text_payload("hex prefix alone", "0x\n", 0);
	p[n++] = text_payload("number glued to text", "12abc\n", 0);
	p[n++] = text_payload("23-digit number", "99999999999999999999999\n", 0);
	p[n++] = text_payload("only a sign", "-\n", 0);
	return n;
}

static void free_payloads(struct payload *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].buf);
}

/*
 * Passthrough files: what the kernel answers in a namespace of its own (a container
 * without procbox) is what procbox must answer, byte count or errno, and value after.
 */
static void passthrough_battery(const struct hct_opts *o)
{
	static const char *const files[] = {"/proc/sys/net/ipv4/ip_default_ttl",
					    "/proc/sys/net/ipv4/ip_local_port_range",
					    "/proc/sys/net/ipv4/tcp_keepalive_time"};
	struct payload p[32];
	size_t n = common_payloads(p);
	struct hct with, ref;
	char *blanks = repeat(' ', MIB);

	blanks[0] = '7';
	p[n++] = (struct payload){"7 and 1 MiB of blanks", blanks, MIB, 0};
	p[n++] = text_payload("negative", "-1\n", 0);
	p[n++] = text_payload("above INT_MAX", "2147483648\n", 0);
	p[n++] = text_payload("below INT_MIN", "-2147483649\n", 0);
	p[n++] = text_payload("three fields", "99 65 66\n", 0);
	p[n++] = text_payload("one field", "5\n", 0);
	p[n++] = text_payload("at offset 5", "12\n", 5);
	p[n++] = text_payload("at offset 1", "1\n", 1);

	ct_start(o, true, &with);
	ct_start(o, false, &ref);
	for (size_t f = 0; f < ELEMENTSOF(files); f++) {
		char start[256], host[256];

		cr_assert_eq(read_line(files[f], host, sizeof(host)), 0);
		snprintf(start, sizeof(start), "%s", ct_read(&ref, 0, files[f]));
		cr_assert_str_eq(ct_read(&with, 0, files[f]), start, "%s", files[f]);
		for (size_t i = 0; i < n; i++) {
			char got[512], want[512], now[256];

			snprintf(got, sizeof(got), "%s",
				 ct_write_read(&with, files[f], p[i].buf, p[i].len, p[i].off));
			snprintf(want, sizeof(want), "%s",
				 ct_write_read(&ref, files[f], p[i].buf, p[i].len, p[i].off));
			cr_expect_str_eq(got, want,
					 "%s, %s: procbox answered '%s', the kernel '%s'", files[f],
					 p[i].name, got, want);
			cr_log_info("%s, %s: '%s'", files[f] + 10, p[i].name, got);
			/* back to the start for the next one, in both */
			(void)ct_write_read(&with, files[f], start, strlen(start), 0);
			(void)ct_write_read(&ref, files[f], start, strlen(start), 0);
			cr_assert_eq(read_line(files[f], now, sizeof(now)), 0);
			cr_assert_str_eq(now, host, "the host's %s changed", files[f]);
		}
	}
	hct_stop(&with);
	hct_stop(&ref);
	free_payloads(p, n);
}

/* Emulated files: EINVAL for everything malformed, the value unchanged; a write at offset
 * > 0 is ignored, as the kernel's sysctl_writes_strict does. */
struct emulated_case {
	const char *path;
	const char *negative, *overflow, *fields;
};

static void emulated_battery(const struct hct_opts *o)
{
	static const struct emulated_case cases[] = {
	    {"/proc/sys/kernel/panic", "-2147483649\n", "2147483648\n", "1 2\n"},
	    {"/proc/sys/fs/file-max", "-1\n", "9223372036854775808\n", "1 2\n"},
	    {"/proc/sys/net/ipv4/ping_group_range", "-1 5\n", "0 2147483648\n", "1 2 3\n"},
	};
	struct payload p[32];
	size_t n = common_payloads(p);
	struct hct c;

	ct_start(o, true, &c);
	for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
		const struct emulated_case *e = &cases[k];
		const char *path = e->path;
		char start[256], host[256], want[512], now[256];
		size_t m = n;

		p[m++] = text_payload("negative", e->negative, 0);
		p[m++] = text_payload("overflowing", e->overflow, 0);
		p[m++] = text_payload("wrong field count", e->fields, 0);
		cr_assert_eq(read_line(path, host, sizeof(host)), 0);
		snprintf(start, sizeof(start), "%s", ct_read(&c, 0, path));
		for (size_t i = 0; i < m; i++) {
			snprintf(want, sizeof(want), "%d %s", -EINVAL, start);
			cr_expect_str_eq(ct_write_read(&c, path, p[i].buf, p[i].len, p[i].off),
					 want, "%s, %s", path, p[i].name);
		}
		/* ignored at offset > 0: the whole count, nothing changed */
		snprintf(want, sizeof(want), "3 %s", start);
		cr_expect_str_eq(ct_write_read(&c, path, "12\n", 3, 5), want, "%s at offset 5",
				 path);
		cr_assert_eq(read_line(path, now, sizeof(now)), 0);
		cr_assert_str_eq(now, host, "the host's %s changed", path);
		free_payloads(p + n, m - n);
	}
	/* What the kernel takes, procbox takes: a number followed by blanks, 1 MiB long. */
	{
		char *blanks = repeat(' ', MIB);

		blanks[0] = '7';
		cr_expect_str_eq(ct_write_read(&c, "/proc/sys/kernel/panic", blanks, MIB, 0),
				 "1048576 7");
		free(blanks);
	}
	hct_stop(&c);
	free_payloads(p, n);
}

Test(hostile, bad_writes_get_the_kernels_answer_and_change_nothing)
{
	int fds0, kids0, fds, kids, zombies;
	struct hct warm;

	/* Warm up what the daemon keeps for good (worker threads, the host's entry). */
	ct_start(&userns_ct, true, &warm);
	cr_assert_str_eq(ct_read(&warm, 0, "/proc/sys/net/ipv4/ip_default_ttl"), "64");
	cr_assert_neq(ct_read(&warm, 0, "/proc/sys/kernel/panic")[0], 0);
	hct_stop(&warm);
	hct_daemon_settle(&d, 0, 0, 3000, NULL, NULL);
	fds0 = hct_daemon_fds(&d);
	kids0 = hct_daemon_children(&d, NULL);

	passthrough_battery(&userns_ct);
	passthrough_battery(&hostroot_ct);
	emulated_battery(&userns_ct);
	emulated_battery(&hostroot_ct);

	/* The daemon is unaffected: it answers, and holds what it held before. */
	ct_start(&userns_ct, true, &warm);
	cr_assert_str_eq(ct_read(&warm, 0, "/proc/sys/net/ipv4/ip_default_ttl"), "64");
	hct_stop(&warm);
	cr_expect(hct_daemon_settle(&d, fds0, kids0, 5000, &fds, &kids),
		  "daemon fds %d -> %d, children %d -> %d", fds0, fds, kids0, kids);
	hct_daemon_children(&d, &zombies);
	cr_expect_eq(zombies, 0);
	cr_log_info("after the bad writes: %d fds (%d before), %d children (%d before)", fds, fds0,
		    kids, kids0);
	suite_stop_cleanly(&d);
}

/* ---- procbox's children, seen from a container ---- */

struct victims {
	int n;
	pid_t pid[64];	      /* as the host sees it: what the host's procfs names it by */
	pid_t by_pid[64];     /* as the attacker's pid namespace sees it; 0: not there at all */
	bool signals_allowed; /* the kernel lets a uid signal its own processes */
};

static void report(char *out, size_t outsz, pid_t pid, const char *what, int r)
{
	size_t len = strlen(out);

	if (len + 1 < outsz)
		snprintf(out + len, outsz - len, "%d %s: %s\n", pid, what,
			 r >= 0 ? "ALLOWED" : strerror(-r));
}

/*
 * Every way a container's root could reach another process: signals, ptrace, pidfds and
 * process_vm_readv by pid (for the processes its pid namespace shows at all), and the
 * /proc/<pid> files a non-dumpable process closes to all but CAP_SYS_PTRACE in the initial
 * user namespace (the test containers see the host's procfs, so the names resolve).
 * Returns how many succeeded.
 */
static int do_attack(const void *p, char *out, size_t outsz)
{
	const struct victims *v = p;
	int allowed = 0;

	for (int i = 0; i < v->n; i++) {
		pid_t pid = v->pid[i];
		char path[64], buf[64];
		struct iovec local = {buf, sizeof(buf)}, remote = {(void *)0x400000, sizeof(buf)};
		int r, fd;

#define TRY(what, expr)                                                                            \
	do {                                                                                       \
		r = (expr) < 0 ? -errno : 0;                                                       \
		report(out, outsz, pid, what, r);                                                  \
		if (r >= 0)                                                                        \
			allowed++;                                                                 \
	} while (0)

		if (v->by_pid[i] > 0 && !v->signals_allowed) {
			TRY("kill(0)", kill(v->by_pid[i], 0));
			TRY("pidfd_open", fd = (int)syscall(SYS_pidfd_open, v->by_pid[i], 0));
			if (fd >= 0)
				close(fd);
		}
		if (v->by_pid[i] > 0) {
			TRY("ptrace(SEIZE)", ptrace(PTRACE_SEIZE, v->by_pid[i], NULL, NULL));
			if (r >= 0)
				ptrace(PTRACE_DETACH, v->by_pid[i], NULL, NULL);
			TRY("process_vm_readv",
			    process_vm_readv(v->by_pid[i], &local, 1, &remote, 1, 0));
		}
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		TRY("open mem", fd = open(path, O_RDWR | O_CLOEXEC));
		if (fd >= 0)
			close(fd);
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		TRY("open exe O_PATH", fd = open(path, O_PATH | O_CLOEXEC));
		if (fd >= 0)
			close(fd);
		TRY("open exe for writing", fd = open(path, O_WRONLY | O_CLOEXEC));
		if (fd >= 0)
			close(fd);
		TRY("readlink exe", readlink(path, buf, sizeof(buf)));
		snprintf(path, sizeof(path), "/proc/%d/environ", pid);
		TRY("open environ", fd = open(path, O_RDONLY | O_CLOEXEC));
		if (fd >= 0) {
			/* procfs checks at read for environ */
			if (read(fd, buf, sizeof(buf)) < 0)
				allowed--;
			close(fd);
		}
		/* The fd folder itself is root's 0500 (a uid-0 caller with CAP_DAC_OVERRIDE lists
		 * the numbers); its links are what ptrace rules guard. */
		for (int n = 0; n < 16; n++) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, n);
			fd = open(path, O_PATH | O_CLOEXEC);
			if (fd < 0 && errno == ENOENT)
				continue;
			r = fd < 0 ? -errno : 0;
			if (fd >= 0)
				close(fd);
			report(out, outsz, pid, path + 6, r);
			if (r >= 0)
				allowed++;
		}
#undef TRY
	}
	return allowed;
}

/* Every child of the daemon, and their children (a child that joins a pid namespace
 * serves from a child it forks there). */
static void victims_of(struct victims *v)
{
	int n = daemon_children(&d, v->pid, ELEMENTSOF(v->pid));

	cr_assert_gt(n, 0, "no agent to attack");
	v->n = MIN(n, (int)ELEMENTSOF(v->pid));
	for (int i = 0, top = v->n; i < top && v->n < (int)ELEMENTSOF(v->pid); i++) {
		char path[64], buf[1024];

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", v->pid[i], v->pid[i]);
		if (read_line(path, buf, sizeof(buf)) < 0)
			continue;
		for (char *s = strtok(buf, " "); s && v->n < (int)ELEMENTSOF(v->pid);
		     s = strtok(NULL, " "))
			v->pid[v->n++] = atoi(s);
	}
}

/* The pid of host pid `pid` in its innermost pid namespace (the last of NSpid). */
static pid_t innermost_pid(pid_t pid)
{
	char path[64], line[256];
	pid_t last = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "NSpid:", 6) == 0)
			for (char *t = strtok(line + 6, " \t\n"); t; t = strtok(NULL, " \t\n"))
				last = atoi(t);
	fclose(f);
	return last;
}

/* The daemon's binary, which children exec through an fd, is not among their fds
 * afterwards: a container's root that got hold of it could run or read procbox. */
static void expect_no_binary_fd(const struct victims *v)
{
	struct stat exe, st;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", d.pid);
	cr_assert_eq(stat(path, &exe), 0);
	for (int i = 0; i < v->n; i++)
		for (int n = 0; n < 64; n++) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", v->pid[i], n);
			if (stat(path, &st) < 0)
				continue;
			cr_expect(st.st_dev != exe.st_dev || st.st_ino != exe.st_ino,
				  "%s is procbox's binary", path);
		}
}

static void attack_from(const struct hct_opts *o, unsigned how, const char *who)
{
	static char out[16384];
	struct victims v = {0};
	struct stat ct_pidns, st;
	char path[64];
	struct hct c;
	int allowed, visible = 0;

	ct_start(o, true, &c);
	/* Agents that joined this container's namespaces with its root's credentials (and
	 * Docker's capabilities, when asked): the closest procbox's children come to it. */
	cr_assert_str_eq(ct_read(&c, how, "/proc/sys/net/ipv4/ip_default_ttl"), "64");
	cr_assert_neq(ct_read(&c, how, "/proc/sys/kernel/hostname")[0], 0);
	victims_of(&v);
	expect_no_binary_fd(&v);

	/* None of them is in the container's pid namespace: there it could name them, and
	 * signal them as the uid they run as. */
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", c.init);
	cr_assert_eq(stat(path, &ct_pidns), 0);
	for (int i = 0; i < v.n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", v.pid[i]);
		if (stat(path, &st) == 0 && st.st_ino == ct_pidns.st_ino) {
			v.by_pid[i] = innermost_pid(v.pid[i]);
			visible++;
		}
	}
	cr_expect_eq(visible, 0, "%d of procbox's children are in the container's pid namespace",
		     visible);

	allowed = hct_call(&c, how, do_attack, &v, out, sizeof(out));
	cr_expect_eq(allowed, 0, "%s reached procbox's children:\n%s", who, out);
	cr_log_info("%s:\n%s", who, out);

	/* A process that joined every namespace but the pid namespace (none of the
	 * container's own: one entered from outside) may signal them, as the kernel lets a
	 * uid signal its own processes, but may still not trace them or read them. */
	for (int i = 0; i < v.n; i++)
		v.by_pid[i] = v.pid[i];
	v.signals_allowed = true;
	allowed = hct_call(&c, how | HCT_NO_PIDNS, do_attack, &v, out, sizeof(out));
	cr_expect_eq(allowed, 0, "%s (outside its pid namespace) reached procbox's children:\n%s",
		     who, out);
	cr_log_info("%s, outside its pid namespace:\n%s", who, out);
	/* and they still serve */
	cr_assert_str_eq(ct_read(&c, how, "/proc/sys/net/ipv4/ip_default_ttl"), "64");
	hct_stop(&c);
	suite_stop_cleanly(&d);
}

Test(hostile, user_namespaced_root_cannot_reach_procbox_children)
{
	attack_from(&userns_ct, 0, "root of a user-namespaced container");
}

Test(hostile, host_root_with_docker_capabilities_cannot_reach_procbox_children)
{
	attack_from(&hostroot_ct, HCT_DOCKER_CAPS,
		    "host-uid-0 root with Docker's default capabilities");
}

/* ---- names that try to leave the tree, spoken to the FUSE layer directly ---- */

/*
 * The kernel resolves ".." itself and never puts '/' in a name, so no container can send
 * those through the mount; a lookup that carries them anyway (a bug, a future FUSE
 * feature such as export support) must still end at the FUSE layer. This speaks the FUSE
 * protocol to procbox's own operations over a socketpair, with the real handler tree and
 * nsenter service behind them.
 */
struct raw_fuse {
	struct procbox_fs fs;
	struct fuse_session *se;
	pthread_t loop;
	int sock;
	uint64_t unique;
};

static ssize_t raw_read(int fd, void *buf, size_t len, void *userdata)
{
	return read(fd, buf, len);
}

static ssize_t raw_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	return writev(fd, iov, count);
}

static void *raw_loop(void *p)
{
	fuse_session_loop(p);
	return NULL;
}

/* Sends one request; returns the reply's error (<= 0), with the payload in out. */
static int raw_request(struct raw_fuse *r, uint32_t opcode, uint64_t nodeid, const void *arg,
		       size_t arglen, void *out, size_t outsz)
{
	struct fuse_in_header h = {
	    .len = (uint32_t)(sizeof(h) + arglen),
	    .opcode = opcode,
	    .unique = ++r->unique,
	    .nodeid = nodeid,
	    .pid = (uint32_t)getpid(),
	};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)arg, arglen}};
	char buf[8192];
	struct fuse_out_header *oh = (void *)buf;
	ssize_t n;

	cr_assert_eq(writev(r->sock, iov, arglen ? 2 : 1), (ssize_t)h.len);
	n = read(r->sock, buf, sizeof(buf));
	cr_assert_geq(n, (ssize_t)sizeof(*oh));
	cr_assert_eq(oh->unique, h.unique);
	if (out)
		memcpy(out, buf + sizeof(*oh), MIN((size_t)n - sizeof(*oh), outsz));
	return oh->error;
}

static void raw_start(struct raw_fuse *r)
{
	static const struct fuse_custom_io io = {.read = raw_read, .writev = raw_writev};
	struct nsenter_service_config cfg = {.timeout_ms = 2000, .max_agents = 16};
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_init_in init = {.major = 7, .minor = 31, .max_readahead = 65536};
	int sv[2];

	*r = (struct raw_fuse){0};
	cr_assert_eq(tree_init(), 0);
	cr_assert_eq(inode_table_new(&r->fs.inodes), 0);
	cr_assert_eq(nsenter_service_new(&cfg, &r->fs.nsenter), 0);
	cr_assert_eq(container_registry_new(NULL, NULL, &r->fs.containers), 0);
	cr_assert_eq(fuse_opt_add_arg(&args, "test-hostile"), 0);
	r->se = fuse_session_new(&args, fs_operations(), sizeof(*fs_operations()), &r->fs);
	fuse_opt_free_args(&args);
	cr_assert_not_null(r->se);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(fuse_session_custom_io(r->se, &io, sv[0]), 0);
	r->sock = sv[1];
	cr_assert_eq(pthread_create(&r->loop, NULL, raw_loop, r->se), 0);
	cr_assert_eq(raw_request(r, FUSE_INIT, 0, &init, sizeof(init), NULL, 0), 0);
}

static void raw_stop(struct raw_fuse *r)
{
	close(r->sock); /* the loop ends on end of file */
	pthread_join(r->loop, NULL);
	fuse_session_destroy(r->se);
	container_registry_free(r->fs.containers);
	nsenter_service_free(r->fs.nsenter);
	inode_table_free(r->fs.inodes);
	tree_free();
}

static int raw_lookup(struct raw_fuse *r, uint64_t parent, const char *name, uint64_t *ret)
{
	struct fuse_entry_out e = {0};
	int err = raw_request(r, FUSE_LOOKUP, parent, name, strlen(name) + 1, &e, sizeof(e));

	if (ret)
		*ret = err == 0 ? e.nodeid : 0;
	return err;
}

Test(raw_fuse, names_with_dots_or_slashes_end_at_the_fuse_layer, .timeout = 60)
{
	struct raw_fuse r;
	uint64_t proc, sys, net, ipv4, fwd;
	char longname[300];
	struct {
		uint64_t *parent;
		const char *name;
	} evil[] = {
	    {NULL, ".."},
	    {NULL, "."},
	    {NULL, ""},
	    {NULL, "proc/sys"},
	    {&proc, ".."},
	    {&proc, "../proc"},
	    {&sys, ".."},
	    {&sys, "net/ipv4"},
	    {&sys, "kernel/../../../../etc"},
	    {&net, ".."},
	    {&net, "."},
	    {&net, "ipv4/ip_forward"},
	    {&net, "ipv4/../../.."},
	    {&net, "../../../../etc/passwd"},
	    {&ipv4, "../../../../../../proc/self/environ"},
	    {&ipv4, "conf/lo/forwarding"},
	};
	uint64_t root = FUSE_ROOT_ID;

	suite_need_daemon();
	raw_start(&r);
	/* The same session answers well-formed names: the refusals below are not a dead
	 * connection's. */
	cr_assert_eq(raw_lookup(&r, FUSE_ROOT_ID, "proc", &proc), 0);
	cr_assert_eq(raw_lookup(&r, proc, "sys", &sys), 0);
	cr_assert_eq(raw_lookup(&r, sys, "net", &net), 0);
	cr_assert_eq(raw_lookup(&r, net, "ipv4", &ipv4), 0);
	cr_assert_eq(raw_lookup(&r, ipv4, "ip_forward", &fwd), 0);
	cr_assert(proc && sys && net && ipv4 && fwd);

	for (size_t i = 0; i < ELEMENTSOF(evil); i++) {
		uint64_t parent = evil[i].parent ? *evil[i].parent : root, got = 0;
		int err = raw_lookup(&r, parent, evil[i].name, &got);

		cr_expect_eq(err, -ENOENT, "lookup of '%s' below node %llu: %d (node %llu)",
			     evil[i].name, (unsigned long long)parent, err,
			     (unsigned long long)got);
	}
	memset(longname, 'a', 256);
	longname[256] = 0;
	cr_expect_eq(raw_lookup(&r, net, longname, NULL), -ENAMETOOLONG);
	longname[255] = 0;
	cr_expect_eq(raw_lookup(&r, net, longname, NULL), -ENOENT);

	/* Node ids the kernel never got from procbox name nothing. */
	{
		struct fuse_getattr_in ga = {0};
		struct fuse_open_in op = {.flags = O_RDONLY};

		cr_expect_eq(raw_lookup(&r, 0xdeadbeef, "proc", NULL), -ENOENT);
		cr_expect_eq(raw_request(&r, FUSE_GETATTR, 0xdeadbeef, &ga, sizeof(ga), NULL, 0),
			     -ENOENT);
		cr_expect_eq(raw_request(&r, FUSE_OPEN, 0xdeadbeef, &op, sizeof(op), NULL, 0),
			     -ENOENT);
		cr_expect_eq(raw_request(&r, FUSE_OPENDIR, 0xdeadbeef, &op, sizeof(op), NULL, 0),
			     -ENOENT);
	}
	raw_stop(&r);
}

/* ---- one container, another's state ---- */

static const char *const emulated_keys[] = {
    "/proc/sys/kernel/panic",	       "/proc/sys/kernel/dmesg_restrict",
    "/proc/sys/fs/protected_symlinks", "/proc/sys/vm/overcommit_memory",
    "/proc/sys/net/core/somaxconn",    "/proc/sys/net/ipv4/ping_group_range",
};

/* A value for key, different for each tag 1..3, that needs no host change (raise-only
 * entries get values below any kernel's default). */
static void value_for(size_t key, int tag, char *buf, size_t size)
{
	switch (key) {
	case 0:
		snprintf(buf, size, "%d", 40 + tag);
		break;
	case 1:
	case 2:
		snprintf(buf, size, "%d", tag % 2);
		break;
	case 3:
		snprintf(buf, size, "%d", tag % 3);
		break;
	case 4:
		snprintf(buf, size, "%d", 10 + tag);
		break;
	default:
		snprintf(buf, size, "%d\t%d", tag, 1000 + tag);
		break;
	}
}

static void write_all(const struct hct *c, int tag, const char *prefix)
{
	for (size_t k = 0; k < ELEMENTSOF(emulated_keys); k++) {
		char path[256], v[64], want[128];

		value_for(k, tag, v, sizeof(v));
		snprintf(path, sizeof(path), "%s%s", prefix, emulated_keys[k]);
		snprintf(want, sizeof(want), "%zu %s", strlen(v), v);
		cr_assert_str_eq(ct_write_read(c, path, v, strlen(v), 0), want, "%s", path);
	}
}

static void expect_all(const struct hct *c, int tag, const char *prefix, const char *who)
{
	for (size_t k = 0; k < ELEMENTSOF(emulated_keys); k++) {
		char path[256], want[64];

		snprintf(path, sizeof(path), "%s%s", prefix, emulated_keys[k]);
		value_for(k, tag, want, sizeof(want));
		cr_expect_str_eq(ct_read(c, 0, path), want, "%s reads %s", who, path);
	}
}

static void isolation(const struct hct_opts *o, const char *variant)
{
	char host[ELEMENTSOF(emulated_keys)][128], prefix[64];
	struct hct a, b;

	for (size_t k = 0; k < ELEMENTSOF(emulated_keys); k++)
		cr_assert_eq(read_line(emulated_keys[k], host[k], sizeof(host[k])), 0);
	ct_start(o, true, &a);
	ct_start(o, true, &b);
	write_all(&a, 1, "");
	/* B starts from the host's values, not A's */
	for (size_t k = 0; k < ELEMENTSOF(emulated_keys); k++) {
		if (k == 5)
			continue; /* ping_group_range starts from the netns's own */
		cr_expect_str_eq(ct_read(&b, 0, emulated_keys[k]), host[k], "%s: B sees %s",
				 variant, emulated_keys[k]);
	}
	write_all(&b, 2, "");
	expect_all(&a, 1, "", "A");
	expect_all(&b, 2, "", "B");

	/*
	 * Through A's own mount namespace (/proc/<A's init>/root, reachable here because the
	 * test containers see the host's procfs): procbox answers the caller, so B still
	 * reads and writes its own values, or the kernel refuses the path outright.
	 */
	snprintf(prefix, sizeof(prefix), "/proc/%d/root", a.init);
	{
		char out[256];
		char path[128];
		int r;

		snprintf(path, sizeof(path), "%s/proc/sys/kernel/panic", prefix);
		r = hct_call(&b, 0, do_read, path, out, sizeof(out));
		if (r == 0) {
			/* what B reads and writes there is B's own */
			cr_log_info("%s: B reaches A's mount namespace through %s", variant,
				    prefix);
			expect_all(&b, 2, prefix, "B");
			write_all(&b, 3, prefix);
			expect_all(&b, 3, "", "B");
		} else {
			cr_log_info("%s: B cannot open %s: %s", variant, path, out);
		}
	}
	expect_all(&a, 1, "", "A");
	hct_stop(&a);
	hct_stop(&b);
	for (size_t k = 0; k < ELEMENTSOF(emulated_keys); k++) {
		char now[128];

		cr_assert_eq(read_line(emulated_keys[k], now, sizeof(now)), 0);
		cr_assert_str_eq(now, host[k], "the host's %s changed", emulated_keys[k]);
	}
}

Test(hostile, containers_never_share_emulated_values)
{
	/* Docker's --userns-remap maps every container to the same host ids. */
	isolation(&userns_ct, "user namespaces with the same map");
	isolation(&hostroot_ct, "host root, own pid namespaces");
	isolation(&(struct hct_opts){.netns = true}, "host root, no pid namespace");
	suite_stop_cleanly(&d);
}

/* ---- kernel inodes per container (fs/inodeset.h) ---- */

/* Opens path in the container and sends the open file to the test (struct open_arg). */
struct open_arg {
	const char *path;
	int sock;
};

static int do_open_send(const void *p, char *out, size_t outsz)
{
	const struct open_arg *a = p;
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (char[]){"f"}, .iov_len = 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int fd = open(a->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(out, outsz, "open: %s", strerror(errno));
		return -1;
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(a->sock, &m, 0) != 1) {
		snprintf(out, outsz, "sendmsg: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A file the container c opened: reads of it are served as c's (fs.c, the opener's). */
static int ct_open(const struct hct *c, const char *path)
{
	char cbuf[CMSG_SPACE(sizeof(int))], out[128] = "", x;
	struct iovec iov = {.iov_base = &x, .iov_len = 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct open_arg a = {.path = path};
	int sv[2], fd;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	a.sock = sv[1];
	cr_assert_eq(hct_call(c, 0, do_open_send, &a, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(recvmsg(sv[0], &m, 0), 1);
	cr_assert_not_null(CMSG_FIRSTHDR(&m));
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	close(sv[0]);
	close(sv[1]);
	return fd;
}

/* The first line of what fd holds from offset 0, by sendfile(2) (busybox cat). */
static char *sendfile_line(int fd, char *buf, size_t size)
{
	int pfd[2];
	ssize_t n;

	cr_assert_eq(pipe(pfd), 0);
	n = sendfile(pfd[1], fd, &(off_t){0}, size - 1);
	cr_assert_gt(n, 0, "sendfile: %s", strerror(errno));
	n = read(pfd[0], buf, (size_t)n);
	cr_assert_gt(n, 0);
	close(pfd[0]);
	close(pfd[1]);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* The first line a private mapping shows now. */
static char *mapped_line(const char *m, char *buf, size_t size)
{
	size_t n = strnlen(m, size - 1);

	memcpy(buf, m, n);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static int do_stat_ino(const void *p, char *out, size_t outsz)
{
	struct stat st;

	if (stat(p, &st) < 0)
		return -errno;
	snprintf(out, outsz, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	return 0;
}

/* Events a watch got, without waiting (the reads and writes before it are done). */
static int inotify_events(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int n = 0;
	ssize_t len;

	while ((len = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const void *)p;

			n++;
			p += sizeof(*ev) + ev->len;
		}
	return n;
}

Test(hostile, each_container_gets_kernel_inodes_of_its_own)
{
	static const char panic[] = "/proc/sys/kernel/panic";
	char src_a[256], src_b[256], host_a[256], host_b[256], ino_a[64], ino_b[64];
	struct stat sa, sb;
	struct hct a, b;
	int in;

	daemon_path(&d, ".inodes/ct-a/proc/sys", src_a, sizeof(src_a));
	daemon_path(&d, ".inodes/ct-b/proc/sys", src_b, sizeof(src_b));
	cr_assert_eq(
	    hct_start(
		&(struct hct_opts){.userns = true, .pidns = true, .netns = true, .procsys = src_a},
		&a),
	    0);
	cr_assert_eq(
	    hct_start(
		&(struct hct_opts){.userns = true, .pidns = true, .netns = true, .procsys = src_b},
		&b),
	    0);

	/* st_ino: one inode per set, from the host and in the containers */
	daemon_path(&d, ".inodes/ct-a/proc/sys/kernel/panic", host_a, sizeof(host_a));
	daemon_path(&d, ".inodes/ct-b/proc/sys/kernel/panic", host_b, sizeof(host_b));
	cr_assert_eq(stat(host_a, &sa), 0);
	cr_assert_eq(stat(host_b, &sb), 0);
	cr_expect_neq(sa.st_ino, sb.st_ino, "the sets share inode %llu",
		      (unsigned long long)sa.st_ino);
	cr_assert_eq(hct_call(&a, 0, do_stat_ino, panic, ino_a, sizeof(ino_a)), 0);
	cr_assert_eq(hct_call(&b, 0, do_stat_ino, panic, ino_b, sizeof(ino_b)), 0);
	cr_expect_str_neq(ino_a, ino_b, "both containers see inode %s", ino_a);

	/* A watch on B's inode: B's own reads show in it, A's writes never do. */
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	cr_assert_geq(in, 0);
	cr_assert_geq(inotify_add_watch(in, host_b, IN_ALL_EVENTS), 0);
	cr_assert_str_eq(ct_write_read(&a, panic, "41", 2, 0), "2 41");
	cr_expect_eq(inotify_events(in), 0, "B's watch saw A's write");

	cr_assert_str_eq(ct_write_read(&b, panic, "42", 2, 0), "2 42");
	cr_expect_gt(inotify_events(in), 0, "B's watch saw nothing of B's own write");
	close(in);

	/*
	 * The page cache. Every open empties the inode's cache (no keep_cache), so it carries
	 * data only between files open at the same time: B's open file fills it, and a file
	 * A opened before reads from it.
	 */
	{
		int fa = ct_open(&a, panic), fb = ct_open(&b, panic);
		char va[64], vb[64];
		char *ma, *mb;

		cr_expect_str_eq(sendfile_line(fb, vb, sizeof(vb)), "42", "B, sendfile");
		cr_expect_str_eq(sendfile_line(fa, va, sizeof(va)), "41",
				 "A's sendfile read what B's filled");
		cr_expect_str_eq(sendfile_line(fb, vb, sizeof(vb)), "42",
				 "B's sendfile read what A's filled");

		/* A private mapping is filled from the cache, and refilled after another
		 * mapping of the inode emptied it. */
		ma = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fa, 0);
		cr_assert_neq(ma, MAP_FAILED, "mmap: %s", strerror(errno));
		cr_expect_str_eq(mapped_line(ma, va, sizeof(va)), "41", "A, private mmap");
		mb = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fb, 0);
		cr_assert_neq(mb, MAP_FAILED, "mmap: %s", strerror(errno));
		cr_expect_str_eq(mapped_line(mb, vb, sizeof(vb)), "42", "B, private mmap");
		cr_expect_str_eq(mapped_line(ma, va, sizeof(va)), "41",
				 "A's mapping shows the page B's mapping read");
		munmap(ma, 4096);
		munmap(mb, 4096);
		close(fa);
		close(fb);
	}
	hct_stop(&a);
	hct_stop(&b);
	suite_stop_cleanly(&d);
}

static int do_stat_errno(const void *p, char *out, size_t outsz)
{
	struct stat st;

	return stat(p, &st) < 0 ? -errno : 0;
}

static int stat_errno(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? errno : 0;
}

/* The names in folder path, one "name\n" each, without "." and "..". */
static void list_names(const char *path, char *buf, size_t size)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	size_t len = 0;

	cr_assert_not_null(dir, "opendir %s: %s", path, strerror(errno));
	buf[0] = '\0';
	while ((e = readdir(dir)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s\n",
						e->d_name);
	closedir(dir);
}

Test(hostile, the_inode_sets_folder_lists_nothing_and_takes_only_valid_names)
{
	char path[512], root[4096], set[4096], plain[256], mirrored[256], name[160];
	struct stat st, sp;
	struct hct a;

	/* the folder is there, and lists nothing */
	daemon_path(&d, ".inodes", path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0, "%s", strerror(errno));
	cr_expect(S_ISDIR(st.st_mode));
	daemon_path(&d, ".inodes/ct-1", set, sizeof(set));
	cr_assert_eq(stat(set, &st), 0, "a set is there for the host's root");
	list_names(path, root, sizeof(root));
	cr_expect_str_eq(root, "", "`.inodes` lists: %s", root);
	/* the root does not show it */
	daemon_path(&d, "", path, sizeof(path));
	list_names(path, root, sizeof(root));
	cr_expect_not(strstr(root, ".inodes"), "the root lists `.inodes`");
	/* a set mirrors the root */
	daemon_path(&d, ".inodes/ct-1", path, sizeof(path));
	list_names(path, set, sizeof(set));
	cr_expect_str_eq(set, root, "a set's root lists what the root does");

	/* the same file, another inode */
	daemon_path(&d, "proc/sys/kernel/ostype", plain, sizeof(plain));
	daemon_path(&d, ".inodes/ct-1/proc/sys/kernel/ostype", mirrored, sizeof(mirrored));
	cr_assert_eq(stat(plain, &sp), 0);
	cr_assert_eq(stat(mirrored, &st), 0);
	cr_expect_neq(sp.st_ino, st.st_ino);
	{
		char v1[128], v2[128];

		cr_assert_eq(read_line(plain, v1, sizeof(v1)), 0);
		cr_assert_eq(read_line(mirrored, v2, sizeof(v2)), 0);
		cr_expect_str_eq(v1, v2);
	}

	/* names */
	memset(name, 'n', 128);
	name[128] = '\0';
	snprintf(path, sizeof(path), "%s/.inodes/%s", d.mnt, name);
	cr_expect_eq(stat_errno(path), 0, "128 characters");
	snprintf(path, sizeof(path), "%s/.inodes/%sn", d.mnt, name);
	cr_expect_eq(stat_errno(path), EINVAL, "129 characters");
	snprintf(path, sizeof(path), "%s/.inodes/A-z_0.9+", d.mnt);
	cr_expect_eq(stat_errno(path), 0);
	snprintf(path, sizeof(path), "%s/.inodes/.hidden", d.mnt);
	cr_expect_eq(stat_errno(path), ENOENT);
	snprintf(path, sizeof(path), "%s/.inodes/a b", d.mnt);
	cr_expect_eq(stat_errno(path), EINVAL);
	snprintf(path, sizeof(path), "%s/.inodes/a:b", d.mnt);
	cr_expect_eq(stat_errno(path), EINVAL);
	snprintf(path, sizeof(path), "%s/.inodes/caf\xc3\xa9", d.mnt);
	cr_expect_eq(stat_errno(path), EINVAL);
	/* no set in a set */
	snprintf(path, sizeof(path), "%s/.inodes/ct-1/.inodes/ct-2/proc", d.mnt);
	cr_expect_eq(stat_errno(path), ENOENT);

	/* Only the host's root (and what it made) gets in, every time: the entries are
	 * never cached for the next caller. */
	daemon_path(&d, ".inodes/ct-1/proc/sys/kernel/ostype", path, sizeof(path));
	cr_assert_eq(stat_errno(path), 0);
	{
		pid_t p = fork();
		int status;

		cr_assert_geq(p, 0);
		if (p == 0) {
			struct stat s;
			char dir[256];

			if (setresgid(65534, 65534, 65534) < 0 ||
			    setresuid(65534, 65534, 65534) < 0)
				_exit(2);
			snprintf(dir, sizeof(dir), "%s/.inodes", d.mnt);
			if (stat(dir, &s) == 0 || errno != EACCES)
				_exit(3);
			snprintf(dir, sizeof(dir), "%s/.inodes/ct-1", d.mnt);
			if (stat(dir, &s) == 0 || errno != EACCES)
				_exit(4);
			if (stat(path, &s) == 0 || errno != EACCES)
				_exit(5);
			_exit(0);
		}
		cr_assert_eq(waitpid(p, &status, 0), p);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "a host user reached a set (status %#x)", status);
	}
	/* a container reaches nothing but its own binds: no way up to `.inodes` */
	daemon_path(&d, ".inodes/ct-1/proc/sys", path, sizeof(path));
	cr_assert_eq(
	    hct_start(
		&(struct hct_opts){.userns = true, .pidns = true, .netns = true, .procsys = path},
		&a),
	    0);
	cr_expect_eq(hct_call(&a, 0, do_stat_errno, "/proc/sys/kernel/ostype", NULL, 0), 0);
	cr_expect_neq(hct_call(&a, 0, do_stat_errno, "/proc/sys/../../.inodes", NULL, 0), 0);
	hct_stop(&a);
	suite_stop_cleanly(&d);
}

/* ---- what the nsenter child opens ---- */

static bool is_mount(const char *path)
{
	struct statx stx;

	return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
	       (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* In a child with a private mount namespace, a tmpfs on dir with a file "planted" in it: what
 * the nsenter child answers for that file (an errno, or 100+ when the setup failed). */
static int planted_below(const char *dir)
{
	char file[256];
	pid_t pid;
	int status;

	snprintf(file, sizeof(file), "%s/planted", dir);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct nsenter_message *req = nsenter_message_new(NSENTER_MSG_READ_REQ);
		struct nsenter_message *resp;
		int fd;

		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", dir, "tmpfs", 0, NULL) < 0)
			_exit(100);
		fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, "1\n", 2) != 2 || close(fd) < 0 ||
		    nsenter_child_open_roots() < 0 || !req ||
		    nsenter_message_set_path(req, file) < 0)
			_exit(101);
		req->length = 4096;
		resp = nsenter_child_handle(req, &fd);
		_exit(!resp ? 102 : resp->type == NSENTER_MSG_ERROR_RESP ? resp->err : 103);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The child opens paths with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV below
 * its roots: no symlink is followed, and no mount on the way (another file system a
 * container's root could have placed there) is crossed. */
Test(child_paths, no_symlink_and_no_mount_crossing, .timeout = 30)
{
	static const struct {
		const char *path;
		int err;
	} cases[] = {
	    {"/sys/class/net/lo/mtu", ELOOP},			     /* class/net/lo is a symlink */
	    {"/sys/devices/virtual/net/lo/subsystem/lo/mtu", ELOOP}, /* and "subsystem" */
	    {"/sys/fs/cgroup/unified/cgroup.procs", EXDEV},	     /* a mount below /sys */
	    {"/proc/sys/fs/binfmt_misc/status", EXDEV},		     /* one below /proc/sys */
	    {"/proc/sys/../self/environ", EINVAL},
	    {"/proc/self/environ", EACCES},
	};
	struct stat st;

	suite_need_daemon();
	cr_assert_eq(nsenter_child_open_roots(), 0);
	/* sanity: the plain path answers */
	{
		_cleanup_message_ struct nsenter_message *req =
		    nsenter_message_new(NSENTER_MSG_READ_REQ);
		_cleanup_message_ struct nsenter_message *resp = NULL;
		int fd;

		cr_assert_eq(nsenter_message_set_path(req, "/sys/devices/virtual/net/lo/mtu"), 0);
		req->length = 4096;
		resp = nsenter_child_handle(req, &fd);
		cr_assert_eq(resp->type, NSENTER_MSG_READ_RESP);
	}
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_message_ struct nsenter_message *req =
		    nsenter_message_new(NSENTER_MSG_READ_REQ);
		_cleanup_message_ struct nsenter_message *resp = NULL;
		char dir[256];
		int fd;

		/* a mount point that is not there on this machine proves nothing */
		snprintf(dir, sizeof(dir), "%s", cases[i].path);
		*strrchr(dir, '/') = 0;
		if (cases[i].err == EXDEV && (lstat(dir, &st) < 0 || !is_mount(dir))) {
			cr_log_info("%s: not a mount here, skipped", dir);
			continue;
		}
		cr_assert_eq(nsenter_message_set_path(req, cases[i].path), 0);
		req->length = 4096;
		resp = nsenter_child_handle(req, &fd);
		cr_assert_not_null(resp);
		cr_expect_eq(resp->type, NSENTER_MSG_ERROR_RESP, "%s was opened", cases[i].path);
		if (resp->type == NSENTER_MSG_ERROR_RESP)
			cr_expect_eq(resp->err, cases[i].err, "%s: %s", cases[i].path,
				     strerror(resp->err));
	}

	/* Mounts of our own below /proc/sys and /sys, in a private mount namespace: the cases
	 * above depend on what the machine has mounted, these do not. */
	cr_expect_eq(planted_below("/proc/sys/fs/binfmt_misc"), EXDEV, "a tmpfs below /proc/sys");
	cr_expect_eq(planted_below("/sys/fs"), EXDEV, "a tmpfs below /sys");
}

/* ---- recycled pids and namespace inodes ---- */

/* Field 22 of /proc/<pid>/stat: with the pid, what names a process for good. */
static unsigned long long start_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_line(path, buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
		return 0;
	/* after ")": state is field 3, start time field 22 */
	if (sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		   "%*d %llu",
		   &t) != 1)
		return 0;
	return t;
}

/*
 * Runs in a pid namespace of its own (pid 1 there, with its own procfs), where pids are
 * ours to choose: writing ns_last_pid makes the next fork get the pid of a container that
 * just died. The daemon runs in the same pid namespace, so that is the pid it sees.
 * Reports failures as lines on rep; returns their count.
 */
static int recycle_rounds(FILE *rep, int rounds)
{
	int fails = 0, pid_reused = 0, user_reused = 0, pidns_reused = 0, net_reused = 0;
	struct test_daemon dx;
	char ps[256], host_panic[64];

#define XCHECK(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fails++;                                                                   \
			fprintf(rep, "FAIL line %d: ", __LINE__);                                  \
			fprintf(rep, __VA_ARGS__);                                                 \
			fputc('\n', rep);                                                          \
			fflush(rep);                                                               \
		}                                                                                  \
	} while (0)

	if (daemon_start(&dx, NULL) < 0) {
		fprintf(rep, "FAIL: the daemon did not start in the pid namespace\n");
		return 1;
	}
	daemon_path(&dx, "proc/sys", ps, sizeof(ps));
	if (read_line("/proc/sys/kernel/panic", host_panic, sizeof(host_panic)) < 0)
		return 1;

	for (int round = 0; round < rounds; round++) {
		struct hct_opts o = round % 2 ? hostroot_ct : userns_ct;
		const char *kind = round % 2 ? "pid" : "user";
		ino_t a_ns, b_ns, a_net, b_net;
		struct hct a, b;
		char out[256], path[64];
		pid_t a_kids[16], b_kids[16], a_init;
		unsigned long long a_start[16];
		int na, nb;

		o.procsys = ps;
		if (hct_start(&o, &a) < 0) {
			XCHECK(false, "round %d: container A did not start", round);
			break;
		}
		XCHECK(hct_call(&a, 0, do_write_read,
				&(struct rw_arg){"/proc/sys/kernel/panic", "4242\n", 5, 0}, out,
				sizeof(out)) == 0 &&
			   strcmp(out, "5 4242") == 0,
		       "round %d: A sets panic: %s", round, out);
		XCHECK(hct_call(&a, 0, do_write_read,
				&(struct rw_arg){"/proc/sys/net/ipv4/ip_default_ttl", "99\n", 3, 0},
				out, sizeof(out)) == 0 &&
			   strcmp(out, "3 99") == 0,
		       "round %d: A sets ip_default_ttl: %s", round, out);
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", a.init, kind);
		a_ns = 0;
		{
			struct stat st;

			if (stat(path, &st) == 0)
				a_ns = st.st_ino;
			snprintf(path, sizeof(path), "/proc/%d/ns/net", a.init);
			a_net = stat(path, &st) == 0 ? st.st_ino : 0;
		}
		na = daemon_children(&dx, a_kids, 16);
		for (int i = 0; i < na && i < 16; i++)
			a_start[i] = start_ticks(a_kids[i]);
		a_init = a.init;
		hct_stop(&a);
		/* A's agents go with it; then its namespaces are free for the taking. */
		if (!hct_daemon_settle(&dx, 1 << 20, 0, 3000, NULL, NULL))
			XCHECK(false, "round %d: A's agents outlived it", round);
		usleep(200 * 1000);

		/* B's outer process takes a.init - 1, its init a.init. */
		snprintf(out, sizeof(out), "%d", a_init - 2);
		if (write_file("/proc/sys/kernel/ns_last_pid", out) < 0)
			XCHECK(false, "cannot write ns_last_pid");
		if (hct_start(&o, &b) < 0) {
			XCHECK(false, "round %d: container B did not start", round);
			break;
		}
		{
			struct stat st;

			snprintf(path, sizeof(path), "/proc/%d/ns/%s", b.init, kind);
			b_ns = stat(path, &st) == 0 ? st.st_ino : 1;
			snprintf(path, sizeof(path), "/proc/%d/ns/net", b.init);
			b_net = stat(path, &st) == 0 ? st.st_ino : 1;
		}
		pid_reused += b.init == a_init;
		if (b_ns == a_ns)
			*(round % 2 ? &pidns_reused : &user_reused) += 1;
		net_reused += b_net == a_net;

		XCHECK(hct_call(&b, 0, do_read, "/proc/sys/kernel/panic", out, sizeof(out)) == 0 &&
			   strcmp(out, host_panic) == 0,
		       "round %d (%s ns %s, pid %s): B reads A's panic: '%s'", round, kind,
		       b_ns == a_ns ? "reused" : "new", b.init == a_init ? "reused" : "new", out);
		XCHECK(hct_call(&b, 0, do_read, "/proc/sys/net/ipv4/ip_default_ttl", out,
				sizeof(out)) == 0 &&
			   strcmp(out, "64") == 0,
		       "round %d (net ns %s): B reads ip_default_ttl '%s'", round,
		       b_net == a_net ? "reused" : "new", out);
		/* Pids are recycled here, agents' too: a process is its pid and start time. */
		nb = daemon_children(&dx, b_kids, 16);
		for (int i = 0; i < na && i < 16; i++)
			for (int j = 0; j < nb && j < 16; j++)
				XCHECK(a_kids[i] != b_kids[j] ||
					   a_start[i] != start_ticks(b_kids[j]),
				       "round %d: B is served by A's child %d", round, a_kids[i]);
		hct_stop(&b);
	}
	fprintf(rep,
		"%d rounds: container init pid reused %d times, user namespace inode %d, pid "
		"namespace inode %d, network namespace inode %d\n",
		rounds, pid_reused, user_reused, pidns_reused, net_reused);
	XCHECK(pid_reused > 0, "ns_last_pid never gave B the pid of A's init");
	XCHECK(daemon_stop(&dx) == 0, "the daemon did not exit cleanly: see %s", dx.log);
	fflush(rep);
	return fails;
#undef XCHECK
}

Test(recycled, pids_and_namespace_inodes_never_bring_back_a_containers_state, .timeout = 240)
{
	const char *e = getenv("PROCBOX_LONG");
	int rounds = e && *e && strcmp(e, "0") != 0 ? 60 : 12;
	int p[2], status;
	char buf[8192];
	ssize_t n, len = 0;
	pid_t pid;

	suite_need_daemon();
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		FILE *rep = fdopen(p[1], "w");
		pid_t init;

		close(p[0]);
		if (!rep || unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
			_exit(100);
		init = fork();
		if (init < 0)
			_exit(101);
		if (init == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
				0)
				_exit(102);
			_exit(recycle_rounds(rep, rounds) == 0 ? 0 : 1);
		}
		fclose(rep);
		while (waitpid(init, &status, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 103);
	}
	close(p[1]);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	buf[len] = 0;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_log_info("%s", buf);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit %d:\n%s",
		  WEXITSTATUS(status), buf);
}

/* Stops one thread of another process (ptrace acts per thread), until thaw_thread(). */
static int freeze_thread(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 || waitpid(tid, &status, __WALL) < 0) {
		int r = -errno;
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return r;
	}
	return 0;
}

static void thaw_thread(pid_t tid)
{
	ptrace(PTRACE_DETACH, tid, NULL, NULL);
}

/* The daemon's threads that wait in epoll_wait (the registry's pidfd watch) or sleep
 * (housekeeping's sweep): what drops a container whose init exited. */
static int reaper_threads(pid_t daemon, pid_t *tids, int max)
{
	char path[320], buf[256];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", daemon);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && n < max) {
		long nr;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", daemon, de->d_name);
		if (read_line(path, buf, sizeof(buf)) < 0)
			continue;
		nr = strtol(buf, NULL, 10);
		if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_clock_nanosleep ||
		    nr == SYS_nanosleep)
			tids[n++] = atoi(de->d_name);
	}
	closedir(dir);
	return n;
}

/*
 * The registry drops a container when its init exits, from a thread: until that thread
 * runs, the container is still listed under its namespace's inode, and the kernel may
 * already have given that inode to a new namespace. A container created in that window
 * must get a fresh entry, not the dead one's values. The window is made wide here by
 * stopping the threads that would drop the dead entry.
 */
Test(hostile, a_dead_containers_entry_is_never_handed_to_a_new_one)
{
	char host[64], out[256], path[64], panic[256];
	/* Without a pid namespace of its own: the registry's pidfd of the init then pins no
	 * namespace of the container (with one, it pins the pid namespace and, through it,
	 * the user namespace, so neither inode can come back while the entry is listed). */
	struct hct_opts o = {.userns = true, .netns = true};
	pid_t tids[8];
	int nt, reused = 0;

	cr_assert_eq(read_line("/proc/sys/kernel/panic", host, sizeof(host)), 0);
	/* wait for the threads to be where they idle */
	for (int i = 0; i < 100 && (nt = reaper_threads(d.pid, tids, 8)) < 2; i++)
		usleep(10000);
	cr_assert_geq(nt, 2, "the registry's watch and the sweep were not found");
	for (int i = 0; i < nt; i++)
		if (freeze_thread(tids[i]) == 0)
			frozen_tids[n_frozen++] = tids[i];
	cr_assert_eq(n_frozen, nt);

	/* Only procbox's kernel/panic bound, by the host (as `docker run --mount` binds
	 * single files): opening it walks no procbox folder, so no agent joins (and keeps
	 * alive) A's namespaces. */
	daemon_path(&d, "proc/sys/kernel/panic", panic, sizeof(panic));
	o.file_src = panic;
	o.file_dst = "/proc/sys/kernel/panic";
	for (int attempt = 0; attempt < 20 && reused < 3; attempt++) {
		struct hct a, b;
		struct stat st;
		ino_t a_ino;

		cr_assert_eq(hct_start(&o, &a), 0);
		snprintf(path, sizeof(path), "/proc/%d/ns/user", a.init);
		cr_assert_eq(stat(path, &st), 0);
		a_ino = st.st_ino;
		/* an emulated value only: no agent holds A's namespaces */
		cr_assert_eq(hct_call(&a, 0, do_write_read,
				      &(struct rw_arg){"/proc/sys/kernel/panic", "4242\n", 5, 0},
				      out, sizeof(out)),
			     0);
		cr_assert_str_eq(out, "5 4242");
		hct_stop(&a);
		{
			pid_t kids[16];
			int nk = daemon_children(&d, kids, 16);

			for (int i = 0; i < nk && i < 16; i++) {
				snprintf(path, sizeof(path), "/proc/%d/ns/user", kids[i]);
				cr_assert(stat(path, &st) < 0 || st.st_ino != a_ino,
					  "an agent keeps A's namespaces");
			}
		}
		/* A's network namespace is torn down by a kernel worker, and only then its
		 * user namespace, which owns it, is freed */
		usleep(300 * 1000);
		for (int i = 0; i < 20; i++) {
			cr_assert_eq(hct_start(&o, &b), 0);
			snprintf(path, sizeof(path), "/proc/%d/ns/user", b.init);
			cr_assert_eq(stat(path, &st), 0);
			if (st.st_ino == a_ino) {
				reused++;
				cr_expect_eq(hct_call(&b, 0, do_read, "/proc/sys/kernel/panic", out,
						      sizeof(out)),
					     0);
				cr_expect_str_eq(out, host,
						 "a new container on the dead one's user namespace "
						 "inode %lu reads its panic: %s",
						 (unsigned long)a_ino, out);
				hct_stop(&b);
				break;
			}
			hct_stop(&b);
			usleep(50 * 1000);
		}
	}
	for (int i = 0; i < n_frozen; i++)
		thaw_thread(frozen_tids[i]);
	n_frozen = 0;
	/* the watch and the sweep now both find the dead containers at once */
	usleep(200 * 1000);
	suite_stop_cleanly(&d);
	cr_log_info("user namespace inode reused %d times", reused);
	if (reused == 0)
		cr_skip_test("the kernel never reused a user namespace inode: nothing to check");
}

/* ---- writes to /sys/devices/virtual/net: the kernel decides, against the writer ---- */

static int do_mount_sysfs(const void *p, char *out, size_t outsz)
{
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		snprintf(out, outsz, "mount sysfs: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

struct net_case {
	const char *file; /* below /sys/devices/virtual/net/lo */
	const char *value;
};

/* Writes every case in turn: "<write result> <value read back>" per line. */
struct net_arg {
	const char *root; /* "/sys" or the daemon's <mnt>/sys */
	const struct net_case *cases;
	size_t n;
};

static int do_net_writes(const void *p, char *out, size_t outsz)
{
	const struct net_arg *a = p;
	size_t len = 0;

	for (size_t i = 0; i < a->n && len < outsz; i++) {
		char path[512], v[256];
		ssize_t n;
		int r;

		snprintf(path, sizeof(path), "%s/devices/virtual/net/lo/%s", a->root,
			 a->cases[i].file);
		n = hct_write_file(path, a->cases[i].value, strlen(a->cases[i].value), 0);
		r = hct_read_file(path, v, sizeof(v));
		len += (size_t)snprintf(out + len, outsz - len, "%s: %zd %s\n", a->cases[i].file, n,
					r >= 0 ? v : strerror(-r));
	}
	return 0;
}

/*
 * The same writes, in two containers of the same kind: one straight to a sysfs mounted in
 * its network namespace (the kernel's answer), one through procbox. The kernel checks them
 * against the writing task (capable(CAP_NET_ADMIN) for rps_cpus, CAP_NET_ADMIN over the
 * netns's owner for mtu and flags): written by the daemon, they would all succeed.
 */
static void net_writes(const struct hct_opts *o, unsigned how, const struct net_case *cases,
		       size_t n, char *kernel, char *procbox, size_t size)
{
	char root[256];
	struct net_arg a = {"/sys", cases, n};
	struct hct k, p;

	ct_start(o, false, &k);
	cr_assert_eq(hct_call(&k, 0, do_mount_sysfs, NULL, kernel, size), 0, "%s", kernel);
	cr_assert_eq(hct_call(&k, how, do_net_writes, &a, kernel, size), 0);
	hct_stop(&k);

	daemon_path(&d, "sys", root, sizeof(root));
	a.root = root;
	ct_start(o, true, &p);
	cr_assert_eq(hct_call(&p, how, do_net_writes, &a, procbox, size), 0);
	hct_stop(&p);
	cr_log_info("kernel:\n%sprocbox:\n%s", kernel, procbox);
}

Test(hostile, net_writes_of_a_user_namespaced_root_get_the_kernels_answer)
{
	static const struct net_case cases[] = {
	    {"queues/rx-0/rps_cpus", "1"},
	    {"mtu", "1400"},
	    {"flags", "0x9"},
	};
	char kernel[2048], procbox[2048];

	if (access("/sys/class/net/lo/queues/rx-0/rps_cpus", F_OK) < 0)
		cr_skip_test("no rps_cpus (CONFIG_RPS) on this kernel");
	net_writes(&userns_ct, 0, cases, ELEMENTSOF(cases), kernel, procbox, sizeof(kernel));
	/* rps_cpus is the host's to set; mtu and flags of its own interface the
	 * container's root may set */
	cr_assert(strstr(kernel, "rps_cpus: -1 ") != NULL, "the kernel allowed it:\n%s", kernel);
	cr_assert(strstr(kernel, "mtu: 4 1400") != NULL, "the kernel refused it:\n%s", kernel);
	cr_assert(strstr(kernel, "flags: 3 0x9") != NULL, "the kernel refused it:\n%s", kernel);
	cr_assert_str_eq(procbox, kernel);
	suite_stop_cleanly(&d);
}

Test(hostile, net_writes_of_a_host_root_without_net_admin_get_the_kernels_answer)
{
	static const struct net_case cases[] = {
	    {"queues/rx-0/rps_cpus", "1"},
	    {"mtu", "1400"},
	    {"flags", "0x9"},
	};
	char kernel[2048], procbox[2048];

	if (access("/sys/class/net/lo/queues/rx-0/rps_cpus", F_OK) < 0)
		cr_skip_test("no rps_cpus (CONFIG_RPS) on this kernel");
	net_writes(&hostroot_ct, HCT_DOCKER_CAPS, cases, ELEMENTSOF(cases), kernel, procbox,
		   sizeof(kernel));
	cr_assert(strstr(kernel, "rps_cpus: -1 ") && strstr(kernel, "mtu: -1 65536") &&
		      strstr(kernel, "flags: -1 0x8"),
		  "the kernel allowed some:\n%s", kernel);
	cr_assert_str_eq(procbox, kernel);
	suite_stop_cleanly(&d);
}

/* ---- procbox's children against a container that stops them ---- */

static char saved_suid_dumpable[16];

static void children_teardown(void)
{
	if (saved_suid_dumpable[0])
		(void)write_file("/proc/sys/fs/suid_dumpable", saved_suid_dumpable);
	saved_suid_dumpable[0] = 0;
	teardown();
}

TestSuite(children, .init = suite_need_daemon, .fini = children_teardown, .timeout = 120);

/* The daemon with PROCBOX_TEST_STOP_CHILDREN: its one-shot children (those serving inside
 * a pid namespace) stop themselves once they took the caller's credentials, as a
 * container that stops every process of its own it can would make them. */
static void start_daemon_stopping_children(const char *timeout_ms)
{
	/* No queue per container (--max-in-flight): what bounds the FUSE workers one
	 * container's stopped children hold is then --max-children alone. */
	const char *args[] = {"--timeout", timeout_ms, "--max-in-flight", "0", NULL};

	cr_assert_eq(setenv("PROCBOX_TEST_STOP_CHILDREN", "1", 1), 0);
	suite_setup(&d, args);
	unsetenv("PROCBOX_TEST_STOP_CHILDREN");
	daemon_path(&d, "proc/sys", procsys, sizeof(procsys));
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_line(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* The daemon's descendants (children and theirs) that are stopped. */
static int stopped_descendants(pid_t *ret, pid_t *ret_parent, int max)
{
	struct victims v = {0};
	int n = 0;

	if (daemon_children(&d, v.pid, ELEMENTSOF(v.pid)) <= 0)
		return 0;
	v.n = daemon_children(&d, v.pid, ELEMENTSOF(v.pid));
	for (int i = 0; i < v.n && n < max; i++) {
		char path[64], buf[1024];

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", v.pid[i], v.pid[i]);
		if (read_line(path, buf, sizeof(buf)) < 0)
			continue;
		for (char *s = strtok(buf, " "); s && n < max; s = strtok(NULL, " ")) {
			pid_t pid = atoi(s);

			if (proc_state(pid) == 'T') {
				if (ret_parent)
					ret_parent[n] = v.pid[i];
				ret[n++] = pid;
			}
		}
	}
	return n;
}

/* A read in the background, from its own process, and when it ended among the others. */
struct bg_read {
	volatile int done;
	int r;
	int seq; /* 1 for the first background read to end, 2 for the next... */
	char out[128];
};

static int *bg_seq; /* shared */

static pid_t bg_read_start(const struct hct *c, const char *path, struct bg_read *res)
{
	pid_t p = fork();

	cr_assert_geq(p, 0);
	if (p == 0) {
		char out[128];
		int r = hct_call(c, 0, do_read, path, out, sizeof(out));

		res->r = r;
		snprintf(res->out, sizeof(res->out), "%s", out);
		res->seq = __atomic_add_fetch(bg_seq, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&res->done, 1, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	return p;
}

static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	memset(p, 0, size);
	return p;
}

static int wait_stopped(pid_t *ret, pid_t *ret_parent, int want, int ms)
{
	int n = 0;

	for (int64_t end = hct_now_ms() + ms; hct_now_ms() < end; usleep(10000)) {
		n = stopped_descendants(ret, ret_parent, want);
		if (n >= want)
			break;
	}
	return n;
}

static void reap_pid(pid_t p)
{
	while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Orphans of the daemon's tree come to this process, not to the host's pid 1, so a
 * child that outlived its request can be found and reaped here. */
static void become_subreaper(void)
{
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
}

static bool exits_within(int pidfd, int ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

Test(children, stopped_pid_namespace_children_die_with_their_request)
{
	struct bg_read *res = shared_alloc(4096);
	pid_t g, parent, reader;
	int pidfd;
	struct hct c;

	bg_seq = (int *)(res + 2);
	become_subreaper();
	start_daemon_stopping_children("1500");
	ct_start(&userns_ct, true, &c);

	/* Its parent killed (the daemon's worker gave up on it, or the daemon died): the
	 * child inside the container's pid namespace must die too, though taking the
	 * container's credentials reset its death signal. */
	reader = bg_read_start(&c, "/proc/sys/kernel/ns_last_pid", &res[0]);
	cr_assert_eq(wait_stopped(&g, &parent, 1, 10000), 1, "no stopped child appeared");
	pidfd = (int)syscall(SYS_pidfd_open, g, 0);
	cr_assert_geq(pidfd, 0);
	kill(parent, SIGKILL);
	cr_expect(exits_within(pidfd, 5000), "child %d outlived its parent %d", g, parent);
	kill(g, SIGKILL);
	close(pidfd);
	reap_pid(reader);
	cr_expect_lt(res[0].r, 0, "the request succeeded: %s", res[0].out);

	/* Its request timed out: the daemon ends it, and reaps it. */
	reader = bg_read_start(&c, "/proc/sys/kernel/ns_last_pid", &res[1]);
	cr_assert_eq(wait_stopped(&g, &parent, 1, 10000), 1, "no stopped child appeared");
	pidfd = (int)syscall(SYS_pidfd_open, g, 0);
	cr_assert_geq(pidfd, 0);
	reap_pid(reader);
	cr_expect_eq(res[1].r, -ETIMEDOUT, "%s", res[1].out);
	cr_expect(exits_within(pidfd, 5000), "child %d outlived its request", g);
	cr_expect_eq(proc_state(g), 0, "child %d is still there (state %c)", g, proc_state(g));
	kill(g, SIGKILL);
	close(pidfd);
	/* what this process had to reap is a failure already reported */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	hct_stop(&c);
	suite_stop_cleanly(&d);
}

/*
 * What a container's root tries on a child of procbox that runs as its own uid: its root,
 * cwd and fds are the host's (/, the O_PATH fds of the host's /proc/sys and /sys), and
 * with fs.suid_dumpable=1 a dumpable child would hand them over. Returns how many
 * succeeded.
 */
static int do_reach(const void *p, char *out, size_t outsz)
{
	const struct victims *v = p;
	int allowed = 0;

	for (int i = 0; i < v->n; i++) {
		static const char *const links[] = {"root", "cwd", "exe"};
		pid_t pid = v->pid[i];
		char path[64], buf[256];
		DIR *dir;
		int fd, r;

		for (size_t k = 0; k < ELEMENTSOF(links); k++) {
			snprintf(path, sizeof(path), "/proc/%d/%s", pid, links[k]);
			r = readlink(path, buf, sizeof(buf)) < 0 ? -errno : 0;
			report(out, outsz, pid, path + 6, r);
			allowed += r >= 0;
			fd = open(path, O_PATH | O_CLOEXEC);
			r = fd < 0 ? -errno : 0;
			report(out, outsz, pid, "open it", r);
			allowed += r >= 0;
			if (fd >= 0)
				close(fd);
		}
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		dir = opendir(path);
		report(out, outsz, pid, "opendir fd", dir ? 0 : -errno);
		if (dir) {
			allowed++;
			closedir(dir);
		}
		for (int n = 0; n < 16; n++) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, n);
			fd = open(path, O_PATH | O_CLOEXEC);
			if (fd < 0 && errno == ENOENT)
				continue;
			r = fd < 0 ? -errno : 0;
			report(out, outsz, pid, path + 6, r);
			allowed += r >= 0;
			if (fd >= 0)
				close(fd);
		}
	}
	return allowed;
}

static void status_line(pid_t pid, const char *key, char *buf, size_t size)
{
	char path[64], line[512];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0) {
			snprintf(buf, size, "%.200s", line + strlen(key));
			break;
		}
	fclose(f);
}

#define HOST_GROUP 4242

Test(children, children_are_not_dumpable_and_hold_nothing_a_container_can_reach)
{
	static const struct hct_opts deny_ct = {
	    .userns = true, .pidns = true, .netns = true, .setgroups_deny = true};
	static char out[16384];
	struct bg_read *res = shared_alloc(4096);
	struct victims v = {0};
	gid_t host_group = HOST_GROUP;
	pid_t g, reader;
	struct hct c;
	int allowed;

	bg_seq = (int *)(res + 2);
	become_subreaper();
	/* fs.suid_dumpable=1: taking a container's credentials then leaves a task dumpable,
	 * unless it says otherwise after the change */
	cr_assert_eq(read_line("/proc/sys/fs/suid_dumpable", saved_suid_dumpable,
			       sizeof(saved_suid_dumpable)),
		     0);
	cr_assert_eq(write_file("/proc/sys/fs/suid_dumpable", "1"), 0);
	/* a supplementary group of the daemon's, which a user namespace whose setgroups is
	 * "deny" would let its children keep */
	cr_assert_eq(setgroups(1, &host_group), 0);
	start_daemon_stopping_children("3000");
	ct_start(&deny_ct, true, &c);

	/* an agent with the container root's credentials, and a one-shot child in its pid
	 * namespace, held stopped */
	cr_assert_str_eq(ct_read(&c, 0, "/proc/sys/net/ipv4/ip_default_ttl"), "64");
	reader = bg_read_start(&c, "/proc/sys/kernel/ns_last_pid", &res[0]);
	cr_assert_eq(wait_stopped(&g, NULL, 1, 10000), 1, "no stopped child appeared");
	victims_of(&v);
	cr_assert_geq(v.n, 3, "an agent, a child and its child");

	for (int i = 0; i < v.n; i++) {
		char path[64], groups[256];
		struct stat st;

		/* /proc/<pid> of a task that is not dumpable belongs to root */
		snprintf(path, sizeof(path), "/proc/%d/status", v.pid[i]);
		cr_assert_eq(stat(path, &st), 0);
		cr_expect_eq(st.st_uid, 0, "%d is dumpable (its /proc files are uid %u's)",
			     v.pid[i], st.st_uid);
		status_line(v.pid[i], "Groups:", groups, sizeof(groups));
		cr_expect(strstr(groups, "4242") == NULL, "%d keeps the host's groups:%s", v.pid[i],
			  groups);
	}
	allowed = hct_call(&c, 0, do_reach, &v, out, sizeof(out));
	cr_expect_eq(allowed, 0, "the container reached procbox's children:\n%s", out);
	cr_log_info("%s", out);
	v.signals_allowed = true;
	allowed = hct_call(&c, HCT_NO_PIDNS, do_reach, &v, out, sizeof(out));
	cr_expect_eq(allowed, 0, "outside its pid namespace, it reached them:\n%s", out);

	reap_pid(reader);
	hct_stop(&c);
	suite_stop_cleanly(&d);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * 16 reads at once (as many as the FUSE workers) by a container whose children stop: at
 * most --max-children of them wait for their child, the others are refused at once, and
 * another container is served meanwhile. Checked by order, not by time: the other
 * container's read ends before any of the waiting ones.
 */
Test(children, stopped_children_of_one_container_never_stall_another)
{
	enum { N = 16 };
	struct bg_read *res = shared_alloc(8192);
	pid_t readers[N], other, stopped[N];
	int n_stopped = 0, n_done = 0, first_waiting = 0;
	struct hct a, b;

	bg_seq = (int *)(res + N + 1);
	become_subreaper();
	start_daemon_stopping_children("6000");
	ct_start(&userns_ct, true, &a);
	ct_start(&userns_ct, true, &b);
	/* b's agent exists before the flood, so that b needs nothing a's requests hold but
	 * a FUSE worker */
	cr_assert_str_eq(ct_read(&b, 0, "/proc/sys/net/ipv4/ip_default_ttl"), "64");

	for (int i = 0; i < N; i++)
		readers[i] = bg_read_start(&a, "/proc/sys/kernel/ns_last_pid", &res[i]);
	/* every read of a's either refused or held by a stopped child */
	for (int64_t end = hct_now_ms() + 5000; hct_now_ms() < end; usleep(20000)) {
		n_done = 0;
		for (int i = 0; i < N; i++)
			n_done += __atomic_load_n(&res[i].done, __ATOMIC_SEQ_CST);
		n_stopped = stopped_descendants(stopped, NULL, N);
		if (n_done + n_stopped >= N)
			break;
	}
	cr_log_info("%d refused, %d waiting on a stopped child", n_done, n_stopped);
	other = bg_read_start(&b, "/proc/sys/net/ipv4/ip_default_ttl", &res[N]);
	reap_pid(other);
	for (int i = 0; i < N; i++)
		reap_pid(readers[i]);

	cr_expect_eq(res[N].r, 0, "the other container's read: %s", res[N].out);
	for (int i = 0; i < N; i++) {
		if (res[i].r == -EAGAIN)
			continue;
		cr_expect_eq(res[i].r, -ETIMEDOUT, "read %d: %s", i, res[i].out);
		if (!first_waiting || res[i].seq < first_waiting)
			first_waiting = res[i].seq;
	}
	cr_expect(first_waiting == 0 || res[N].seq < first_waiting,
		  "the other container was served only after a stopped child's request ended "
		  "(%d waiting)",
		  n_stopped);
	cr_expect_leq(n_stopped, 4, "more children than --max-children at once");
	hct_stop(&a);
	hct_stop(&b);
	suite_stop_cleanly(&d);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* io_submit() of an O_DIRECT read of path; returns how many answers were there as soon
 * as it returned (then waits for the answer). */
static int do_io_submit(const void *p, char *out, size_t outsz)
{
	static char buf[4096] __attribute__((aligned(4096)));
	struct iocb cb = {0}, *cbs[1] = {&cb};
	struct timespec zero = {0};
	aio_context_t ctx = 0;
	struct io_event ev;
	int fd, ready, r;

	fd = open(p, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return snprintf(out, outsz, "open: %s", strerror(errno)), -errno;
	if (syscall(SYS_io_setup, 1, &ctx) < 0)
		return snprintf(out, outsz, "io_setup: %s", strerror(errno)), -errno;
	cb.aio_fildes = (uint32_t)fd;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (uint64_t)(uintptr_t)buf;
	cb.aio_nbytes = sizeof(buf);
	r = (int)syscall(SYS_io_submit, ctx, 1, cbs);
	if (r != 1)
		return snprintf(out, outsz, "io_submit: %d %s", r, strerror(errno)), -EIO;
	ready = (int)syscall(SYS_io_getevents, ctx, 0, 1, &ev, &zero);
	if (ready == 0)
		(void)syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL);
	snprintf(out, outsz, "read: %lld", (long long)ev.res);
	syscall(SYS_io_destroy, ctx);
	close(fd);
	return ready;
}

/*
 * A request is served while its submitter waits: io_submit() of an O_DIRECT read returns
 * only once it was answered. With asynchronous direct I/O it would return at once, and
 * the submitter could exit and its pid be reused in another container before the read is
 * served, in that container's namespaces. The read is held (its child stops) so that the
 * answer cannot come before io_submit() returns by chance.
 */
Test(children, io_submit_waits_for_its_answer)
{
	char out[256];
	struct hct c;
	int r;

	become_subreaper();
	start_daemon_stopping_children("1000");
	ct_start(&userns_ct, true, &c);
	r = hct_call(&c, 0, do_io_submit, "/proc/sys/kernel/ns_last_pid", out, sizeof(out));
	cr_expect_eq(r, 1, "io_submit returned before its read was answered (%d, %s)", r, out);
	cr_log_info("%s", out);
	hct_stop(&c);
	suite_stop_cleanly(&d);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* A restart does not wait on a stopped child: the daemon asked to stop while a request
 * waits on one (with a timeout far longer than the stop may take) ends it and exits. */
Test(children, a_stopped_child_never_holds_up_a_shutdown)
{
	struct bg_read *res = shared_alloc(4096);
	pid_t g, reader;
	int pidfd;
	struct hct c;

	bg_seq = (int *)(res + 2);
	become_subreaper();
	start_daemon_stopping_children("60000");
	ct_start(&userns_ct, true, &c);
	reader = bg_read_start(&c, "/proc/sys/kernel/ns_last_pid", &res[0]);
	cr_assert_eq(wait_stopped(&g, NULL, 1, 10000), 1, "no stopped child appeared");
	pidfd = (int)syscall(SYS_pidfd_open, g, 0);
	cr_assert_geq(pidfd, 0);
	/* daemon_stop() gives it 5 s before SIGKILL, a twelfth of the request's timeout */
	cr_expect_eq(daemon_stop(&d), 0, "the daemon did not exit by itself: see %s", d.log);
	cr_expect(exits_within(pidfd, 5000), "child %d outlived the daemon", g);
	kill(g, SIGKILL);
	close(pidfd);
	reap_pid(reader);
	cr_expect_lt(res[0].r, 0, "%s", res[0].out);
	hct_stop(&c);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}
