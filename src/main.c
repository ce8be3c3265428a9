/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach/entry.h"
#include "config.h"
#include "container/container.h"
#include "container/saved.h"
#include "fs/fs.h"
#include "fs/handles.h"
#include "fs/inode.h"
#include "fs/resume.h"
#include "handlers/procsys.h"
#include "handlers/sampler.h"
#include "handlers/tree.h"
#include "holder/fdstore.h"
#include "holder/handover.h"
#include "holder/holder.h"
#include "nsenter/service.h"
#include "usage/control.h"
#include "usage/usage.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/notify.h"

#define DEFAULT_MOUNTPOINT "/var/lib/procbox"
#define DEFAULT_STATE_DIR "/run/procbox"
#define DEFAULT_THREADS 16
#define IN_FLIGHT_UNSET UINT_MAX

struct options {
	const char *mountpoint;
	const char *state_dir;
	bool foreground;
	bool debug;
	int timeout_ms;
	unsigned max_agents;
	int agent_idle_s;
	unsigned max_threads;
	unsigned max_agent_fds;
	unsigned max_sysctl_fds;
	unsigned max_agents_per_container;
	unsigned max_files_per_container, max_files;
	unsigned max_snap_mib_per_container, max_snap_mib;
	struct usage_config usage;
	unsigned max_children;
};

static void help(void)
{
	printf("Usage: procbox [OPTIONS] [MOUNTPOINT]\n"
	       "\n"
	       "Gives every container its own /proc and /sys. Serves MOUNTPOINT "
	       "(default\n" DEFAULT_MOUNTPOINT
	       ") with proc/ and sys/ folders to bind-mount into containers.\n"
	       "\n"
	       "Options:\n"
	       "  -f, --foreground         stay in the foreground, log to stderr\n"
	       "  -d, --debug              log every request (implies --foreground)\n"
	       "  -t, --timeout MS         time limit of one request into a container's\n"
	       "                           namespaces, in milliseconds (default %d)\n"
	       "      --max-agents N       long-lived nsenter agents at most; 0 starts a\n"
	       "                           process per request (default %d)\n"
	       "      --agent-idle SEC     stop an agent unused this long (default %d)\n"
	       "      --max-agent-fds N    fds an agent keeps open for reuse (default %d)\n"
	       "      --max-sysctl-fds N   fds of world-readable sysctls kept for reuse, all\n"
	       "                           containers together; 0 keeps none (default %d)\n"
	       "      --max-agents-per-container N\n"
	       "                           agents of one container at most (default %d)\n"
	       "      --max-files-per-container N\n"
	       "                           files and folders one container may hold open\n"
	       "                           here; more get EMFILE (default %u)\n"
	       "      --max-files N        the same for all containers together; more get\n"
	       "                           ENFILE (default %u)\n"
	       "      --max-snapshot-mib-per-container N\n"
	       "                           MiB of read snapshots kept for one container's\n"
	       "                           open files; more get ENOMEM (default %u)\n"
	       "      --max-snapshot-mib N the same for all containers together (default %u)\n"
	       "      --max-children N     processes per container at once for requests that\n"
	       "                           need one of their own (pid namespace reads,\n"
	       "                           --max-agents 0); more get EAGAIN (default %d)\n"
	       "      --threads N          FUSE worker threads at most (default %d)\n"
	       "      --max-in-flight N    requests of one container served at once; more wait\n"
	       "                           on that container; 0: no limit (default half the\n"
	       "                           CPUs and half the --threads, at least 1: here %u)\n"
	       "      --max-queued N       requests of one container waiting at most; more\n"
	       "                           get EAGAIN; 0: no limit (default %d)\n"
	       "      --slow-ms MS         log requests slower than this, one line a second at\n"
	       "                           most; 0: never (default %d)\n"
	       "      --metrics-containers N  busiest containers given their own series in\n"
	       "                           `procbox status --prometheus` (default %d)\n"
	       "      --state-dir DIR      root-only folder of what a restart hands over\n"
	       "                           (default " DEFAULT_STATE_DIR ")\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n"
	       "\n"
	       "A container gets procbox's /proc/sys with, inside its mount namespace:\n"
	       "  mount --bind " DEFAULT_MOUNTPOINT "/proc/sys /proc/sys\n"
	       "or, from outside, all of procbox's files at once:\n"
	       "  procbox attach PID        procbox detach PID\n"
	       "Docker: dockerd --add-runtime procbox=<a symlink named procbox-runc to procbox>,\n"
	       "then docker run --runtime procbox. OCI runtimes: procbox hook (createRuntime).\n"
	       "What it serves, and how fast: procbox status [--json|--prometheus] [CONTAINER]\n"

	       "Upgrade in place (new binary, same FUSE connection): procbox upgrade [MOUNTPOINT]\n"
	       "or SIGUSR2 to the daemon.\n",
	       NSENTER_DEFAULT_TIMEOUT_MS, NSENTER_DEFAULT_MAX_AGENTS,
	       NSENTER_DEFAULT_AGENT_IDLE_MS / 1000, NSENTER_DEFAULT_MAX_AGENT_FDS,
	       PROCSYS_DEFAULT_MAX_FDS, NSENTER_DEFAULT_MAX_AGENTS_PER_CONTAINER,
	       CONTAINER_DEFAULT_MAX_FILES, CONTAINER_DEFAULT_MAX_FILES_TOTAL,
	       CONTAINER_DEFAULT_MAX_SNAP_MIB, CONTAINER_DEFAULT_MAX_SNAP_MIB_TOTAL,
	       NSENTER_DEFAULT_MAX_CHILDREN, DEFAULT_THREADS,
	       usage_default_max_in_flight(DEFAULT_THREADS), USAGE_DEFAULT_MAX_QUEUED,
	       USAGE_DEFAULT_SLOW_MS, USAGE_DEFAULT_METRICS_CONTAINERS);
}

