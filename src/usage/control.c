/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "usage/control.h"
#include "usage/usage.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/macro.h"

#define REQUEST_MAX 1024
#define ANSWER_MAX (64u << 20)

struct control {
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	struct container_registry *reg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int control_socket_path(const char *mountpoint, char *buf, size_t size)
{
	char real[PATH_MAX];
	const char *p = realpath(mountpoint, real) ? real : mountpoint;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a: short, fixed-length names */
	int n;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	n = snprintf(buf, size, CONTROL_DIR "/%016" PRIx64 ".sock", h);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* --- rendering --- */

static const char *errno_name(int e)
{
	const char *n = e > 0 ? strerrorname_np(e) : NULL;

	return n ? n : "other";
}

static json_object *counters_json(const struct usage_counters *c)
{
	json_object *o = json_object_new_object(), *kinds = json_object_new_object(),
		    *errs = json_object_new_object(), *hist = json_object_new_array();

	for (int k = 0; k < _USAGE_KIND_MAX; k++)
		json_object_object_add(kinds, usage_kind_name(k),
				       json_object_new_int64((int64_t)c->requests[k]));
	for (int e = 0; e < USAGE_ERRNO_MAX; e++)
		if (c->errors[e])
			json_object_object_add(errs, errno_name(e),
					       json_object_new_int64((int64_t)c->errors[e]));
	for (int i = 0; i < USAGE_BUCKETS; i++)
		json_object_array_add(hist, json_object_new_int64((int64_t)c->latency[i]));
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)usage_requests(c)));
	json_object_object_add(o, "by_kind", kinds);
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)usage_errors(c)));
	json_object_object_add(o, "errors_by_errno", errs);
	json_object_object_add(o, "bytes_read", json_object_new_int64((int64_t)c->bytes_read));
	json_object_object_add(o, "bytes_written",
			       json_object_new_int64((int64_t)c->bytes_written));
	json_object_object_add(o, "p50_us",
			       json_object_new_int64((int64_t)usage_quantile_us(c, 0.5)));
	json_object_object_add(o, "p99_us",
			       json_object_new_int64((int64_t)usage_quantile_us(c, 0.99)));
	json_object_object_add(o, "latency_buckets", hist);
	json_object_object_add(o, "latency_ns", json_object_new_int64((int64_t)c->latency_ns));
	json_object_object_add(o, "queue_ns", json_object_new_int64((int64_t)c->queue_ns));
	json_object_object_add(o, "nsenter_ns", json_object_new_int64((int64_t)c->nsenter_ns));
	json_object_object_add(o, "cgroup_ns", json_object_new_int64((int64_t)c->cgroup_ns));
	json_object_object_add(o, "nsenter_round_trips",
			       json_object_new_int64((int64_t)c->nsenter_trips));
	json_object_object_add(o, "queued", json_object_new_int64((int64_t)c->queued));
	json_object_object_add(o, "slow", json_object_new_int64((int64_t)c->slow));
	return o;
}

char *control_render_json(void)
{
	struct usage_report r;
	json_object *root, *list, *buckets;
	char *out;

	if (usage_report_take(&r) < 0)
		return NULL;
	root = json_object_new_object();
	list = json_object_new_array();
	buckets = json_object_new_array();
	for (int i = 0; i < USAGE_BUCKETS - 1; i++)
		json_object_array_add(buckets, json_object_new_int64((int64_t)usage_bucket_us[i]));
	json_object_object_add(root, "uptime_s", json_object_new_double(r.uptime_s));
	json_object_object_add(root, "max_in_flight",
			       json_object_new_int64(usage_config()->max_in_flight));
	json_object_object_add(root, "max_queued",
			       json_object_new_int64(usage_config()->max_queued));
	json_object_object_add(root, "bucket_upper_us", buckets);
	json_object_object_add(root, "containers_ended", json_object_new_int64((int64_t)r.ended));
	json_object_object_add(root, "in_flight", json_object_new_int64(r.in_flight));
	json_object_object_add(root, "totals", counters_json(&r.totals));
	for (size_t i = 0; i < r.n; i++) {
		const struct usage_entry *e = &r.entries[i];
		json_object *o = counters_json(&e->c);
		char name[160];

		usage_entry_name(e, name, sizeof(name));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "serial", json_object_new_int64((int64_t)e->serial));
		json_object_object_add(o, "init_pid", json_object_new_int64(e->init_pid));
		json_object_object_add(o, "host", json_object_new_boolean(e->host));
		json_object_object_add(o, "id", json_object_new_string(e->id));
		json_object_object_add(o, "pod", json_object_new_string(e->pod));
		json_object_object_add(o, "namespace", json_object_new_string(e->ns));
		json_object_object_add(o, "cgroup", json_object_new_string(e->cgroup));
		json_object_object_add(o, "rate", json_object_new_double(e->rate));
		json_object_object_add(o, "in_flight", json_object_new_int64(e->in_flight));
		json_object_object_add(o, "waiting", json_object_new_int64(e->waiting));
		json_object_object_add(o, "files", json_object_new_int64(e->files));
		json_object_object_add(o, "agents", json_object_new_int64(e->agents));
		json_object_object_add(o, "agent_fds", json_object_new_int64(e->agent_fds));
		json_object_array_add(list, o);
	}
	json_object_object_add(root, "containers", list);
	usage_report_done(&r);
	out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return out;
}

