/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/container.h"

/*
 * Values containers wrote to emulated files, kept in a root-only folder so that a
 * procbox started after a crash, a kill or an upgrade gives them back. A container's
 * file is named by what a restart does not change and a new container cannot repeat:
 * its identifying namespace's inode, its init's pid and the init's start time (clock
 * ticks after boot). A new container that gets a dead one's pid or inode has another
 * start time or namespace; the file of a container whose init is gone is deleted when
 * it is released, and at start-up when nothing runs under its name any more.
 *
 * Each save writes a temporary file, fsyncs it and renames it over the old one: a
 * crash leaves the old or the new file, never a mix.
 */
#define SAVED_MAX_BYTES 16384

/* Turns saving on (dir is created 0700); prunes files of containers that ended. */
int saved_set_dir(const char *dir);
/* Whether saving is on. */
int saved_enabled(void);

/* data: n pairs of key, value. -EFBIG above SAVED_MAX_BYTES. */
int saved_store(const struct container_id *id, pid_t init_pid, uint64_t init_start,
		const char *const *keys, const char *const *values, size_t n);
int saved_load(const struct container_id *id, pid_t init_pid, uint64_t init_start,
	       int (*cb)(const char *key, const char *value, void *userdata), void *userdata);
void saved_remove(const struct container_id *id, pid_t init_pid, uint64_t init_start);
