/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the parsers of /proc/<pid>/status credentials and of
 * /proc/<pid>/{uid,gid}_map. Links: src/nsenter/creds.c src/util/fileio.c.
 *
 * The first input byte picks the parser, the rest is its text. What parses must print back
 * (the way the kernel prints it) to text that parses to the same result, and an id mapped
 * through a parsed map must come from the first extent that holds it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsenter/creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static char *print_map(const struct id_map *m)
{
	size_t cap = (size_t)m->n * 40 + 1, len = 0;
	char *s = malloc(cap);

	check(s != NULL);
	s[0] = 0;
	for (uint32_t i = 0; i < m->n; i++)
		len += (size_t)snprintf(
		    s + len, cap - len, "%10" PRIu32 " %10" PRIu32 " %10" PRIu32 "\n",
		    m->extent[i].first, m->extent[i].lower_first, m->extent[i].count);
	return s;
}

static void fuzz_map(const char *text, const uint8_t *probe, size_t nprobe)
{
	struct id_map m, m2;
	char *again;

	if (id_map_parse(text, &m) < 0)
		return;
	check(m.n <= sizeof(m.extent) / sizeof(m.extent[0]));
	again = print_map(&m);
	check(id_map_parse(again, &m2) == 0);
	check(m2.n == m.n && memcmp(m.extent, m2.extent, m.n * sizeof(m.extent[0])) == 0);
	free(again);

	/* Ids at and around every extent's edges, and a few from the input. */
	for (uint32_t i = 0; i < m.n && i < 16; i++) {
		const struct id_extent *e = &m.extent[i];
		uint32_t ids[] = {e->lower_first, e->lower_first - 1, e->lower_first + e->count,
				  e->lower_first + e->count - 1};

		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
			uint32_t in = id_map_to_inside(&m, ids[k]);
			uint32_t j;

			for (j = 0; j < m.n; j++)
				if (ids[k] >= m.extent[j].lower_first &&
				    ids[k] - m.extent[j].lower_first < m.extent[j].count)
					break;
			if (j == m.n)
				check(in == UINT32_MAX);
			else
				check(in == m.extent[j].first + (ids[k] - m.extent[j].lower_first));
		}
	}
	for (size_t k = 0; k + 4 <= nprobe && k < 64; k += 4) {
		uint32_t id;

		memcpy(&id, probe + k, 4);
		(void)id_map_to_inside(&m, id);
	}
}

static void fuzz_status(const char *text)
{
	struct creds c, c2;
	char buf[4096], *p = buf;
	size_t left = sizeof(buf);
	int n;

	memset(&c, 0x5a, sizeof(c));
	c2 = c;
	if (creds_parse_status(text, &c) < 0) {
		check(memcmp(&c, &c2, sizeof(c)) == 0); /* untouched on failure */
		return;
	}
	check(c.ngroups <= CREDS_MAX_GROUPS);
	check(creds_equal(&c, &c));

	n = snprintf(p, left,
		     "Name:\tx\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nGroups:", c.ruid,
		     c.euid, c.suid, c.fsuid, c.rgid, c.egid, c.sgid, c.fsgid);
	p += n, left -= (size_t)n;
	for (uint32_t i = 0; i < c.ngroups; i++) {
		n = snprintf(p, left, "%u ", c.groups[i]);
		p += n, left -= (size_t)n;
	}
	snprintf(p, left,
		 "\nCapInh:\t%016" PRIx64 "\nCapPrm:\t%016" PRIx64 "\nCapEff:\t%016" PRIx64 "\n",
		 c.cap_inh, c.cap_prm, c.cap_eff);
	check(creds_parse_status(buf, &c2) == 0);
	check(creds_equal(&c, &c2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	if (data[0] & 1)
		fuzz_map(text, data + 1, size - 1);
	else
		fuzz_status(text);
	free(text);
	return 0;
}
