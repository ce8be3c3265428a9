/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sets of kernel inodes (fs/inodeset.h): which names make a set, and which tree path
 * a node path below `.inodes/NAME/` is served as.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fs/inodeset.h"

Test(inodeset, names_are_1_to_128_safe_characters_not_starting_with_a_dot)
{
	char max[INODESET_NAME_MAX + 2];

	cr_expect_eq(inodeset_name_check("pid-1234-56789"), 0);
	cr_expect_eq(inodeset_name_check("a"), 0);
	cr_expect_eq(inodeset_name_check("Docker_ct.1+x-Z9"), 0);
	cr_expect_eq(inodeset_name_check("a.."), 0);
	memset(max, 'x', INODESET_NAME_MAX);
	max[INODESET_NAME_MAX] = '\0';
	cr_expect_eq(inodeset_name_check(max), 0, "128 characters");
	max[INODESET_NAME_MAX] = 'x';
	max[INODESET_NAME_MAX + 1] = '\0';
	cr_expect_eq(inodeset_name_check(max), -EINVAL, "129 characters");

	cr_expect_eq(inodeset_name_check(""), -ENOENT);
	cr_expect_eq(inodeset_name_check("."), -ENOENT);
	cr_expect_eq(inodeset_name_check(".."), -ENOENT);
	cr_expect_eq(inodeset_name_check(".hidden"), -ENOENT);
	cr_expect_eq(inodeset_name_check("a b"), -EINVAL);
	cr_expect_eq(inodeset_name_check("a/b"), -EINVAL);
	cr_expect_eq(inodeset_name_check("a:b"), -EINVAL);
	cr_expect_eq(inodeset_name_check("a\nb"), -EINVAL);
	cr_expect_eq(inodeset_name_check("caf\xc3\xa9"), -EINVAL);
	cr_expect(!inodeset_name_valid("a*"));
	cr_expect(inodeset_name_valid("ct1"));
}

Test(inodeset, the_prefix_is_taken_off_in_one_place)
{
	cr_expect_str_eq(inodeset_tree_path(".inodes/ct1/proc/sys/kernel/panic"),
			 "proc/sys/kernel/panic");
	cr_expect_str_eq(inodeset_tree_path(".inodes/ct1/proc"), "proc");
	cr_expect_str_eq(inodeset_tree_path(".inodes/ct1"), "", "a set's root is the root");
	/* outside the sets: unchanged */
	cr_expect_str_eq(inodeset_tree_path("proc/sys/kernel/panic"), "proc/sys/kernel/panic");
	cr_expect_str_eq(inodeset_tree_path(""), "");
	cr_expect_str_eq(inodeset_tree_path(".inodes"), ".inodes");
	cr_expect_str_eq(inodeset_tree_path(".inodesx/a/proc"), ".inodesx/a/proc");
	cr_expect_str_eq(inodeset_tree_path("proc/.inodes/a/sys"), "proc/.inodes/a/sys");
	/* no set in a set: what follows is the tree's, which has no `.inodes` */
	cr_expect_str_eq(inodeset_tree_path(".inodes/a/.inodes/b/proc"), ".inodes/b/proc");
	/* a name no lookup would take is no set */
	cr_expect_str_eq(inodeset_tree_path(".inodes/.x/proc"), ".inodes/.x/proc");
	cr_expect_str_eq(inodeset_tree_path(".inodes/a b/proc"), ".inodes/a b/proc");
}

Test(inodeset, the_ways_in_are_the_root_the_folder_and_each_sets_root)
{
	cr_expect(inodeset_is_gate(""));
	cr_expect(inodeset_is_gate(".inodes"));
	cr_expect(inodeset_is_gate(".inodes/ct1"));
	cr_expect(!inodeset_is_gate(".inodes/ct1/proc"));
	cr_expect(!inodeset_is_gate("proc"));
	cr_expect(!inodeset_is_gate(".inodes/a/.inodes"));
	cr_expect(inodeset_is_folder(".inodes"));
	cr_expect(!inodeset_is_folder(".inodes/a"));
	cr_expect(!inodeset_is_folder(".inodes/a/.inodes"));
}

Test(inodeset, bind_sources_name_their_set)
{
	char buf[64];

	cr_assert_eq(inodeset_path("ct1", "proc/sys", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, ".inodes/ct1/proc/sys");
	cr_expect_str_eq(inodeset_tree_path(buf), "proc/sys");
	cr_assert_eq(inodeset_path("ct1", "", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, ".inodes/ct1");
	cr_expect_eq(inodeset_path(".ct", "proc", buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(inodeset_path("a/b", "proc", buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(inodeset_path("ct1", "proc/sys/kernel/panic", buf, 16), -ENAMETOOLONG);
}
