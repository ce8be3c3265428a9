/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dispatcher alone, rootless: a table of test rows in the trie (tree_init_table()),
 * opened, read, written and listed as the FUSE layer does, with the caller's own process
 * as its container. What the rows serve is a value the test changes under them, so that
 * each read shows which snapshot it came from.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container.h"
#include "handlers/tree.h"
#include "util/macro.h"

/* What "t/value" and "t/rw" serve now, and how many times a snapshot was taken. */
static char value[64];
static unsigned n_content;

static int value_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	n_content++;
	*ret = s;
	*ret_len = strlen(s);
	return 0;
}

/* Stores what was written, and leaves the open file's snapshot alone. */
static int value_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
		       off_t off)
{
	if (size >= sizeof(value))
		return -EINVAL;
	memcpy(value, buf, size);
	value[size] = 0;
	return (int)size;
}

/* "s" serves every path below it with its own name, as a subtree handler does. */
static int subtree_content(const struct pb_caller *c, struct pb_file *f, char **ret,
			   size_t *ret_len)
{
	if (asprintf(ret, "subtree:%s", f->path) < 0)
		return -ENOMEM;
	*ret_len = strlen(*ret);
	return 0;
}

static int subtree_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	pb_default_stat(c, strcmp(path, "s") == 0 ? S_IFDIR | 0555 : S_IFREG | 0600, st);
	return 0;
}

static int subtree_readdir(const struct pb_caller *c, const char *path, struct pb_dir *d)
{
	int r;

	if (strcmp(path, "s") != 0)
		return pb_dir_add(d, "from-subtree", S_IFREG);
	r = pb_dir_add(d, "a", S_IFREG);
	/* also a row's folder below it: listed once */
	return r < 0 ? r : pb_dir_add(d, "x", S_IFDIR);
}

static const struct handler rows[] = {
    {.path = "t/value", .mode = S_IFREG | 0444, .content = value_content},
    {.path = "t/rw", .mode = S_IFREG | 0644, .content = value_content, .write = value_write},
    {.path = "s",
     .subtree = true,
     .mode = S_IFDIR | 0555,
     .getattr = subtree_getattr,
     .readdir = subtree_readdir,
     .content = subtree_content},
    {.path = "s/x/deep", .mode = S_IFREG | 0444, .content = value_content},
    {.path = "s/row", .mode = S_IFREG | 0444, .content = value_content},
};

static struct container_registry *reg;
static struct pb_caller caller;

static void setup(void)
{
	struct container *self;

	cr_assert_eq(container_registry_new(NULL, NULL, &reg), 0);
	cr_assert_eq(container_registry_get(reg, getpid(), &self), 0);
	caller = (struct pb_caller){.pid = getpid(),
				    .uid = getuid(),
				    .gid = getgid(),
				    .container = self,
				    .containers = reg};
	cr_assert_eq(tree_init_table(rows, ELEMENTSOF(rows)), 0);
	snprintf(value, sizeof(value), "0123456789");
	n_content = 0;
}

static void teardown(void)
{
	tree_free();
	if (caller.container)
		container_unref(caller.container);
	container_registry_free(reg);
}

TestSuite(tree, .init = setup, .fini = teardown);

static struct pb_file *open_path(const char *path, int flags)
{
	struct pb_file *f = NULL;

	cr_assert_eq(tree_open(&caller, path, flags, &f), 0, "open %s", path);
	return f;
}

/* A read of up to size bytes at off, as a string. */
static const char *read_at(struct pb_file *f, off_t off, size_t size)
{
	static char buf[128];
	int r;

	cr_assert_lt(size, sizeof(buf));
	r = tree_read(&caller, f, buf, size, off);
	cr_assert_geq(r, 0, "read at %lld: %s", (long long)off, strerror(-r));
	buf[r] = 0;
	return buf;
}

Test(tree, a_read_at_offset_0_takes_a_snapshot)
{
	struct pb_file *f = open_path("t/value", O_RDONLY);

	cr_expect_eq(n_content, 0, "opening takes no snapshot");
	cr_expect_str_eq(read_at(f, 0, 4), "0123");
	cr_expect_eq(n_content, 1);
	tree_release(f);
}

