/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The host's files the views start from, opened on first use and kept for the daemon's life:
 * each read takes the whole file again from offset 0 (pread), so no read pays an open.
 * hostfiles_free() closes them at shutdown, after the last read.
 */
enum host_file {
	HOST_MEMINFO,
	HOST_STAT,
	HOST_CPUINFO,
	HOST_DISKSTATS,
	HOST_ONLINE, /* /sys/devices/system/cpu/online */
	HOST_LOADAVG,
	_HOST_FILE_MAX,
};

int host_file_read(enum host_file f, char **ret, size_t *ret_len);

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
