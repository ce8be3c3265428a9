/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "nsenter/message.h"
#include "nsenter/service.h"

/*
 * An nsenter event: the caller's pid, uid and gid, the
 * namespace types to join (NS_FLAG() mask), the namespaces to create (clone flags), a
 * request and, once answered, a response, the pid of the child that served it, and an
 * async flag.
 *
 *   ev = nsenter_service_new_event(svc, pid, uid, gid, NS_FLAG(NS_NET) | NS_FLAG(NS_USER),
 *                                  0, req, false);
 *   r = nsenter_event_send_request(ev);           // spawns or reuses a child, waits
 *   if (r >= 0) r = nsenter_event_result(ev);     // -errno of an error response
 *   resp = nsenter_event_get_response_msg(ev);
 *   nsenter_event_free(ev);
 *
 * A synchronous event is served and its child released within send_request(). An async
 * event's child keeps running until its response is received and the event terminated.
 */
struct nsenter_event;

/* Takes ownership of req. The child takes on the caller's credentials: every effect a
 * request has in the kernel is the caller's own. Returns NULL on allocation failure. */
struct nsenter_event *nsenter_service_new_event(struct nsenter_service *s, pid_t pid, uid_t uid,
						gid_t gid, unsigned ns_mask,
						unsigned long clone_flags,
						struct nsenter_message *req, bool async);

/* Allow a long-lived agent (default: yes for synchronous events that join no pid ns). */
void nsenter_event_set_use_agent(struct nsenter_event *ev, bool on);

/* Tags the event with its requester's container serial: agents are never shared across
 * tags, and nsenter_service_release_tag() stops a tag's agents. */
void nsenter_event_set_tag(struct nsenter_event *ev, uint64_t tag);

int nsenter_event_send_request(struct nsenter_event *ev);
/* The response; waits for it (within the timeout) for an async event. NULL on failure. */
struct nsenter_message *nsenter_event_receive_response(struct nsenter_event *ev);
/* Kills and reaps an async event's child. */
int nsenter_event_terminate_request(struct nsenter_event *ev);

struct nsenter_message *nsenter_event_get_request_msg(const struct nsenter_event *ev);
struct nsenter_message *nsenter_event_get_response_msg(const struct nsenter_event *ev);
/* Hands the response over to the caller: the event no longer frees it. */
void nsenter_event_detach_response_msg(struct nsenter_event *ev);
/* Both setters take ownership and free the message they replace. */
void nsenter_event_set_request_msg(struct nsenter_event *ev, struct nsenter_message *m);
void nsenter_event_set_response_msg(struct nsenter_event *ev, struct nsenter_message *m);
/* The pid of the child that served (or serves) the event; 0 before it was sent. */
pid_t nsenter_event_get_process_id(const struct nsenter_event *ev);
/* An fd the child passed back with its response (caller owns it), or -EBADF. */
int nsenter_event_take_fd(struct nsenter_event *ev);
/* 0, or the negative errno carried by an error response. */
int nsenter_event_result(const struct nsenter_event *ev);

/* Terminates an async event still running. Accepts NULL. */
void nsenter_event_free(struct nsenter_event *ev);
static inline void nsenter_event_freep(struct nsenter_event **ev)
{
	nsenter_event_free(*ev);
}
#define _cleanup_event_ __attribute__((cleanup(nsenter_event_freep)))
