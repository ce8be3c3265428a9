/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach/nsmount.h"
#include "container/container.h"
#include "handlers/emulated.h"
#include "handlers/families.h"
#include "handlers/handler.h"
#include "handlers/tree.h"
#include "lib/testns.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/mountinfo.h"
#include "util/procstat.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* ---------- ARRAY_GROW ---------- */

Test(array, grows_from_min_by_doubling_and_keeps_the_elements)
{
	_cleanup_free_ int *a = NULL;
	size_t n = 0, cap = 0;

	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(ARRAY_GROW(a, cap, n, 8), 0);
		cr_assert_gt(cap, n, "room for element %d", i);
		a[n++] = i;
		if (n == 1)
			cr_assert_eq(cap, 8, "the first growth is to min");
	}
	cr_assert_eq(cap, 1024, "8 doubled up to 1000 elements");
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(a[i], i);
}

Test(array, leaves_an_array_with_room_alone)
{
	int buf[4], *a = buf;
	size_t cap = 4;

	cr_assert_eq(ARRAY_GROW(a, cap, 3, 8), 0);
	cr_assert_eq(a, buf, "not reallocated");
	cr_assert_eq(cap, 4);
}

Test(array, refuses_a_size_that_would_overflow)
{
	char *a = NULL;
	size_t cap = SIZE_MAX / 2 + 1;

	cr_assert_eq(array_grow((void **)&a, &cap, cap, 1, 1), -ENOMEM);
	cr_assert_null(a, "untouched");
	cr_assert_eq(cap, SIZE_MAX / 2 + 1, "untouched");
}

/* ---------- /proc/<pid>/stat ---------- */

/* A comm with spaces and parentheses, a negative tty_nr and nice; ppid 42, starttime
 * 123456789012. */
static const char stat_line[] =
    "4242 (a) b) (c) S 42 4242 4242 -1 -1 4194560 100 0 0 0 1 2 0 0 20 -5 1 0 123456789012 "
    "1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

Test(procstat, counts_fields_from_the_last_parenthesis)
{
	struct proc_stat st;

	cr_assert_eq(proc_stat_parse(stat_line, &st), 0);
	cr_assert_eq(st.state, 'S');
	cr_assert_eq(st.ppid, 42);
	cr_assert_eq(st.start_time, 123456789012ULL);
}

Test(procstat, refuses_cut_or_malformed_lines)
{
	static const char *const bad[] = {
	    "",
	    "4242 (abc",
	    "4242 (a) S",
	    "4242 (a) S 42 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0",      /* no starttime */
	    "4242 (a) 7 42 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1",  /* no state letter */
	    "4242 (a) S 42 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5x 1", /* not a number */
	};
	struct proc_stat st = {.state = '?'};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		cr_assert_eq(proc_stat_parse(bad[i], &st), -EBADMSG, "line %zu", i);
	cr_assert_eq(st.state, '?', "untouched on failure");
}

Test(procstat, reads_a_live_process_and_not_a_reaped_one)
{
	struct proc_stat st, again;
	pid_t child;

	cr_assert_eq(proc_stat_read(getpid(), &st), 0);
	cr_assert_eq(st.state, 'R', "the reader itself runs");
	cr_assert_eq(st.ppid, getppid());
	cr_assert_gt(st.start_time, 0);
	cr_assert_eq(proc_stat_read(getpid(), &again), 0);
	cr_assert_eq(again.start_time, st.start_time, "a process's start time stays");

	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
		_exit(0);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	cr_assert_eq(proc_stat_read(child, &st), -ESRCH);
}

/* ---------- mountinfo lines ---------- */

Test(mountinfo_line, takes_every_field_and_undoes_escapes)
{
	static const char line[] = "36 25 0:31 /sub\\040dir /sys/fs/cgroup/memory\\011x ro,nosuid "
				   "shared:8 master:2 - cgroup cgroup rw,memory\nNEXT";
	struct mountinfo_entry e;

	cr_assert_eq(mountinfo_parse_line(line, strchr(line, '\n') - line, &e), 0);
	cr_assert_eq(e.mnt_id, 36);
	cr_assert_eq(e.parent_id, 25);
	cr_assert_eq(e.major, 0);
	cr_assert_eq(e.minor, 31);
	cr_assert_str_eq(e.root, "/sub dir");
	cr_assert_str_eq(e.mountpoint, "/sys/fs/cgroup/memory\tx");
	cr_assert(e.readonly);
	cr_assert(e.shared);
	cr_assert_str_eq(e.fstype, "cgroup");
	cr_assert_str_eq(e.source, "cgroup");
	cr_assert_str_eq(e.super_options, "rw,memory", "ends at len, not at the next line");
	mountinfo_entry_done(&e);
}

