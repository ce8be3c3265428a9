/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * Closes every fd from 3 up except those in keep[] (negative entries are ignored; keep[]
 * is sorted in place). For a fresh child that is about to enter a container's
 * namespaces: nothing of the daemon's, its /dev/fuse fd above all, may follow it.
 */
void close_all_fds_but(int *keep, size_t n);
