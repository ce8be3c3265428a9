/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * procbox-reader: a load generator for small /proc-like files.
 *
 *   procbox-reader --mode pread|cycle --jobs N --seconds S [--ops N]
 *                  [--interval-us N] [--in-container PID | --netns-pid PID] FILE
 *
 * pread: each job opens FILE once and preads 4096 bytes at offset 0 in a loop.
 * cycle: each job does open + read(4096) + close in a loop.
 * --interval-us: each job starts one operation every N microseconds instead of flat out
 * (a paced reader, as a monitoring agent is); only the operations are timed.
 *
 * Every operation is timed with CLOCK_MONOTONIC into a histogram with 16 linear
 * sub-buckets per power of two (error under 1/16 of the value), enough for p99.
 * The result is one JSON object on stdout. Exit status: 0 when at least one
 * operation succeeded, 2 when none did (the JSON then names the errno), 1 on
 * bad usage or setup failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"

#define READ_SIZE 4096
#define SUB_BITS 4
#define SUB_COUNT (1u << SUB_BITS)
/* Values up to 2^40 ns (about 18 minutes) get their own bucket; longer ones share the last. */
#define MAX_EXP 40
#define BUCKETS ((MAX_EXP - SUB_BITS + 2) * SUB_COUNT)

enum mode {
	MODE_PREAD,
	MODE_CYCLE,
};

struct job {
	pthread_t thread;
	const char *path;
	enum mode mode;
	uint64_t max_ops;
	uint64_t interval_ns;
	uint64_t next_ns;
	uint64_t ops;
	uint64_t errors;
	uint64_t bytes;
	uint64_t sum_ns;
	uint64_t max_ns;
	int first_errno;
	uint64_t hist[BUCKETS];
};

static atomic_bool stop_flag;
static atomic_int ready_jobs;
static atomic_bool go_flag;
static atomic_int finished_jobs;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned bucket_of(uint64_t v)
{
	unsigned e, idx;

	if (v < SUB_COUNT)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	if (e > MAX_EXP)
		return BUCKETS - 1;
	idx = (e - SUB_BITS + 1) * SUB_COUNT + (unsigned)((v >> (e - SUB_BITS)) & (SUB_COUNT - 1));
	return idx < BUCKETS ? idx : BUCKETS - 1;
}

/* The middle of a bucket's range: the estimate reported for values that fell in it. */
static double bucket_mid(unsigned idx)
{
	unsigned e, sub;
	uint64_t lo, width;

	if (idx < SUB_COUNT)
		return idx;
	e = idx / SUB_COUNT + SUB_BITS - 1;
	sub = idx % SUB_COUNT;
	width = (uint64_t)1 << (e - SUB_BITS);
	lo = ((uint64_t)1 << e) + sub * width;
	return (double)lo + (double)(width - 1) / 2.0;
}

static void job_record(struct job *j, uint64_t ns)
{
	j->hist[bucket_of(ns)]++;
	j->sum_ns += ns;
	if (ns > j->max_ns)
		j->max_ns = ns;
}

static void job_fail(struct job *j, int err)
{
	j->errors++;
	if (!j->first_errno)
		j->first_errno = err;
}

static bool job_done(const struct job *j)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed) ||
	       (j->max_ops && j->ops + j->errors >= j->max_ops);
}

/* Paced jobs sleep until their next start; returns the start time to measure from. */
static uint64_t job_pace(struct job *j, uint64_t t)
{
	struct timespec ts;

	if (!j->interval_ns)
		return t;
	if (!j->next_ns || j->next_ns < t)
		j->next_ns = t;
	ts.tv_sec = (time_t)(j->next_ns / 1000000000u);
	ts.tv_nsec = (long)(j->next_ns % 1000000000u);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	j->next_ns += j->interval_ns;
	return now_ns();
}

static void wait_for_go(void)
{
	atomic_fetch_add(&ready_jobs, 1);
	while (!atomic_load(&go_flag))
		sched_yield();
}

static void run_pread(struct job *j)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[READ_SIZE];
	uint64_t t0, t1;

	fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		job_fail(j, errno);
	wait_for_go();
	if (fd < 0)
		return;

	t0 = now_ns();
	while (!job_done(j)) {
		ssize_t n;

		t0 = job_pace(j, t0);
		n = pread(fd, buf, sizeof(buf), 0);

		/* One clock read per operation: the end of one is the start of the next. */
		t1 = now_ns();
		if (n < 0) {
			job_fail(j, errno);
			/* A dead file descriptor stays dead: do not spin on it. */
			if (errno == EBADF || errno == ENOTCONN || errno == ENODEV)
				return;
			if (j->ops == 0 && j->errors >= 1000)
				return;
		} else {
			j->ops++;
			j->bytes += (uint64_t)n;
			job_record(j, t1 - t0);
		}
		t0 = t1;
	}
}

