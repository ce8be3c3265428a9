/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "handlers/handler.h"

/*
 * The /sys entries procbox serves:
 * - sys/kernel/{config,debug,tracing,security}: empty folders owned by the container's root,
 *   so that nothing in a container mounts or reads the host's configfs, debugfs, tracefs or
 *   securityfs through them;
 * - sys/module/nf_conntrack/parameters/hashsize: emulated per container (emulated.h);
 * - sys/devices/virtual/net and below: the caller's network namespace, through a fresh sysfs the
 *   nsenter child mounts in it (sysfs shows the netns current at mount time);
 * - sys/devices/virtual/dmi/id/product_uuid: the host's uuid with a per-container suffix.
 */
extern const struct handler sysfs_handlers[];
extern const size_t n_sysfs_handlers;

/*
 * A container's product_uuid: host_uuid (36 characters, 8-4-4-4-12) with its last 12 hex
 * digits replaced by 48 bits of salt. -EINVAL if host_uuid is not a uuid.
 */
int sysfs_container_uuid(const char *host_uuid, uint64_t salt, char *buf, size_t size);
