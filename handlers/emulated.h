/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "handlers/handler.h"
#include "handlers/sysctl_value.h"

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

enum emul_kind {
	EMUL_HOST_RO,	  /* the host's value; nobody writes it */
	EMUL_VALUE,	  /* per container; the kernel's value is never changed */
	EMUL_PING_RANGE,  /* per container; written to the writer's netns by the writer */
	EMUL_RANDOM_UUID, /* a fresh v4 UUID on every read */
};

enum emul_scope {
	SCOPE_HOST,  /* one value for the whole machine */
	SCOPE_NETNS, /* one value per network namespace */
};

/* What an emulated row carries (its .data); the kernel's file is "/" + the row's path. */
struct emul_spec {
	enum emul_kind kind;
	enum emul_scope scope;
	struct sysctl_format fmt;
	/* The kernel's default, shown where this kernel was built without the entry (no
	 * CONFIG_MAGIC_SYSRQ, no Yama): tools that list /proc/sys then find what they
	 * expect. */
	const char *fallback;
};

/* The operations of every emulated row, for the EMULATED() rows of any family. */
bool emulated_exists(const struct handler *h);
int emulated_open(const struct pb_caller *c, struct pb_file *f);
int emulated_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len);
int emulated_write(const struct pb_caller *c, struct pb_file *f, const char *buf, size_t size,
		   off_t off);

/* One integer in lo..hi; no value to write. */
#define EMUL_INT(lo, hi) SYSCTL_FORMAT_INT(1, 1, lo, hi)
#define EMUL_NONE                                                                                  \
	{                                                                                          \
		0                                                                                  \
	}

/* The row of an emulated entry: path p (a file of mode m), its spec made of kind k, scope sc,
 * format f and fallback fb. More fields of the row may follow (.bind = true). */
#define EMULATED(p, m, k, sc, f, fb, ...)                                                          \
	{                                                                                          \
		.path = (p), .mode = S_IFREG | (m),                                                \
		.data =                                                                            \
		    &(const struct emul_spec){                                                     \
			.kind = (k), .scope = (sc), .fmt = f, .fallback = (fb)},                   \
		.exists = emulated_exists, .open = emulated_open, .content = emulated_content,     \
		.write = emulated_write, __VA_ARGS__                                               \
	}
