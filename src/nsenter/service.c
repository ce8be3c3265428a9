/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nsenter/internal.h"
#include "nsenter/service.h"
#include "util/array.h"
#include "util/fdutil.h"
#include "util/fileio.h"
#include "util/macro.h"

int64_t nsenter_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the fresh child, before it enters any namespace. */
_Noreturn static void child_start(const struct nsenter_service *s,
				  const struct nsenter_child_params *p)
{
	int keep[_NS_TYPE_MAX + 2];
	size_t n = 0;
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != s->daemon_pid)
		_exit(EXIT_FAILURE);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGPIPE)
			signal(sig, SIG_DFL);

	keep[n++] = p->sock;
	keep[n++] = s->exe_fd;
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		keep[n++] = p->ns_fds[t];
	close_all_fds_but(keep, n);
	if (s->cfg.exec_children)
		nsenter_child_exec(p, s->exe_fd);
	nsenter_child_main(p);
}

static void *spawner_main(void *arg)
{
	struct nsenter_service *s = arg;

	pthread_mutex_lock(&s->spawn_lock);
	for (;;) {
		struct spawn_job *j;
		pid_t pid;

		while (!s->queue && !s->stopping)
			pthread_cond_wait(&s->spawn_cond, &s->spawn_lock);
		if (!s->queue)
			break;
		j = s->queue;
		s->queue = j->next;
		if (!s->queue)
			s->queue_tail = NULL;
		j->taken = true;
		pthread_mutex_unlock(&s->spawn_lock);

		pid = fork();
		if (pid == 0)
			child_start(s, j->params);
		if (pid < 0) {
			j->r = negative_errno();
		} else {
			/* Our own unreaped child: its pid cannot be reused before the pidfd
			 * is open. */
			j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
			j->pid = pid;
			/* Without pidfds the pid alone serves: an unreaped child keeps it. */
			j->r = j->pidfd < 0 && errno != ENOSYS ? negative_errno() : 0;
			if (j->r < 0) {
				kill(pid, SIGKILL);
				while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
					;
			}
		}

		pthread_mutex_lock(&s->spawn_lock);
		j->done = true;
		pthread_cond_broadcast(&s->spawn_done);
	}
	pthread_mutex_unlock(&s->spawn_lock);
	return NULL;
}

