/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The nsenter service against real namespaces: reads and writes land in the target's
 * namespaces, never the host's; the kernel's refusals come back with their errno. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/testns.h"
#include "util/macro.h"
#include "nsenter/event.h"
#include "nsenter/service.h"

static struct nsenter_service *svc;

/* procfs and sysfs mounts in a mountinfo file: what an nsenter child mounts. */
static int count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, " - proc ") || strstr(line, " - sysfs ");
	fclose(f);
	return n;
}

static void setup(void)
{
	const char *why;
	struct nsenter_service_config cfg = {.timeout_ms = 2000, .max_agents = 16};

	if (!testns_supported(&why))
		cr_skip_test("%s", why);
	cr_assert_eq(nsenter_service_new(&cfg, &svc), 0);
}

static void teardown(void)
{
	nsenter_service_free(svc);
	svc = NULL;
}

TestSuite(nsenter, .init = setup, .fini = teardown, .timeout = 60);

static struct nsenter_message *req_new(enum nsenter_msg_type type, const char *path)
{
	struct nsenter_message *m = nsenter_message_new(type);
	cr_assert_not_null(m);
	if (path)
		cr_assert_eq(nsenter_message_set_path(m, path), 0);
	if (type == NSENTER_MSG_READ_REQ)
		m->length = 4096;
	return m;
}

static unsigned ns_mask_of(const struct testns *t)
{
	(void)t;
	return NS_FLAG(NS_NET) | NS_FLAG(NS_UTS) | NS_FLAG(NS_IPC) | NS_FLAG(NS_USER) |
	       NS_FLAG(NS_CGROUP);
}

/* Reads path in t's namespaces through an event; returns -errno or 0 with buf filled. */
static int ev_read(const struct testns *t, const char *path, char *buf, size_t size, bool agent)
{
	_cleanup_event_ struct nsenter_event *ev = NULL;
	struct nsenter_message *resp;
	int r;

	ev = nsenter_service_new_event(svc, t->pid, 0, 0, ns_mask_of(t), 0,
				       req_new(NSENTER_MSG_READ_REQ, path), false);
	cr_assert_not_null(ev);
	nsenter_event_set_use_agent(ev, agent);
	r = nsenter_event_send_request(ev);
	if (r < 0)
		return r;
	r = nsenter_event_result(ev);
	if (r < 0)
		return r;
	resp = nsenter_event_get_response_msg(ev);
	cr_assert_eq(resp->type, NSENTER_MSG_READ_RESP);
	cr_assert_lt(resp->data_len, size);
	memcpy(buf, resp->data, resp->data_len);
	buf[resp->data_len] = 0;
	while (resp->data_len && buf[resp->data_len - 1] == '\n')
		buf[--resp->data_len] = 0;
	cr_assert_gt(nsenter_event_get_process_id(ev), 0);
	return 0;
}

static int ev_write(const struct testns *t, const char *path, const char *value, bool agent)
{
	_cleanup_event_ struct nsenter_event *ev = NULL;
	struct nsenter_message *req = req_new(NSENTER_MSG_WRITE_REQ, path);
	int r;

	cr_assert_eq(nsenter_message_set_data(req, value, strlen(value)), 0);
	ev = nsenter_service_new_event(svc, t->pid, 0, 0, ns_mask_of(t), 0, req, false);
	nsenter_event_set_use_agent(ev, agent);
	r = nsenter_event_send_request(ev);
	if (r < 0)
		return r;
	return nsenter_event_result(ev);
}