static void run_cycle(struct job *j)
{
	char buf[READ_SIZE];
	uint64_t t0, t1;

	wait_for_go();
	t0 = now_ns();
	while (!job_done(j)) {
		ssize_t n = -1;
		int err = 0, fd;

		t0 = job_pace(j, t0);
		fd = open(j->path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			err = errno;
		} else {
			n = read(fd, buf, sizeof(buf));
			if (n < 0)
				err = errno;
			close(fd);
		}
		t1 = now_ns();
		if (err) {
			job_fail(j, err);
			/* A missing file will not appear within the run: do not spin on it. */
			if (j->ops == 0 && j->errors >= 1000)
				return;
		} else {
			j->ops++;
			j->bytes += (uint64_t)n;
			job_record(j, t1 - t0);
		}
		t0 = t1;
	}
}

static void *job_main(void *arg)
{
	struct job *j = arg;

	if (j->mode == MODE_PREAD)
		run_pread(j);
	else
		run_cycle(j);
	atomic_fetch_add(&finished_jobs, 1);
	return NULL;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -EINVAL;
	*ret = v;
	return 0;
}

/*
 * Joins the namespaces of @pid named in @types. All fds are opened before the first
 * setns (a later open could resolve through the new namespaces); the user namespace
 * comes last, since joining the others needs the host-side privilege it drops, and
 * it can only be joined while this process is still single-threaded.
 */
