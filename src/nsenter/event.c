/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "nsenter/event.h"
#include "nsenter/transport.h"
#include "util/macro.h"
#include "util/reqclock.h"

struct nsenter_event {
	struct nsenter_service *svc;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	unsigned ns_mask;
	unsigned long clone_flags;
	bool async;
	bool use_agent;
	uint64_t tag;

	struct nsenter_message *req;
	struct nsenter_message *resp;
	int resp_fd;

	pid_t child_pid;
	int child_pidfd; /* one-shot children only; agents belong to the service */
	bool owns_child; /* a one-shot child of this event, still to be reaped */
	bool counted;	 /* it counts against its container's children */
	int sock;
};

struct nsenter_event *nsenter_service_new_event(struct nsenter_service *s, pid_t pid, uid_t uid,
						gid_t gid, unsigned ns_mask,
						unsigned long clone_flags,
						struct nsenter_message *req, bool async)
{
	struct nsenter_event *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	*ev = (struct nsenter_event){
	    .svc = s,
	    .pid = pid,
	    .uid = uid,
	    .gid = gid,
	    .ns_mask = ns_mask & NS_ALL_MASK,
	    .clone_flags = clone_flags,
	    .async = async,
	    /* An agent in the container's pid namespace would show in its `ps`; those
	     * few requests take a one-shot child. */
	    .use_agent = !async && !(ns_mask & NS_FLAG(NS_PID)),
	    .req = req,
	    .resp_fd = -EBADF,
	    .child_pidfd = -EBADF,
	    .sock = -EBADF,
	};
	return ev;
}

void nsenter_event_set_tag(struct nsenter_event *ev, uint64_t tag)
{
	ev->tag = tag;
}

void nsenter_event_detach_response_msg(struct nsenter_event *ev)
{
	ev->resp = NULL;
}

void nsenter_event_set_use_agent(struct nsenter_event *ev, bool on)
{
	ev->use_agent = on && !ev->async;
}

struct nsenter_message *nsenter_event_get_request_msg(const struct nsenter_event *ev)
{
	return ev->req;
}

struct nsenter_message *nsenter_event_get_response_msg(const struct nsenter_event *ev)
{
	return ev->resp;
}

void nsenter_event_set_request_msg(struct nsenter_event *ev, struct nsenter_message *m)
{
	if (ev->req != m)
		nsenter_message_free(ev->req);
	ev->req = m;
}

void nsenter_event_set_response_msg(struct nsenter_event *ev, struct nsenter_message *m)
{
	if (ev->resp != m)
		nsenter_message_free(ev->resp);
	ev->resp = m;
}

pid_t nsenter_event_get_process_id(const struct nsenter_event *ev)
{
	return ev->child_pid;
}

int nsenter_event_take_fd(struct nsenter_event *ev)
{
	return TAKE_FD(ev->resp_fd);
}

int nsenter_event_result(const struct nsenter_event *ev)
{
	if (!ev->resp)
		return -EIO;
	if (ev->resp->type == NSENTER_MSG_ERROR_RESP)
		return ev->resp->err > 0 ? -ev->resp->err : -EIO;
	return 0;
}

static void set_error(struct nsenter_event *ev, int r, const char *what)
{
	nsenter_event_set_response_msg(ev, nsenter_message_new_error(r, "%s", what));
}

/*
 * Opens the target's namespaces and reads its credentials: the parent does this, so the
 * agent key is computed from exactly the namespaces the child will join.
 */
static int prepare(struct nsenter_event *ev, struct nsenter_child_params *p, struct agent_key *key)
{
	_cleanup_close_ int pidfd = -EBADF;
	int r;

	*p = (struct nsenter_child_params){.sock = -EBADF, .clone_flags = ev->clone_flags};
	*key = (struct agent_key){.tag = ev->tag, .clone_flags = ev->clone_flags};
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		p->ns_fds[t] = -EBADF;

	pidfd = ns_pidfd_open(ev->pid);
	if (pidfd < 0 && pidfd != -ENOSYS)
		return pidfd;
	r = creds_read(ev->pid, &p->creds);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	p->has_creds = true;
	key->has_creds = true;
	key->creds = p->creds;
	r = ns_open(pidfd, ev->pid, ev->ns_mask, p->ns_fds);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	for (int t = 0; t < _NS_TYPE_MAX; t++) {
		struct stat st;

		if (p->ns_fds[t] < 0)
			continue;
		if (fstat(p->ns_fds[t], &st) < 0) {
			r = negative_errno();
			ns_close_all(p->ns_fds);
			return r;
		}
		key->ns_ino[t] = st.st_ino;
	}
	return 0;
}

/*
 * The agent key from the caller's namespace links, without opening them: enough to find
 * a live agent, whose namespaces cannot be freed (and their inodes reused) while it
 * lives. Only a new agent needs the fds, opened and checked by prepare().
 */
