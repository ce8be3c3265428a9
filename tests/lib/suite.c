/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <unistd.h>

#include "suite.h"
#include "testns.h"

void suite_need_daemon(void)
{
	const char *why;

	if (!testns_supported(&why))
		cr_skip_test("%s", why);
	if (access("/dev/fuse", R_OK | W_OK) < 0)
		cr_skip_test("no /dev/fuse");
}

void suite_setup(struct test_daemon *d, const char *const *args)
{
	suite_need_daemon();
	cr_assert_eq(daemon_start(d, args), 0, "the daemon must start");
}

void suite_teardown(struct test_daemon *d)
{
	if (d->pid > 0)
		daemon_stop(d);
}

void suite_stop_cleanly(struct test_daemon *d)
{
	int st = daemon_stop(d);

	cr_assert_eq(st, 0, "the daemon did not exit cleanly (%d): see %s", st, d->log);
	unlink(d->log);
}
