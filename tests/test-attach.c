/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * procbox attach/detach, the OCI pieces (state, config.json, the runc wrapper's argument
 * scan) and the re-attach after a restart: parsers on fixed input, then real containers
 * (unshare'd namespaces) and a real daemon killed with SIGKILL and started again.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fuse.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach/attach.h"
#include "attach/nsmount.h"
#include "attach/oci.h"
#include "attach/restart.h"
#include "attach/runc.h"
#include "holder/holder.h"
#include "lib/suite.h"
#include "lib/testns.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/mountinfo.h"

/* ---------- mountinfo ---------- */

static const char sample_mountinfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "40 23 0:45 /proc/sys /proc/sys rw,nosuid,nodev,relatime - fuse.procbox procbox "
    "rw,user_id=0,group_id=0,allow_other\n"
    "41 40 0:46 /proc/sys /proc/sys rw,nosuid,nodev,relatime - fuse.procbox procbox "
    "rw,user_id=0,group_id=0,allow_other\n"
    "50 22 0:47 / /tmp/with\\040space\\134x ro,relatime master:3 shared:7 - tmpfs tmpfs ro\n"
    "51 22 0:48 / /var/lib/lxcfs rw - fuse.lxcfs lxcfs rw\n"
    "52 22 0:49 / /elsewhere rw - fuse.procbox other rw\n";

Test(mountinfo, parses_fields_escapes_and_optional_fields)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;
	const struct mountinfo_entry *e;

	cr_assert_eq(mountinfo_parse(sample_mountinfo, &mi), 0);
	cr_assert_eq(mi->n, 7);
	e = &mi->entries[0];
	cr_assert_eq(e->mnt_id, 22);
	cr_assert_eq(e->parent_id, 1);
	cr_assert_eq(e->major, 8);
	cr_assert_eq(e->minor, 1);
	cr_assert_str_eq(e->mountpoint, "/");
	cr_assert(e->shared);
	cr_assert_not(e->readonly);
	cr_assert_str_eq(e->fstype, "ext4");
	cr_assert_str_eq(e->source, "/dev/sda1");

	e = mountinfo_find_id(mi, 50);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->mountpoint, "/tmp/with space\\x");
	cr_assert(e->readonly);
	cr_assert(e->shared, "shared:7 after master:3");
	cr_assert_str_eq(e->fstype, "tmpfs");

	e = mountinfo_find_id(mi, 40);
	cr_assert_str_eq(e->root, "/proc/sys");
	cr_assert_not(e->shared);
	cr_assert(mountinfo_entry_is_procbox(e));
	cr_assert_not(mountinfo_entry_is_procbox(mountinfo_find_id(mi, 51)), "lxcfs");
	cr_assert_not(mountinfo_entry_is_procbox(mountinfo_find_id(mi, 52)), "source must match");
	cr_assert_not(mountinfo_entry_is_procbox(NULL));
	cr_assert_null(mountinfo_find_id(mi, 99));
}

Test(mountinfo, top_is_the_last_mount_stacked_on_a_path)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;

	cr_assert_eq(mountinfo_parse(sample_mountinfo, &mi), 0);
	cr_assert_eq(mountinfo_find_top(mi, "/proc/sys")->mnt_id, 41);
	cr_assert_eq(mountinfo_find_top(mi, "/proc")->mnt_id, 23);
	cr_assert_null(mountinfo_find_top(mi, "/proc/sys/kernel"));
}

Test(mountinfo, refuses_malformed_lines)
{
	static const char *const bad[] = {
	    "22 1 8:1 / / rw,relatime shared:1 ext4 /dev/sda1 rw\n", /* no separator */
	    "22 1 8:1 / /\n",
	    "x 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
	    "22 1 8:1 / / rw -\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct mountinfo *mi = NULL;

		cr_assert_eq(mountinfo_parse(bad[i], &mi), -EBADMSG, "line %zu", i);
		cr_assert_null(mi);
	}
}

Test(mountinfo, reads_this_process)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;

	cr_assert_eq(mountinfo_read_pid(getpid(), &mi), 0);
	cr_assert_gt(mi->n, 0);
	cr_assert_not_null(mountinfo_find_top(mi, "/"));
}

/* ---------- OCI documents ---------- */

Test(oci, state_needs_pid_and_absolute_bundle)
{
	static const char good[] =
	    "{\"ociVersion\":\"1.0.2\",\"id\":\"abc\",\"status\":\"creating\","
	    "\"pid\":4242,\"bundle\":\"/run/b\",\"annotations\":{}}";
	static const char *const bad[] = {
	    "{\"id\":\"abc\",\"bundle\":\"/run/b\"}",
	    "{\"id\":\"abc\",\"pid\":0,\"bundle\":\"/run/b\"}",
	    "{\"id\":\"abc\",\"pid\":\"12\",\"bundle\":\"/run/b\"}",
	    "{\"id\":\"abc\",\"pid\":12,\"bundle\":\"run/b\"}",
	    "{\"id\":\"abc\",\"pid\":12}",
	    "[1,2]",
	    "not json",
	    "{\"pid\":12,\"bundle\":\"/b\"} trailing",
	};
	struct oci_state s;

	cr_assert_eq(oci_state_parse(good, strlen(good), &s), 0);
	cr_assert_eq(s.pid, 4242);
	cr_assert_str_eq(s.id, "abc");
	cr_assert_str_eq(s.status, "creating");
	cr_assert_str_eq(s.bundle, "/run/b");
	oci_state_done(&s);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		cr_assert_eq(oci_state_parse(bad[i], strlen(bad[i]), &s), -EBADMSG, "%s", bad[i]);
}

Test(oci, state_names_the_pod)
{
	static const char kube[] =
	    "{\"id\":\"c1\",\"pid\":7,\"bundle\":\"/b\",\"annotations\":"
	    "{\"io.kubernetes.pod.name\":\"web-7\",\"io.kubernetes.pod.namespace\":\"shop\"}}";
	static const char cri[] = "{\"id\":\"c2\",\"pid\":7,\"bundle\":\"/b\",\"annotations\":"
				  "{\"io.kubernetes.cri.sandbox-name\":\"db-0\","
				  "\"io.kubernetes.cri.sandbox-namespace\":\"data\"}}";
	static const char none[] = "{\"id\":\"c3\",\"pid\":7,\"bundle\":\"/b\"}";
	struct oci_state s;

	cr_assert_eq(oci_state_parse(kube, strlen(kube), &s), 0);
	cr_assert_str_eq(s.pod_name, "web-7");
	cr_assert_str_eq(s.pod_namespace, "shop");
	oci_state_done(&s);
	cr_assert_eq(oci_state_parse(cri, strlen(cri), &s), 0);
	cr_assert_str_eq(s.pod_name, "db-0");
	cr_assert_str_eq(s.pod_namespace, "data");
	oci_state_done(&s);
	cr_assert_eq(oci_state_parse(none, strlen(none), &s), 0);
	cr_assert_null(s.pod_name);
	cr_assert_null(s.pod_namespace);
	oci_state_done(&s);
}

static char bundle_dir[64];

static void bundle_setup(void)
{
	snprintf(bundle_dir, sizeof(bundle_dir), "/tmp/procbox-bundle-XXXXXX");
	cr_assert_not_null(mkdtemp(bundle_dir));
}

static void bundle_teardown(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/config.json", bundle_dir);
	unlink(p);
	rmdir(bundle_dir);
}

static void write_config(const char *text, mode_t mode)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/config.json", bundle_dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static json_object *read_config(void)
{
	_cleanup_free_ char *text = NULL;
	char p[128];

	snprintf(p, sizeof(p), "%s/config.json", bundle_dir);
	cr_assert_eq(read_full_file(p, &text, NULL), 0);
	return json_tokener_parse(text);
}