static void check_net_sysctls(const struct testns_opts *o, bool agent)
{
	char host_fwd[64], host_ttl[64], buf[256];
	struct testns t;

	cr_assert_eq(read_line("/proc/sys/net/ipv4/ip_forward", host_fwd, sizeof(host_fwd)), 0);
	cr_assert_eq(read_line("/proc/sys/net/ipv4/ip_default_ttl", host_ttl, sizeof(host_ttl)), 0);
	cr_assert_eq(testns_start(o, &t), 0);

	const char *fwd = strcmp(host_fwd, "1") == 0 ? "0" : "1";
	cr_assert_eq(ev_write(&t, "/proc/sys/net/ipv4/ip_forward", fwd, agent), 0);
	cr_assert_eq(ev_write(&t, "/proc/sys/net/ipv4/ip_default_ttl", "77\n", agent), 0);

	cr_assert_eq(ev_read(&t, "/proc/sys/net/ipv4/ip_forward", buf, sizeof(buf), agent), 0);
	cr_assert_str_eq(buf, fwd);
	cr_assert_eq(ev_read(&t, "/proc/sys/net/ipv4/ip_default_ttl", buf, sizeof(buf), agent), 0);
	cr_assert_str_eq(buf, "77");

	/* The namespace itself changed, seen by a process in it without procbox. */
	cr_assert_eq(testns_sh(&t, "cat /proc/sys/net/ipv4/ip_default_ttl", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "77\n");

	/* The host did not. */
	cr_assert_eq(read_line("/proc/sys/net/ipv4/ip_forward", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, host_fwd);
	cr_assert_eq(read_line("/proc/sys/net/ipv4/ip_default_ttl", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, host_ttl);
	testns_stop(&t);
}

Test(nsenter, netns_read_write_oneshot)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	check_net_sysctls(&o, false);
}

Test(nsenter, netns_read_write_agent)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	check_net_sysctls(&o, true);
}

Test(nsenter, userns_netns_root_mapped)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWUSER | CLONE_NEWNET,
				.uid_map = "0 100000 65536",
				.gid_map = "0 100000 65536"};
	check_net_sysctls(&o, false);
	check_net_sysctls(&o, true);
}

Test(nsenter, uts_hostname)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWUTS | CLONE_NEWUSER | CLONE_NEWNET,
				.uid_map = "0 100000 65536",
				.gid_map = "0 100000 65536",
				.hostname = "inner"};
	char host[256], buf[256];
	struct testns t;

	cr_assert_eq(read_line("/proc/sys/kernel/hostname", host, sizeof(host)), 0);
	cr_assert_eq(testns_start(&o, &t), 0);
	cr_assert_eq(ev_read(&t, "/proc/sys/kernel/hostname", buf, sizeof(buf), false), 0);
	cr_assert_str_eq(buf, "inner");
	cr_assert_eq(ev_read(&t, "/proc/sys/kernel/hostname", buf, sizeof(buf), true), 0);
	cr_assert_str_eq(buf, "inner");

	/* The kernel's file refuses a user-namespaced root (it checks the global root uid);
	 * sethostname(2) does not, since that root holds CAP_SYS_ADMIN over its UTS ns. */
	cr_assert_eq(ev_write(&t, "/proc/sys/kernel/hostname", "other", false), -EACCES);
	{
		_cleanup_event_ struct nsenter_event *ev = NULL;
		struct nsenter_message *req = req_new(NSENTER_MSG_SETHOSTNAME_REQ, NULL);

		cr_assert_eq(nsenter_message_set_data(req, "renamed\n", 8), 0);
		ev = nsenter_service_new_event(svc, t.pid, 0, 0, ns_mask_of(&t), 0, req, false);
		cr_assert_eq(nsenter_event_send_request(ev), 0);
		cr_assert_eq(nsenter_event_result(ev), 0);
	}
	cr_assert_eq(testns_sh(&t, "hostname", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "renamed\n");
	cr_assert_eq(read_line("/proc/sys/kernel/hostname", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, host);
	testns_stop(&t);
}

Test(nsenter, uts_no_userns_writes_own_namespace)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWUTS, .hostname = "inner"};
	char host[256], buf[256];
	struct testns t;

	cr_assert_eq(read_line("/proc/sys/kernel/hostname", host, sizeof(host)), 0);
	cr_assert_eq(testns_start(&o, &t), 0);
	cr_assert_eq(ev_write(&t, "/proc/sys/kernel/hostname", "second", false), 0);
	cr_assert_eq(ev_read(&t, "/proc/sys/kernel/hostname", buf, sizeof(buf), false), 0);
	cr_assert_str_eq(buf, "second");
	cr_assert_eq(read_line("/proc/sys/kernel/hostname", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, host);
	testns_stop(&t);
}