Test(mountinfo_line, takes_the_root_of_an_nsfs_bind)
{
	static const char line[] =
	    "105 26 0:4 net:[4026532306] /run/docker/netns/aa59360ad64e rw - nsfs nsfs rw";
	struct mountinfo_entry e;

	cr_assert_eq(mountinfo_parse_line(line, strlen(line), &e), 0);
	cr_assert_str_eq(e.root, "net:[4026532306]");
	cr_assert_str_eq(e.mountpoint, "/run/docker/netns/aa59360ad64e");
	cr_assert_str_eq(e.fstype, "nsfs");
	mountinfo_entry_done(&e);
}

Test(mountinfo_line, refuses_relative_mountpoints_and_missing_fields)
{
	static const char *const bad[] = {
	    "36 25 0:31 / mnt rw - tmpfs tmpfs rw",	    /* relative mountpoint */
	    "36 25 0:31 / /mnt rw - tmpfs tmpfs",	    /* no super options */
	    "36 25 0:31 / /mnt rw shared:1 tmpfs tmpfs rw", /* no separator */
	    "36 25 0:31 / /mnt rw -",			    /* nothing after it */
	    "36 25 0:31x / /mnt rw - tmpfs tmpfs rw",
	    "36 25 / /mnt rw - tmpfs tmpfs rw",
	};
	struct mountinfo_entry e;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		cr_assert_eq(mountinfo_parse_line(bad[i], strlen(bad[i]), &e), -EBADMSG, "line %zu",
			     i);
}

Test(mountinfo_line, takes_an_empty_source_as_the_kernel_prints_it)
{
	/* A FUSE mount whose source is "": the kernel prints nothing between two spaces. */
	static const char line[] = "60 26 0:50 / /mnt/x rw - fuse.x  rw,user_id=0";
	struct mountinfo_entry e;

	cr_assert_eq(mountinfo_parse_line(line, strlen(line), &e), 0);
	cr_expect_str_eq(e.mountpoint, "/mnt/x");
	cr_expect_str_eq(e.fstype, "fuse.x");
	cr_expect_str_eq(e.source, "");
	cr_expect_str_eq(e.super_options, "rw,user_id=0");
	mountinfo_entry_done(&e);
}

/* ---------- read_full_fd_at_most ---------- */

/* A file of n bytes 'a'..'z' over and over, its offset at the end. */
static int file_of(size_t n)
{
	char path[] = "/tmp/table-util-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	cr_assert_geq(fd, 0);
	unlink(path);
	for (size_t i = 0; i < n; i++) {
		char c = (char)('a' + i % 26);
		cr_assert_eq(write(fd, &c, 1), 1);
	}
	return fd;
}

Test(read_at_most, refuses_or_cuts_a_longer_file)
{
	_cleanup_close_ int fd = file_of(10000);
	_cleanup_free_ char *all = NULL, *cut = NULL;
	char *none = NULL;
	size_t len = 0;

	cr_assert_eq(read_full_fd_at_most(fd, READ_FROM_START, 9999, &none, &len), -EFBIG);
	cr_assert_null(none);
	cr_assert_eq(read_full_fd_at_most(fd, READ_FROM_START, 10000, &all, &len), 0);
	cr_assert_eq(len, 10000, "a file of exactly max bytes is whole");
	cr_assert_eq(all[9999], 'a' + 9999 % 26);
	cr_assert_eq(all[10000], 0);
	cr_assert_eq(read_full_fd_at_most(fd, READ_FROM_START | READ_TRUNCATE, 5000, &cut, &len),
		     0);
	cr_assert_eq(len, 5000);
	cr_assert_eq(memcmp(cut, all, 5000), 0);
	cr_assert_eq(cut[5000], 0);
}

Test(read_at_most, from_start_ignores_the_offset_and_plain_reads_from_it)
{
	_cleanup_close_ int fd = file_of(100);
	_cleanup_free_ char *a = NULL, *b = NULL;
	size_t len = 0;

	cr_assert_eq(read_full_fd_at_most(fd, READ_FROM_START, 1000, &a, &len), 0);
	cr_assert_eq(len, 100);
	cr_assert_eq(lseek(fd, 90, SEEK_SET), 90);
	cr_assert_eq(read_full_fd_at_most(fd, 0, 1000, &b, &len), 0);
	cr_assert_eq(len, 10);
	cr_assert_str_eq(b, a + 90);
}

/* ---------- handler helpers ---------- */

Test(handler, kernel_path_is_the_path_from_the_root)
{
	char buf[64];

	cr_assert_str_eq(pb_kernel_path("proc/sys/kernel/panic", buf, sizeof(buf)),
			 "/proc/sys/kernel/panic");
	cr_assert_str_eq(buf, "/proc/sys/kernel/panic");
}

