/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The fixture of every suite that runs the real daemon: a test skips where it cannot make
 * containers or mount FUSE, starts the daemon on a temporary mountpoint and, when it is
 * done, stops it cleanly; the suite's .fini stops whatever a failed test left running.
 */
#include "daemon.h"

/* Skips the test unless it runs as root with namespaces and /dev/fuse. */
void suite_need_daemon(void);
/* suite_need_daemon(), then starts d with extra args (NULL-ended, or NULL) and fails the
 * test unless it serves. */
void suite_setup(struct test_daemon *d, const char *const *args);
/* For a .fini: stops d if it still runs and removes its mountpoint; asserts nothing. */
void suite_teardown(struct test_daemon *d);
/* The end of a test of the daemon: it must exit 0, so that a sanitizer report or a crash in
 * it fails the test (an assertion in .fini would not). Its log is removed when it did. */
void suite_stop_cleanly(struct test_daemon *d);
