/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

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

/* Learns which net/ entries every network namespace has (from a fresh one). */
int procsys_family_init(void);
