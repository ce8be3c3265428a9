/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "handlers/families.h"
#include "handlers/procsys.h"
#include "util/macro.h"

const struct handler_family handler_families[] = {
    {"proc/sys", procsys_handlers, &n_procsys_handlers},
};

const size_t n_handler_families = ELEMENTSOF(handler_families);