Test(oci, bundle_rootfs_relative_and_absolute, .init = bundle_setup, .fini = bundle_teardown)
{
	struct oci_bundle b;
	char want[128];

	write_config("{\"root\":{\"path\":\"rootfs\"},\"linux\":{\"readonlyPaths\":"
		     "[\"/proc/bus\",\"/proc/sys\"]}}",
		     0600);
	cr_assert_eq(oci_bundle_read(bundle_dir, &b), 0);
	snprintf(want, sizeof(want), "%s/rootfs", bundle_dir);
	cr_assert_str_eq(b.rootfs, want);
	cr_assert(b.proc_sys_readonly);
	oci_bundle_done(&b);

	write_config("{\"root\":{\"path\":\"/var/lib/x/merged\"},\"linux\":{}}", 0600);
	cr_assert_eq(oci_bundle_read(bundle_dir, &b), 0);
	cr_assert_str_eq(b.rootfs, "/var/lib/x/merged");
	cr_assert_not(b.proc_sys_readonly);
	oci_bundle_done(&b);

	write_config("{\"linux\":{}}", 0600);
	cr_assert_eq(oci_bundle_read(bundle_dir, &b), -EBADMSG);
}

Test(oci, add_hook_edits_once_and_keeps_the_rest, .init = bundle_setup, .fini = bundle_teardown)
{
	static const char *const args[] = {"procbox", "hook", "--mountpoint", "/m", NULL};
	static const char *const unprotect[] = {"/proc/sys", NULL};
	json_object *cfg, *v, *h;
	struct stat st;
	char p[128];

	write_config("{\"ociVersion\":\"1.0.2-dev\",\"root\":{\"path\":\"rootfs\"},"
		     "\"hooks\":{\"prestart\":[{\"path\":\"/usr/bin/other\"}]},"
		     "\"linux\":{\"resources\":{\"memory\":{\"limit\":9223372036854775807,"
		     "\"swap\":18446744073709551615}},"
		     "\"readonlyPaths\":[\"/proc/bus\",\"/proc/sys\",\"/proc/sysrq-trigger\"],"
		     "\"maskedPaths\":[\"/proc/kcore\"]},\"x-unknown\":{\"deep\":[1,2.5,null]}}",
		     0640);
	cr_assert_eq(oci_bundle_add_hook(bundle_dir, "/usr/local/bin/procbox", args, unprotect), 1);
	cfg = read_config();
	cr_assert_not_null(cfg);

	cr_assert(json_object_object_get_ex(cfg, "hooks", &v));
	cr_assert(json_object_object_get_ex(v, "prestart", &h), "other stages stay");
	cr_assert(json_object_object_get_ex(v, "createRuntime", &h));
	cr_assert_eq(json_object_array_length(h), 1);
	h = json_object_array_get_idx(h, 0);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(h, "path")),
			 "/usr/local/bin/procbox");
	v = json_object_object_get(h, "args");
	cr_assert_eq(json_object_array_length(v), 4);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), "hook");

	v = json_object_object_get(json_object_object_get(cfg, "linux"), "readonlyPaths");
	cr_assert_eq(json_object_array_length(v), 2);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "/proc/bus");
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)),
			 "/proc/sysrq-trigger");
	v = json_object_object_get(json_object_object_get(cfg, "linux"), "resources");
	v = json_object_object_get(json_object_object_get(v, "memory"), "swap");
	cr_assert_eq(json_object_get_uint64(v), UINT64_MAX, "large numbers survive");
	cr_assert(json_object_object_get_ex(cfg, "x-unknown", &v), "unknown keys survive");
	json_object_put(cfg);

	snprintf(p, sizeof(p), "%s/config.json", bundle_dir);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "the file keeps its mode");

	cr_assert_eq(oci_bundle_add_hook(bundle_dir, "/usr/local/bin/procbox", args, unprotect), 0,
		     "a second run changes nothing");
	cfg = read_config();
	v = json_object_object_get(json_object_object_get(cfg, "hooks"), "createRuntime");
	cr_assert_eq(json_object_array_length(v), 1);
	json_object_put(cfg);
}

Test(oci, add_hook_creates_missing_sections, .init = bundle_setup, .fini = bundle_teardown)
{
	static const char *const args[] = {"procbox", "hook", NULL};
	static const char *const unprotect[] = {"/proc/sys", NULL};
	json_object *cfg, *v;

	write_config("{\"root\":{\"path\":\"rootfs\"}}", 0600);
	cr_assert_eq(oci_bundle_add_hook(bundle_dir, "/p", args, unprotect), 1);
	cfg = read_config();
	v = json_object_object_get(json_object_object_get(cfg, "hooks"), "createRuntime");
	cr_assert_eq(json_object_array_length(v), 1);
	json_object_put(cfg);

	write_config("{\"hooks\":[]}", 0600);
	cr_assert_eq(oci_bundle_add_hook(bundle_dir, "/p", args, unprotect), -EBADMSG);
	bundle_teardown();
	cr_assert_eq(oci_bundle_add_hook("/nonexistent-procbox-bundle", "/p", args, unprotect),
		     -ENOENT);
}

/* ---------- runc's command line ---------- */