static int parse_uint(const char *s, const char *what, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "procbox: invalid %s '%s' (expected %ld..%ld)\n", what, s, min,
			max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* 1: run; 0: exit 0 (help, version); <0: exit 2 */
static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_MAX_AGENTS = 0x100,
		OPT_AGENT_IDLE,
		OPT_THREADS,
		OPT_AGENT_FDS,
		OPT_SYSCTL_FDS,
		OPT_AGENTS_PER_CT,
		OPT_FILES_PER_CT,
		OPT_FILES,
		OPT_SNAP_PER_CT,
		OPT_SNAP,
		OPT_MAX_CHILDREN,
		OPT_STATE_DIR
	};
	enum { OPT_IN_FLIGHT = 0x200, OPT_QUEUED, OPT_SLOW_MS, OPT_METRICS_CONTAINERS };
	static const struct option longopts[] = {
	    {"foreground", no_argument, NULL, 'f'},
	    {"debug", no_argument, NULL, 'd'},
	    {"timeout", required_argument, NULL, 't'},
	    {"max-agents", required_argument, NULL, OPT_MAX_AGENTS},
	    {"agent-idle", required_argument, NULL, OPT_AGENT_IDLE},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"max-agent-fds", required_argument, NULL, OPT_AGENT_FDS},
	    {"max-sysctl-fds", required_argument, NULL, OPT_SYSCTL_FDS},
	    {"max-agents-per-container", required_argument, NULL, OPT_AGENTS_PER_CT},
	    {"max-files-per-container", required_argument, NULL, OPT_FILES_PER_CT},
	    {"max-files", required_argument, NULL, OPT_FILES},
	    {"max-snapshot-mib-per-container", required_argument, NULL, OPT_SNAP_PER_CT},
	    {"max-snapshot-mib", required_argument, NULL, OPT_SNAP},
	    {"max-in-flight", required_argument, NULL, OPT_IN_FLIGHT},
	    {"max-queued", required_argument, NULL, OPT_QUEUED},
	    {"slow-ms", required_argument, NULL, OPT_SLOW_MS},
	    {"metrics-containers", required_argument, NULL, OPT_METRICS_CONTAINERS},
	    {"max-children", required_argument, NULL, OPT_MAX_CHILDREN},
	    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {},
	};
	long v;
	int c;

	*o = (struct options){
	    .mountpoint = DEFAULT_MOUNTPOINT,
	    .state_dir = DEFAULT_STATE_DIR,
	    .timeout_ms = NSENTER_DEFAULT_TIMEOUT_MS,
	    .max_agents = NSENTER_DEFAULT_MAX_AGENTS,
	    .agent_idle_s = NSENTER_DEFAULT_AGENT_IDLE_MS / 1000,
	    .max_threads = DEFAULT_THREADS,
	    .max_agent_fds = NSENTER_DEFAULT_MAX_AGENT_FDS,
	    .max_sysctl_fds = PROCSYS_DEFAULT_MAX_FDS,
	    .max_agents_per_container = NSENTER_DEFAULT_MAX_AGENTS_PER_CONTAINER,
	    .max_files_per_container = CONTAINER_DEFAULT_MAX_FILES,
	    .max_files = CONTAINER_DEFAULT_MAX_FILES_TOTAL,
	    .max_snap_mib_per_container = CONTAINER_DEFAULT_MAX_SNAP_MIB,
	    .max_snap_mib = CONTAINER_DEFAULT_MAX_SNAP_MIB_TOTAL,
	    .usage =
		{
		    .max_in_flight = IN_FLIGHT_UNSET,
		    .max_queued = USAGE_DEFAULT_MAX_QUEUED,
		    .slow_ns = USAGE_DEFAULT_SLOW_MS * 1000000ull,
		    .metrics_containers = USAGE_DEFAULT_METRICS_CONTAINERS,
		},
	    .max_children = NSENTER_DEFAULT_MAX_CHILDREN,
	};
	while ((c = getopt_long(argc, argv, "fdt:hV", longopts, NULL)) >= 0) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = o->foreground = true;
			break;
		case 't':
			if (parse_uint(optarg, "timeout", 1, 3600 * 1000, &v) < 0)
				return -EINVAL;
			o->timeout_ms = (int)v;
			break;
		case OPT_MAX_AGENTS:
			if (parse_uint(optarg, "agent limit", 0, 1000000, &v) < 0)
				return -EINVAL;
			o->max_agents = (unsigned)v;
			break;
		case OPT_AGENT_IDLE:
			if (parse_uint(optarg, "idle time", 1, 86400, &v) < 0)
				return -EINVAL;
			o->agent_idle_s = (int)v;
			break;
		case OPT_THREADS:
			if (parse_uint(optarg, "thread count", 1, 1024, &v) < 0)
				return -EINVAL;
			o->max_threads = (unsigned)v;
			break;
		case OPT_AGENT_FDS:
			if (parse_uint(optarg, "agent fd limit", 1, 65536, &v) < 0)
				return -EINVAL;
			o->max_agent_fds = (unsigned)v;
			break;
		case OPT_SYSCTL_FDS:
			if (parse_uint(optarg, "sysctl fd limit", 0, 1000000, &v) < 0)
				return -EINVAL;
			o->max_sysctl_fds = (unsigned)v;
			break;
		case OPT_AGENTS_PER_CT:
			if (parse_uint(optarg, "agent limit", 1, 1000000, &v) < 0)
				return -EINVAL;
			o->max_agents_per_container = (unsigned)v;
			break;
		case OPT_FILES_PER_CT:
		case OPT_FILES:
			if (parse_uint(optarg, "open file limit", 1, 10000000, &v) < 0)
				return -EINVAL;
			*(c == OPT_FILES ? &o->max_files : &o->max_files_per_container) =
			    (unsigned)v;
			break;
		case OPT_SNAP_PER_CT:
		case OPT_SNAP:
			if (parse_uint(optarg, "snapshot limit", 1, 1024 * 1024, &v) < 0)
				return -EINVAL;
			*(c == OPT_SNAP ? &o->max_snap_mib : &o->max_snap_mib_per_container) =
			    (unsigned)v;
			break;
		case OPT_IN_FLIGHT:
			if (parse_uint(optarg, "in-flight limit", 0, 1024, &v) < 0)
				return -EINVAL;
			o->usage.max_in_flight = (unsigned)v;
			break;
		case OPT_QUEUED:
			if (parse_uint(optarg, "queue limit", 0, 1000000, &v) < 0)
				return -EINVAL;
			o->usage.max_queued = (unsigned)v;
			break;
		case OPT_SLOW_MS:
			if (parse_uint(optarg, "slow-request threshold", 0, 3600 * 1000, &v) < 0)
				return -EINVAL;
			o->usage.slow_ns = (uint64_t)v * 1000000u;
			break;
		case OPT_METRICS_CONTAINERS:
			if (parse_uint(optarg, "per-container series", 0, 10000, &v) < 0)
				return -EINVAL;
			o->usage.metrics_containers = (unsigned)v;
			break;
		case OPT_MAX_CHILDREN:
			if (parse_uint(optarg, "child limit", 1, 1000000, &v) < 0)
				return -EINVAL;
			o->max_children = (unsigned)v;
			break;
		case OPT_STATE_DIR:
			if (optarg[0] != '/') {
				fprintf(stderr, "procbox: --state-dir needs an absolute path\n");
				return -EINVAL;
			}
			o->state_dir = optarg;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("procbox %s%s\n", PROCBOX_VERSION,
			       PROCBOX_FIGURES ? "" : " (built without request figures)");
			return 0;
		default:
			fprintf(stderr, "Try 'procbox --help'.\n");
			return -EINVAL;
		}
	}
	if (o->usage.max_in_flight == IN_FLIGHT_UNSET)
		o->usage.max_in_flight = usage_default_max_in_flight(o->max_threads);
	if (optind < argc)
		o->mountpoint = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "procbox: unexpected argument '%s'. Try 'procbox --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	return 1;
}