Test(handler, caller_ns_is_host_tells_own_namespaces_from_the_hosts)
{
	struct pb_caller self = {.pid = getpid()}, other = self;
	const char *why;
	struct testns t;
	pid_t gone;

	cr_assert_eq(pb_caller_ns_is_host(&self, NS_NET), 1);
	gone = fork();
	cr_assert_geq(gone, 0);
	if (gone == 0)
		_exit(0);
	cr_assert_eq(waitpid(gone, NULL, 0), gone);
	other.pid = gone;
	cr_assert_lt(pb_caller_ns_is_host(&other, NS_NET), 0, "a caller gone is an error");

	if (!testns_supported(&why))
		cr_skip_test("%s", why);
	cr_assert_eq(testns_start(&(struct testns_opts){.clone_flags = CLONE_NEWNET}, &t), 0);
	other.pid = t.pid;
	cr_expect_eq(pb_caller_ns_is_host(&other, NS_NET), 0, "a netns of its own");
	cr_expect_eq(pb_caller_ns_is_host(&other, NS_UTS), 1, "the host's uts namespace");
	testns_stop(&t);
}

static void no_release(struct container *c, void *userdata)
{
}

Test(handler, caller_is_host_without_container_or_with_the_hosts)
{
	struct container_registry *reg = NULL;
	struct pb_caller c = {.pid = getpid()};
	struct container *ct = NULL;
	const char *why;
	struct testns t;

	cr_assert(pb_caller_is_host(&c), "no container");
	cr_assert_eq(container_registry_new(no_release, NULL, &reg), 0);
	cr_assert_eq(container_registry_get(reg, getpid(), &ct), 0);
	c.container = ct;
	cr_assert(pb_caller_is_host(&c), "the host's container");
	container_unref(ct);
	ct = NULL;

	if (!testns_supported(&why)) {
		container_registry_free(reg);
		cr_skip_test("%s", why);
	}
	cr_assert_eq(testns_start(&(struct testns_opts){.clone_flags = CLONE_NEWUSER |
								       CLONE_NEWPID | CLONE_NEWNS},
				  &t),
		     0);
	cr_assert_eq(container_registry_get(reg, t.pid, &ct), 0);
	c.pid = t.pid;
	c.container = ct;
	cr_expect_not(pb_caller_is_host(&c), "a container's caller");
	container_unref(ct);
	testns_stop(&t);
	container_registry_free(reg);
}

/* ---------- nsmount_clone_tree ---------- */

Test(clone_tree, clones_a_path_below_the_mountpoint_or_the_mountpoint_itself)
{
	char dir[] = "/tmp/table-util-XXXXXX", sub[64], file[80];
	mode_t type = 0;
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(file, sizeof(file), "%s/sub/f", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	cr_assert_eq(close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);

	fd = nsmount_clone_tree(dir, "/", &type);
	if (fd == -EPERM) {
		unlink(file);
		rmdir(sub);
		rmdir(dir);
		cr_skip_test("open_tree(2) needs CAP_SYS_ADMIN");
	}
	cr_assert_geq(fd, 0, "/: %s", strerror(-fd));
	cr_assert_eq(type, S_IFDIR);
	close(fd);
	cr_assert_geq(fd = nsmount_clone_tree(dir, "", &type), 0);
	close(fd);
	cr_assert_geq(fd = nsmount_clone_tree(dir, "sub/f", &type), 0);
	cr_assert_eq(type, S_IFREG, "a file, relative");
	close(fd);
	type = 0;
	cr_assert_geq(fd = nsmount_clone_tree(dir, "/sub", &type), 0);
	cr_assert_eq(type, S_IFDIR, "a folder, absolute");
	close(fd);
	cr_assert_eq(nsmount_clone_tree(dir, "missing", &type), -ENOENT);

	unlink(file);
	rmdir(sub);
	rmdir(dir);
}

/* ---------- handler_bind_points ---------- */

Test(bind, rows_marked_bind_are_the_paths_attach_binds)
{
	static const char *const want[] = {
	    "proc/sys",
	    "proc/uptime",
	    "proc/swaps",
	    "proc/meminfo",
	    "proc/cpuinfo",
	    "proc/stat",
	    "proc/loadavg",
	    "proc/diskstats",
	    "sys/kernel/config",
	    "sys/kernel/debug",
	    "sys/kernel/tracing",
	    "sys/kernel/security",
	    "sys/module/nf_conntrack/parameters/hashsize",
	    "sys/devices/virtual/net",
	    "sys/devices/virtual/dmi/id/product_uuid",
	    "sys/devices/system/cpu",
	};
	struct handler_binds b = {0};

	cr_assert_eq(handler_bind_points(&b), 0);
	cr_assert_eq(b.n_rows, ELEMENTSOF(want));
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		size_t found = 0;

		for (size_t k = 0; k < b.n_rows; k++)
			if (strcmp(b.p[k].source, want[i]) == 0) {
				cr_expect_str_eq(b.p[k].target, want[i], "a row binds over itself");
				found++;
			}
		cr_expect_eq(found, 1, "%s bound once", want[i]);
	}
	handler_binds_done(&b);
	cr_assert_null(b.p);
	cr_assert_eq(b.n, 0);
}

