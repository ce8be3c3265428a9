/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "util/macro.h"

/*
 * The service manager's notification protocol (sd_notify(3)): "READY=1", "STATUS=...",
 * "STOPPING=1". Without NOTIFY_SOCKET (not started by systemd with Type=notify) or in a
 * build without libsystemd, nothing is sent. Returns > 0 when sent, 0 when there was no
 * one to tell, or a negative errno.
 */
int notify_send(const char *fmt, ...) _printf_(1, 2);
