/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handlers/handler.h"
#include "nsenter/namespaces.h"

/* proc/sys and everything below: the kernel's own files, read and written in the caller's
 * namespaces. */
extern const struct handler procsys_handlers[];
extern const size_t n_procsys_handlers;

/*
 * The namespace a /proc/sys path (below "proc/sys/", e.g. "net/ipv4/ip_forward") follows,
 * or _NS_TYPE_MAX for a host-wide value.
 */
enum ns_type procsys_namespace_of(const char *rel);

#define PROCSYS_DEFAULT_MAX_FDS 4096

/* How many fds of world-readable sysctls to keep at most (0: none); before serving. */
void procsys_set_max_fds(unsigned n);

/* Fds of world-readable sysctls kept for reuse (all containers together), and the opens
 * they served knowing only the caller's pid. */
void procsys_get_stats(unsigned *ret_fds, uint64_t *ret_fast_hits);

/*
 * Which of rels (below "proc/sys/") the running kernel keeps per namespace (net, uts, ipc or
 * pid: kernel/pid_max since 6.14, net/core/somaxconn): ret[i] true for those, which
 * procsys_namespace_of() then reports and the proc/sys passthrough serves in the caller's
 * namespace. Probed once in a child of fresh namespaces; before any thread.
 */
int procsys_probe_namespaced(const char *const *rels, size_t n, bool *ret);

/* Learns which net/ entries every network namespace has (from a fresh one). */
int procsys_family_init(void);
