/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Agents: children kept in a container's namespaces (and credentials) that serve request
 * after request over their socket, each with the fds it opened kept for later opens; how many
 * are kept per container and in all, and which one gives way.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsenter/internal.h"
#include "nsenter/service.h"
#include "nsenter/transport.h"
#include "util/macro.h"

static bool agent_key_equal(const struct agent_key *a, const struct agent_key *b)
{
	if (a->tag != b->tag || memcmp(a->ns_ino, b->ns_ino, sizeof(a->ns_ino)) != 0 ||
	    a->clone_flags != b->clone_flags || a->has_creds != b->has_creds)
		return false;
	return !a->has_creds || creds_equal(&a->creds, &b->creds);
}

static void agent_destroy(struct nsenter_service *s, struct agent *a)
{
	unsigned nfds = a->n_fds;

	for (unsigned i = 0; i < a->n_fds; i++) {
		safe_close(a->fds[i].fd);
		free(a->fds[i].path);
	}
	free(a->fds);
	safe_close(a->sock);
	nsenter_service_reap(s, a->pid, a->pidfd, true);
	pthread_mutex_destroy(&a->lock);
	free(a);
	pthread_mutex_lock(&s->lock);
	s->stats.cached_fds -= nfds;
	pthread_mutex_unlock(&s->lock);
}

/* Under s->lock: takes a out of the list; returns true if the caller must destroy it. */
static bool agent_unlink_locked(struct nsenter_service *s, struct agent *a)
{
	for (struct agent **p = &s->agents; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			s->stats.agents--;
			break;
		}
	}
	a->dead = true;
	return a->refs == 0;
}

static void agent_put(struct nsenter_service *s, struct agent *a, bool kill)
{
	bool destroy;

	pthread_mutex_lock(&s->lock);
	a->refs--;
	a->last_used_ms = nsenter_now_ms();
	if (kill && !a->dead)
		agent_unlink_locked(s, a);
	destroy = a->dead && a->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (destroy)
		agent_destroy(s, a);
}

/* Under s->lock: how many live agents carry tag. */
static unsigned agents_of_locked(const struct nsenter_service *s, uint64_t tag)
{
	unsigned n = 0;

	for (const struct agent *a = s->agents; a; a = a->next)
		n += a->key.tag == tag;
	return n;
}

/*
 * Under s->lock: the least recently used idle agent that may make room for one more of
 * tag's. A container at its own limit only ever gives up one of its own; at the global
 * limit, one of its own or of a container that holds more agents than it will: no
 * container pushes out another's agents below its own share.
 */
static struct agent *agent_pick_victim_locked(struct nsenter_service *s, uint64_t tag,
					      bool own_only)
{
	unsigned mine = agents_of_locked(s, tag);
	struct agent *victim = NULL;

	for (struct agent *a = s->agents; a; a = a->next) {
		if (a->refs != 0 || (victim && a->last_used_ms >= victim->last_used_ms))
			continue;
		if (a->key.tag == tag || (!own_only && agents_of_locked(s, a->key.tag) > mine + 1))
			victim = a;
	}
	return victim;
}