int nsenter_service_spawn(struct nsenter_service *s, const struct nsenter_child_params *p,
			  pid_t *ret_pid, int *ret_pidfd)
{
	struct spawn_job j = {.params = p, .pidfd = -EBADF};
	struct timespec deadline;

	pthread_mutex_lock(&s->spawn_lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->spawn_lock);
		return -ESHUTDOWN;
	}
	if (s->queue_tail)
		s->queue_tail->next = &j;
	else
		s->queue = &j;
	s->queue_tail = &j;
	pthread_cond_signal(&s->spawn_cond);

	/* A request waits for its child no longer than for its answer: behind a burst of
	 * other containers' forks, it gives up rather than hang. */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += s->cfg.timeout_ms / 1000;
	deadline.tv_nsec += (long)(s->cfg.timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while (!j.done) {
		if (j.taken) {
			pthread_cond_wait(&s->spawn_done, &s->spawn_lock);
			continue;
		}
		if (pthread_cond_timedwait(&s->spawn_done, &s->spawn_lock, &deadline) ==
			ETIMEDOUT &&
		    !j.taken && !j.done) {
			struct spawn_job *prev = NULL;

			for (struct spawn_job *q = s->queue; q; prev = q, q = q->next)
				if (q == &j) {
					if (prev)
						prev->next = j.next;
					else
						s->queue = j.next;
					if (s->queue_tail == &j)
						s->queue_tail = prev;
					break;
				}
			pthread_mutex_unlock(&s->spawn_lock);
			nsenter_service_count_timeout(s);
			return -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&s->spawn_lock);

	if (j.r < 0)
		return j.r;
	pthread_mutex_lock(&s->lock);
	s->stats.spawned++;
	pthread_mutex_unlock(&s->lock);
	*ret_pid = j.pid;
	*ret_pidfd = j.pidfd;
	return 0;
}

/* Without pidfds: our own child, unreaped, so its pid is still its own. */
static void reap_by_pid(struct nsenter_service *s, pid_t pid, bool kill_first)
{
	for (int waited = 0; !kill_first; waited += 5) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			goto done;
		if (waited >= s->cfg.timeout_ms)
			kill_first = true;
		else
			usleep(5000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
done:
	pthread_mutex_lock(&s->lock);
	s->stats.reaped++;
	pthread_mutex_unlock(&s->lock);
}

/* Under s->lock. */
static void child_release_locked(struct nsenter_service *s, uint64_t tag)
{
	for (size_t i = 0; i < s->n_counts; i++)
		if (s->counts[i].tag == tag) {
			if (--s->counts[i].n == 0)
				s->counts[i] = s->counts[--s->n_counts];
			return;
		}
}

int nsenter_service_child_acquire(struct nsenter_service *s, uint64_t tag)
{
	struct tag_count *c = NULL;
	int r = 0;

	if (tag == 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_counts; i++)
		if (s->counts[i].tag == tag)
			c = &s->counts[i];
	if (!c) {
		if (ARRAY_GROW(s->counts, s->cap_counts, s->n_counts, 16) < 0) {
			pthread_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
		c = &s->counts[s->n_counts++];
		*c = (struct tag_count){.tag = tag};
	}
	if (c->n >= s->cfg.max_children)
		r = -EAGAIN;
	else
		c->n++;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void reaped(struct nsenter_service *s, uint64_t tag, bool counted)
{
	pthread_mutex_lock(&s->lock);
	s->stats.reaped++;
	if (counted)
		child_release_locked(s, tag);
	pthread_mutex_unlock(&s->lock);
}

static bool pid_in_children_of(pid_t parent, pid_t pid)
{
	_cleanup_free_ char *list = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", parent, parent);
	if (read_full_file(path, &list, NULL) < 0)
		return false;
	for (char *p = list; *p;) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v == pid)
			return true;
		p = end;
	}
	return false;
}

/*
 * Kills what a child forked (the one that serves a request inside a pid namespace) before
 * the child itself, so the child reaps it: killed the other way round, it would be
 * reparented to the host's init. Its death signal is the fallback. The pid is checked
 * again after the pidfd is open, so a recycled pid is never signalled.
 */
static unsigned kill_children_of(pid_t pid)
{
	_cleanup_free_ char *list = NULL;
	unsigned n = 0;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	if (read_full_file(path, &list, NULL) < 0)
		return 0;
	for (char *p = list; *p;) {
		_cleanup_close_ int fd = -EBADF;
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v <= 0)
			break;
		p = end;
		fd = (int)syscall(SYS_pidfd_open, (pid_t)v, 0);
		if (fd >= 0 && pid_in_children_of(pid, (pid_t)v) &&
		    syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0)
			n++;
	}
	return n;
}

void nsenter_service_child_started(struct nsenter_service *s, pid_t pid, int pidfd)
{
	struct live_child *l = malloc(sizeof(*l));

	if (!l)
		return; /* only the stop is slower for it: it then ends at its timeout */
	*l = (struct live_child){pid, pidfd, NULL};
	pthread_mutex_lock(&s->lock);
	l->next = s->live;
	s->live = l;
	pthread_mutex_unlock(&s->lock);
}

/* Under s->lock, before pidfd is closed. */
static void child_forget_locked(struct nsenter_service *s, pid_t pid)
{
	for (struct live_child **pp = &s->live; *pp; pp = &(*pp)->next)
		if ((*pp)->pid == pid) {
			struct live_child *l = *pp;

			*pp = l->next;
			free(l);
			return;
		}
}

void nsenter_service_stop_children(struct nsenter_service *s)
{
	pthread_mutex_lock(&s->lock);
	for (struct live_child *l = s->live; l; l = l->next) {
		kill_children_of(l->pid);
		if (l->pidfd >= 0)
			(void)syscall(SYS_pidfd_send_signal, l->pidfd, SIGKILL, NULL, 0);
	}
	pthread_mutex_unlock(&s->lock);
}

/* How long a worker waits for a child that should be exiting (it replied, or was sent
 * SIGKILL) before leaving it to the reaper thread. */
#define REAP_WAIT_MS 200

static void reap(struct nsenter_service *s, pid_t pid, int pidfd, bool kill_first, uint64_t tag,
		 bool counted)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	struct abandoned *a;
	siginfo_t si;

	if (counted && pid > 0) {
		pthread_mutex_lock(&s->lock);
		child_forget_locked(s, pid);
		pthread_mutex_unlock(&s->lock);
	}
	if (pid <= 0) {
		/* nothing was started: only the count to give back */
		if (counted) {
			pthread_mutex_lock(&s->lock);
			child_release_locked(s, tag);
			pthread_mutex_unlock(&s->lock);
		}
		return;
	}
	if (pidfd < 0) {
		reap_by_pid(s, pid, kill_first);
		if (counted) {
			pthread_mutex_lock(&s->lock);
			child_release_locked(s, tag);
			pthread_mutex_unlock(&s->lock);
		}
		return;
	}
	/* A child exits right after its reply; one that does not (stopped, or stuck in a
	 * namespace) is killed. */
	if (!kill_first && poll(&p, 1, REAP_WAIT_MS) <= 0)
		kill_first = true;
	/* The child reaps what it forked and exits by itself once that is gone. */
	if (kill_first && kill_children_of(pid) > 0 && poll(&p, 1, REAP_WAIT_MS) > 0)
		kill_first = false;
	if (kill_first) {
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		if (poll(&p, 1, REAP_WAIT_MS) <= 0) {
			/* Still there: the reaper thread waits for it, not this worker. */
			a = malloc(sizeof(*a));
			if (a) {
				*a = (struct abandoned){pid, pidfd, tag, counted, NULL};
				pthread_mutex_lock(&s->lock);
				a->next = s->abandoned;
				s->abandoned = a;
				pthread_mutex_unlock(&s->lock);
				(void)eventfd_write(s->reaper_wake, 1);
				return;
			}
		}
	}
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	safe_close(pidfd);
	reaped(s, tag, counted);
}