/* Label values are names the daemon made or a runtime gave: escaped as the format says. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void help_type(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void seconds(FILE *f, const char *name, const char *help, uint64_t ns)
{
	help_type(f, name, "counter", help);
	fprintf(f, "%s %.9f\n", name, (double)ns / 1e9);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	help_type(f, name, "counter", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	help_type(f, name, "gauge", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* Per-container series for the busiest few only: a label per container would make one
 * series per container that ever lived, thousands on a busy host. */
static void per_container(FILE *f, const struct usage_report *r)
{
	size_t n =
	    r->n < usage_config()->metrics_containers ? r->n : usage_config()->metrics_containers;
	static const struct {
		const char *name, *type, *help;
	} series[] = {
	    {"procbox_container_requests_total", "counter", "Requests of the container."},
	    {"procbox_container_errors_total", "counter", "Requests of the container that failed."},
	    {"procbox_container_request_seconds_total", "counter",
	     "Time from arrival to reply of the container's requests."},
	    {"procbox_container_in_flight", "gauge", "The container's requests being served."},
	    {"procbox_container_waiting", "gauge",
	     "The container's requests waiting for one of its slots."},
	    {"procbox_container_open_files", "gauge", "Files the container holds open."},
	    {"procbox_container_agents", "gauge", "nsenter agents serving the container."},
	};

	for (size_t s = 0; s < ELEMENTSOF(series); s++) {
		help_type(f, series[s].name, series[s].type, series[s].help);
		for (size_t i = 0; i < n; i++) {
			const struct usage_entry *e = &r->entries[i];
			char name[160];

			usage_entry_name(e, name, sizeof(name));
			fprintf(f, "%s{container=\"", series[s].name);
			label_value(f, name);
			fputs("\"} ", f);
			switch (s) {
			case 0:
				fprintf(f, "%" PRIu64 "\n", usage_requests(&e->c));
				break;
			case 1:
				fprintf(f, "%" PRIu64 "\n", usage_errors(&e->c));
				break;
			case 2:
				fprintf(f, "%.9f\n", (double)e->c.latency_ns / 1e9);
				break;
			case 3:
				fprintf(f, "%u\n", e->in_flight);
				break;
			case 4:
				fprintf(f, "%u\n", e->waiting);
				break;
			case 5:
				fprintf(f, "%u\n", e->files);
				break;
			default:
				fprintf(f, "%u\n", e->agents);
				break;
			}
		}
	}
}