Test(nsenter, non_root_in_userns_is_refused)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWUSER | CLONE_NEWNET,
				.uid_map = "0 100000 65536",
				.gid_map = "0 100000 65536",
				.uid = 1000,
				.gid = 1000};
	char buf[64], before[64];
	struct testns t;

	cr_assert_eq(testns_start(&o, &t), 0);
	cr_assert_eq(testns_sh(&t, "id -u", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "1000\n");
	cr_assert_eq(ev_read(&t, "/proc/sys/net/ipv4/ip_forward", before, sizeof(before), false),
		     0);
	cr_assert_eq(ev_write(&t, "/proc/sys/net/ipv4/ip_forward", "1", false), -EACCES);
	cr_assert_eq(ev_write(&t, "/proc/sys/net/ipv4/ip_forward", "1", true), -EACCES);
	cr_assert_eq(ev_read(&t, "/proc/sys/net/ipv4/ip_forward", buf, sizeof(buf), false), 0);
	cr_assert_str_eq(buf, before);
	testns_stop(&t);
}

Test(nsenter, userns_root_cannot_write_host_wide)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWUSER | CLONE_NEWNET,
				.uid_map = "0 100000 65536",
				.gid_map = "0 100000 65536"};
	char host[64], buf[64];
	struct testns t;

	cr_assert_eq(read_line("/proc/sys/vm/swappiness", host, sizeof(host)), 0);
	cr_assert_eq(testns_start(&o, &t), 0);
	cr_assert_eq(ev_write(&t, "/proc/sys/vm/swappiness", "7", false), -EACCES);
	cr_assert_eq(read_line("/proc/sys/vm/swappiness", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, host);
	testns_stop(&t);
}

Test(nsenter, paths_outside_the_roots_are_refused)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	char buf[256];
	struct testns t;

	cr_assert_eq(testns_start(&o, &t), 0);
	cr_assert_eq(ev_read(&t, "/etc/passwd", buf, sizeof(buf), false), -EACCES);
	cr_assert_eq(ev_read(&t, "/proc/sys/../self/environ", buf, sizeof(buf), false), -EINVAL);
	cr_assert_eq(ev_read(&t, "/proc/sys/net/../../self/environ", buf, sizeof(buf), false),
		     -EINVAL);
	cr_assert_eq(ev_read(&t, "/proc/sysfoo", buf, sizeof(buf), false), -EACCES);
	/* a symlink on the way is refused, not followed (/sys/class/net/lo is one) */
	cr_assert_eq(ev_read(&t, "/sys/class/net/lo/mtu", buf, sizeof(buf), false), -ELOOP);
	testns_stop(&t);
}