static int join_namespaces(pid_t pid, const char *const *types, size_t n)
{
	int fds[8];
	int r = 0;

	if (n > ELEMENTSOF(fds))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		fds[i] = -EBADF;

	for (size_t i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, types[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			r = negative_errno();
			fprintf(stderr, "procbox-reader: cannot open %s: %m\n", path);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char self[64], target[64];
		char own_link[128], target_link[128];
		ssize_t a, b;

		/* setns() into the namespace one is already in fails for user namespaces. */
		snprintf(self, sizeof(self), "/proc/self/ns/%s", types[i]);
		snprintf(target, sizeof(target), "/proc/%d/ns/%s", (int)pid, types[i]);
		a = readlink(self, own_link, sizeof(own_link) - 1);
		b = readlink(target, target_link, sizeof(target_link) - 1);
		if (a > 0 && b > 0 && a == b && memcmp(own_link, target_link, (size_t)a) == 0)
			continue;
		if (setns(fds[i], 0) < 0) {
			r = negative_errno();
			fprintf(stderr, "procbox-reader: cannot join %s namespace of %d: %m\n",
				types[i], (int)pid);
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		safe_close(fds[i]);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: procbox-reader --mode pread|cycle [OPTIONS] FILE\n"
		   "  --mode pread|cycle  pread: open once, pread(4096) at offset 0 in a loop;\n"
		   "                      cycle: open + read(4096) + close in a loop\n"
		   "  --jobs N            threads, each with its own fd (default 1)\n"
		   "  --seconds S         run time (default 3; decimals allowed)\n"
		   "  --ops N             stop each job after N operations (0: no limit)\n"
		   "  --interval-us N     one operation every N us per job (default: flat out)\n"
		   "  --in-container PID  join PID's net, uts, ipc and user namespaces first\n"
		   "  --netns-pid PID     join only PID's network namespace first\n"
		   "Prints JSON: ops, errors, seconds, iops, mean_us, p50_us, p99_us, max_us.\n");
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static const char *errno_name(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "EUNKNOWN";
}

int main(int argc, char **argv)
{
	static const struct option options[] = {{"mode", required_argument, NULL, 'm'},
						{"jobs", required_argument, NULL, 'j'},
						{"seconds", required_argument, NULL, 's'},
						{"ops", required_argument, NULL, 'o'},
						{"interval-us", required_argument, NULL, 'i'},
						{"in-container", required_argument, NULL, 'c'},
						{"netns-pid", required_argument, NULL, 'n'},
						{"help", no_argument, NULL, 'h'},
						{}};
	static const char *const container_ns[] = {"net", "uts", "ipc", "user"};
	static const char *const net_ns[] = {"net"};
	enum mode mode = MODE_PREAD;
	uint64_t jobs = 1, max_ops = 0, pid = 0, interval_us = 0;
	const char *const *ns_types = NULL;
	size_t ns_count = 0;
	double seconds = 3.0;
	_cleanup_free_ struct job *job = NULL;
	uint64_t total_ops = 0, total_err = 0, total_bytes = 0, sum_ns = 0, max_ns = 0;
	uint64_t hist[BUCKETS] = {};
	double p50 = 0, p99 = 0, elapsed;
	uint64_t t_start, t_end;
	int first_errno = 0, c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "pread") == 0)
				mode = MODE_PREAD;
			else if (strcmp(optarg, "cycle") == 0)
				mode = MODE_CYCLE;
			else
				goto bad_usage;
			break;
		case 'j':
			if (parse_u64(optarg, &jobs) < 0 || jobs < 1 || jobs > 1024)
				goto bad_usage;
			break;
		case 's': {
			char *end;

			seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(seconds > 0 && seconds < 86400))
				goto bad_usage;
			break;
		}
		case 'i':
			if (parse_u64(optarg, &interval_us) < 0 || interval_us > 10000000) {
				usage(stderr);
				return 1;
			}
			break;
		case 'o':
			if (parse_u64(optarg, &max_ops) < 0)
				goto bad_usage;
			break;
		case 'c':
		case 'n':
			if (parse_u64(optarg, &pid) < 0 || pid < 1 || pid > INT_MAX)
				goto bad_usage;
			ns_types = c == 'c' ? container_ns : net_ns;
			ns_count = c == 'c' ? ELEMENTSOF(container_ns) : ELEMENTSOF(net_ns);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad_usage;
		}
	}
	if (optind != argc - 1)
		goto bad_usage;

	if (ns_types && join_namespaces((pid_t)pid, ns_types, ns_count) < 0)
		return 1;

	job = calloc(jobs, sizeof(*job));
	if (!job) {
		fprintf(stderr, "procbox-reader: out of memory\n");
		return 1;
	}
	for (uint64_t i = 0; i < jobs; i++) {
		int r;

		job[i].path = argv[optind];
		job[i].mode = mode;
		job[i].max_ops = max_ops;
		job[i].interval_ns = interval_us * 1000u;
		r = pthread_create(&job[i].thread, NULL, job_main, &job[i]);
		if (r != 0) {
			fprintf(stderr, "procbox-reader: pthread_create: %s\n", strerror(r));
			atomic_store(&stop_flag, true);
			atomic_store(&go_flag, true);
			for (uint64_t k = 0; k < i; k++)
				pthread_join(job[k].thread, NULL);
			return 1;
		}
	}
	/* Start the clock only once every job has its file open and is ready. */
	while (atomic_load(&ready_jobs) < (int)jobs)
		sched_yield();
	t_start = now_ns();
	atomic_store(&go_flag, true);

	/* Sleep in short slices: jobs that all gave up early end the run early. */
	if (max_ops == 0) {
		uint64_t deadline = t_start + (uint64_t)(seconds * 1e9);

		while (atomic_load(&finished_jobs) < (int)jobs) {
			uint64_t now = now_ns(), left;
			struct timespec nap;

			if (now >= deadline)
				break;
			left = deadline - now;
			if (left > 20000000)
				left = 20000000;
			nap.tv_sec = 0;
			nap.tv_nsec = (long)left;
			nanosleep(&nap, NULL);
		}
		atomic_store(&stop_flag, true);
	}
	for (uint64_t i = 0; i < jobs; i++)
		pthread_join(job[i].thread, NULL);
	t_end = now_ns();

	for (uint64_t i = 0; i < jobs; i++) {
		total_ops += job[i].ops;
		total_err += job[i].errors;
		total_bytes += job[i].bytes;
		sum_ns += job[i].sum_ns;
		if (job[i].max_ns > max_ns)
			max_ns = job[i].max_ns;
		if (!first_errno)
			first_errno = job[i].first_errno;
		for (unsigned b = 0; b < BUCKETS; b++)
			hist[b] += job[i].hist[b];
	}
	if (total_ops > 0) {
		uint64_t seen = 0, want50 = (total_ops + 1) / 2;
		uint64_t want99 = total_ops - total_ops / 100;
		bool have50 = false;

		for (unsigned b = 0; b < BUCKETS; b++) {
			seen += hist[b];
			if (!have50 && seen >= want50) {
				p50 = bucket_mid(b);
				have50 = true;
			}
			if (seen >= want99) {
				p99 = bucket_mid(b);
				break;
			}
		}
	}
	elapsed = (double)(t_end - t_start) / 1e9;

	printf("{\"tool\": \"procbox-reader\", \"mode\": \"%s\", \"jobs\": %" PRIu64 ", \"file\": ",
	       mode == MODE_PREAD ? "pread" : "cycle", jobs);
	print_json_string(argv[optind]);
	printf(", \"ops\": %" PRIu64 ", \"errors\": %" PRIu64
	       ", \"seconds\": %.6f, \"iops\": %.1f, \"mean_us\": %.3f, \"p50_us\": %.3f"
	       ", \"p99_us\": %.3f, \"max_us\": %.3f, \"bytes_per_op\": %.1f",
	       total_ops, total_err, elapsed, elapsed > 0 ? (double)total_ops / elapsed : 0.0,
	       total_ops ? (double)sum_ns / (double)total_ops / 1e3 : 0.0, p50 / 1e3, p99 / 1e3,
	       (double)max_ns / 1e3, total_ops ? (double)total_bytes / (double)total_ops : 0.0);
	if (first_errno)
		printf(", \"first_error\": \"%s\"", errno_name(first_errno));
	printf("}\n");

	return total_ops > 0 ? 0 : 2;

bad_usage:
	usage(stderr);
	return 1;
}
