/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Parsers for the text formats of cgroup and procfs files, free of any file access so that
 * tests and the fuzzer can feed them anything. cgroup.c reads the files and calls these.
 *
 *	uint64_t v[2];
 *	static const char *const keys[] = { "usage_usec", "user_usec" };
 *	uint64_t found = cg_parse_keyed(text_of_cpu_stat, keys, v, 2);	(bit i: keys[i] seen)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"

/* A decimal number, whitespace around it allowed. -EINVAL, -ERANGE. */
int cg_parse_u64(const char *text, uint64_t *ret);

/* A limit: a number, or "max" (v2) / "-1" (v1 cfs quota) / a number at or above 2^62 (v1's
 * page-counter maximum rounded to pages) for CGROUP_UNLIMITED. */
int cg_parse_limit(const char *text, uint64_t *ret);

/* v2 cpu.max: "max 100000" or "50000 100000". */
int cg_parse_cpu_max(const char *text, uint64_t *ret_quota, uint64_t *ret_period);

/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat): stores the value of each line whose
 * key is keys[i] (n <= 64) in values[i] and returns the mask of keys seen. Other lines, and
 * lines that do not parse, are skipped. */
uint64_t cg_parse_keyed(const char *text, const char *const *keys, uint64_t *values, size_t n);

/*
 * memory.stat: the keys procbox reads, v1's hierarchical totals and v2's figures. Parse with
 *	uint64_t v[_CG_MEMSTAT_V1_MAX] = {};
 *	found = cg_parse_keyed(text, cg_memstat_v1_keys, v, _CG_MEMSTAT_V1_MAX);
 * and hand v to cg_memstat_v1_apply().
 */
enum {
	CG_MEMSTAT_V1_CACHE,
	CG_MEMSTAT_V1_RSS,
	CG_MEMSTAT_V1_SHMEM,
	CG_MEMSTAT_V1_MAPPED,
	CG_MEMSTAT_V1_DIRTY,
	CG_MEMSTAT_V1_WRITEBACK,
	CG_MEMSTAT_V1_ACTIVE_ANON,
	CG_MEMSTAT_V1_INACTIVE_ANON,
	CG_MEMSTAT_V1_ACTIVE_FILE,
	CG_MEMSTAT_V1_INACTIVE_FILE,
	CG_MEMSTAT_V1_UNEVICTABLE,
	CG_MEMSTAT_V1_SWAPCACHED,
	CG_MEMSTAT_V1_SWAP,
	CG_MEMSTAT_V1_HIER_LIMIT,
	CG_MEMSTAT_V1_HIER_MEMSW_LIMIT,
	_CG_MEMSTAT_V1_MAX,
};

enum {
	CG_MEMSTAT_V2_ANON,
	CG_MEMSTAT_V2_FILE,
	CG_MEMSTAT_V2_SHMEM,
	CG_MEMSTAT_V2_MAPPED,
	CG_MEMSTAT_V2_DIRTY,
	CG_MEMSTAT_V2_WRITEBACK,
	CG_MEMSTAT_V2_ACTIVE_ANON,
	CG_MEMSTAT_V2_INACTIVE_ANON,
	CG_MEMSTAT_V2_ACTIVE_FILE,
	CG_MEMSTAT_V2_INACTIVE_FILE,
	CG_MEMSTAT_V2_UNEVICTABLE,
	CG_MEMSTAT_V2_SLAB,
	CG_MEMSTAT_V2_SLAB_RECLAIMABLE,
	CG_MEMSTAT_V2_SWAPCACHED,
	_CG_MEMSTAT_V2_MAX,
};

extern const char *const cg_memstat_v1_keys[_CG_MEMSTAT_V1_MAX];
extern const char *const cg_memstat_v2_keys[_CG_MEMSTAT_V2_MAX];

/* The page figures of memory.stat into m (not the limits, usage or swap). */
void cg_memstat_v1_apply(const uint64_t *v, struct cgroup_memory *m);
void cg_memstat_v2_apply(const uint64_t *v, uint64_t found, struct cgroup_memory *m);

/* A v1 hierarchical_*_limit value of memory.stat, printed as a plain number: the
 * page-counter maximum is CGROUP_UNLIMITED. */
uint64_t cg_memstat_v1_limit(uint64_t v);

/* v1: the swap alone a memsw (memory + swap) limit leaves above the memory limit. */
uint64_t cg_memsw_swap_limit(uint64_t memsw_limit, uint64_t limit);

/* Space-separated numbers (cpuacct.usage_percpu*): a malloc'ed array and its length. */
int cg_parse_u64_list(const char *text, uint64_t **ret, size_t *ret_n);

/* Adds v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0") to io. */
int cg_parse_io_stat(const char *text, struct cgroup_io *io);

/* Adds v1 blkio "8:0 Read 4096" lines to io: bytes (io_service_bytes) or ios (io_serviced). */
int cg_parse_blkio(const char *text, bool bytes, struct cgroup_io *io);

/* The path of the /proc/<pid>/cgroup line for a v1 controller (e.g. "memory" on a
 * "4:cpu,memory:/x" line), or for the v2 "0::" line when controller is NULL. -ENXIO when there
 * is no such line, -ENOENT when v2 marks the cgroup " (deleted)". */
int cg_parse_proc_cgroup(const char *text, const char *controller, char **ret_path);