Test(runc, finds_command_and_bundle)
{
	static const struct {
		const char *argv[16];
		int cmd;
		const char *bundle;
	} cases[] = {
	    {{"runc", "--root", "/run/x", "--log", "/l.json", "--log-format", "json", "create",
	      "--bundle", "/b", "--pid-file", "/p", "id"},
	     7,
	     "/b"},
	    {{"runc", "--root=/r", "--systemd-cgroup", "run", "-b", "/c", "id"}, 3, "/c"},
	    {{"runc", "-root", "/r", "create", "--bundle=/d", "id"}, 3, "/d"},
	    {{"runc", "--debug", "create", "id"}, 2, NULL},
	    {{"runc", "state", "id"}, 1, NULL},
	    {{"runc", "--version"}, 0, NULL},
	    {{"runc", "exec", "id", "sh", "--bundle", "/x"}, 1, "/x"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int argc = 0, cmd;
		const char *bundle;

		while (cases[i].argv[argc])
			argc++;
		runc_parse_args(argc, (char *const *)cases[i].argv, &cmd, &bundle);
		cr_assert_eq(cmd, cases[i].cmd, "case %zu", i);
		if (cases[i].bundle)
			cr_assert_str_eq(bundle, cases[i].bundle, "case %zu", i);
		else
			cr_assert_null(bundle, "case %zu", i);
	}
}

Test(runc, finds_the_real_runc_not_itself)
{
	_cleanup_free_ char *p = NULL;

	setenv("PROCBOX_RUNC", "/nonexistent/runc", 1);
	cr_assert_eq(runc_find(&p), -ENOENT);
	setenv("PROCBOX_RUNC", "/bin/true", 1);
	cr_assert_eq(runc_find(&p), 0);
	cr_assert_str_eq(p, "/bin/true");
	unsetenv("PROCBOX_RUNC");
}

Test(nsmount, every_outcome_has_a_name)
{
	for (int o = NSMOUNT_PENDING; o <= NSMOUNT_FAILED; o++)
		cr_assert_not_null(nsmount_outcome_to_string(o));
	cr_assert_null(nsmount_outcome_to_string(NSMOUNT_FAILED + 1));
}

/* ---------- real daemon, real containers ---------- */

struct daemon {
	pid_t pid;
	char mnt[64];
	char log[80];
};

/* Each daemon's hand-over state (holder socket, pid file) beside its mountpoint. */
static void state_dir_of(const char *mnt, char *buf, size_t size)
{
	snprintf(buf, size, "%s.state", mnt);
}

static pid_t spawn_daemon(const char *mnt, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		char state[96];

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		state_dir_of(mnt, state, sizeof(state));
		execl(PROCBOX_BUILD_ROOT "/procbox", "procbox", "-f", "--state-dir", state, mnt,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void wait_live(const char *mnt)
{
	for (int i = 0; i < 500; i++) {
		if (attach_check_mountpoint(mnt) == 0)
			return;
		usleep(10000);
	}
	cr_assert_fail("procbox did not come up at %s", mnt);
}

static void daemon_up(struct daemon *d)
{
	snprintf(d->mnt, sizeof(d->mnt), "/tmp/procbox-attach-XXXXXX");
	cr_assert_not_null(mkdtemp(d->mnt));
	snprintf(d->log, sizeof(d->log), "%s.log", d->mnt);
	d->pid = spawn_daemon(d->mnt, d->log);
	cr_assert_gt(d->pid, 0);
	wait_live(d->mnt);
}

static void daemon_kill9(struct daemon *d)
{
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
}

/* The connection is lost only when the holder that keeps it dies too (daemon.pid names
 * it); then a new daemon re-attaches the dead mounts. */
static void holder_kill9(struct daemon *d)
{
	char state[96], *dir = NULL, *path = NULL;
	int pid = 0, holder = 0;
	unsigned gen;
	FILE *f;

	state_dir_of(d->mnt, state, sizeof(state));
	cr_assert_eq(holder_dir(state, d->mnt, &dir), 0);
	cr_assert_geq(asprintf(&path, "%s/daemon.pid", dir), 0);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fscanf(f, "%d %u %d", &pid, &gen, &holder), 3);
	fclose(f);
	cr_assert_gt(holder, 0);
	kill(holder, SIGKILL);
	for (int i = 0; i < 500 && kill(holder, 0) == 0; i++) {
		char st[256] = "";
		char p[64];

		snprintf(p, sizeof(p), "/proc/%d/stat", holder);
		if (read_line(p, st, sizeof(st)) == 0 && strstr(st, ") Z"))
			break; /* a zombie until the subreaper reaps it: gone all the same */
		usleep(10000);
	}
	free(dir);
	free(path);
}

static void daemon_down(struct daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	if (!d->mnt[0])
		return;
	umount2(d->mnt, MNT_DETACH);
	rmdir(d->mnt);
	unlink(d->log);
	{
		char state[96], cmd[128];

		state_dir_of(d->mnt, state, sizeof(state));
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
		(void)!system(cmd);
	}
	d->mnt[0] = 0;
}

static struct daemon pb, other;
static struct testns cts[4];
static char fake_root[64];
/* Where the fake root's symlink leads: outside the root, made by the test, removed after. */
static char elsewhere[64];

/* A process in a container's namespaces, looping on something; it counts in shared[]. */
struct helper {
	pid_t pid;
	volatile unsigned long *shared;
};
static struct helper looper, hostile;

static void helper_stop(struct helper *h)
{
	if (h->pid > 0) {
		h->shared[0] = 1;
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

static void live_setup(void)
{
	suite_need_daemon();
	daemon_up(&pb);
}

static void live_teardown(void)
{
	/* The FUSE server first: its connection ends with it, and with it any request of
	 * procbox's stuck in it. */
	helper_stop(&hostile);
	helper_stop(&looper);
	for (size_t i = 0; i < ELEMENTSOF(cts); i++)
		testns_stop(&cts[i]);
	daemon_down(&pb);
	daemon_down(&other);
	if (fake_root[0]) {
		rmdir(fake_root);
		fake_root[0] = 0;
	}
	if (elsewhere[0]) {
		char path[96];

		snprintf(path, sizeof(path), "%s/virtual/net", elsewhere);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/virtual", elsewhere);
		rmdir(path);
		rmdir(elsewhere);
		elsewhere[0] = 0;
	}
}

TestSuite(live, .init = live_setup, .fini = live_teardown, .timeout = 120);

#define CT_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWIPC)

static void ct_start(struct testns *t, int flags, const char *hostname)
{
	struct testns_opts o = {
	    .clone_flags = flags,
	    .uid_map = "0 100000 65536",
	    .gid_map = "0 100000 65536",
	    .hostname = hostname,
	};
	cr_assert_eq(testns_start(&o, t), 0, "container start");
}

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

/* Mounts of the test's daemon in pid's namespace: other procbox daemons on the machine
 * (other suites) come and go in the host's table, which a container copied. */
static unsigned procbox_mounts(pid_t pid)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;
	struct stat st;
	unsigned n = 0;

	cr_assert_eq(stat(pb.mnt, &st), 0);
	cr_assert_eq(mountinfo_read_pid(pid, &mi), 0);
	for (size_t i = 0; i < mi->n; i++)
		n += makedev(mi->entries[i].major, mi->entries[i].minor) == st.st_dev;
	return n;
}

static const struct attach_item *item(const struct attach_item *items, const char *path)
{
	for (size_t i = 0; i < attach_n_items(items); i++)
		if (strcmp(items[i].path, path) == 0)
			return &items[i];
	cr_assert_fail("no attach point %s", path);
	return NULL;
}

/* How many points the daemon serves, and how many of those ended with outcome o. */
static unsigned count(const struct attach_item *items, enum nsmount_outcome o, unsigned *served)
{
	unsigned n = 0;

	*served = 0;
	for (size_t i = 0; i < attach_n_items(items); i++) {
		if (items[i].serve_error)
			continue;
		(*served)++;
		n += items[i].op.outcome == o;
	}
	return n;
}

static void ct_attach(const struct testns *t, struct attach_item *items)
{
	cr_assert_eq(attach_container(pb.mnt, t->pid, NULL, NULL, items), 0);
	cr_assert_eq(item(items, "proc/sys")->op.outcome, NSMOUNT_ATTACHED, "%s",
		     nsmount_outcome_to_string(item(items, "proc/sys")->op.outcome));
}

Test(live, attach_gives_a_container_procbox_values)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	unsigned served, attached, before;
	char host_fwd[32], out[256];
	double up_ct, up_host;
	int st;

	cr_assert_eq(read_line("/proc/sys/net/ipv4/ip_forward", host_fwd, sizeof(host_fwd)), 0);
	ct_start(&cts[0], CT_FLAGS, "ct-attach");
	before = procbox_mounts(cts[0].pid);
	ct_attach(&cts[0], items);
	attached = count(items, NSMOUNT_ATTACHED, &served);
	for (size_t i = 0; i < attach_n_items(items); i++)
		cr_assert(attach_outcome_ok(&items[i]), "%s: %s %s", items[i].path,
			  strerror(-items[i].serve_error),
			  nsmount_outcome_to_string(items[i].op.outcome));
	cr_assert_geq(served, 8, "proc/sys, uptime, swaps and the sys folders at least");
	cr_assert_eq(procbox_mounts(cts[0].pid), before + attached);
	cr_assert_eq(item(items, "proc/uptime")->op.outcome, NSMOUNT_ATTACHED);
	cr_assert_eq(item(items, "sys/devices/virtual/net")->op.outcome, NSMOUNT_ATTACHED);

	cr_assert_str_eq(ct_sh(&cts[0], "stat -f -c %T /proc/sys", &st), "fuseblk");
	cr_assert_str_eq(ct_sh(&cts[0], "cat /proc/sys/kernel/hostname", &st), "ct-attach");
	cr_assert_eq(st, 0);
	/* the container's network namespace, written through procbox: not the host's */
	ct_sh(&cts[0], "echo 1 > /proc/sys/net/ipv4/ip_forward", &st);
	cr_assert_eq(st, 0);
	cr_assert_str_eq(ct_sh(&cts[0], "cat /proc/sys/net/ipv4/ip_forward", NULL), "1");
	cr_assert_eq(read_line("/proc/sys/net/ipv4/ip_forward", out, sizeof(out)), 0);
	cr_assert_str_eq(out, host_fwd, "the host's value stays");
	/* the container's uptime, not the host's */
	cr_assert_eq(read_line("/proc/uptime", out, sizeof(out)), 0);
	up_host = strtod(out, NULL);
	up_ct = strtod(ct_sh(&cts[0], "cat /proc/uptime", NULL), NULL);
	cr_assert_lt(up_ct, up_host, "container %f, host %f", up_ct, up_host);
	cr_assert_str_eq(ct_sh(&cts[0], "ls /sys/devices/virtual/net", NULL), "lo");
}

Test(live, attach_twice_does_not_stack)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	unsigned served, already, n;

	ct_start(&cts[0], CT_FLAGS, "ct-twice");
	ct_attach(&cts[0], items);
	n = procbox_mounts(cts[0].pid);
	cr_assert_eq(attach_container(pb.mnt, cts[0].pid, NULL, NULL, items), 0);
	already = count(items, NSMOUNT_ALREADY, &served);
	cr_assert_eq(already + count(items, NSMOUNT_MISSING, &served), served);
	cr_assert_gt(already, 0);
	cr_assert_eq(procbox_mounts(cts[0].pid), n, "no mount added");
}

Test(live, detach_leaves_the_original_files)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	unsigned before;
	int st;

	ct_start(&cts[0], CT_FLAGS, "ct-detach");
	before = procbox_mounts(cts[0].pid);
	ct_attach(&cts[0], items);
	cr_assert_eq(detach_container(pb.mnt, cts[0].pid, NULL, items), 0);
	cr_assert_eq(item(items, "proc/sys")->op.outcome, NSMOUNT_DETACHED);
	cr_assert_eq(item(items, "proc/uptime")->op.outcome, NSMOUNT_DETACHED);
	cr_assert_eq(procbox_mounts(cts[0].pid), before);
	cr_assert_str_eq(ct_sh(&cts[0], "stat -f -c %T /proc/sys", &st), "proc");
	cr_assert_str_eq(ct_sh(&cts[0], "stat -f -c %T /sys/devices/virtual/net", &st), "sysfs");
	cr_assert_str_eq(ct_sh(&cts[0], "cat /proc/sys/kernel/hostname", &st), "ct-detach");

	cr_assert_eq(detach_container(pb.mnt, cts[0].pid, NULL, items), 0);
	cr_assert_eq(item(items, "proc/sys")->op.outcome, NSMOUNT_NOT_ATTACHED);
}

