/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the cgroup parsers and the resource-view renderers.
 * Links: src/cgroup/cpulist.c src/cgroup/parse.c src/cgroup/cgroup.c src/cgroup/views.c
 *        src/cgroup/loadavg.c (no other source, no library beyond libc).
 *
 * The first input byte picks the parser or renderer, the rest is its text. File access only
 * happens under a root that does not exist, so every cgroup read fails cleanly.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "cgroup/cpulist.h"
#include "cgroup/loadavg.h"
#include "cgroup/parse.h"
#include "cgroup/views.h"
#include "util/mountinfo.h"
#include "util/procstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ROOT "/nonexistent-procbox-fuzz"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void fuzz_cpulist(const char *text)
{
	struct cpulist a, b;
	char *s = NULL;

	if (cpulist_parse(text, &a) < 0)
		return;
	check(cpulist_format(&a, &s) == 0);
	check(cpulist_parse(s, &b) == 0);
	check(memcmp(&a, &b, sizeof(a)) == 0);
	for (unsigned i = 0, c; cpulist_nth(&a, i, &c) == 0; i++)
		check(cpulist_index(&a, c) == (int)i);
	free(s);
}

static void fuzz_values(const char *text)
{
	static const char *const keys[] = {"total_cache", "anon", "file", "user", "system"};
	uint64_t v[5], q, p, *list = NULL;
	struct proc_stat st;
	size_t n;

	(void)cg_parse_keyed(text, keys, v, 5);
	(void)cg_parse_u64(text, &q);
	(void)cg_parse_limit(text, &q);
	if (cg_parse_cpu_max(text, &q, &p) == 0)
		check(p > 0);
	if (cg_parse_u64_list(text, &list, &n) == 0)
		free(list);
	if (proc_stat_parse(text, &st) == 0)
		check(st.state != 0);
}

static void fuzz_io(const char *text)
{
	struct cgroup_io io = {};
	char *out = NULL;

	(void)cg_parse_io_stat(text, &io);
	(void)cg_parse_blkio(text, true, &io);
	(void)cg_parse_blkio(text, false, &io);
	if (view_diskstats(text, &io, &out) == 0)
		free(out);
	cgroup_io_done(&io);
}

static void fuzz_cgroup_paths(const char *text)
{
	struct cgroup_layout *l = NULL;
	struct cgroup *cg = NULL;
	struct cgroup_memory m;
	struct cgroup_cpu cpu;
	char *path = NULL;

	if (cg_parse_proc_cgroup(text, "memory", &path) == 0)
		free(path);
	path = NULL;
	if (cg_parse_proc_cgroup(text, NULL, &path) == 0)
		free(path);
	/* The same text read as mountinfo, then as /proc/<pid>/cgroup against that layout. */
	if (cgroup_layout_parse(FUZZ_ROOT, text, &l) < 0)
		return;
	if (cgroup_resolve_text(l, text, &cg) == 0) {
		for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
			const char *dir = cgroup_path(cg, c);

			check(!dir || strncmp(dir, FUZZ_ROOT "/", strlen(FUZZ_ROOT) + 1) == 0);
		}
		check(cgroup_get_memory(cg, &m) < 0);
		check(cgroup_get_cpu(cg, &cpu) < 0);
		cgroup_free(cg);
	}
	cgroup_layout_free(l);
}

static void fuzz_mountinfo(const char *text)
{
	struct mountinfo_entry e;

	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);

		if (mountinfo_parse_line(line, len, &e) == 0)
			mountinfo_entry_done(&e);
		line = eol ? eol + 1 : NULL;
	}
}

static void fuzz_meminfo(const char *text)
{
	struct cgroup_memory m = {
	    .limit = 256u << 20,
	    .usage = 300u << 20,
	    .swap_accounted = true,
	    .swap_limit = CGROUP_UNLIMITED,
	    .swap_usage = 1u << 20,
	    .file = 1u << 20,
	    .swapcached = 2u << 20,
	    .has_slab = true,
	    .slab = 1u << 20,
	    .slab_reclaimable = 1u << 19,
	};
	char *out = NULL;

	if (view_meminfo(text, &m, &out) == 0)
		free(out);
	out = NULL;
	check(view_swaps(text, &m, &out) == 0);
	free(out);
}

static void fuzz_cpus(const char *text, uint8_t sel)
{
	uint64_t user[8] = {1, 2, 3, 4, 5, 6, 7, UINT64_MAX / 2}, sys[8] = {8, 7, 6, 5, 4, 3, 2, 1};
	struct cgroup_cpu_usage u = {
	    .user_ns = 1000000000,
	    .system_ns = 1,
	    .n_percpu = sel & 1 ? 8 : 0,
	    .percpu_user_ns = user,
	    .percpu_system_ns = sys,
	};
	struct cgroup_tasks t = {.total = 3, .running = 1};
	struct view_stat_history h = {};
	struct cpulist shown;
	char *out = NULL;

	cpulist_clear(&shown);
	for (unsigned i = 1; i < 5; i++)
		if (sel & (1u << i))
			(void)cpulist_add(&shown, i * 3);
	if (cpulist_count(&shown) == 0)
		(void)cpulist_add(&shown, 0);
	if (view_cpuinfo(text, &shown, &out) == 0)
		free(out);
	out = NULL;
	for (int i = 0; i < 2; i++) {
		if (view_stat(text, &shown, &u, &t, &h, &out) == 0)
			free(out);
		out = NULL;
	}
	view_stat_history_done(&h);
}

static void fuzz_loadavg(const uint8_t *data, size_t size)
{
	struct loadavg l = {};
	struct cgroup_tasks t = {};
	uint64_t now = 0;
	char *out = NULL;

	for (size_t i = 0; i + 4 <= size; i += 4) {
		now += (uint64_t)data[i] << (data[i + 1] % 48);
		loadavg_update(&l, now, (unsigned)data[i + 2] << (data[i + 3] % 24));
	}
	check(view_loadavg(&l, &t, 1, &out) == 0);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 2)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;

	switch (data[0] % 8) {
	case 0:
		fuzz_cpulist(text);
		break;
	case 1:
		fuzz_values(text);
		break;
	case 2:
		fuzz_io(text);
		break;
	case 3:
		fuzz_cgroup_paths(text);
		break;
	case 4:
		fuzz_mountinfo(text);
		break;
	case 5:
		fuzz_meminfo(text);
		break;
	case 6:
		fuzz_cpus(text, data[0] >> 3);
		break;
	case 7:
		fuzz_loadavg(data + 1, size - 1);
		break;
	}
	free(text);
	return 0;
}
