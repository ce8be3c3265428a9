/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sys/block/<disk>/stat rendered from a diskstats text (view_disk_stat(), cgroup/views.h): the
 * kernel's layout, on fixed input.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "cgroup/views.h"

/* A container's /proc/diskstats on a 6.x kernel (17 counters), and an older line (11). */
static const char diskstats[] =
    "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    " 254       0 vda 12 0 4096 0 3 0 123456789012 0 0 0 0 0 0 0 0 0 0\n"
    " 254      16 vdb1 1 2 3 4 5 6 7 8 9 10 11\n";

Test(blockstat, the_kernels_layout_with_the_lines_counters)
{
	char *out = NULL;

	cr_assert_eq(view_disk_stat(diskstats, "vda", &out), 0);
	cr_assert_str_eq(out, "      12        0     4096        0        3        0 123456789012"
			      "        0        0        0        0        0        0        0"
			      "        0        0        0\n");
	free(out);
	out = NULL;
	cr_assert_eq(view_disk_stat(diskstats, "loop0", &out), 0);
	cr_assert_eq(strlen(out), 17 * 9, "17 fields of 8 columns, spaces and the newline");
	cr_assert_eq(strspn(out, " 0"), 17 * 9 - 1, "%s", out);
	free(out);
	out = NULL;
	/* as many counters as the line has */
	cr_assert_eq(view_disk_stat(diskstats, "vdb1", &out), 0);
	cr_assert_str_eq(out, "       1        2        3        4        5        6        7"
			      "        8        9       10       11\n");
	free(out);
}

Test(blockstat, a_disk_without_a_line_or_a_bad_line)
{
	char *out = NULL;

	cr_assert_eq(view_disk_stat(diskstats, "vd", &out), -ENOENT);
	cr_assert_eq(view_disk_stat(diskstats, "sda", &out), -ENOENT);
	cr_assert_eq(view_disk_stat("", "vda", &out), -ENOENT);
	cr_assert_eq(view_disk_stat(" 8 0 sda 1 x 3\n", "sda", &out), -EBADMSG);
	cr_assert_null(out);
}