/*
 * A disk of the test's own (a new loop device: no I/O of any cgroup but the test's is ever
 * on it) and a blkio cgroup of its own for the container, so that the container's counters
 * of the disk are 0 whether or not the kernel counts per cgroup, while the host's are not.
 */
static struct {
	int index;    /* -1: none */
	char dir[64]; /* the backing file and the device node */
	char cg[512]; /* the container's blkio cgroup */
} disk = {.index = -1};

static void disk_teardown(void)
{
	char path[128];

	/* the container first: it holds the cgroup, and the attached files keep the disk's
	 * folder in use */
	testns_stop(&cts[0]);
	if (disk.cg[0]) {
		rmdir(disk.cg);
		disk.cg[0] = 0;
	}
	if (disk.index >= 0) {
		int fd, ctl, r = -1;

		snprintf(path, sizeof(path), "%s/dev", disk.dir);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			ioctl(fd, LOOP_CLR_FD, 0);
			close(fd);
		}
		ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
		/* the detach finishes asynchronously: EBUSY for a moment */
		for (int i = 0; ctl >= 0 && i < 250; i++) {
			r = ioctl(ctl, LOOP_CTL_REMOVE, disk.index);
			if (r >= 0 || errno != EBUSY)
				break;
			usleep(20000);
		}
		if (r < 0)
			cr_log_warn("loop%d is left: %s", disk.index, strerror(errno));
		if (ctl >= 0)
			close(ctl);
		disk.index = -1;
	}
	if (disk.dir[0]) {
		snprintf(path, sizeof(path), "%s/backing", disk.dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/dev", disk.dir);
		unlink(path);
		rmdir(disk.dir);
		disk.dir[0] = 0;
	}
	live_teardown();
}

/* A new 16 MiB loop device, written 1 MiB to from here (the host). */
static void disk_make(void)
{
	char path[128], buf[64];
	unsigned ma, mi;
	int ctl, backing, fd, r;
	void *data = NULL;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		cr_skip_test("no /dev/loop-control: %s", strerror(errno));
	/* A number of its own, far above the ones losetup hands out. */
	for (int i = 0; i < 512 && disk.index < 0; i++) {
		int n = 8192 + (int)(((unsigned)getpid() + (unsigned)i) % 100000);

		if (ioctl(ctl, LOOP_CTL_ADD, n) >= 0)
			disk.index = n;
		else
			cr_assert_eq(errno, EEXIST, "LOOP_CTL_ADD %d: %s", n, strerror(errno));
	}
	close(ctl);
	cr_assert_geq(disk.index, 0, "no free loop device number");
	snprintf(disk.dir, sizeof(disk.dir), "/tmp/procbox-attach-loop.XXXXXX");
	cr_assert_not_null(mkdtemp(disk.dir));
	snprintf(path, sizeof(path), "%s/backing", disk.dir);
	backing = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(backing, 0, "%s", path);
	cr_assert_eq(ftruncate(backing, 16 << 20), 0);
	snprintf(path, sizeof(path), "/sys/block/loop%d/dev", disk.index);
	cr_assert_eq(read_line(path, buf, sizeof(buf)), 0, "%s", path);
	cr_assert_eq(sscanf(buf, "%u:%u", &ma, &mi), 2, "%s", buf);
	/* a node of our own: /dev may have none yet */
	snprintf(path, sizeof(path), "%s/dev", disk.dir);
	cr_assert_eq(mknod(path, S_IFBLK | 0600, makedev(ma, mi)), 0, "%s", strerror(errno));
	fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	r = ioctl(fd, LOOP_SET_FD, backing);
	close(fd);
	close(backing);
	cr_assert_eq(r, 0, "LOOP_SET_FD: %s", strerror(errno));

	cr_assert_eq(posix_memalign(&data, 4096, 1 << 20), 0);
	memset(data, 0x5a, 1 << 20);
	fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, 1 << 20), 1 << 20, "%s", strerror(errno));
	close(fd);
	free(data);
}

/* A blkio cgroup of the test's own below its own, with the container's processes in it. */
static void disk_cgroup(const struct testns *t)
{
	char line[512], path[600], *own = NULL;
	FILE *f = fopen("/proc/self/cgroup", "re");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *c = strstr(line, ":blkio:");

		if (c) {
			own = c + strlen(":blkio:");
			own[strcspn(own, "\n")] = 0;
			break;
		}
	}
	fclose(f);
	if (!own || access("/sys/fs/cgroup/blkio/cgroup.procs", F_OK) < 0)
		cr_skip_test("no cgroup v1 blkio hierarchy");
	snprintf(disk.cg, sizeof(disk.cg), "/sys/fs/cgroup/blkio%s/procbox-attach-%d",
		 strcmp(own, "/") == 0 ? "" : own, (int)getpid());
	cr_assert_eq(mkdir(disk.cg, 0755), 0, "%s: %s", disk.cg, strerror(errno));
	snprintf(path, sizeof(path), "%s/cgroup.procs", disk.cg);
	snprintf(line, sizeof(line), "%d", (int)t->outer);
	cr_assert_eq(write_file(path, line), 0, "%s", path);
	snprintf(line, sizeof(line), "%d", (int)t->pid);
	cr_assert_eq(write_file(path, line), 0, "%s", path);
}

/* The n-th (from 0) counter of a stat line. */
static unsigned long long stat_field(const char *text, unsigned n)
{
	unsigned long long v = 0;
	const char *p = text;

	for (unsigned i = 0; i <= n; i++) {
		char *e;

		v = strtoull(p, &e, 10);
		cr_assert_neq(e, p, "no field %u in '%s'", n, text);
		p = e;
	}
	return v;
}