static int mkdir_p(const char *path)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return negative_errno();
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static bool is_mountpoint(const char *path)
{
	_cleanup_free_ char *parent = NULL;
	struct stat a, b;

	if (asprintf(&parent, "%s/..", path) < 0)
		return false;
	if (stat(path, &a) < 0 || stat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

/* Each failure the user can fix gets one clear line. */
/* Kept fds (--max-sysctl-fds, --max-agent-fds), a socket per agent and an fd per open
 * file (--max-files) outgrow the usual soft limit of 1,024; nothing here uses select(2),
 * so take what the hard limit allows, and say so when even that is short of what the
 * limits given may keep open. */
static void raise_fd_limit(const struct options *o)
{
	uint64_t need = (uint64_t)o->max_sysctl_fds +
			(uint64_t)o->max_agents * (o->max_agent_fds + 2) + o->max_files + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn(errno, "Cannot raise the limit of open files: %m");
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn(0,
			 "The limit of open files (%llu) is below the %" PRIu64
			 " that --max-agents, --max-agent-fds, --max-sysctl-fds and --max-files "
			 "may keep "
			 "open; "
			 "requests fail with EMFILE when it is reached",
			 (unsigned long long)rl.rlim_cur, need);
}

static int check_environment(const struct options *o)
{
	struct stat st;
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "procbox: must run as root (it enters containers' namespaces)\n");
		return -EPERM;
	}
	if (access("/dev/fuse", R_OK | W_OK) < 0) {
		fprintf(stderr,
			"procbox: /dev/fuse is not available: %s (load the fuse module: "
			"modprobe fuse)\n",
			strerror(errno));
		return -ENODEV;
	}
	if (stat(o->mountpoint, &st) < 0 && errno == ENOTCONN) {
		/* An earlier procbox died and left its mount behind. */
		log_info("Replacing the dead mount at %s", o->mountpoint);
		if (umount2(o->mountpoint, MNT_DETACH) < 0) {
			fprintf(stderr, "procbox: cannot remove the dead mount at %s: %m\n",
				o->mountpoint);
			return -EBUSY;
		}
	}
	if (stat(o->mountpoint, &st) < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "procbox: cannot use mountpoint %s: %m\n", o->mountpoint);
			return -errno;
		}
		r = mkdir_p(o->mountpoint);
		if (r < 0) {
			fprintf(stderr, "procbox: cannot create mountpoint %s: %s\n", o->mountpoint,
				strerror(-r));
			return r;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "procbox: mountpoint %s is not a folder\n", o->mountpoint);
		return -ENOTDIR;
	} else if (is_mountpoint(o->mountpoint)) {
		fprintf(stderr,
			"procbox: mountpoint %s is busy: something is mounted there "
			"already (umount it first)\n",
			o->mountpoint);
		return -EBUSY;
	}
	return 0;
}