/* The same refusals without openat2(2), as on kernels before 5.6 or under valgrind. */
Test(nsenter, paths_refused_without_openat2)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	char buf[256];
	struct testns t;

	setenv("PROCBOX_TEST_NO_OPENAT2", "1", 1);
	cr_assert_eq(testns_start(&o, &t), 0);
	cr_assert_eq(ev_read(&t, "/etc/passwd", buf, sizeof(buf), false), -EACCES);
	cr_assert_eq(ev_read(&t, "/proc/sys/../self/environ", buf, sizeof(buf), false), -EINVAL);
	cr_assert_eq(ev_read(&t, "/sys/class/net/lo/mtu", buf, sizeof(buf), false), -ELOOP);
	cr_assert_eq(ev_read(&t, "/sys/class/net/lo", buf, sizeof(buf), false), -ELOOP);
	cr_assert_eq(ev_read(&t, "/proc/sys/kernel/ostype/x", buf, sizeof(buf), false), -ENOTDIR);
	cr_assert_eq(ev_write(&t, "/proc/sys/net/ipv4/ip_default_ttl", "91", true), 0);
	cr_assert_eq(ev_read(&t, "/proc/sys/net/ipv4/ip_default_ttl", buf, sizeof(buf), false), 0);
	cr_assert_str_eq(buf, "91");
	{
		_cleanup_event_ struct nsenter_event *ev =
		    nsenter_service_new_event(svc, t.pid, 0, 0, ns_mask_of(&t), 0,
					      req_new(NSENTER_MSG_READDIR_REQ, "/proc/sys"), false);

		cr_assert_eq(nsenter_event_send_request(ev), 0);
		cr_assert_eq(nsenter_event_result(ev), 0);
		cr_assert_gt(nsenter_event_get_response_msg(ev)->n_entries, 4);
	}
	testns_stop(&t);
	unsetenv("PROCBOX_TEST_NO_OPENAT2");
}

Test(nsenter, readdir_lookup_and_fd_passing)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	struct testns t;
	char buf[64];

	cr_assert_eq(testns_start(&o, &t), 0);
	cr_assert_eq(ev_write(&t, "/proc/sys/net/ipv4/ip_default_ttl", "99", true), 0);

	{
		_cleanup_event_ struct nsenter_event *ev = nsenter_service_new_event(
		    svc, t.pid, 0, 0, ns_mask_of(&t), 0,
		    req_new(NSENTER_MSG_READDIR_REQ, "/proc/sys/net/ipv4/conf"), false);
		struct nsenter_message *resp;
		bool lo = false, all = false;

		cr_assert_eq(nsenter_event_send_request(ev), 0);
		resp = nsenter_event_get_response_msg(ev);
		cr_assert_eq(resp->type, NSENTER_MSG_READDIR_RESP);
		for (size_t i = 0; i < resp->n_entries; i++) {
			lo |= strcmp(resp->entries[i].name, "lo") == 0;
			all |= strcmp(resp->entries[i].name, "all") == 0;
			/* a fresh netns has lo only: the host's interfaces must not show */
			cr_assert(strcmp(resp->entries[i].name, "lo") == 0 ||
				      strcmp(resp->entries[i].name, "all") == 0 ||
				      strcmp(resp->entries[i].name, "default") == 0,
				  "unexpected %s", resp->entries[i].name);
		}
		cr_assert(lo && all);
	}
	{
		_cleanup_event_ struct nsenter_event *ev = nsenter_service_new_event(
		    svc, t.pid, 0, 0, ns_mask_of(&t), 0,
		    req_new(NSENTER_MSG_LOOKUP_REQ, "/proc/sys/net/ipv4/ip_forward"), false);
		struct nsenter_message *resp;

		cr_assert_eq(nsenter_event_send_request(ev), 0);
		resp = nsenter_event_get_response_msg(ev);
		cr_assert_eq(resp->type, NSENTER_MSG_LOOKUP_RESP, "%s", strna(resp->errmsg));
		cr_assert_eq(resp->st.mode, S_IFREG | 0644);
	}
	{
		struct nsenter_message *req =
		    req_new(NSENTER_MSG_OPEN_REQ, "/proc/sys/net/ipv4/ip_default_ttl");
		_cleanup_event_ struct nsenter_event *ev = NULL;
		int fd;
		ssize_t n;

		req->flags = O_RDONLY;
		req->pass_fd = true;
		ev = nsenter_service_new_event(svc, t.pid, 0, 0, ns_mask_of(&t), 0, req, false);
		cr_assert_eq(nsenter_event_send_request(ev), 0);
		cr_assert_eq(nsenter_event_result(ev), 0);
		fd = nsenter_event_take_fd(ev);
		cr_assert_geq(fd, 0);
		/* read here, in the host's namespaces: still the namespace's value */
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		cr_assert_eq(n, 3);
		cr_assert_eq(memcmp(buf, "99\n", 3), 0);
		cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	testns_stop(&t);
}