Test(live, attach_covers_every_disks_stat_with_the_containers_counters, .fini = disk_teardown)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	char name[32], link[512], target[300], host[256], want[256], cmd[128], fs[128];
	const struct attach_item *it;
	size_t n = 0;
	ssize_t len;
	char *out;
	int st;

	disk_make();
	ct_start(&cts[0], CT_FLAGS, "ct-disk");
	/* before procbox takes the container's cgroup, at its first resource read */
	disk_cgroup(&cts[0]);
	ct_attach(&cts[0], items);

	snprintf(name, sizeof(name), "loop%d", disk.index);
	snprintf(cmd, sizeof(cmd), "cat /sys/block/%s/stat", name);
	snprintf(fs, sizeof(fs), "stat -L -f -c %%T /sys/block/%s/stat", name);
	cr_assert_str_eq(ct_sh(&cts[0], fs, &st), "fuseblk");
	/* the kernel's layout, with the container's counters: none, it did no I/O there */
	for (unsigned i = 0; i < 17; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%8u", i ? " " : "", 0);
	out = ct_sh(&cts[0], cmd, &st);
	cr_assert_eq(st, 0);
	cr_assert_str_eq(out, want, "the container's %s/stat", name);
	/* the host's own file is left alone: the 1 MiB written from here shows */
	snprintf(link, sizeof(link), "/sys/block/%s/stat", name);
	cr_assert_eq(read_line(link, host, sizeof(host)), 0);
	cr_assert_geq(stat_field(host, 4), 1, "writes: %s", host);
	cr_assert_geq(stat_field(host, 6), 2048, "sectors written: %s", host);
	/* and it is what procbox serves the host */
	snprintf(link, sizeof(link), "%s/sys/block/%s/stat", pb.mnt, name);
	cr_assert_eq(read_line(link, want, sizeof(want)), 0, "%s", link);
	cr_assert_geq(stat_field(want, 6), 2048, "%s: %s", link, want);

	/* the point is the file the container's /sys/block link leads to */
	snprintf(link, sizeof(link), "/sys/block/%s", name);
	len = readlink(link, target, sizeof(target) - 1);
	cr_assert_gt(len, 3);
	target[len] = 0;
	snprintf(link, sizeof(link), "sys/%s/stat", target + 3);
	it = item(items, link);
	cr_assert_eq(it->op.outcome, NSMOUNT_ATTACHED, "%s",
		     nsmount_outcome_to_string(it->op.outcome));
	snprintf(target, sizeof(target), "sys/block/%s/stat", name);
	cr_assert_str_eq(it->source, target);

	/* detach takes it away again */
	cr_assert_eq(detach_container(pb.mnt, cts[0].pid, NULL, items), 0);
	cr_assert_eq(item(items, link)->op.outcome, NSMOUNT_DETACHED);
	cr_assert_str_eq(ct_sh(&cts[0], fs, &st), "sysfs");
}

/* A disk whose medium went away after attach is no longer a point of the table, but the
 * mount on its stat file is still procbox's: detach takes it away too. */
Test(live, detach_takes_away_the_stat_file_of_a_disk_gone_since_attach, .fini = disk_teardown)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	char path[128], fs[128], target[300], link[320];
	const struct attach_item *it = NULL;
	unsigned before;
	ssize_t len;
	int fd, st;

	disk_make();
	ct_start(&cts[0], CT_FLAGS, "ct-disk-gone");
	before = procbox_mounts(cts[0].pid);
	ct_attach(&cts[0], items);
	snprintf(path, sizeof(path), "/sys/block/loop%d", disk.index);
	len = readlink(path, target, sizeof(target) - 1);
	cr_assert_gt(len, 3);
	target[len] = 0;
	snprintf(link, sizeof(link), "sys/%s/stat", target + 3);
	it = item(items, link);
	cr_assert_eq(it->op.outcome, NSMOUNT_ATTACHED);
	snprintf(fs, sizeof(fs), "stat -L -f -c %%T /sys/block/loop%d/stat", disk.index);
	cr_assert_str_eq(ct_sh(&cts[0], fs, &st), "fuseblk");

	/* no medium: size 0, so the table lists no point for it any more */
	snprintf(path, sizeof(path), "%s/dev", disk.dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(ioctl(fd, LOOP_CLR_FD, 0), 0, "LOOP_CLR_FD: %s", strerror(errno));
	close(fd);
	snprintf(path, sizeof(path), "/sys/block/loop%d/size", disk.index);
	for (int i = 0; i < 250; i++) {
		char size[32];

		cr_assert_eq(read_line(path, size, sizeof(size)), 0, "%s", path);
		if (strcmp(size, "0") == 0)
			break;
		usleep(20000); /* the kernel clears the device asynchronously */
	}

	cr_assert_eq(detach_container(pb.mnt, cts[0].pid, NULL, items), 0);
	cr_assert_eq(item(items, link)->op.outcome, NSMOUNT_DETACHED);
	cr_assert_eq(procbox_mounts(cts[0].pid), before);
	cr_assert_str_eq(ct_sh(&cts[0], fs, &st), "sysfs");
}

/* The root inside procbox's mount of procbox's mount on /proc/sys in pid's namespace (it
 * stacks on the read-only real one kept underneath). */
static void proc_sys_root(pid_t pid, char *buf, size_t size)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;
	unsigned n = 0;

	cr_assert_eq(mountinfo_read_pid(pid, &mi), 0);
	for (size_t i = 0; i < mi->n; i++) {
		const struct mountinfo_entry *e = &mi->entries[i];

		if (mountinfo_entry_is_procbox(e) && strcmp(e->mountpoint, "/proc/sys") == 0) {
			snprintf(buf, size, "%s", e->root);
			n++;
		}
	}
	cr_assert_eq(n, 1, "procbox's mounts on /proc/sys: %u", n);
}

static void cli_attach(pid_t pid)
{
	char cmd[256];
	int st;

	snprintf(cmd, sizeof(cmd), PROCBOX_BUILD_ROOT "/procbox attach -q -m %s %d >/dev/null 2>&1",
		 pb.mnt, (int)pid);
	st = system(cmd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "procbox attach %d: %#x", (int)pid, st);
}

Test(live, attached_containers_have_inodes_of_their_own)
{
	char name[2][160], want[2][400], root[2][512], ino[2][64], cmd[128];
	int st;

	ct_start(&cts[0], CT_FLAGS, "ct-set-a");
	ct_start(&cts[1], CT_FLAGS, "ct-set-b");
	for (int i = 0; i < 2; i++) {
		cli_attach(cts[i].pid);
		/* pid-<init>-<start ticks>: the set of this container and no other */
		cr_assert_eq(attach_set_name_of_pid(cts[i].pid, name[i], sizeof(name[i])), 0);
		cr_assert(strncmp(name[i], "pid-", 4) == 0, "%s", name[i]);
		snprintf(want[i], sizeof(want[i]), "/.inodes/%s/proc/sys", name[i]);
		proc_sys_root(cts[i].pid, root[i], sizeof(root[i]));
		cr_assert_str_eq(root[i], want[i]);
		snprintf(ino[i], sizeof(ino[i]), "%s",
			 ct_sh(&cts[i], "stat -c %d:%i /proc/sys/kernel/panic", &st));
		cr_assert_eq(st, 0);
	}
	cr_assert_str_neq(name[0], name[1]);
	cr_expect_str_neq(ino[0], ino[1], "both containers' /proc/sys/kernel/panic are %s", ino[0]);
	/* what each writes stays its own */
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "echo %d > /proc/sys/kernel/panic", 51 + i);
		ct_sh(&cts[i], cmd, &st);
		cr_assert_eq(st, 0);
	}
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 2; i++) {
			snprintf(cmd, sizeof(cmd), "%d", 51 + i);
			cr_expect_str_eq(ct_sh(&cts[i], "cat /proc/sys/kernel/panic", NULL), cmd);
			cr_expect_str_eq(
			    ct_sh(&cts[i], "stat -c %d:%i /proc/sys/kernel/panic", NULL), ino[i],
			    "the container's inode changed");
		}
	/* attached again: the same set, nothing stacked */
	cli_attach(cts[0].pid);
	proc_sys_root(cts[0].pid, root[0], sizeof(root[0]));
	cr_assert_str_eq(root[0], want[0]);
	cr_expect_str_eq(ct_sh(&cts[0], "stat -c %d:%i /proc/sys/kernel/panic", NULL), ino[0]);

	/* The connection lost (procbox and its holder killed): the re-attach puts the same
	 * sets back, and each container reads its own value through them. */
	daemon_kill9(&pb);
	holder_kill9(&pb);
	pb.pid = spawn_daemon(pb.mnt, pb.log);
	for (int i = 0; i < 2; i++) {
		int tries = 0;

		snprintf(cmd, sizeof(cmd), "%d", 51 + i);
		while (
		    strcmp(ct_sh(&cts[i], "cat /proc/sys/kernel/panic 2>/dev/null", NULL), cmd) &&
		    tries++ < 500)
			usleep(10000);
		cr_assert_str_eq(ct_sh(&cts[i], "cat /proc/sys/kernel/panic", NULL), cmd,
				 "container %d after the restart", i);
		proc_sys_root(cts[i].pid, root[i], sizeof(root[i]));
		cr_expect_str_eq(root[i], want[i], "the re-attach changed the set");
	}
	snprintf(ino[0], sizeof(ino[0]), "%s",
		 ct_sh(&cts[0], "stat -c %d:%i /proc/sys/kernel/panic", NULL));
	cr_expect_str_neq(ct_sh(&cts[1], "stat -c %d:%i /proc/sys/kernel/panic", NULL), ino[0],
			  "after the restart both containers see one inode");
}