char *control_render_prometheus(void)
{
	struct usage_report r;
	const struct usage_counters *t;
	char *buf = NULL;
	size_t len = 0;
	uint64_t cum = 0, files = 0, agents = 0, agent_fds = 0;
	FILE *f;

	if (usage_report_take(&r) < 0)
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f) {
		usage_report_done(&r);
		return NULL;
	}
	t = &r.totals;
	help_type(f, "procbox_requests_total", "counter",
		  "Requests served, by kind, of every container since the daemon started.");
	for (int k = 0; k < _USAGE_KIND_MAX; k++)
		fprintf(f, "procbox_requests_total{kind=\"%s\"} %" PRIu64 "\n", usage_kind_name(k),
			t->requests[k]);
	help_type(f, "procbox_errors_total", "counter", "Requests that failed, by errno.");
	for (int e = 0; e < USAGE_ERRNO_MAX; e++)
		if (t->errors[e])
			fprintf(f, "procbox_errors_total{errno=\"%s\"} %" PRIu64 "\n",
				errno_name(e), t->errors[e]);
	counter(f, "procbox_read_bytes_total", "Bytes returned by reads and readdirs.",
		t->bytes_read);
	counter(f, "procbox_written_bytes_total", "Bytes accepted by writes.", t->bytes_written);
	help_type(f, "procbox_request_duration_seconds", "histogram",
		  "Time from a request's arrival to its reply.");
	for (int i = 0; i < USAGE_BUCKETS; i++) {
		cum += t->latency[i];
		if (i < USAGE_BUCKETS - 1)
			fprintf(f,
				"procbox_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
				(double)usage_bucket_us[i] / 1e6, cum);
		else
			fprintf(
			    f, "procbox_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
			    cum);
	}
	fprintf(f, "procbox_request_duration_seconds_sum %.9f\n", (double)t->latency_ns / 1e9);
	fprintf(f, "procbox_request_duration_seconds_count %" PRIu64 "\n", cum);
	seconds(f, "procbox_queue_seconds_total",
		"Time requests waited for a slot of their container.", t->queue_ns);
	seconds(f, "procbox_nsenter_seconds_total",
		"Time spent in round trips into containers' namespaces.", t->nsenter_ns);
	seconds(f, "procbox_cgroup_read_seconds_total", "Time spent reading cgroup files.",
		t->cgroup_ns);
	counter(f, "procbox_nsenter_round_trips_total",
		"Round trips into containers' namespaces (an agent or a child).", t->nsenter_trips);
	counter(f, "procbox_queued_requests_total",
		"Requests that waited because their container had its limit in flight.", t->queued);
	counter(f, "procbox_slow_requests_total", "Requests over the slow-request threshold.",
		t->slow);
	counter(f, "procbox_containers_ended_total", "Containers that ended.", r.ended);
	for (size_t i = 0; i < r.n; i++) {
		files += r.entries[i].files;
		agents += r.entries[i].agents;
		agent_fds += r.entries[i].agent_fds;
	}
	gauge(f, "procbox_containers", "Containers served now.", r.n);
	gauge(f, "procbox_in_flight", "Requests being served now.", r.in_flight);
	gauge(f, "procbox_open_files", "Files containers hold open now.", files);
	gauge(f, "procbox_agents", "nsenter agents now.", agents);
	gauge(f, "procbox_agent_fds", "fds the agents keep open now.", agent_fds);
	per_container(f, &r);
	usage_report_done(&r);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* --- the server --- */

static void close_pipe(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -EBADF;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Fields split at tabs, "" for a missing one. */
static char *field(char **s)
{
	char *f = *s, *t;

	if (!f)
		return NULL;
	t = strchr(f, '\t');
	if (t) {
		*t = 0;
		*s = t + 1;
	} else {
		*s = NULL;
	}
	return f;
}

static char *handle_name(struct control *ctl, char *args)
{
	_cleanup_container_ struct container *c = NULL;
	char *pid_s = field(&args), *id = field(&args), *pod = field(&args), *ns = field(&args);
	struct usage *u;
	char *end;
	long pid;
	int r;

	errno = 0;
	pid = pid_s ? strtol(pid_s, &end, 10) : 0;
	if (!pid_s || errno || *end || pid <= 0 || pid > INT_MAX)
		return strdup("error: bad pid\n");
	r = container_registry_get(ctl->reg, (pid_t)pid, &c);
	if (r < 0) {
		char *m = NULL;
		return asprintf(&m, "error: %s\n", strerror(-r)) < 0 ? NULL : m;
	}
	u = usage_get(c);
	if (!u)
		return NULL;
	usage_set_names(u, id && *id ? id : NULL, pod && *pod ? pod : NULL, ns && *ns ? ns : NULL);
	return strdup("ok\n");
}

static bool peer_allowed(int fd)
{
	struct container_id id;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0)
		return false;
	/* The host's root, not a container's root that shares its uid 0. */
	return container_identify(cred.pid, &id) == 0 && id.type == _NS_TYPE_MAX;
}

