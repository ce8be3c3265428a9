/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "handlers/handler.h"

/*
 * sys/block/<disk>/stat for every whole disk of the host (the names of the host's /sys/block),
 * in the kernel's format (Documentation/ABI/stable/sysfs-block, "stat"): the counters of the
 * caller's container, those of its line of proc/diskstats (views_diskstats_content()), so
 * the two files always agree, and a disk the kernel keeps no counters of for the container
 * shows 0 in both. sysstat's iostat reads this file, not /proc/diskstats. A caller in the
 * host's namespaces gets the kernel's own file. Nothing else of the disk's folder is served:
 * the file is meant to be bound over the container's /sys/devices/.../block/<disk>/stat.
 * Partitions are not served: the cgroup's counters are per disk. The row's bind_instances()
 * names one point per whole disk of the host with media, as /sys/block lists them when the
 * container is attached.
 */
#define BLOCKSTAT_DIR "sys/block"

extern const struct handler blockstat_handlers[];
extern const size_t n_blockstat_handlers;