static volatile sig_atomic_t stopping;
static volatile sig_atomic_t ready;

/* The service manager's STATUS= line: what `systemctl status procbox` shows. */
static void notify_status(const char *mountpoint, unsigned containers)
{
	(void)notify_send("STATUS=Serving %s: %u container%s", mountpoint, containers,
			  containers == 1 ? "" : "s");
}

struct housekeeping {
	struct procbox_fs *fs;
	const char *mountpoint;
};

/* The session being served, for the housekeeping thread (set before it starts). */
static struct fuse_session *serving;

static void *housekeeping_main(void *arg)
{
	struct housekeeping *hk = arg;
	unsigned shown = 0;

	for (unsigned tick = 1; !stopping; tick++) {
		struct timespec ts = {.tv_nsec = 100 * 1000 * 1000};
		unsigned n;

		nanosleep(&ts, NULL);
		/* Asked to stop: libfuse joins its workers before the loop returns, and a
		 * worker waiting on a child a container stopped would hold the stop up for
		 * a whole timeout. */
		if (fuse_session_exited(serving))
			nsenter_service_stop_children(hk->fs->nsenter);
		if (tick % 10)
			continue;
		nsenter_service_expire_idle(hk->fs->nsenter);
		container_registry_sweep(hk->fs->containers);
		n = container_registry_count(hk->fs->containers);
		if (ready && n != shown && !stopping) {
			notify_status(hk->mountpoint, n);
			shown = n;
		}
	}
	return NULL;
}

