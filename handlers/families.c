/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "handlers/families.h"
#include "handlers/blockstat.h"
#include "handlers/emulated.h"
#include "handlers/procsys.h"
#include "handlers/resources.h"
#include "handlers/stats.h"
#include "handlers/sysfs.h"
#include "handlers/uptime.h"
#include "util/macro.h"

const struct handler_family handler_families[] = {
    {"proc/sys", procsys_handlers, &n_procsys_handlers, procsys_family_init},
    {"emulated", emulated_handlers, &n_emulated_handlers, NULL},
    {"uptime", uptime_handlers, &n_uptime_handlers, NULL},
    {"sysfs", sysfs_handlers, &n_sysfs_handlers, NULL},
    {"resources", resources_handlers, &n_resources_handlers, NULL},
    {"stats", stats_handlers, &n_stats_handlers, NULL},
    {"blockstat", blockstat_handlers, &n_blockstat_handlers, NULL},
};

const size_t n_handler_families = ELEMENTSOF(handler_families);
