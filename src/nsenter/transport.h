/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "nsenter/message.h"

/*
 * One message per SOCK_SEQPACKET datagram, optionally with one fd in SCM_RIGHTS.
 * Both functions keep the message's errno semantics: negative errno on failure.
 */

/* Encodes and sends m; fd >= 0 is passed along. */
int transport_send(int sock, const struct nsenter_message *m, int fd);

/*
 * Waits up to timeout_ms (-1: forever) for one datagram, decodes it into *ret and, if the
 * peer passed an fd, stores it in *ret_fd (CLOEXEC; -EBADF if none; ret_fd may be NULL,
 * then a passed fd is closed). -ETIMEDOUT on timeout, -ECONNRESET when the peer is gone,
 * -EBADMSG for a datagram that does not decode (or was truncated).
 */
int transport_recv(int sock, int timeout_ms, struct nsenter_message **ret, int *ret_fd);