Test(bind, instances_are_the_stat_files_of_the_hosts_disks_with_media)
{
	struct handler_binds b = {0};
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	size_t want = 0;

	cr_assert_eq(handler_bind_points(&b), 0);
	for (size_t i = b.n_rows; i < b.n; i++) {
		char disk[NAME_MAX + 1], real[PATH_MAX], kpath[PATH_MAX];

		cr_assert_eq(sscanf(b.p[i].source, "sys/block/%255[^/]/stat", disk), 1, "%s",
			     b.p[i].source);
		if (i > b.n_rows)
			cr_expect_lt(strcmp(b.p[i - 1].source, b.p[i].source), 0, "sorted by name");
		snprintf(kpath, sizeof(kpath), "/%s", b.p[i].source);
		cr_assert_not_null(realpath(kpath, real));
		snprintf(kpath, sizeof(kpath), "/%s", b.p[i].target);
		cr_expect_str_eq(real, kpath, "%s: the file its link leads to", disk);
	}
	d = opendir("/sys/block");
	while (d && (de = readdir(d))) {
		_cleanup_free_ char *size = NULL;
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "/sys/block/%s/size", de->d_name);
		if (de->d_name[0] != '.' && read_full_file(path, &size, NULL) == 0 &&
		    strcmp(size, "0\n") != 0)
			want++;
	}
	cr_expect_eq(b.n - b.n_rows, want, "one point per disk with media");
	handler_binds_done(&b);
}

/* ---------- rows carrying their data ---------- */

static bool row_there;

static bool row_exists(const struct handler *h)
{
	return row_there && strcmp(h->data, "mine") == 0;
}

Test(rows, exists_decides_whether_a_row_without_getattr_is_there)
{
	static const struct handler rows[] = {
	    {.path = "r/maybe", .mode = S_IFREG | 0444, .data = "mine", .exists = row_exists},
	};
	struct pb_caller c = {.pid = getpid()};
	struct stat st;

	cr_assert_eq(tree_init_table(rows, ELEMENTSOF(rows)), 0);
	row_there = true;
	cr_expect_eq(tree_getattr(&c, "r/maybe", &st), 0);
	cr_expect_eq(st.st_mode, S_IFREG | 0444);
	row_there = false;
	cr_expect_eq(tree_getattr(&c, "r/maybe", &st), -ENOENT);
	cr_expect_eq(tree_getattr(&c, "r", &st), 0, "its folder stays");
	tree_free();
}

Test(rows, emulated_rows_are_their_own_spec)
{
	const struct handler fake[] = {
	    EMULATED("proc/sys/kernel/no_such_entry", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 1),
		     NULL),
	    EMULATED("proc/sys/kernel/no_such_entry", 0644, EMUL_VALUE, SCOPE_HOST, EMUL_INT(0, 1),
		     "1\n"),
	    EMULATED("proc/sys/net/no_such_entry", 0644, EMUL_VALUE, SCOPE_NETNS, EMUL_INT(0, 1),
		     NULL),
	    EMULATED("proc/sys/kernel/ngroups_max", 0444, EMUL_HOST_RO, SCOPE_HOST, EMUL_NONE, NULL,
		     .bind = true),
	};
	const struct emul_spec *s = fake[0].data;
	size_t n = 0;

	cr_assert_eq(s->kind, EMUL_VALUE);
	cr_assert_eq(s->fmt.n_max, 1);
	cr_assert_eq(s->fmt.max, 1);
	cr_assert(fake[3].bind, "further row fields follow the spec");
	cr_expect_not(emulated_exists(&fake[0]), "a host-wide entry this kernel lacks");
	cr_expect(emulated_exists(&fake[1]), "shown with its default");
	cr_expect(emulated_exists(&fake[2]), "a netns entry: the caller's lookup found it");
	cr_expect(emulated_exists(&fake[3]));

	for (size_t i = 0; i < n_emulated_handlers; i++) {
		const struct handler *h = &emulated_handlers[i];

		if (!S_ISREG(h->mode))
			continue;
		n++;
		cr_expect_not_null(h->data, "%s", h->path);
		cr_expect_eq(h->exists, emulated_exists, "%s", h->path);
		for (size_t k = 0; k < i; k++)
			cr_expect_str_neq(h->path, emulated_handlers[k].path);
	}
	cr_expect_eq(n, 24, "every emulated /proc/sys entry is a row");
}