/*
 * READY=1 means containers can be given the mount: a runtime ordered after procbox starts
 * its containers' hooks right away. So it is sent only once a read through the mount came
 * back, which needs the kernel's FUSE_INIT answered and a worker thread serving, and not
 * when the mount(2) call returned. The read is the daemon's own, of .procbox-stats (the
 * host's root may read it; it enters no namespace).
 */
static void *ready_main(void *arg)
{
	const char *mountpoint = arg;
	_cleanup_free_ char *path = NULL;
	char buf[256];

	if (asprintf(&path, "%s/.procbox-stats", mountpoint) < 0) {
		log_error(-ENOMEM, "Cannot check that %s serves: %m", mountpoint);
		return NULL;
	}
	while (!stopping) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

		if (n > 0) {
			ready = 1;
			log_info("Ready: %s serves requests", mountpoint);
			(void)notify_send("READY=1\nSTATUS=Serving %s: 0 containers", mountpoint);
			return NULL;
		}
		/* Only before the loop runs, or when it already ended: try again shortly. */
		(void)poll(NULL, 0, 10);
	}
	return NULL;
}

static void on_container_release(struct container *c, void *userdata)
{
	struct procbox_fs *fs = userdata;
	unsigned n = nsenter_service_release_tag(fs->nsenter, container_serial(c));

	log_debug("Container %" PRIu64 " (init %d) exited; %u agents stopped", container_serial(c),
		  container_init_pid(c), n);
}

static struct fuse_session *the_session;
static pthread_t main_thread;
static volatile sig_atomic_t upgrade_requested;

/* SIGUSR2: serve no more requests and exec the binary installed now (procbox upgrade).
 * libfuse's loop blocks signals in its workers; the main thread waits in sem_wait(),
 * which the signal interrupts, so it must be the one that gets it. */