Test(attach, an_oci_container_is_named_by_its_id_or_else_by_its_init)
{
	char buf[200], pidform[200], longid[160];

	cr_assert_eq(attach_set_name_of_container("4f1c0a9e2b", getpid(), buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "4f1c0a9e2b");
	cr_assert_eq(attach_set_name_of_container("my_ct.1-x+", getpid(), buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "my_ct.1-x+");
	cr_assert_eq(attach_set_name_of_pid(getpid(), pidform, sizeof(pidform)), 0);
	cr_assert(strncmp(pidform, "pid-", 4) == 0, "%s", pidform);
	/* ids that cannot name a set: the pid form */
	memset(longid, 'a', 129);
	longid[129] = '\0';
	{
		const char *bad[] = {"../x", ".hidden", "a/b", "a b", "", longid, NULL};

		for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
			cr_assert_eq(
			    attach_set_name_of_container(bad[i], getpid(), buf, sizeof(buf)), 0);
			cr_expect_str_eq(buf, pidform, "id %s", bad[i] ? bad[i] : "(none)");
		}
	}
}

Test(live, refuses_the_hosts_own_namespace)
{
	char cmd[256];

	cr_assert_eq(attach_shares_mount_ns(getpid()), 1);
	snprintf(cmd, sizeof(cmd), PROCBOX_BUILD_ROOT "/procbox attach -m %s %d >/dev/null 2>&1",
		 pb.mnt, (int)getpid());
	cr_assert_eq(WEXITSTATUS(system(cmd)), 1);
	cr_assert_eq(attach_shares_mount_ns(999999999), -ESRCH);
}

Test(live, cli_reports_each_path_and_fails_without_a_daemon)
{
	char cmd[256], out[8192];
	FILE *f;
	size_t n;
	int st;

	ct_start(&cts[0], CT_FLAGS, "ct-cli");
	snprintf(cmd, sizeof(cmd), PROCBOX_BUILD_ROOT "/procbox attach -m %s %d 2>&1", pb.mnt,
		 cts[0].pid);
	f = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	st = pclose(f);
	cr_assert_eq(WEXITSTATUS(st), 0, "%s", out);
	cr_assert_not_null(strstr(out, "procbox attach: /proc/sys: attached\n"), "%s", out);

	/* an empty folder of this run's own: no procbox there, whatever else runs */
	{
		char none[64] = "/tmp/procbox-none-XXXXXX";

		cr_assert_not_null(mkdtemp(none));
		snprintf(cmd, sizeof(cmd),
			 PROCBOX_BUILD_ROOT "/procbox attach -m %s %d >/dev/null 2>&1", none,
			 cts[0].pid);
		st = system(cmd);
		rmdir(none);
		cr_assert_eq(WEXITSTATUS(st), 1);
	}
}

/*
 * A fake root (the bundle's rootfs of a hook) that the container controls: symlinks must
 * not be followed, masks must stay, file types must match.
 */
Test(live, a_container_root_it_controls)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	char *root = fake_root, cmd[1024], *out;
	int st;

	snprintf(fake_root, sizeof(fake_root), "/tmp/procbox-root-XXXXXX");
	cr_assert_not_null(mkdtemp(fake_root));
	snprintf(elsewhere, sizeof(elsewhere), "/tmp/procbox-elsewhere-XXXXXX");
	cr_assert_not_null(mkdtemp(elsewhere));
	ct_start(&cts[0], CT_FLAGS, "ct-root");
	snprintf(cmd, sizeof(cmd),
		 "set -e; mount -t tmpfs tmpfs %1$s; cd %1$s; "
		 "mkdir -p proc sys/kernel/debug sys/kernel/tracing proc/swaps; "
		 "ln -s /etc proc/sys; touch proc/uptime proc/meminfo; "
		 "mount --bind /dev/null proc/uptime; "
		 "mount -t tmpfs -o ro tmpfs sys/kernel/debug; "
		 "mkdir -p %2$s/virtual/net; "
		 "ln -s %2$s sys/devices",
		 root, elsewhere);
	ct_sh(&cts[0], cmd, &st);
	cr_assert_eq(st, 0, "set up %s", root);

	cr_assert_eq(attach_container(pb.mnt, cts[0].pid, root, NULL, items), 0);
	cr_assert_eq(item(items, "proc/sys")->op.outcome, NSMOUNT_FAILED, "a symlink: %s %d",
		     nsmount_outcome_to_string(item(items, "proc/sys")->op.outcome),
		     item(items, "proc/sys")->op.error);
	cr_assert_eq(item(items, "proc/sys")->op.error, -ELOOP);
	cr_assert_eq(item(items, "sys/devices/virtual/net")->op.outcome, NSMOUNT_FAILED,
		     "a symlink on the way");
	cr_assert_eq(item(items, "sys/devices/virtual/net")->op.error, -ELOOP);
	cr_assert_eq(item(items, "proc/uptime")->op.outcome, NSMOUNT_MASKED, "/dev/null bind");
	cr_assert_eq(item(items, "sys/kernel/debug")->op.outcome, NSMOUNT_MASKED, "ro tmpfs");
	cr_assert_eq(item(items, "proc/swaps")->op.outcome, NSMOUNT_TYPE_DIFFERS);
	cr_assert_eq(item(items, "sys/kernel/config")->op.outcome, NSMOUNT_MISSING);
	cr_assert_eq(item(items, "sys/kernel/tracing")->op.outcome, NSMOUNT_ATTACHED);
	cr_assert_eq(item(items, "proc/meminfo")->op.outcome, NSMOUNT_ATTACHED);

	snprintf(cmd, sizeof(cmd), "stat -f -c %%T %s/proc/meminfo /etc %s/virtual/net", root,
		 elsewhere);
	out = ct_sh(&cts[0], cmd, &st);
	cr_assert_eq(st, 0);
	cr_assert_eq(strncmp(out, "fuseblk\n", 8), 0, "%s", out);
	cr_assert_null(strstr(out + 8, "fuse"), "nothing followed a symlink: %s", out);
}

Test(live, a_shared_mount_is_not_covered)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	int st;

	ct_start(&cts[0], CT_FLAGS, "ct-shared");
	ct_sh(&cts[0], "mount --make-shared /proc", &st);
	cr_assert_eq(st, 0);
	cr_assert_eq(attach_container(pb.mnt, cts[0].pid, NULL, NULL, items), 0);
	cr_assert_eq(item(items, "proc/sys")->op.outcome, NSMOUNT_SHARED);
	cr_assert_eq(item(items, "proc/uptime")->op.outcome, NSMOUNT_SHARED);
	cr_assert_str_eq(ct_sh(&cts[0], "stat -f -c %T /proc/sys", NULL), "proc");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The container reads its own hostname (namespaced) and an emulated file through
 * procbox. */
static bool ct_reads(const struct testns *t, const char *hostname)
{
	char cmd[256];
	int st;

	snprintf(cmd, sizeof(cmd),
		 "{ read h < /proc/sys/kernel/hostname && read p < /proc/sys/kernel/panic && "
		 "read u < /proc/uptime; } 2>/dev/null && echo \"$h\"");
	return strcmp(ct_sh(t, cmd, &st), hostname) == 0 && st == 0;
}

/* After a kill -9, the daemon started again re-attaches every container by itself: each
 * reads through procbox again, with nothing else done. How long that took is printed;
 * the 60 s limit only turns a re-attach that never comes into a failure. */
