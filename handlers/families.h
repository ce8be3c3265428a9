/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "handlers/handler.h"

/* Every family of handlers, one entry each (families.c). */
struct handler_family {
	const char *name;
	const struct handler *table;
	const size_t *n;
	int (*init)(void); /* optional, runs once at start-up, before any thread */
	/* optional, frees what the family keeps for the daemon's life, at tree_free() */
	void (*fini)(void);
};

extern const struct handler_family handler_families[];
extern const size_t n_handler_families;

/* Every point attach, the OCI hook and the runtime wrapper bind: the rows marked bind, in
 * table order, then the instances of rows with bind_instances(). Free with
 * handler_binds_done(). */
int handler_bind_points(struct handler_binds *ret);