static int agent_start(struct nsenter_service *s, const struct agent_key *key,
		       const struct nsenter_child_params *params, struct agent **ret)
{
	struct nsenter_child_params p = *params;
	_cleanup_close_ int child_sock = -EBADF;
	struct agent *a, *victim = NULL;
	bool keep = false;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return negative_errno();
	child_sock = sv[1];
	a = calloc(1, sizeof(*a));
	if (!a) {
		safe_close(sv[0]);
		return -ENOMEM;
	}
	a->sock = sv[0];
	a->key = *key;
	a->refs = 1;
	a->pidfd = -EBADF;
	pthread_mutex_init(&a->lock, NULL);

	p.sock = child_sock;
	p.agent = true;
	r = nsenter_service_spawn(s, &p, &a->pid, &a->pidfd);
	if (r < 0) {
		safe_close(a->sock);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return r;
	}

	pthread_mutex_lock(&s->lock);
	if (s->cfg.max_agents_per_container &&
	    agents_of_locked(s, key->tag) >= s->cfg.max_agents_per_container)
		victim = agent_pick_victim_locked(s, key->tag, true);
	else if (s->stats.agents >= s->cfg.max_agents)
		victim = agent_pick_victim_locked(s, key->tag, false);
	else
		keep = true;
	if (victim) {
		keep = true;
		if (!agent_unlink_locked(s, victim))
			victim = NULL;
	}
	if (keep) {
		a->next = s->agents;
		s->agents = a;
		s->stats.agents++;
	} else {
		/* No room that is this container's to take: the agent serves this request
		 * and goes, like a child without agents. */
		a->dead = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (victim)
		agent_destroy(s, victim);
	*ret = a;
	return 0;
}

static struct agent *agent_find(struct nsenter_service *s, const struct agent_key *key)
{
	struct agent *found = NULL;

	pthread_mutex_lock(&s->lock);
	for (struct agent *a = s->agents; a; a = a->next) {
		if (!a->dead && agent_key_equal(&a->key, key)) {
			a->refs++;
			found = a;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* Under a->lock. */
static int agent_fd_lookup(struct agent *a, const char *path, int flags)
{
	for (unsigned i = 0; i < a->n_fds; i++)
		if (a->fds[i].flags == flags && strcmp(a->fds[i].path, path) == 0)
			return fcntl(a->fds[i].fd, F_DUPFD_CLOEXEC, 3);
	return -EBADF;
}

/* Under a->lock: keeps a dup of fd for later opens of path with flags. */
static void agent_fd_store(struct nsenter_service *s, struct agent *a, const char *path, int flags,
			   int fd)
{
	struct cached_fd *slot;
	int copy;
	char *p;

	if (!a->fds) {
		a->fds = calloc(s->cfg.max_agent_fds, sizeof(*a->fds));
		if (!a->fds)
			return;
	}
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	p = strdup(path);
	if (copy < 0 || !p) {
		safe_close(copy);
		free(p);
		return;
	}
	/* the same file opened again (its kept fd failed): in its place */
	for (unsigned i = 0; i < a->n_fds; i++)
		if (a->fds[i].flags == flags && strcmp(a->fds[i].path, path) == 0) {
			safe_close(a->fds[i].fd);
			free(a->fds[i].path);
			a->fds[i] = (struct cached_fd){.path = p, .flags = flags, .fd = copy};
			return;
		}
	if (a->n_fds < s->cfg.max_agent_fds) {
		slot = &a->fds[a->n_fds++];
		pthread_mutex_lock(&s->lock);
		s->stats.cached_fds++;
		pthread_mutex_unlock(&s->lock);
	} else {
		/* Full: replace round-robin; cheap, and bounded is what matters. */
		slot = &a->fds[a->next_evict++ % a->n_fds];
		safe_close(slot->fd);
		free(slot->path);
	}
	*slot = (struct cached_fd){.path = p, .flags = flags, .fd = copy};
}

static int agent_roundtrip(struct nsenter_service *s, struct agent *a,
			   const struct nsenter_message *req, struct nsenter_message **ret,
			   int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (req->type == NSENTER_MSG_OPEN_REQ && req->pass_fd && !req->reopen) {
		fd = agent_fd_lookup(a, req->path, req->flags);
		if (fd >= 0) {
			*ret = nsenter_message_new(NSENTER_MSG_OPEN_RESP);
			if (!*ret)
				return -ENOMEM;
			pthread_mutex_lock(&s->lock);
			s->stats.fd_hits++;
			pthread_mutex_unlock(&s->lock);
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
	}

	r = transport_send(a->sock, req, -EBADF);
	if (r < 0)
		return r;
	r = transport_recv(a->sock, s->cfg.timeout_ms, ret, &fd);
	if (r == -ETIMEDOUT)
		nsenter_service_count_timeout(s);
	if (r < 0)
		return r;
	if (fd >= 0 && req->type == NSENTER_MSG_OPEN_REQ && req->pass_fd &&
	    (*ret)->type == NSENTER_MSG_OPEN_RESP)
		agent_fd_store(s, a, req->path, req->flags, fd);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/*
 * One request to a, under a's lock. An agent that failed a request (killed, stopped, gone
 * with its namespaces) is unlinked before the lock is let go, and the requests queued
 * behind it on the lock are refused at once: they go to a fresh agent, instead of
 * waiting out one timeout each on an agent that no longer answers.
 */
static int agent_locked_roundtrip(struct nsenter_service *s, struct agent *a,
				  const struct nsenter_message *req, struct nsenter_message **ret,
				  int *ret_fd)
{
	bool dead;
	int r;

	pthread_mutex_lock(&a->lock);
	pthread_mutex_lock(&s->lock);
	dead = a->dead;
	pthread_mutex_unlock(&s->lock);
	r = dead ? -ECONNRESET : agent_roundtrip(s, a, req, ret, ret_fd);
	if (r < 0) {
		pthread_mutex_lock(&s->lock);
		if (!a->dead)
			agent_unlink_locked(s, a);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

int nsenter_service_agent_request_existing(struct nsenter_service *s, const struct agent_key *key,
					   const struct nsenter_message *req,
					   struct nsenter_message **ret, int *ret_fd,
					   pid_t *ret_pid)
{
	struct agent *a = agent_find(s, key);
	int r;

	if (!a)
		return -ENOENT;
	pthread_mutex_lock(&s->lock);
	s->stats.agent_hits++;
	pthread_mutex_unlock(&s->lock);
	r = agent_locked_roundtrip(s, a, req, ret, ret_fd);
	*ret_pid = a->pid;
	agent_put(s, a, r < 0);
	/* An agent found dead is dropped; the caller starts a fresh one. */
	return r == -ECONNRESET ? -ENOENT : r;
}

int nsenter_service_agent_request(struct nsenter_service *s, const struct agent_key *key,
				  const struct nsenter_child_params *params,
				  const struct nsenter_message *req, struct nsenter_message **ret,
				  int *ret_fd, pid_t *ret_pid)
{
	for (int attempt = 0;; attempt++) {
		struct agent *a = agent_find(s, key);
		bool fresh = false;
		int r;

		if (a) {
			pthread_mutex_lock(&s->lock);
			s->stats.agent_hits++;
			pthread_mutex_unlock(&s->lock);
		} else {
			r = agent_start(s, key, params, &a);
			if (r < 0)
				return r;
			fresh = true;
		}

		r = agent_locked_roundtrip(s, a, req, ret, ret_fd);
		*ret_pid = a->pid;

		/* A set-up failure is the agent's first and last answer: drop it. */
		if (r == 0 && fresh && (*ret)->type == NSENTER_MSG_ERROR_RESP && (*ret)->errmsg &&
		    strncmp((*ret)->errmsg, "nsenter child:", 14) == 0) {
			agent_put(s, a, true);
			return 0;
		}
		agent_put(s, a, r < 0);
		/* An agent found dead (killed, or gone with its namespace) gets one retry
		 * with a fresh one; a fresh one that fails does not. */
		if (r == -ECONNRESET && !fresh && attempt == 0)
			continue;
		return r;
	}
}

static unsigned release_matching(struct nsenter_service *s,
				 bool (*match)(const struct agent *, const void *),
				 const void *userdata)
{
	struct agent *doomed = NULL;
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	for (struct agent **p = &s->agents; *p;) {
		struct agent *a = *p;

		if (!match(a, userdata)) {
			p = &a->next;
			continue;
		}
		*p = a->next;
		s->stats.agents--;
		a->dead = true;
		n++;
		if (a->refs == 0) {
			a->next = doomed;
			doomed = a;
		}
	}
	pthread_mutex_unlock(&s->lock);
	while (doomed) {
		struct agent *next = doomed->next;
		agent_destroy(s, doomed);
		doomed = next;
	}
	return n;
}

void nsenter_service_count_tag(struct nsenter_service *s, uint64_t tag, unsigned *ret_agents,
			       unsigned *ret_fds)
{
	unsigned agents = 0, fds = 0;

	pthread_mutex_lock(&s->lock);
	for (struct agent *a = s->agents; a; a = a->next) {
		if (a->key.tag != tag)
			continue;
		agents++;
		/* n_fds belongs to the agent's lock, held across a round trip: a figure for
		 * a report may be a moment old rather than wait for it. */
		fds += __atomic_load_n(&a->n_fds, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&s->lock);
	*ret_agents = agents;
	*ret_fds = fds;
}

struct ns_match {
	enum ns_type t;
	uint64_t ino;
};

static bool match_ns(const struct agent *a, const void *userdata)
{
	const struct ns_match *m = userdata;
	return a->key.ns_ino[m->t] == m->ino;
}

unsigned nsenter_service_release_namespace(struct nsenter_service *s, enum ns_type t, uint64_t ino)
{
	struct ns_match m = {t, ino};

	if (t >= _NS_TYPE_MAX || ino == 0)
		return 0;
	return release_matching(s, match_ns, &m);
}

static bool match_tag(const struct agent *a, const void *userdata)
{
	return a->key.tag == *(const uint64_t *)userdata;
}

unsigned nsenter_service_release_tag(struct nsenter_service *s, uint64_t tag)
{
	return release_matching(s, match_tag, &tag);
}

static bool match_idle(const struct agent *a, const void *userdata)
{
	const int64_t *cutoff = userdata;
	return a->refs == 0 && a->last_used_ms < *cutoff;
}

unsigned nsenter_service_expire_idle(struct nsenter_service *s)
{
	int64_t cutoff = nsenter_now_ms() - s->cfg.agent_idle_ms;
	return release_matching(s, match_idle, &cutoff);
}

static bool match_all(const struct agent *a, const void *userdata)
{
	return true;
}

void nsenter_agents_release_all(struct nsenter_service *s)
{
	release_matching(s, match_all, NULL);
}