Test(nsenter, async_sleep_terminate_reaps)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	struct nsenter_message *req;
	struct nsenter_event *ev;
	struct nsenter_stats st0, st1;
	struct testns t;
	int fds_before, children_before;
	pid_t child;

	cr_assert_eq(testns_start(&o, &t), 0);
	fds_before = count_fds();
	children_before = count_children();
	nsenter_service_get_stats(svc, &st0);

	req = req_new(NSENTER_MSG_SLEEP_REQ, NULL);
	req->length = 60000;
	ev = nsenter_service_new_event(svc, t.pid, 0, 0, ns_mask_of(&t), 0, req, true);
	cr_assert_eq(nsenter_event_send_request(ev), 0);
	child = nsenter_event_get_process_id(ev);
	cr_assert_gt(child, 0);
	usleep(100000);
	cr_assert_eq(kill(child, 0), 0, "the async child must be alive");
	cr_assert_eq(count_children(), children_before + 1);

	cr_assert_eq(nsenter_event_terminate_request(ev), 0);
	nsenter_event_free(ev);
	/* gone and reaped: kill() fails with ESRCH only once no zombie is left */
	cr_assert_eq(kill(child, 0), -1);
	cr_assert_eq(errno, ESRCH);
	cr_assert_eq(count_children(), children_before);
	cr_assert_eq(count_fds(), fds_before);
	nsenter_service_get_stats(svc, &st1);
	cr_assert_eq(st1.spawned - st0.spawned, 1);
	cr_assert_eq(st1.reaped - st0.reaped, 1);
	testns_stop(&t);
}

Test(nsenter, async_receive_response)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	struct nsenter_message *req;
	_cleanup_event_ struct nsenter_event *ev = NULL;
	struct testns t;

	cr_assert_eq(testns_start(&o, &t), 0);
	req = req_new(NSENTER_MSG_SLEEP_REQ, NULL);
	req->length = 50;
	ev = nsenter_service_new_event(svc, t.pid, 0, 0, ns_mask_of(&t), 0, req, true);
	cr_assert_eq(nsenter_event_send_request(ev), 0);
	cr_assert_not_null(nsenter_event_receive_response(ev));
	cr_assert_eq(nsenter_event_get_response_msg(ev)->type, NSENTER_MSG_SLEEP_RESP);
	cr_assert_eq(nsenter_event_terminate_request(ev), 0);
	testns_stop(&t);
}

Test(nsenter, target_gone_gives_esrch)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	char buf[64];
	struct testns t, dead;
	int children = count_children();

	cr_assert_eq(testns_start(&o, &t), 0);
	dead = t;
	testns_stop(&t);
	int r = ev_read(&dead, "/proc/sys/net/ipv4/ip_forward", buf, sizeof(buf), false);
	cr_assert(r == -ESRCH || r == -ENOENT, "got %d", r);
	cr_assert_eq(count_children(), children);
}

/* ns_get_inode() reads the link's text: the same inode a stat() of the link gives, for
 * every type, in a process with namespaces of its own; a gone process has none. */
Test(nsenter, ns_inode_matches_stat)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWUTS,
				.uid_map = "0 100000 65536",
				.gid_map = "0 100000 65536"};
	struct testns t;
	uint64_t ino, host_net;
	pid_t dead;

	cr_assert_eq(testns_start(&o, &t), 0);
	for (int type = 0; type < _NS_TYPE_MAX; type++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", t.pid, ns_type_to_string(type));
		if (stat(path, &st) < 0)
			continue; /* a type this kernel lacks */
		cr_assert_eq(ns_get_inode(t.pid, type, &ino), 0, "%s", path);
		cr_assert_eq(ino, (uint64_t)st.st_ino, "%s", path);
	}
	cr_assert_eq(ns_get_inode(getpid(), NS_NET, &host_net), 0);
	cr_assert_eq(ns_get_inode(t.pid, NS_NET, &ino), 0);
	cr_assert_neq(ino, host_net);
	dead = t.pid;
	testns_stop(&t);
	cr_assert_eq(ns_get_inode(dead, NS_NET, &ino), -ENOENT);
	cr_assert_eq(ns_get_inode(0, NS_NET, &ino), -EINVAL);
}