Test(tree, reads_on_at_an_offset_come_from_the_same_snapshot)
{
	struct pb_file *f = open_path("t/value", O_RDONLY);

	cr_assert_str_eq(read_at(f, 0, 4), "0123");
	snprintf(value, sizeof(value), "abcdefghij");
	cr_expect_str_eq(read_at(f, 4, 4), "4567");
	cr_expect_str_eq(read_at(f, 8, 16), "89");
	cr_expect_str_eq(read_at(f, 10, 16), "", "the end of the snapshot");
	cr_expect_eq(n_content, 1, "one snapshot for the whole read");
	tree_release(f);
}

Test(tree, a_read_at_0_again_takes_a_new_snapshot)
{
	struct pb_file *f = open_path("t/value", O_RDONLY);

	cr_assert_str_eq(read_at(f, 0, 4), "0123");
	snprintf(value, sizeof(value), "abcdefghij");
	cr_expect_str_eq(read_at(f, 0, 4), "abcd", "a seek back to 0 sees the new value");
	snprintf(value, sizeof(value), "ABCDEFGHIJ");
	cr_expect_str_eq(read_at(f, 4, 16), "efghij", "and reads on from that snapshot");
	cr_expect_eq(n_content, 2);
	tree_release(f);
}

Test(tree, a_write_ends_the_snapshot)
{
	struct pb_file *f = open_path("t/rw", O_RDWR);

	cr_assert_str_eq(read_at(f, 0, 3), "012");
	cr_assert_eq(tree_write(&caller, f, "abcdefghij", 10, 0), 10);
	cr_expect_str_eq(read_at(f, 3, 16), "defghij",
			 "a read on after a write is from a new snapshot");
	tree_release(f);
}

Test(tree, the_deepest_row_wins_over_a_subtree)
{
	struct pb_file *f;
	struct stat st;

	snprintf(value, sizeof(value), "deep");
	f = open_path("s/x/deep", O_RDONLY);
	cr_expect_str_eq(read_at(f, 0, 64), "deep");
	tree_release(f);
	cr_assert_eq(tree_getattr(&caller, "s/x/deep", &st), 0);
	cr_expect_eq(st.st_mode, S_IFREG | 0444, "the row's mode, not the subtree's: %o",
		     st.st_mode);

	/* around the row, the subtree serves */
	f = open_path("s/other", O_RDONLY);
	cr_expect_str_eq(read_at(f, 0, 64), "subtree:s/other");
	tree_release(f);
	f = open_path("s/x", O_RDONLY);
	cr_expect_str_eq(read_at(f, 0, 64), "subtree:s/x");
	tree_release(f);
	cr_assert_eq(tree_getattr(&caller, "s/x/other", &st), 0);
	cr_expect_eq(st.st_mode, S_IFREG | 0600);
}

/* The names of a listing, sorted and joined by ' ', with a type letter each. */
static const char *listing(const char *path)
{
	static char out[256];
	struct tree_dirent *e = NULL;
	size_t n = 0, len = 0;
	int r;

	r = tree_readdir(&caller, path, &e, &n);
	cr_assert_eq(r, 0, "readdir %s: %s", path, strerror(-r));
	out[0] = 0;
	/* a selection sort: listings here are a few names */
	for (size_t i = 0; i < n; i++) {
		size_t min = i;
		struct tree_dirent t;

		for (size_t j = i + 1; j < n; j++)
			if (strcmp(e[j].name, e[min].name) < 0)
				min = j;
		t = e[i];
		e[i] = e[min];
		e[min] = t;
		len += snprintf(out + len, sizeof(out) - len, "%s%s/%c", i ? " " : "", e[i].name,
				S_ISDIR(e[i].type) ? 'd' : 'f');
		cr_assert_lt(len, sizeof(out));
	}
	tree_dir_free(e, n);
	return out;
}

Test(tree, readdir_merges_the_rows_and_the_subtrees_entries)
{
	cr_expect_str_eq(listing("s"), "a/f row/f x/d");
	cr_expect_str_eq(listing("s/x"), "deep/f from-subtree/f");
	cr_expect_str_eq(listing(""), "s/d t/d");
	cr_expect_str_eq(listing("t"), "rw/f value/f");
}
