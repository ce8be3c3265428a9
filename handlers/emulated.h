/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "handlers/handler.h"

/*
 * Emulated kernel values: /proc/sys entries the kernel does not namespace, and the one
 * /sys module parameter of the same kind. Each container gets its own value, seeded from
 * the kernel's the first time it reads it, never seen by another container or the host.
 *
 * "The kernel's value" is the host's for host-wide entries, and the caller's network
 * namespace's for the entries the kernel keeps per network namespace (somaxconn,
 * max_dgram_qlen, the conntrack timeouts, ping_group_range): that is what the container
 * would see without procbox, so it is what it starts from and what a raise raises.
 *
 * Where the running kernel keeps an entry per namespace (found at start-up, tree_init()),
 * the table's entry is not used and the proc/sys passthrough serves the kernel's own value
 * in the caller's namespace; on this kernel that is pid_max, somaxconn, max_dgram_qlen and
 * the conntrack timeouts. ping_group_range is emulated all the same (namespaced_too).
 *
 * A caller in the host's own namespaces reads the kernel's values and writes none.
 */
extern const struct handler emulated_handlers[];
extern const size_t n_emulated_handlers;

/* The operations of every emulated entry, for other families' emulated files: path must
 * be one of the table in emulated.c. */
int emulated_getattr(const struct pb_caller *c, const char *path, struct stat *st);
int emulated_open(const struct pb_caller *c, struct pb_file *f);
int emulated_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len);
int emulated_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
		   off_t off);

/* A row of an emulated entry; more fields of the row may follow (.bind = true). */
#define EMULATED_HANDLER(p, m, ...)                                                                \
	{                                                                                          \
		.path = (p), .mode = S_IFREG | (m), .getattr = emulated_getattr,                   \
		.open = emulated_open, .content = emulated_content, .write = emulated_write,       \
		__VA_ARGS__                                                                        \
	}