static void serve_client(struct control *ctl, int fd)
{
	struct timeval tv = {.tv_sec = 2};
	char req[REQUEST_MAX + 1];
	_cleanup_free_ char *answer = NULL;
	size_t have = 0;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!peer_allowed(fd)) {
		(void)write_all(fd, "error: permission denied\n", 25);
		return;
	}
	while (have < REQUEST_MAX) {
		ssize_t n = recv(fd, req + have, REQUEST_MAX - have, 0);

		if (n <= 0)
			break;
		have += (size_t)n;
		if (memchr(req, '\n', have))
			break;
	}
	req[have] = 0;
	req[strcspn(req, "\n")] = 0;
	if (strcmp(req, "status") == 0)
		answer = control_render_json();
	else if (strcmp(req, "metrics") == 0)
		answer = control_render_prometheus();
	else if (strncmp(req, "name ", 5) == 0)
		answer = handle_name(ctl, req + 5);
	else
		answer = strdup("error: unknown request\n");
	if (!answer)
		(void)write_all(fd, "error: out of memory\n", 21);
	else
		(void)write_all(fd, answer, strlen(answer));
}

static void *control_main(void *arg)
{
	struct control *ctl = arg;

	for (;;) {
		struct pollfd p[2] = {{ctl->listen_fd, POLLIN, 0}, {ctl->stop_pipe[0], POLLIN, 0}};
		int n = poll(p, 2, 1000);

		if (n < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (n == 0) {
			usage_tick();
			continue;
		}
		if (p[0].revents & POLLIN) {
			_cleanup_close_ int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0)
				serve_client(ctl, fd);
		}
	}
	return NULL;
}

