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
 * - sys/devices/virtual/dmi/id/product_uuid: a uuid per container, a keyed hash of its
 *   identity that shows nothing of the host's.
 */
extern const struct handler sysfs_handlers[];
extern const size_t n_sysfs_handlers;

#define SYSFS_UUID_KEY_LEN 16
/*
 * A container's product_uuid: 128 bits of SipHash-2-4 under key of the container's
 * identity (id, at most 63 bytes), as a version 4 uuid and a newline. The host's uuid is
 * no input: nothing of it can be learnt from a container's. Returns the length written,
 * -EINVAL (id too long) or -ENOBUFS.
 */
int sysfs_container_uuid(const uint8_t key[SYSFS_UUID_KEY_LEN], const void *id, size_t id_len,
			 char *buf, size_t size);