void nsenter_service_reap(struct nsenter_service *s, pid_t pid, int pidfd, bool kill_first)
{
	reap(s, pid, pidfd, kill_first, 0, false);
}

void nsenter_service_reap_counted(struct nsenter_service *s, pid_t pid, int pidfd, bool kill_first,
				  uint64_t tag)
{
	reap(s, pid, pidfd, kill_first, tag, true);
}

/*
 * Waits for the children workers left behind (reap()). At shutdown, after a last second,
 * what is still stuck is left: a restart must not hang on a child the kernel cannot end.
 */
static void *reaper_main(void *arg)
{
	struct nsenter_service *s = arg;
	int64_t deadline = -1;

	for (;;) {
		_cleanup_free_ struct pollfd *fds = NULL;
		size_t n = 0, i = 0;
		bool stopping;
		eventfd_t v;
		int timeout;

		pthread_mutex_lock(&s->lock);
		stopping = s->reaper_stopping;
		for (struct abandoned *a = s->abandoned; a; a = a->next)
			n++;
		fds = calloc(n + 1, sizeof(*fds));
		if (fds) {
			fds[i++] = (struct pollfd){.fd = s->reaper_wake, .events = POLLIN};
			for (struct abandoned *a = s->abandoned; a; a = a->next)
				fds[i++] = (struct pollfd){.fd = a->pidfd, .events = POLLIN};
		}
		pthread_mutex_unlock(&s->lock);
		if (stopping && deadline < 0)
			deadline = nsenter_now_ms() + 1000;
		if (stopping && (n == 0 || nsenter_now_ms() >= deadline))
			break;
		timeout = stopping ? (int)MAX(deadline - nsenter_now_ms(), 0) : -1;
		if (!fds) {
			usleep(100000);
			continue;
		}
		if (poll(fds, i, timeout) < 0 && errno != EINTR)
			usleep(100000);
		if (fds[0].revents)
			(void)eventfd_read(s->reaper_wake, &v);
		for (size_t k = 1; k < i; k++) {
			struct abandoned *gone = NULL;
			siginfo_t si;

			if (!fds[k].revents)
				continue;
			pthread_mutex_lock(&s->lock);
			for (struct abandoned **pp = &s->abandoned; *pp; pp = &(*pp)->next)
				if ((*pp)->pidfd == fds[k].fd) {
					gone = *pp;
					*pp = gone->next;
					break;
				}
			pthread_mutex_unlock(&s->lock);
			if (!gone)
				continue;
			while (waitid(P_PIDFD, (id_t)gone->pidfd, &si, WEXITED) < 0 &&
			       errno == EINTR)
				;
			safe_close(gone->pidfd);
			reaped(s, gone->tag, gone->counted);
			free(gone);
		}
	}
	pthread_mutex_lock(&s->lock);
	while (s->abandoned) {
		struct abandoned *a = s->abandoned;

		s->abandoned = a->next;
		safe_close(a->pidfd);
		free(a);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void nsenter_service_count_timeout(struct nsenter_service *s)
{
	pthread_mutex_lock(&s->lock);
	s->stats.timeouts++;
	pthread_mutex_unlock(&s->lock);
}

int nsenter_service_new(const struct nsenter_service_config *cfg, struct nsenter_service **ret)
{
	struct nsenter_service *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (cfg)
		s->cfg = *cfg;
	if (s->cfg.timeout_ms <= 0)
		s->cfg.timeout_ms = NSENTER_DEFAULT_TIMEOUT_MS;
	if (s->cfg.agent_idle_ms <= 0)
		s->cfg.agent_idle_ms = NSENTER_DEFAULT_AGENT_IDLE_MS;
	if (s->cfg.max_agent_fds == 0)
		s->cfg.max_agent_fds = NSENTER_DEFAULT_MAX_AGENT_FDS;
	if (s->cfg.max_children == 0)
		s->cfg.max_children = NSENTER_DEFAULT_MAX_CHILDREN;
	s->reaper_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->reaper_wake < 0) {
		r = negative_errno();
		free(s);
		return r;
	}
	s->daemon_pid = getpid();
	s->exe_fd = -EBADF;
	if (s->cfg.exec_children) {
		s->exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
		if (s->exe_fd < 0) {
			r = negative_errno();
			safe_close(s->reaper_wake);
			free(s);
			return r;
		}
	}
	for (int t = 0; t < _NS_TYPE_MAX; t++)
		(void)ns_get_inode(s->daemon_pid, t, &s->own_ns[t]);
	pthread_mutex_init(&s->spawn_lock, NULL);
	pthread_cond_init(&s->spawn_cond, NULL);
	{
		pthread_condattr_t attr;

		/* timed waits on the monotonic clock, as every other timeout here */
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&s->spawn_done, &attr);
		pthread_condattr_destroy(&attr);
	}
	pthread_mutex_init(&s->lock, NULL);

	r = -pthread_create(&s->reaper, NULL, reaper_main, s);
	if (r < 0) {
		safe_close(s->exe_fd);
		safe_close(s->reaper_wake);
		free(s);
		return r;
	}
	s->reaper_running = true;
	r = -pthread_create(&s->spawner, NULL, spawner_main, s);
	if (r < 0) {
		nsenter_service_free(s);
		return r;
	}
	s->spawner_running = true;
	*ret = s;
	return 0;
}