Test(live, restart_reattaches_every_container)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	char sys_other[128], cmd[256];
	const char *names[] = {"ct-plain", "ct-userns", "ct-nested"};
	struct statfs sf;
	double t0, took;
	bool ok[3] = {0};
	int st;

	/* plain; in a user namespace; and a user namespace made inside a container after
	 * it was attached, whose copies of procbox's mounts the kernel locks */
	ct_start(&cts[0], CT_FLAGS, names[0]);
	ct_start(&cts[1], CT_FLAGS | CLONE_NEWUSER, names[1]);
	ct_start(&cts[2], CT_FLAGS, "ct-nested-parent");
	ct_attach(&cts[0], items);
	ct_attach(&cts[1], items);
	ct_attach(&cts[2], items);
	{
		char pidstr[16], arg[128], p[64], kids[64];
		pid_t outer = fork(), kid = 0;

		if (outer == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			snprintf(pidstr, sizeof(pidstr), "%d", cts[2].pid);
			snprintf(arg, sizeof(arg), "hostname %s; exec sleep 300", names[2]);
			execlp("nsenter", "nsenter", "-t", pidstr, "-m", "-u", "-n", "-i",
			       "unshare", "-U", "-r", "-m", "-u", "--fork", "sh", "-c", arg,
			       (char *)NULL);
			_exit(127);
		}
		cr_assert_gt(outer, 0);
		/* nsenter execs unshare, which forks sh, which execs sleep */
		snprintf(p, sizeof(p), "/proc/%d/task/%d/children", outer, outer);
		for (int i = 0; i < 200 && kid == 0; i++) {
			char comm[32] = "", q[64];
			pid_t k;

			if (read_line(p, kids, sizeof(kids)) == 0 && sscanf(kids, "%d", &k) == 1) {
				snprintf(q, sizeof(q), "/proc/%d/comm", k);
				if (read_line(q, comm, sizeof(comm)) == 0 &&
				    strcmp(comm, "sleep") == 0)
					kid = k;
			}
			if (!kid)
				usleep(10000);
		}
		cts[3] = (struct testns){.pid = kid, .outer = outer};
		cr_assert_gt(kid, 0, "nested container started");
	}
	/* a container of another procbox, which this one must leave alone */
	daemon_up(&other);
	snprintf(sys_other, sizeof(sys_other), "%s/proc/sys", other.mnt);
	testns_stop(&cts[2]);
	{
		struct testns_opts o = {.clone_flags = CT_FLAGS,
					.hostname = "ct-other",
					.bind_src = sys_other,
					.bind_dst = "/proc/sys"};
		cr_assert_eq(testns_start(&o, &cts[2]), 0);
	}
	cr_assert(ct_reads(&cts[0], names[0]));
	cr_assert(ct_reads(&cts[1], names[1]));
	cr_assert(ct_reads(&cts[3], names[2]), "nested: %s",
		  ct_sh(&cts[3], "cat /proc/sys/kernel/hostname", NULL));

	daemon_kill9(&pb);
	daemon_kill9(&other);
	holder_kill9(&pb);
	holder_kill9(&other);
	ct_sh(&cts[0], "cat /proc/sys/kernel/hostname 2>/dev/null", &st);
	cr_assert_neq(st, 0, "a dead mount answers ENOTCONN");

	t0 = now_s();
	pb.pid = spawn_daemon(pb.mnt, pb.log);
	for (;;) {
		bool all = true;

		for (int i = 0; i < 3; i++) {
			if (!ok[i])
				ok[i] = ct_reads(i == 2 ? &cts[3] : &cts[i], names[i]);
			all = all && ok[i];
		}
		took = now_s() - t0;
		if (all || took > 60)
			break;
		usleep(5000);
	}
	cr_log_info("every container reads procbox again %.0f ms after the restart", took * 1000);
	fprintf(stderr, "# restart: every container reads again after %.0f ms\n", took * 1000);
	cr_assert(ok[0] && ok[1] && ok[2], "plain %d, userns %d, nested %d", ok[0], ok[1], ok[2]);

	/* the nested namespace cannot unmount the dead copy it inherited (locked): the live
	 * mount covers it */
	{
		_cleanup_mountinfo_ struct mountinfo *mi = NULL;
		unsigned at = 0;

		cr_assert_eq(mountinfo_read_pid(cts[3].pid, &mi), 0);
		for (size_t i = 0; i < mi->n; i++)
			at += mountinfo_entry_is_procbox(&mi->entries[i]) &&
			      strcmp(mi->entries[i].mountpoint, "/proc/sys") == 0;
		cr_assert_eq(at, 2, "the locked dead mount and the live one over it");
		cr_assert(mountinfo_entry_is_procbox(mountinfo_find_top(mi, "/proc/sys")));
	}

	/* the other daemon's container was not taken over */
	snprintf(cmd, sizeof(cmd), "/proc/%d/root/proc/sys", cts[2].pid);
	cr_assert_lt(statfs(cmd, &sf), 0);
	cr_assert_eq(errno, ENOTCONN);
	testns_stop(&cts[3]);
}

Test(live, a_user_namespace_container_writes_its_own_sysctls)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	int st;

	ct_start(&cts[0], CT_FLAGS | CLONE_NEWUSER | CLONE_NEWPID, "ct-userns");
	ct_attach(&cts[0], items);
	cr_assert_str_eq(ct_sh(&cts[0], "id -u; stat -c %u:%g /proc/sys/net/ipv4/ip_forward", &st),
			 "0\n0:0");
	cr_assert_str_eq(ct_sh(&cts[0],
			       "echo 1 > /proc/sys/net/ipv4/ip_forward && "
			       "cat /proc/sys/net/ipv4/ip_forward",
			       &st),
			 "1");
	cr_assert_eq(st, 0);
}

/* ---------- /proc/sys is never uncovered ---------- */

static void enter(pid_t pid, const char *ns, int type)
{
	char p[64];
	int fd;

	snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, type) < 0)
		_exit(126);
	close(fd);
}

static volatile unsigned long *shared_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	return p;
}

/*
 * A container root (the host's uid 0 here, as in a Docker container) that opens a sysctl
 * for writing as fast as it can: shared[1] counts the opens, shared[2] those that gave it
 * an fd of the real procfs, which would write the kernel's value directly. The file is the
 * container's own ip_forward, never written: opening it is harmless, and what it shows
 * (procbox, a dead mount, a read-only procfs or a writable one) is the same for any
 * sysctl, core_pattern included.
 */
static void looper_start(const struct testns *t)
{
	looper.shared = shared_page();
	looper.pid = fork();
	cr_assert_geq(looper.pid, 0);
	if (looper.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		enter(t->pid, "net", CLONE_NEWNET);
		enter(t->pid, "mnt", CLONE_NEWNS);
		while (!looper.shared[0]) {
			int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
			struct statfs sf;

			if (fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
				__atomic_add_fetch(&looper.shared[2], 1, __ATOMIC_SEQ_CST);
			if (fd >= 0)
				close(fd);
			__atomic_add_fetch(&looper.shared[1], 1, __ATOMIC_SEQ_CST);
		}
		_exit(0);
	}
}

static void wait_reads(const struct testns *t, const char *hostname)
{
	for (int i = 0; i < 500; i++) {
		if (ct_reads(t, hostname))
			return;
		usleep(10000);
	}
	cr_assert_fail("%s does not read procbox again", hostname);
}

Test(live, a_restart_never_shows_the_real_proc_sys)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	unsigned long opens = 0;

	ct_start(&cts[0], CT_FLAGS, "ct-loop");
	ct_attach(&cts[0], items);
	looper_start(&cts[0]);
	for (int round = 0; round < 8; round++) {
		unsigned long before;

		/* the connection is lost (daemon and holder): the looper meets the dead mount
		 * for a while, then the re-attach */
		daemon_kill9(&pb);
		holder_kill9(&pb);
		before = looper.shared[1];
		while (looper.shared[1] < before + 200)
			usleep(1000);
		before = looper.shared[1];
		pb.pid = spawn_daemon(pb.mnt, pb.log);
		wait_reads(&cts[0], "ct-loop");
		opens += looper.shared[1] - before;
	}
	helper_stop(&looper);
	cr_log_info("%lu opens during 8 restarts", opens);
	cr_assert_gt(opens, 0);
	cr_assert_eq(looper.shared[2], 0, "%lu of %lu opens for writing got the real /proc/sys",
		     looper.shared[2], looper.shared[1]);
}

