/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "handlers/handler.h"

/*
 * sys/devices/system/cpu for a container: the cpuN folders of the CPUs it is shown
 * (view_shown_cpus()) under their host ids (the host's folders), and every other entry of the
 * host's folder, all read-only. Its online, possible, present and offline files are views
 * (views.h), so that `nproc`, sysconf(_SC_NPROCESSORS_ONLN) (online) and
 * _SC_NPROCESSORS_CONF (possible, or the cpuN folders) agree, and a program pins to the ids
 * it reads. A caller in the host's namespaces gets the host's folder.
 */
#define CPUDIR "sys/devices/system/cpu"

extern const struct handler cpudir_handlers[];
extern const size_t n_cpudir_handlers;