int nsenter_service_timeout_ms(const struct nsenter_service *s)
{
	return s->cfg.timeout_ms;
}

void nsenter_service_get_stats(struct nsenter_service *s, struct nsenter_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	*ret = s->stats;
	pthread_mutex_unlock(&s->lock);
}

uint64_t nsenter_service_own_ns(const struct nsenter_service *s, enum ns_type t)
{
	return t < _NS_TYPE_MAX ? s->own_ns[t] : 0;
}

void nsenter_service_free(struct nsenter_service *s)
{
	if (!s)
		return;
	nsenter_agents_release_all(s);
	if (s->spawner_running) {
		pthread_mutex_lock(&s->spawn_lock);
		s->stopping = true;
		pthread_cond_broadcast(&s->spawn_cond);
		pthread_mutex_unlock(&s->spawn_lock);
		pthread_join(s->spawner, NULL);
	}
	if (s->reaper_running) {
		pthread_mutex_lock(&s->lock);
		s->reaper_stopping = true;
		pthread_mutex_unlock(&s->lock);
		(void)eventfd_write(s->reaper_wake, 1);
		pthread_join(s->reaper, NULL);
	}
	safe_close(s->reaper_wake);
	free(s->counts);
	while (s->live) {
		struct live_child *l = s->live;

		s->live = l->next;
		free(l);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->spawn_lock);
	pthread_cond_destroy(&s->spawn_cond);
	pthread_cond_destroy(&s->spawn_done);
	safe_close(s->exe_fd);
	free(s);
}
