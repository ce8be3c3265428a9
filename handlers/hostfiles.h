/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A host file a view starts from, opened on first use and kept for the daemon's life: each
 * read takes the whole file again from offset 0 (pread), so no read pays an open. Its user
 * declares it where it reads it, static:
 *	static struct host_file host_vmstat = HOST_FILE("/proc/vmstat", true);
 *	r = host_file_read(&host_vmstat, &text, &len);
 * hostfiles_free() closes every one opened, at shutdown after the last read.
 */
struct host_file {
	const char *path;
	bool one_record; /* READ_ONE_RECORD: see util/fileio.h */
	/* set at the first read */
	atomic_bool opened;
	int fd; /* or the negative errno of the open */
	struct host_file *next;
};

#define HOST_FILE(p, rec)                                                                          \
	{                                                                                          \
		.path = (p), .one_record = (rec)                                                   \
	}

int host_file_read(struct host_file *f, char **ret, size_t *ret_len);

/*
 * The host's /proc/meminfo as of HOST_MEMINFO_MAX_AGE_NS ago at most, shared by the reads of
 * that time; gen changes with the text. The kernel's own figures lag more: the per-CPU vmstat
 * deltas behind /proc/meminfo are folded every second (vm.stat_interval).
 */
#define HOST_MEMINFO_MAX_AGE_NS 1000000u

struct host_meminfo {
	atomic_uint refs;
	uint64_t gen;
	size_t len;
	char *text;
};

int host_meminfo_get(struct host_meminfo **ret);
void host_meminfo_unref(struct host_meminfo *h);

void hostfiles_free(void);