Test(live, detach_leaves_proc_sys_read_only)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	unsigned long before;
	int st;

	ct_start(&cts[0], CT_FLAGS, "ct-detach-ro");
	ct_attach(&cts[0], items);
	looper_start(&cts[0]);
	cr_assert_eq(detach_container(pb.mnt, cts[0].pid, NULL, items), 0);
	cr_assert_eq(item(items, "proc/sys")->op.outcome, NSMOUNT_DETACHED);
	before = looper.shared[1];
	while (looper.shared[1] < before + 1000)
		usleep(1000);
	helper_stop(&looper);
	cr_assert_eq(looper.shared[2], 0, "%lu of %lu opens for writing got the real /proc/sys",
		     looper.shared[2], looper.shared[1]);
	/* the container's own procfs again, read-only */
	cr_assert_str_eq(ct_sh(&cts[0], "stat -f -c %T /proc/sys", NULL), "proc");
	cr_assert_str_eq(ct_sh(&cts[0], "cat /proc/sys/kernel/hostname", NULL), "ct-detach-ro");
	ct_sh(&cts[0], "echo 1 > /proc/sys/net/ipv4/ip_forward", &st);
	cr_assert_neq(st, 0, "the real /proc/sys is writable after detach");
	/* attached again, it is procbox's: the read-only folder stays below it */
	ct_attach(&cts[0], items);
	cr_assert_str_eq(ct_sh(&cts[0],
			       "echo 1 > /proc/sys/net/ipv4/ip_forward && "
			       "cat /proc/sys/net/ipv4/ip_forward",
			       &st),
			 "1");
}

/* ---------- a container's own FUSE mount that never answers ---------- */

/*
 * A FUSE server in the container's mount namespace, mounted at where with procbox's own
 * type and source strings: it answers FUSE_INIT, then reads every request and answers
 * none. A task whose request it has read waits for the answer even through SIGKILL, until
 * the connection ends. shared[1] counts those requests.
 */
static void hostile_start(const struct testns *t, const char *where)
{
	static char buf[1 << 17];

	hostile.shared = shared_page();
	hostile.pid = fork();
	cr_assert_geq(hostile.pid, 0);
	if (hostile.pid == 0) {
		char opts[128];
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		enter(t->pid, "mnt", CLONE_NEWNS);
		fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
		snprintf(opts, sizeof(opts),
			 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
		if (fd < 0 ||
		    mount("procbox", where, "fuse.procbox", MS_NOSUID | MS_NODEV, opts) < 0)
			_exit(125);
		hostile.shared[3] = 1;
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));
			const struct fuse_in_header *in = (const void *)buf;

			if (n < 0 && errno == EINTR)
				continue;
			if (n < (ssize_t)sizeof(*in))
				_exit(0);
			if (in->opcode == FUSE_INIT) {
				struct {
					struct fuse_out_header h;
					struct fuse_init_out o;
				} rep = {
				    .h = {.len = sizeof(rep), .unique = in->unique},
				    .o = {.major = FUSE_KERNEL_VERSION,
					  .minor = FUSE_KERNEL_MINOR_VERSION,
					  .max_readahead = 4096,
					  .max_write = 4096},
				};

				if (write(fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
					_exit(124);
				continue;
			}
			__atomic_add_fetch(&hostile.shared[1], 1, __ATOMIC_SEQ_CST);
		}
	}
	for (int i = 0; i < 500 && !hostile.shared[3]; i++)
		usleep(10000);
	cr_assert(hostile.shared[3], "the hostile FUSE server did not mount");
}

Test(live, attach_and_restart_go_on_past_a_hostile_fuse_mount, .timeout = 60)
{
	struct attach_item items[ATTACH_MAX_POINTS];
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;

	ct_start(&cts[0], CT_FLAGS, "ct-hostile");
	ct_attach(&cts[0], items);
	ct_start(&cts[1], CT_FLAGS, "ct-after");
	ct_attach(&cts[1], items);
	hostile_start(&cts[0], "/proc");
	/* its strings are procbox's: only the device number tells them apart */
	cr_assert_eq(mountinfo_read_pid(cts[0].pid, &mi), 0);
	cr_assert(mountinfo_entry_is_procbox(mountinfo_find_top(mi, "/proc")));

	cr_assert_eq(attach_container(pb.mnt, cts[0].pid, NULL, NULL, items), 0);
	cr_assert_eq(item(items, "proc/sys")->op.outcome, NSMOUNT_FUSE_IN_THE_WAY, "%s",
		     nsmount_outcome_to_string(item(items, "proc/sys")->op.outcome));
	cr_assert_eq(item(items, "sys/kernel/debug")->op.outcome, NSMOUNT_ALREADY,
		     "the paths outside it are still served");

	/* a restart after a lost connection re-attaches the other container */
	daemon_kill9(&pb);
	holder_kill9(&pb);
	pb.pid = spawn_daemon(pb.mnt, pb.log);
	wait_reads(&cts[1], "ct-after");

	cr_assert_eq(detach_container(pb.mnt, cts[0].pid, NULL, items), 0);
	cr_assert_eq(item(items, "proc/sys")->op.outcome, NSMOUNT_FUSE_IN_THE_WAY);
	cr_assert_eq(hostile.shared[1], 0, "procbox sent %lu requests into the container's mount",
		     hostile.shared[1]);
	helper_stop(&hostile);
}

/* ---------- the mountpoint ---------- */

/*
 * procbox's mount is allow_other: any host user can walk into it, make a user namespace
 * and mount its folders wherever it likes. What it could not do without procbox it must
 * not do with it: the mount's root lets in only the host's root and containers whose user
 * namespace the host's root made.
 */
Test(live, a_host_user_and_its_user_namespace_get_nothing)
{
	char file[128], dir[128];
	pid_t p;
	int st;

	snprintf(file, sizeof(file), "%s/proc/sys/kernel/hostname", pb.mnt);
	snprintf(dir, sizeof(dir), "%s/proc/sys", pb.mnt);
	/* the host's root first: what its walk left in the kernel's caches must not let the
	 * user in */
	cr_assert_eq(access(file, R_OK), 0);
	p = fork();
	cr_assert_geq(p, 0);
	if (p == 0) {
		char map[] = "0 1000 1";
		int fd;

		if (setgroups(0, NULL) < 0 || setresgid(1000, 1000, 1000) < 0 ||
		    setresuid(1000, 1000, 1000) < 0 || prctl(PR_SET_DUMPABLE, 1) < 0)
			_exit(100);
		/* a plain host user */
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != EACCES)
			_exit(1);
		/* the same as root of a user namespace of its own */
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS) < 0)
			_exit(101);
		if (write_file("/proc/self/setgroups", "deny") < 0 ||
		    write_file("/proc/self/uid_map", map) < 0 ||
		    write_file("/proc/self/gid_map", map) < 0)
			_exit(102);
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != EACCES)
			_exit(2);
		if (mount(dir, "/tmp", NULL, MS_BIND, NULL) == 0 || errno != EACCES)
			_exit(3);
		_exit(0);
	}
	cr_assert_eq(waitpid(p, &st, 0), p);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 101)
		cr_skip_test("unprivileged user namespaces are off here");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "status %d: 1 a host user, 2 its user namespace's root opened procbox's file, "
		  "3 bound procbox's folder",
		  WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	/* a container the host's root made still binds procbox by hand */
	{
		struct testns_opts o = {.clone_flags = CT_FLAGS | CLONE_NEWUSER,
					.uid_map = "0 100000 65536",
					.gid_map = "0 100000 65536",
					.hostname = "ct-by-hand",
					.bind_src = dir,
					.bind_dst = "/proc/sys"};

		cr_assert_eq(testns_start(&o, &cts[0]), 0, "a root-made container binds by hand");
		cr_assert_str_eq(ct_sh(&cts[0], "cat /proc/sys/kernel/hostname", NULL),
				 "ct-by-hand");
	}
}
