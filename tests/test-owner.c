/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

#include "cgroup/owner.h"
#include "util/macro.h"

static char *owner(const char *reader, const char *in_ns, const char *init)
{
	char *out = NULL;
	int r = cgroup_owner_text(reader, in_ns, init, &out);

	cr_assert_eq(r, 0, "cgroup_owner_text: %s", strerror(-r));
	return out;
}

/* A pod member shares the pause container's pid namespace (its init) from a sibling
 * cgroup: its views are its own, never the pause container's. */
Test(owner, pod_member_in_a_sibling_cgroup_keeps_its_own)
{
	_cleanup_free_ char *out = owner(
	    "12:memory:/kubepods/pod1/member\n11:cpu,cpuacct:/kubepods/pod1/member\n0::/\n", NULL,
	    "12:memory:/kubepods/pod1/pause\n11:cpu,cpuacct:/kubepods/pod1/pause\n0::/\n");

	cr_assert_str_eq(
	    out, "12:memory:/kubepods/pod1/member\n11:cpu,cpuacct:/kubepods/pod1/member\n0::/\n");
}

/* docker exec, or a shell's children in a sub-cgroup: the container's init's cgroup. */
Test(owner, reader_at_or_below_the_init_gets_the_inits)
{
	_cleanup_free_ char *out =
	    owner("12:memory:/docker/abc/sub\n11:cpu,cpuacct:/docker/abc\n", NULL,
		  "12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n");
	_cleanup_free_ char *prefix =
	    owner("12:memory:/docker/abcd\n", NULL, "12:memory:/docker/abc\n");

	cr_assert_str_eq(out, "12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n");
	/* A longer name is not below: /docker/abcd is not in /docker/abc. */
	cr_assert_str_eq(prefix, "12:memory:/docker/abcd\n");
}

/* A reader in a cgroup namespace of its own: its root, whatever the init's. A system
 * container's systemd runs services in sub-cgroups and moves itself to init.scope. */
Test(owner, cgroup_namespace_root_wins)
{
	_cleanup_free_ char *out =
	    owner("12:memory:/docker/abc/system.slice/cron.service\n0::/docker/abc/system.slice\n",
		  "12:memory:/system.slice/cron.service\n0::/system.slice\n",
		  "12:memory:/docker/abc/init.scope\n0::/docker/abc/init.scope\n");
	_cleanup_free_ char *at_root =
	    owner("12:memory:/docker/abc\n", "12:memory:/\n", "12:memory:/elsewhere\n");

	cr_assert_str_eq(out, "12:memory:/docker/abc\n0::/docker/abc\n");
	cr_assert_str_eq(at_root, "12:memory:/docker/abc\n");
}

/* A reader moved out of its namespace's root sees "/.." paths there: the namespace says
 * nothing about it, the other rules decide. */
Test(owner, reader_outside_its_namespace_root)
{
	_cleanup_free_ char *out = owner("12:memory:/other\n", "12:memory:/../other\n", NULL);

	cr_assert_str_eq(out, "12:memory:/other\n");
}

Test(owner, malformed_text)
{
	char *out = NULL;

	cr_assert_eq(cgroup_owner_text("garbage\n", NULL, NULL, &out), -EBADMSG);
	cr_assert_null(out);
}

/* A real cgroup namespace: a child in a memory cgroup of the test's own unshares its
 * cgroup namespace there, then moves into a sub-cgroup. Its views come from the
 * namespace's root, the test's cgroup, not from the sub-cgroup it sits in. */
Test(owner, real_cgroup_namespace)
{
	char dir[128], sub[160], procs[200], line[64], *text = NULL, *mine = NULL;
	int go[2], ready[2], status;
	pid_t pid;
	char c;

	if (geteuid() != 0 || access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) < 0)
		cr_skip_test("needs root and a writable cgroup v1 memory hierarchy");
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory/procbox-owner-%d", (int)getpid());
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	cr_assert_eq(mkdir(dir, 0755), 0, "%s: %m", dir);
	cr_assert_eq(mkdir(sub, 0755), 0, "%s: %m", sub);
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		FILE *f;

		close(go[1]);
		close(ready[0]);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
		f = fopen(procs, "we");
		if (!f || fprintf(f, "0\n") < 0 || fclose(f) != 0)
			_exit(1);
		if (unshare(CLONE_NEWCGROUP) < 0)
			_exit(2);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", sub);
		f = fopen(procs, "we");
		if (!f || fprintf(f, "0\n") < 0 || fclose(f) != 0)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "the child could not set up its cgroups");

	cr_assert_eq(cgroup_read_in_cgroupns(pid, &text), 0);
	cr_assert_not_null(text, "the child's cgroup namespace is not the test's");
	snprintf(line, sizeof(line), ":memory:/sub\n");
	cr_assert_not_null(strstr(text, line), "%s", text);
	free(text);
	text = NULL;

	cr_assert_eq(cgroup_owner_of(pid, 1, &text), 0);
	snprintf(line, sizeof(line), ":memory:/procbox-owner-%d\n", (int)getpid());
	cr_assert_not_null(strstr(text, line), "%s", text);
	free(text);

	/* The test itself shares its thread's cgroup namespace: nothing to read. */
	cr_assert_eq(cgroup_read_in_cgroupns(getpid(), &mine), 0);
	cr_assert_null(mine);

	close(go[1]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(rmdir(sub), 0, "%s: %m", sub);
	cr_assert_eq(rmdir(dir), 0, "%s: %m", dir);
}
