/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "container/container.h"

/*
 * The daemon's root-only channel: a unix socket in /run/procbox (a 0700 folder of root's),
 * named after the mountpoint, whose peers must be uid 0 in the host's namespaces
 * (SO_PEERCRED). Nothing of it is inside the mount, so no container reaches it and it
 * answers even when every FUSE worker is busy. One request line, one answer, then the
 * daemon closes:
 *
 *   status            the figures as JSON (usage/usage.h)
 *   metrics           the same figures in Prometheus text format
 *   name PID\tID\tPOD\tNAMESPACE
 *                     the runtime's names of the container whose init is PID (the hook)
 */

#define CONTROL_DIR "/run/procbox"

/* The socket's path for a mountpoint. */
int control_socket_path(const char *mountpoint, char *buf, size_t size);

struct control;
/* Listens (a thread of its own, which also ticks the request rates once a second). */
int control_start(const char *mountpoint, struct container_registry *reg, struct control **ret);
void control_stop(struct control *c);

/* Client side: sends one request, returns the whole answer (NUL-terminated). */
int control_ask(const char *mountpoint, const char *request, char **ret);

/* `procbox status ...` */
int control_status_main(int argc, char **argv);
/* Renderers, also for tests. */
char *control_render_json(void);
char *control_render_prometheus(void);