int control_start(const char *mountpoint, struct container_registry *reg, struct control **ret)
{
	_cleanup_free_ struct control *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int r;

	if (!ctl)
		return -ENOMEM;
	ctl->reg = reg;
	ctl->listen_fd = -EBADF;
	ctl->stop_pipe[0] = ctl->stop_pipe[1] = -EBADF;
	r = control_socket_path(mountpoint, ctl->path, sizeof(ctl->path));
	if (r < 0)
		return r;
	if (mkdir(CONTROL_DIR, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	/* The folder is what keeps everyone but root out: it must be root's and 0700. */
	if (lstat(CONTROL_DIR, &st) < 0)
		return negative_errno();
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	if ((st.st_mode & 07777) != 0700 && chmod(CONTROL_DIR, 0700) < 0)
		return negative_errno();
	memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->listen_fd < 0)
		return negative_errno();
	/* A socket left by a daemon that died on this mountpoint: the mountpoint is ours. */
	(void)unlink(ctl->path);
	if (bind(ctl->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(ctl->path, 0600) < 0 || listen(ctl->listen_fd, 16) < 0 ||
	    pipe2(ctl->stop_pipe, O_CLOEXEC) < 0) {
		r = negative_errno();
		close(ctl->listen_fd);
		close_pipe(ctl->stop_pipe);
		(void)unlink(ctl->path);
		return r;
	}
	r = -pthread_create(&ctl->thread, NULL, control_main, ctl);
	if (r < 0) {
		close(ctl->listen_fd);
		close_pipe(ctl->stop_pipe);
		(void)unlink(ctl->path);
		return r;
	}
	*ret = TAKE_PTR(ctl);
	return 0;
}

void control_stop(struct control *ctl)
{
	if (!ctl)
		return;
	(void)!write(ctl->stop_pipe[1], "x", 1);
	pthread_join(ctl->thread, NULL);
	close(ctl->listen_fd);
	close_pipe(ctl->stop_pipe);
	(void)unlink(ctl->path);
	free(ctl);
}

/* --- the client --- */

int control_ask(const char *mountpoint, const char *request, char **ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = control_socket_path(mountpoint, sa.sun_path, sizeof(sa.sun_path));
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	r = write_all(fd, request, strlen(request));
	if (r < 0)
		return r;
	(void)shutdown(fd, SHUT_WR);
	return read_full_fd_at_most(fd, 0, ANSWER_MAX, ret, NULL);
}

static int64_t get_i(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static const char *get_s(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static void fmt_us(char *buf, size_t size, int64_t us)
{
	if (us <= 0)
		snprintf(buf, size, "-");
	else if (us == INT64_MAX || (uint64_t)us == UINT64_MAX)
		snprintf(buf, size, ">2.5s");
	else if (us < 1000)
		snprintf(buf, size, "%" PRId64 "us", us);
	else if (us < 1000000)
		snprintf(buf, size, "%" PRId64 "ms", us / 1000);
	else
		snprintf(buf, size, "%.1fs", (double)us / 1e6);
}

static void print_errors(json_object *o)
{
	json_object *errs;
	bool first = true;

	if (!json_object_object_get_ex(o, "errors_by_errno", &errs))
		return;
	json_object_object_foreach (errs, k, v) {
		printf("%s%s:%" PRId64, first ? "" : ",", k, json_object_get_int64(v));
		first = false;
	}
	if (first)
		printf("-");
}

static void print_line(json_object *o)
{
	char p50[16], p99[16];
	json_object *rate;

	fmt_us(p50, sizeof(p50), get_i(o, "p50_us"));
	fmt_us(p99, sizeof(p99), get_i(o, "p99_us"));
	json_object_object_get_ex(o, "rate", &rate);
	printf("%-20s %7" PRId64 " %8.1f %9" PRId64 " %7s %7s %3" PRId64 "/%-3" PRId64 " %6" PRId64
	       " %5" PRId64 " %7" PRId64 "  ",
	       get_s(o, "name"), get_i(o, "init_pid"), rate ? json_object_get_double(rate) : 0.0,
	       get_i(o, "requests"), p50, p99, get_i(o, "in_flight"), get_i(o, "waiting"),
	       get_i(o, "agents"), get_i(o, "files"), get_i(o, "errors"));
	print_errors(o);
	printf("  %s\n", get_s(o, "cgroup"));
}

static bool matches(json_object *o, const char *want)
{
	char serial[32];

	snprintf(serial, sizeof(serial), "%" PRId64, get_i(o, "init_pid"));
	if (strcmp(want, get_s(o, "name")) == 0 || strcmp(want, serial) == 0 ||
	    strcmp(want, get_s(o, "pod")) == 0 || strcmp(want, get_s(o, "cgroup")) == 0)
		return true;
	/* a runtime id by a prefix of at least 4, as docker does */
	return strlen(want) >= 4 && strncmp(get_s(o, "id"), want, strlen(want)) == 0;
}

static void print_detail(json_object *o, json_object *root)
{
	json_object *kinds, *hist, *bounds, *rate;
	char p50[16], p99[16];

	fmt_us(p50, sizeof(p50), get_i(o, "p50_us"));
	fmt_us(p99, sizeof(p99), get_i(o, "p99_us"));
	json_object_object_get_ex(o, "rate", &rate);
	printf("container   %s\n", get_s(o, "name"));
	printf("runtime id  %s\n", *get_s(o, "id") ? get_s(o, "id") : "-");
	printf("pod         %s%s%s\n", get_s(o, "namespace"), *get_s(o, "namespace") ? "/" : "",
	       *get_s(o, "pod") ? get_s(o, "pod") : "-");
	printf("init pid    %" PRId64 "\n", get_i(o, "init_pid"));
	printf("cgroup      %s\n", get_s(o, "cgroup"));
	printf(
	    "load        %.1f requests/s (last 10 s), %" PRId64 " in flight, %" PRId64 " waiting\n",
	    rate ? json_object_get_double(rate) : 0.0, get_i(o, "in_flight"), get_i(o, "waiting"));
	printf("held        %" PRId64 " open files, %" PRId64 " agents keeping %" PRId64 " fds\n",
	       get_i(o, "files"), get_i(o, "agents"), get_i(o, "agent_fds"));
	printf("requests    %" PRId64 ":", get_i(o, "requests"));
	if (json_object_object_get_ex(o, "by_kind", &kinds)) {
		json_object_object_foreach (kinds, k, v)
			if (json_object_get_int64(v))
				printf(" %s %" PRId64, k, json_object_get_int64(v));
	}
	printf("\nerrors      %" PRId64 ": ", get_i(o, "errors"));
	print_errors(o);
	printf("\nbytes       %" PRId64 " read, %" PRId64 " written\n", get_i(o, "bytes_read"),
	       get_i(o, "bytes_written"));
	printf("latency     p50 %s, p99 %s; total %.3f s: queue %.3f s, nsenter %.3f s in %" PRId64
	       " round trips, cgroup reads %.3f s\n",
	       p50, p99, (double)get_i(o, "latency_ns") / 1e9, (double)get_i(o, "queue_ns") / 1e9,
	       (double)get_i(o, "nsenter_ns") / 1e9, get_i(o, "nsenter_round_trips"),
	       (double)get_i(o, "cgroup_ns") / 1e9);
	printf("waited      %" PRId64 " requests for a slot; %" PRId64 " slow\n",
	       get_i(o, "queued"), get_i(o, "slow"));
	if (json_object_object_get_ex(o, "latency_buckets", &hist) &&
	    json_object_object_get_ex(root, "bucket_upper_us", &bounds)) {
		printf("histogram  ");
		for (size_t i = 0; i < json_object_array_length(hist); i++) {
			int64_t n = json_object_get_int64(json_object_array_get_idx(hist, i));
			char le[16];

			if (!n)
				continue;
			if (i < json_object_array_length(bounds))
				fmt_us(le, sizeof(le),
				       json_object_get_int64(json_object_array_get_idx(bounds, i)));
			else
				snprintf(le, sizeof(le), "more");
			printf(" <=%s:%" PRId64, le, n);
		}
		printf("\n");
	}
}

int control_status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"prometheus", no_argument, NULL, 'p'},
	    {"mountpoint", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	static const char usage_text[] =
	    "Usage: procbox status [--json | --prometheus] [--mountpoint DIR] [CONTAINER]\n"
	    "The containers the running daemon serves, busiest first; CONTAINER (a name, init\n"
	    "pid, runtime id prefix, pod or cgroup path) for one in detail.\n";
	const char *env = getenv("PROCBOX_MOUNTPOINT");
	const char *mountpoint = env && *env ? env : "/var/lib/procbox", *want = NULL;
	bool json = false, prom = false;
	_cleanup_free_ char *answer = NULL;
	json_object *root, *list;
	int c, r, ret = EXIT_SUCCESS;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jpm:h", longopts, NULL)) >= 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			prom = true;
			break;
		case 'm':
			mountpoint = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc)
		want = argv[optind++];
	if (optind < argc || (json && prom)) {
		fputs(usage_text, stderr);
		return 2;
	}
	r = control_ask(mountpoint, prom ? "metrics\n" : "status\n", &answer);
	if (r < 0) {
		fprintf(stderr, "procbox status: cannot reach the daemon of %s: %s\n", mountpoint,
			strerror(-r));
		return EXIT_FAILURE;
	}
	if (strncmp(answer, "error: ", 7) == 0) {
		fprintf(stderr, "procbox status: %s", answer + 7);
		return EXIT_FAILURE;
	}
	if (prom) {
		fputs(answer, stdout);
		return EXIT_SUCCESS;
	}
	root = json_tokener_parse(answer);
	if (!root || !json_object_object_get_ex(root, "containers", &list)) {
		fprintf(stderr, "procbox status: the daemon's answer is not understood\n");
		json_object_put(root);
		return EXIT_FAILURE;
	}
	if (want) {
		json_object *found = NULL;

		for (size_t i = 0; i < json_object_array_length(list) && !found; i++)
			if (matches(json_object_array_get_idx(list, i), want))
				found = json_object_array_get_idx(list, i);
		if (!found) {
			fprintf(stderr, "procbox status: no container '%s' is served\n", want);
			ret = EXIT_FAILURE;
		} else if (json)
			printf("%s\n",
			       json_object_to_json_string_ext(found, JSON_C_TO_STRING_PRETTY));
		else
			print_detail(found, root);
	} else if (json) {
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	} else {
		json_object *totals;

		printf("%-20s %7s %8s %9s %7s %7s %7s %6s %5s %7s  %s  %s\n", "CONTAINER", "INIT",
		       "REQ/S", "REQUESTS", "P50", "P99", "RUN/WAIT", "AGENTS", "FILES", "ERRORS",
		       "BY ERRNO", "CGROUP");
		for (size_t i = 0; i < json_object_array_length(list); i++)
			print_line(json_object_array_get_idx(list, i));
		if (json_object_object_get_ex(root, "totals", &totals)) {
			char p50[16], p99[16];

			fmt_us(p50, sizeof(p50), get_i(totals, "p50_us"));
			fmt_us(p99, sizeof(p99), get_i(totals, "p99_us"));
			printf("total: %zu containers served now, %" PRId64 " ended; %" PRId64
			       " requests, %" PRId64 " errors, p50 %s, p99 %s, %" PRId64
			       " in flight\n",
			       json_object_array_length(list), get_i(root, "containers_ended"),
			       get_i(totals, "requests"), get_i(totals, "errors"), p50, p99,
			       get_i(root, "in_flight"));
		}
	}
	json_object_put(root);
	return ret;
}
