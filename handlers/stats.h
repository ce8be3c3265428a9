/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "handlers/handler.h"

/* .procbox-stats at the mount's root: the daemon's counters, for the host's root only. */
extern const struct handler stats_handlers[];
extern const size_t n_stats_handlers;