Test(nsenter, child_killed_mid_request)
{
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	struct nsenter_message *req;
	_cleanup_event_ struct nsenter_event *ev = NULL;
	struct testns t;
	int children;

	cr_assert_eq(testns_start(&o, &t), 0);
	children = count_children();
	req = req_new(NSENTER_MSG_SLEEP_REQ, NULL);
	req->length = 60000;
	ev = nsenter_service_new_event(svc, t.pid, 0, 0, ns_mask_of(&t), 0, req, true);
	cr_assert_eq(nsenter_event_send_request(ev), 0);
	cr_assert_eq(kill(nsenter_event_get_process_id(ev), SIGKILL), 0);
	cr_assert_not_null(nsenter_event_receive_response(ev));
	cr_assert_eq(nsenter_event_result(ev), -ECONNRESET);
	nsenter_event_terminate_request(ev);
	cr_assert_eq(count_children(), children);
	testns_stop(&t);
}

Test(nsenter, timeout_kills_the_child)
{
	struct nsenter_service_config cfg = {.timeout_ms = 300, .max_agents = 4};
	struct testns_opts o = {.clone_flags = CLONE_NEWNET};
	struct nsenter_service *quick;
	struct nsenter_message *req;
	struct nsenter_stats st;
	struct testns t;
	int children;

	cr_assert_eq(nsenter_service_new(&cfg, &quick), 0);
	cr_assert_eq(testns_start(&o, &t), 0);
	children = count_children();
	for (int agent = 0; agent <= 1; agent++) {
		_cleanup_event_ struct nsenter_event *ev = NULL;

		req = req_new(NSENTER_MSG_SLEEP_REQ, NULL);
		req->length = 10000;
		ev = nsenter_service_new_event(quick, t.pid, 0, 0, ns_mask_of(&t), 0, req, false);
		nsenter_event_set_use_agent(ev, agent);
		cr_assert_eq(nsenter_event_send_request(ev), -ETIMEDOUT);
		cr_assert_eq(nsenter_event_result(ev), -ETIMEDOUT);
		cr_assert_eq(count_children(), children, "the timed-out child must be reaped");
	}
	nsenter_service_get_stats(quick, &st);
	cr_assert_eq(st.timeouts, 2);
	cr_assert_eq(st.agents, 0);
	nsenter_service_free(quick);
	testns_stop(&t);
}

Test(nsenter, agents_are_reused_keyed_and_released)
{
	struct testns_opts o1 = {.clone_flags = CLONE_NEWNET};
	struct testns_opts o2 = {.clone_flags = CLONE_NEWUSER | CLONE_NEWNET,
				 .uid_map = "0 100000 65536",
				 .gid_map = "0 100000 65536",
				 .uid = 1000,
				 .gid = 1000};
	struct testns a, b;
	struct nsenter_stats st;
	char buf[64];
	uint64_t ino;
	int children = count_children();

	cr_assert_eq(testns_start(&o1, &a), 0);
	cr_assert_eq(testns_start(&o2, &b), 0);
	cr_assert_eq(ev_write(&a, "/proc/sys/net/ipv4/ip_default_ttl", "11", true), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(
		    ev_read(&a, "/proc/sys/net/ipv4/ip_default_ttl", buf, sizeof(buf), true), 0);
		cr_assert_str_eq(buf, "11");
		cr_assert_eq(
		    ev_read(&b, "/proc/sys/net/ipv4/ip_default_ttl", buf, sizeof(buf), true), 0);
		cr_assert_str_eq(buf, "64");
	}
	nsenter_service_get_stats(svc, &st);
	cr_assert_eq(st.agents, 2);
	cr_assert_eq(st.spawned, 2);
	cr_assert_eq(st.agent_hits, 9);		      /* every request but each agent's first */
	cr_assert_eq(count_children(), children + 4); /* 2 test namespaces, 2 agents */

	cr_assert_eq(ns_get_inode(a.pid, NS_NET, &ino), 0);
	cr_assert_eq(nsenter_service_release_namespace(svc, NS_NET, ino), 1);
	nsenter_service_get_stats(svc, &st);
	cr_assert_eq(st.agents, 1);
	cr_assert_eq(count_children(), children + 3);
	testns_stop(&a);
	testns_stop(&b);
}