static int quick_key(struct nsenter_event *ev, struct agent_key *key)
{
	int r;

	*key = (struct agent_key){.tag = ev->tag, .clone_flags = ev->clone_flags};
	for (int t = 0; t < _NS_TYPE_MAX; t++) {
		uint64_t ino;

		if (!(ev->ns_mask & NS_FLAG(t)))
			continue;
		r = ns_get_inode(ev->pid, t, &ino);
		if (r < 0)
			return r;
		key->ns_ino[t] = ino == nsenter_service_own_ns(ev->svc, t) ? 0 : ino;
	}
	r = creds_read(ev->pid, &key->creds);
	if (r < 0)
		return r;
	key->has_creds = true;
	return 0;
}

static int send_oneshot(struct nsenter_event *ev, struct nsenter_child_params *p)
{
	_cleanup_close_ int child_sock = -EBADF;
	int sv[2], r;

	/* Bounded per container, so that one that stops its children (they are in its pid
	 * namespace, with its credentials) holds only so many workers. */
	r = nsenter_service_child_acquire(ev->svc, ev->tag);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = negative_errno();
		nsenter_service_reap_counted(ev->svc, 0, -EBADF, false, ev->tag);
		return r;
	}
	ev->sock = sv[0];
	child_sock = sv[1];
	p->sock = child_sock;
	p->agent = false;
	r = nsenter_service_spawn(ev->svc, p, &ev->child_pid, &ev->child_pidfd);
	if (r < 0) {
		nsenter_service_reap_counted(ev->svc, 0, -EBADF, false, ev->tag);
		return r;
	}
	ev->owns_child = true;
	ev->counted = true;
	nsenter_service_child_started(ev->svc, ev->child_pid, ev->child_pidfd);
	return transport_send(ev->sock, ev->req, -EBADF);
}

static void release_child(struct nsenter_event *ev, bool kill_first)
{
	ev->sock = safe_close(ev->sock);
	if (ev->owns_child)
		nsenter_service_reap_counted(ev->svc, ev->child_pid, ev->child_pidfd, kill_first,
					     ev->counted ? ev->tag : 0);
	ev->owns_child = false;
	ev->child_pidfd = -EBADF;
}

static int receive(struct nsenter_event *ev)
{
	struct nsenter_message *m = NULL;
	int fd = -EBADF, r;

	r = transport_recv(ev->sock, nsenter_service_timeout_ms(ev->svc), &m, &fd);
	if (r == -ETIMEDOUT)
		nsenter_service_count_timeout(ev->svc);
	if (r < 0) {
		set_error(ev, r, "no response from nsenter child");
		return r;
	}
	nsenter_event_set_response_msg(ev, m);
	ev->resp_fd = fd;
	return 0;
}

static int send_request(struct nsenter_event *ev)
{
	struct nsenter_child_params p;
	struct agent_key key;
	int r;

	if (!ev->req || !nsenter_msg_type_is_request(ev->req->type))
		return -EINVAL;
	if (ev->child_pid > 0 || ev->resp)
		return -EALREADY;

	if (ev->use_agent && quick_key(ev, &key) == 0) {
		struct nsenter_message *m = NULL;
		int fd = -EBADF;

		r = nsenter_service_agent_request_existing(ev->svc, &key, ev->req, &m, &fd,
							   &ev->child_pid);
		if (r != -ENOENT) {
			if (r < 0) {
				set_error(ev, r, "nsenter agent failed");
				return r;
			}
			nsenter_event_set_response_msg(ev, m);
			ev->resp_fd = fd;
			return 0;
		}
	}

	r = prepare(ev, &p, &key);
	if (r < 0) {
		set_error(ev, r, "cannot enter the caller's namespaces");
		return r;
	}

	if (ev->use_agent) {
		struct nsenter_message *m = NULL;
		int fd = -EBADF;

		r = nsenter_service_agent_request(ev->svc, &key, &p, ev->req, &m, &fd,
						  &ev->child_pid);
		ns_close_all(p.ns_fds);
		if (r < 0) {
			set_error(ev, r, "nsenter agent failed");
			return r;
		}
		nsenter_event_set_response_msg(ev, m);
		ev->resp_fd = fd;
		return 0;
	}

	r = send_oneshot(ev, &p);
	ns_close_all(p.ns_fds);
	if (r < 0) {
		set_error(ev, r, "cannot start nsenter child");
		release_child(ev, true);
		return r;
	}
	if (ev->async)
		return 0;

	r = receive(ev);
	release_child(ev, r < 0);
	return r;
}

/* Timed for the slow-request log and the per-container round-trip counts. */
int nsenter_event_send_request(struct nsenter_event *ev)
{
	uint64_t start = reqclock_start();
	int r = send_request(ev);

	if (start)
		reqclock_note_nsenter(start);
	return r;
}

struct nsenter_message *nsenter_event_receive_response(struct nsenter_event *ev)
{
	if (!ev->resp && ev->sock >= 0)
		(void)receive(ev);
	return ev->resp;
}

int nsenter_event_terminate_request(struct nsenter_event *ev)
{
	if (!ev->owns_child && ev->sock < 0)
		return -ESRCH;
	release_child(ev, true);
	return 0;
}

void nsenter_event_free(struct nsenter_event *ev)
{
	if (!ev)
		return;
	release_child(ev, true);
	safe_close(ev->resp_fd);
	nsenter_message_free(ev->req);
	nsenter_message_free(ev->resp);
	free(ev);
}
