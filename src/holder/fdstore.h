/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/*
 * systemd's fd store, without libsystemd: the service manager keeps fds a service
 * sends it with "FDSTORE=1" over $NOTIFY_SOCKET (FileDescriptorStoreMax= in the unit)
 * and passes them back to the next instance as $LISTEN_FDS, named by $LISTEN_FDNAMES.
 */
bool fdstore_available(void);
/* Sends fd to the store under name. */
int fdstore_push(int fd, const char *name);
/* The fd the store passed back under name (CLOEXEC set), or -ENOENT. */
int fdstore_take(const char *name);