/* Joining a pid namespace takes a fork; a private mount namespace with fresh procfs and
 * sysfs leaves nothing behind, neither in the container nor on the host. */
Test(nsenter, pid_namespace_and_private_mounts)
{
	struct testns_opts o = {.clone_flags =
				    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS,
				.uid_map = "0 100000 65536",
				.gid_map = "0 100000 65536"};
	char before[64], after[64], host_before[64], host_after[64], buf[64];
	struct testns t;

	cr_assert_eq(testns_start(&o, &t), 0);
	cr_assert_eq(testns_sh(&t, "wc -l < /proc/self/mountinfo", before, sizeof(before)), 0);
	snprintf(host_before, sizeof(host_before), "%d", count_lines("/proc/self/mountinfo"));
	for (int i = 0; i < 3; i++) {
		_cleanup_event_ struct nsenter_event *ev = nsenter_service_new_event(
		    svc, t.pid, 0, 0, ns_mask_of(&t) | NS_FLAG(NS_PID), CLONE_NEWNS,
		    req_new(NSENTER_MSG_READ_REQ, "/proc/sys/kernel/ns_last_pid"), false);
		struct nsenter_message *resp;

		cr_assert_eq(nsenter_event_send_request(ev), 0);
		cr_assert_eq(nsenter_event_result(ev), 0, "%s",
			     strna(nsenter_event_get_response_msg(ev)->errmsg));
		resp = nsenter_event_get_response_msg(ev);
		memcpy(buf, resp->data, MIN(resp->data_len, sizeof(buf) - 1));
		buf[MIN(resp->data_len, sizeof(buf) - 1)] = 0;
		/* the serving process was forked inside the container's pid namespace: its
		 * last pid is a small number there, not the host's */
		cr_assert_lt(atoi(buf), 100, "ns_last_pid %s (round %d, target %d)", buf, i, t.pid);
		cr_assert_gt(atoi(buf), 0);
	}
	{
		/* sysfs of the container's network namespace: only its lo */
		_cleanup_event_ struct nsenter_event *ev = nsenter_service_new_event(
		    svc, t.pid, 0, 0, ns_mask_of(&t), CLONE_NEWNS,
		    req_new(NSENTER_MSG_READDIR_REQ, "/sys/devices/virtual/net"), false);
		struct nsenter_message *resp;

		cr_assert_eq(nsenter_event_send_request(ev), 0);
		cr_assert_eq(nsenter_event_result(ev), 0);
		resp = nsenter_event_get_response_msg(ev);
		cr_assert_eq(resp->n_entries, 1);
		cr_assert_str_eq(resp->entries[0].name, "lo");
	}
	cr_assert_eq(testns_sh(&t, "wc -l < /proc/self/mountinfo", after, sizeof(after)), 0);
	cr_assert_str_eq(before, after, "mounts left in the container");
	snprintf(host_after, sizeof(host_after), "%d", count_lines("/proc/self/mountinfo"));
	cr_assert_str_eq(host_before, host_after, "mounts left on the host");
	testns_stop(&t);
}
