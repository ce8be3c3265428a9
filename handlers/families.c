/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/families.h"
#include "handlers/blockstat.h"
#include "handlers/cpudir.h"
#include "handlers/emulated.h"
#include "handlers/procsys.h"
#include "handlers/stats.h"
#include "handlers/sysfs.h"
#include "handlers/views.h"
#include "util/array.h"
#include "util/macro.h"

const struct handler_family handler_families[] = {
    {"proc/sys", procsys_handlers, &n_procsys_handlers, procsys_family_init, NULL},
    {"emulated", emulated_handlers, &n_emulated_handlers, NULL, NULL},
    {"views", views_handlers, &n_views_handlers, NULL, views_free},
    {"sysfs", sysfs_handlers, &n_sysfs_handlers, NULL, NULL},
    {"cpudir", cpudir_handlers, &n_cpudir_handlers, NULL, NULL},
    {"stats", stats_handlers, &n_stats_handlers, NULL, NULL},
    {"blockstat", blockstat_handlers, &n_blockstat_handlers, NULL, NULL},
};

const size_t n_handler_families = ELEMENTSOF(handler_families);

int handler_binds_add(struct handler_binds *b, const char *source, const char *target)
{
	struct handler_bind_point p = {strdup(source), strdup(target)};

	if (!p.source || !p.target || ARRAY_GROW(b->p, b->cap, b->n, 32) < 0) {
		free(p.source);
		free(p.target);
		return -ENOMEM;
	}
	b->p[b->n++] = p;
	return 0;
}

void handler_binds_done(struct handler_binds *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->p[i].source);
		free(b->p[i].target);
	}
	free(b->p);
	*b = (struct handler_binds){0};
}

int handler_bind_points(struct handler_binds *ret)
{
	struct handler_binds b = {0};
	int r = 0;

	for (size_t f = 0; f < n_handler_families && r >= 0; f++)
		for (size_t i = 0; i < *handler_families[f].n && r >= 0; i++) {
			const struct handler *h = &handler_families[f].table[i];

			if (h->bind)
				r = handler_binds_add(&b, h->path, h->path);
		}
	b.n_rows = b.n;
	for (size_t f = 0; f < n_handler_families && r >= 0; f++)
		for (size_t i = 0; i < *handler_families[f].n && r >= 0; i++) {
			const struct handler *h = &handler_families[f].table[i];

			if (h->bind_instances)
				r = h->bind_instances(&b);
		}
	if (r < 0) {
		handler_binds_done(&b);
		return r;
	}
	*ret = b;
	return 0;
}