static void on_upgrade_signal(int sig)
{
	upgrade_requested = 1;
	if (the_session)
		fuse_session_exit(the_session);
	if (!pthread_equal(pthread_self(), main_thread))
		pthread_kill(main_thread, sig);
}

static void log_node(uint64_t id, const char *path, void *userdata)
{
	int r = state_log_node(userdata, id, path);

	if (r == -EFBIG)
		log_warn(0, "The node table a successor would take over is full; nodes looked "
			    "up from now on are not kept across a restart");
}

static void restore_node(uint64_t id, const char *path, void *userdata)
{
	(void)inode_restore(userdata, id, path);
}

static char *self_exe(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = 0;
	if (n > 10 && strcmp(buf + n - 10, " (deleted)") == 0)
		buf[n - 10] = 0;
	return strdup(buf);
}

int main(int argc, char **argv)
{
	struct procbox_fs fs = {0};
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop = NULL;
	struct fuse_session *se = NULL;
	struct nsenter_service_config ncfg;
	struct control *control = NULL;
	struct handover ho = {.fuse_fd = -EBADF};
	_cleanup_free_ char *exe = self_exe();
	pthread_t housekeeping;
	bool housekeeping_running = false, resumed = false;
	uint32_t generation = 0;
	struct housekeeping hk;
	pthread_t ready_thread;
	struct options o;
	int fuse_fd = -EBADF;
	int r, ret = EXIT_FAILURE;

	if (argc == 3 && strcmp(argv[1], NSENTER_CHILD_ARG) == 0)
		nsenter_child_exec_main(argv[2]);
	log_open();
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return control_status_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], HOLDER_ARG) == 0)
		holder_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], HOLDER_PROBE_ARG) == 0)
		return holder_probe_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "upgrade") == 0)
		return handover_upgrade_command(argc - 1, argv + 1, DEFAULT_MOUNTPOINT,
						DEFAULT_STATE_DIR);
	if (attach_is_command(argc, argv))
		return attach_command_main(argc, argv);
	r = parse_args(argc, argv, &o);
	if (r <= 0)
		return r == 0 ? EXIT_SUCCESS : 2;
	if (o.debug)
		log_set_max_level(LOG_LEVEL_DEBUG);
	if (geteuid() != 0) {
		fprintf(stderr, "procbox: must run as root (it enters containers' namespaces)\n");
		return EXIT_FAILURE;
	}
	main_thread = pthread_self();
	/* A connection an earlier daemon served, kept for us: no mount, no re-attach. */
	r = handover_acquire(&ho, o.state_dir, o.mountpoint);
	if (r == -EBUSY) {
		fprintf(stderr, "procbox: mountpoint %s is busy: another procbox serves it\n",
			o.mountpoint);
		/* Not handover_done(): the folder is the serving daemon's. */
		free(ho.dir);
		return EXIT_FAILURE;
	}
	if (r < 0)
		log_warn(r, "Cannot look for a kept FUSE connection: %m");
	resumed = r > 0;
	if (!resumed) {
		/* Before check_environment() unmounts an earlier procbox's dead mount. */
		(void)attach_restart_prepare(o.mountpoint);
		if (check_environment(&o) < 0) {
			handover_done(&ho);
			return EXIT_FAILURE;
		}
	}
	raise_fd_limit(&o);
	procsys_set_max_fds(o.max_sysctl_fds);
	container_quota_set_limits(CONTAINER_QUOTA_FILES, o.max_files_per_container, o.max_files);
	container_quota_set_limits(CONTAINER_QUOTA_SNAP_BYTES,
				   (uint64_t)o.max_snap_mib_per_container << 20,
				   (uint64_t)o.max_snap_mib << 20);
	if (ho.dir) {
		_cleanup_free_ char *values = NULL;

		/* Emulated values containers wrote, given back after a restart. */
		if (asprintf(&values, "%s/values", ho.dir) < 0 || saved_set_dir(values) < 0)
			log_warn(0, "Emulated values will not be kept across a restart");
	}

	r = tree_init();
	if (r < 0) {
		log_error(r, "Failed to build the handler table: %m");
		return EXIT_FAILURE;
	}
	if (inode_table_new(&fs.inodes) < 0)
		return EXIT_FAILURE;

	if (fuse_opt_add_arg(&args, argv[0]) < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, "allow_other,fsname=procbox,subtype=procbox") < 0)
		goto out;
	se = fuse_session_new(&args, fs_operations(), sizeof(*fs_operations()), &fs);
	if (!se) {
		fprintf(stderr, "procbox: cannot create the FUSE session\n");
		goto out;
	}
	if (fuse_set_signal_handlers(se) < 0)
		goto out;
	the_session = se;
	/* No SA_RESTART: the main thread's sem_wait() must return to see the exit. */
	sigaction(SIGUSR2, &(struct sigaction){.sa_handler = on_upgrade_signal}, NULL);
	if (resumed) {
		fuse_fd = TAKE_FD(ho.fuse_fd);
		if (fs_resume_attach(se, fuse_fd) < 0) {
			safe_close(fuse_fd);
			goto out;
		}
	} else {
		if (fuse_session_mount(se, o.mountpoint) < 0) {
			fprintf(stderr, "procbox: cannot mount on %s\n", o.mountpoint);
			goto out;
		}
		fuse_fd = fuse_session_fd(se);
		r = handover_new_state(&ho, o.state_dir, o.mountpoint);
		if (r >= 0)
			r = fs_resume_attach(se, fuse_fd);
		if (r < 0) {
			log_error(r, "Failed to set up the hand-over of %s: %m", o.mountpoint);
			goto out_unmount;
		}
	}
	if (fs_resume_new(ho.state, &fs.resume) < 0 ||
	    state_next_generation(ho.state, &generation) < 0 ||
	    fs_handles_new(generation, &fs.handles) < 0 ||
	    fs_handles_new(generation, &fs.dir_handles) < 0)
		goto out_unmount;
	if (resumed)
		(void)state_for_each_node(ho.state, restore_node, fs.inodes);
	inode_table_set_log(fs.inodes, log_node, ho.state);

	/* Threads exist only after this point: fork()ing into the background would lose
	 * them. A daemon that exec'd itself is in the background already. */
	if (ho.from != HANDOVER_EXEC && fuse_daemonize(o.foreground) < 0)
		goto out_unmount;
	/* Its stderr is /dev/null now; `procbox reattach`, started later, inherits this. */
	if (!o.foreground)
		log_set_target(LOG_TARGET_SYSLOG);

	ncfg = (struct nsenter_service_config){
	    .timeout_ms = o.timeout_ms,
	    .max_agents = o.max_agents,
	    .max_agents_per_container = o.max_agents_per_container,
	    .agent_idle_ms = o.agent_idle_s * 1000,
	    .max_agent_fds = o.max_agent_fds,
	    .max_children = o.max_children,
	    .exec_children = true,
	};
	r = nsenter_service_new(&ncfg, &fs.nsenter);
	if (r < 0) {
		log_error(r, "Failed to start the nsenter service: %m");
		goto out_unmount;
	}
	r = container_registry_new(on_container_release, &fs, &fs.containers);
	if (r < 0) {
		log_error(r, "Failed to start the container registry: %m");
		goto out_unmount;
	}
	usage_setup(&o.usage, fs.nsenter);
	r = control_start(o.mountpoint, fs.containers, &control);
	if (r < 0)
		log_warn(r, "Cannot open the control socket (procbox status): %m");
	serving = se;
	r = sampler_start(fs.containers);
	if (r < 0)
		log_warn(r, "Cannot start the load average sampler: %m");
	hk = (struct housekeeping){.fs = &fs, .mountpoint = o.mountpoint};
	/* Without it ended containers would never be released, nor children stopped. */
	r = -pthread_create(&housekeeping, NULL, housekeeping_main, &hk);
	if (r < 0) {
		log_error(r, "Failed to start the housekeeping thread: %m");
		goto out_unmount;
	}
	housekeeping_running = true;

	loop = fuse_loop_cfg_create();
	if (!loop)
		goto out_unmount;
	fuse_loop_cfg_set_max_threads(loop, o.max_threads);
	/* One /dev/fuse file for every worker, the one the holder keeps: requests a
	 * worker read live on that file's list and survive this process (a cloned fd's
	 * list would be failed with ECONNABORTED when the process dies). */
	fuse_loop_cfg_set_clone_fd(loop, 0);
	if (resumed) {
		r = fs_resume_session(se, fs.resume, fuse_fd);
		if (r < 0 && r != -EOPNOTSUPP) {
			log_error(r, "Failed to take over the FUSE connection of %s: %m",
				  o.mountpoint);
			goto out_unmount;
		}
		if (r == -EOPNOTSUPP)
			log_warn(0, "This kernel cannot resend requests a dead daemon had read");
	}
	r = handover_keep(&ho, fuse_fd);
	if (r < 0)
		log_warn(r, "The FUSE connection of %s will not outlive this process: %m",
			 o.mountpoint);
	log_info("procbox %s (pid %d) serving %s (timeout %d ms, agents at most %u%s)",
		 PROCBOX_VERSION, (int)getpid(), o.mountpoint, o.timeout_ms, o.max_agents,
		 resumed ? ", connection taken over" : "");
	/* Detached: it ends by itself once a read came back, or with the process. */
	r = -pthread_create(&ready_thread, NULL, ready_main, (void *)o.mountpoint);
	if (r < 0) {
		log_error(r, "Cannot start the readiness check: %m");
		goto out_unmount;
	}
	(void)pthread_detach(ready_thread);
	(void)handover_write_pid(&ho, generation);
	/* Containers left with dead mounts by an earlier procbox get this one's. */
	if (!resumed) {
		r = attach_restart_start(o.mountpoint);
		if (r < 0)
			log_warn(r, "Cannot start re-attaching containers: %m");
	}
	r = fuse_session_loop_mt(se, loop);
	/* libfuse's signal handlers leave the signal number as the loop's result */
	ret = r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP || upgrade_requested
		  ? EXIT_SUCCESS
		  : EXIT_FAILURE;
	(void)notify_send("STOPPING=1\nSTATUS=Stopping");
	if (r > 0)
		log_info("%s on %s: %u containers served",
			 upgrade_requested ? "Upgrading in place" : "Stopping", strsignal(r),
			 container_registry_count(fs.containers));
	else
		log_info("%s: %u containers served",
			 upgrade_requested ? "Upgrading in place" : "Stopping",
			 container_registry_count(fs.containers));
	if (upgrade_requested)
		goto out;
	/* Stopping for good. Under systemd the fd store keeps the connection for the next
	 * start (systemctl restart); it lets it go itself when the unit stops. */
	if (fdstore_available())
		goto out;
	if (resumed)
		(void)umount2(o.mountpoint, MNT_DETACH);
	resumed = false;

out_unmount:
	/* A daemon that took a connection over and failed leaves it to the holder: the
	 * next one may succeed. */
	if (!resumed) {
		fuse_session_unmount(se);
		handover_release(&ho);
	}
out:
	stopping = 1;
	if (housekeeping_running)
		pthread_join(housekeeping, NULL);
	fuse_loop_cfg_destroy(loop);
	control_stop(control);
	/* The sampler walks the registry; the registry's release callback talks to the
	 * nsenter service. */
	sampler_stop();
	fs_close_handles(&fs);
	container_registry_free(fs.containers);
	nsenter_service_free(fs.nsenter);
	if (upgrade_requested && ho.state && exe) {
		/* Everything but the connection and the state is closed by now (CLOEXEC). */
		fuse_remove_signal_handlers(se);
		r = handover_exec(&ho, fuse_fd, exe, argv);
		log_error(r, "Cannot exec %s: %m; the connection waits for a new procbox", exe);
	}
	if (se) {
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	fs_resume_free(fs.resume);
	handover_done(&ho);
	inode_table_free(fs.inodes);
	tree_free();
	fuse_opt_free_args(&args);
	if (ready)
		log_info("Stopped serving %s", o.mountpoint);
	return ret;
}
