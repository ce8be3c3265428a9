/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach/attach.h"
#include "attach/entry.h"
#include "attach/oci.h"
#include "attach/restart.h"
#include "attach/runc.h"
#include "container/container.h"
#include "fs/inodeset.h"
#include "usage/control.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/mountinfo.h"

#define RUNC_WRAPPER_NAME "procbox-runc"

static const char *program_name(const char *argv0)
{
	const char *s = strrchr(argv0, '/');

	return s ? s + 1 : argv0;
}

bool attach_is_command(int argc, char **argv)
{
	if (argc >= 1 && strcmp(program_name(argv[0]), RUNC_WRAPPER_NAME) == 0)
		return true;
	if (argc < 2)
		return false;
	return strcmp(argv[1], "attach") == 0 || strcmp(argv[1], "detach") == 0 ||
	       strcmp(argv[1], "hook") == 0 || strcmp(argv[1], "runc") == 0 ||
	       strcmp(argv[1], "reattach") == 0;
}

struct cmd_options {
	const char *mountpoint;
	bool mountpoint_given; /* --mountpoint or PROCBOX_MOUNTPOINT */
	bool quiet;
};

/* Parses "[--mountpoint DIR] [--quiet]" after the subcommand; returns the index of the
 * first operand, or -1 after printing why not. */
static int parse_options(int argc, char **argv, const char *usage, struct cmd_options *o)
{
	static const struct option longopts[] = {
	    {"mountpoint", required_argument, NULL, 'm'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *env = getenv("PROCBOX_MOUNTPOINT");
	int c;

	*o = (struct cmd_options){
	    .mountpoint = env && *env ? env : ATTACH_DEFAULT_MOUNTPOINT,
	    .mountpoint_given = env && *env,
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "+m:qh", longopts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			o->mountpoint = optarg;
			o->mountpoint_given = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			printf("Usage: procbox %s\n", usage);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Usage: procbox %s\n", usage);
			return -1;
		}
	}
	return optind;
}

static int parse_pid(const char *s, pid_t *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

static int check_mountpoint(const char *prog, const char *mountpoint)
{
	int r = attach_check_mountpoint(mountpoint);

	if (r == -ENOTCONN)
		fprintf(stderr, "%s: the procbox daemon of %s is gone (its mount is dead)\n", prog,
			mountpoint);
	else if (r < 0)
		fprintf(stderr, "%s: no procbox daemon serves %s (start it: procbox %s)\n", prog,
			mountpoint, mountpoint);
	return r;
}

/*
 * The mountpoint of the procbox daemon running here, for an attach without --mountpoint: the
 * procbox mounts of a whole file system (root "/") in our mount namespace that answer. A
 * container's own bind mounts show a path below the root, and a dead daemon's mount does not
 * answer. *ret stays NULL when there is none (the default is used); several are an error that
 * lists them, since picking one would attach a container to a daemon at random.
 */
static int find_daemon_mountpoint(const char *prog, char **ret)
{
	_cleanup_mountinfo_ struct mountinfo *mi = NULL;
	const char *found[16];
	size_t n = 0;
	int r;

	*ret = NULL;
	r = mountinfo_read_pid(getpid(), &mi);
	if (r < 0) {
		fprintf(stderr, "%s: cannot read the mount table: %s\n", prog, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < mi->n; i++) {
		const struct mountinfo_entry *e = &mi->entries[i];
		bool seen = false;

		if (!mountinfo_entry_is_procbox(e) || strcmp(e->root, "/") != 0)
			continue;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(found[k], e->mountpoint) == 0;
		if (seen || attach_check_mountpoint(e->mountpoint) < 0)
			continue;
		if (n < ELEMENTSOF(found))
			found[n++] = e->mountpoint;
	}
	if (n > 1) {
		fprintf(stderr,
			"%s: %zu procbox daemons are running, pick one with --mountpoint:\n", prog,
			n);
		for (size_t k = 0; k < n; k++)
			fprintf(stderr, "  %s\n", found[k]);
		return -ENOTUNIQ;
	}
	if (n == 1 && !(*ret = strdup(found[0])))
		return -ENOMEM;
	return 0;
}

/* One line per point; returns how many failed. */
static unsigned print_items(FILE *f, const char *prog, const struct attach_item *items, bool quiet)
{
	unsigned failed = 0;

	for (size_t i = 0; i < attach_n_items(items); i++) {
		const struct attach_item *it = &items[i];

		if (!attach_outcome_ok(it))
			failed++;
		if (it->serve_error == -ENOENT) {
			if (!quiet)
				fprintf(f, "%s: /%s: not served by this procbox, skipped\n", prog,
					it->path);
		} else if (it->serve_error < 0) {
			fprintf(f, "%s: /%s: cannot copy procbox's mount: %s\n", prog, it->path,
				strerror(-it->serve_error));
		} else if (it->op.outcome == NSMOUNT_FAILED) {
			fprintf(f, "%s: /%s: %s: %s\n", prog, it->path,
				nsmount_outcome_to_string(it->op.outcome), strerror(-it->op.error));
		} else if (!quiet) {
			fprintf(f, "%s: /%s: %s\n", prog, it->path,
				nsmount_outcome_to_string(it->op.outcome));
		}
	}
	return failed;
}

static int cmd_attach_detach(int argc, char **argv, bool attach)
{
	const char *prog = attach ? "procbox attach" : "procbox detach";
	struct attach_item items[ATTACH_MAX_POINTS];
	_cleanup_free_ char *found = NULL;
	struct cmd_options o;
	pid_t pid;
	int i, r;

	i = parse_options(argc - 1, argv + 1,
			  attach ? "attach [--mountpoint DIR] [--quiet] PID"
				 : "detach [--mountpoint DIR] [--quiet] PID",
			  &o);
	if (i < 0)
		return 2;
	if (i + 1 != argc - 1 || parse_pid(argv[1 + i], &pid) < 0) {
		fprintf(stderr, "%s: expected one PID of a process in the container\n", prog);
		return 2;
	}
	r = attach_shares_mount_ns(pid);
	if (r < 0) {
		fprintf(stderr, "%s: cannot inspect pid %d: %s\n", prog, pid, strerror(-r));
		return 1;
	}
	if (r > 0) {
		fprintf(stderr,
			"%s: pid %d shares procbox's own mount namespace: it is not in a "
			"container, refusing\n",
			prog, pid);
		return 1;
	}
	/* Both need the daemon: detach tells its mounts apart by their connection. */
	if (!o.mountpoint_given) {
		if (find_daemon_mountpoint(prog, &found) < 0)
			return 1;
		if (found)
			o.mountpoint = found;
	}
	if (attach) {
		char set[INODESET_NAME_MAX + 1];

		if (check_mountpoint(prog, o.mountpoint) < 0)
			return 1;
		r = attach_set_name_of_pid(pid, set, sizeof(set));
		if (r < 0) {
			fprintf(stderr, "%s: pid %d: cannot find its container's init: %s\n", prog,
				pid, strerror(-r));
			return 1;
		}
		r = attach_container(o.mountpoint, pid, NULL, set, items);
	} else {
		r = detach_container(o.mountpoint, pid, NULL, items);
		if (r == -ENODEV) {
			fprintf(stderr,
				"%s: neither a procbox daemon nor a dead mount of one is at %s: "
				"procbox's mounts cannot be told apart (--mountpoint DIR)\n",
				prog, o.mountpoint);
			return 1;
		}
	}
	if (r < 0) {
		fprintf(stderr, "%s: pid %d: %s\n", prog, pid, strerror(-r));
		return 1;
	}
	return print_items(stdout, prog, items, o.quiet) ? 1 : 0;
}

static bool proc_sys_served(const struct attach_item *items)
{
	for (size_t i = 0; i < attach_n_items(items); i++) {
		const struct attach_item *it = &items[i];

		if (strcmp(it->path, "proc/sys") != 0)
			continue;
		return it->serve_error == 0 &&
		       (it->op.outcome == NSMOUNT_ATTACHED || it->op.outcome == NSMOUNT_REPLACED ||
			it->op.outcome == NSMOUNT_ALREADY);
	}
	return false;
}

/* Control-channel fields are tab-separated, one line. */
static void field_clean(char *s)
{
	for (; s && *s; s++)
		if (*s == '\t' || *s == '\n')
			*s = ' ';
}

/* The names an operator knows the container by, for `procbox status`; a daemon without
 * the control socket (or any failure) costs the container nothing. */
static void tell_names(const char *mountpoint, struct oci_state *s)
{
	_cleanup_free_ char *line = NULL, *answer = NULL;

	field_clean(s->id);
	field_clean(s->pod_name);
	field_clean(s->pod_namespace);
	if (asprintf(&line, "name %d\t%s\t%s\t%s\n", (int)s->pid, s->id,
		     s->pod_name ? s->pod_name : "", s->pod_namespace ? s->pod_namespace : "") < 0)
		return;
	(void)control_ask(mountpoint, line, &answer);
}

static int cmd_hook(int argc, char **argv)
{
	const char *prog = "procbox hook";
	struct attach_item items[ATTACH_MAX_POINTS];
	char set[INODESET_NAME_MAX + 1];
	struct oci_state state = {0};
	struct oci_bundle bundle = {0};
	_cleanup_free_ char *input = NULL;
	struct cmd_options o;
	size_t len;
	int r, ret = 1;

	if (parse_options(argc - 1, argv + 1, "hook [--mountpoint DIR] < STATE-JSON", &o) < 0)
		return 2;
	r = read_full_fd(STDIN_FILENO, &input, &len);
	if (r >= 0)
		r = oci_state_parse(input, len, &state);
	if (r < 0) {
		fprintf(stderr, "%s: expected the OCI state JSON on stdin: %s\n", prog,
			strerror(-r));
		return 1;
	}
	r = oci_bundle_read(state.bundle, &bundle);
	if (r < 0) {
		fprintf(stderr, "%s: cannot read %s/config.json: %s\n", prog, state.bundle,
			strerror(-r));
		goto out;
	}

	/* Without /proc/sys in readonlyPaths (the runtime wrapper took it out, or podman's
	 * unmask), a container that procbox does not cover writes the host's sysctls: then
	 * the container must not start. */
	r = check_mountpoint(prog, o.mountpoint);
	if (r >= 0) {
		/* Its own kernel inodes, named by its id (the pid form if the id cannot name a
		 * set): the same set when it is re-attached after a restart. */
		r = attach_set_name_of_container(state.id, state.pid, set, sizeof(set));
		if (r >= 0)
			r = attach_container(o.mountpoint, state.pid, bundle.rootfs, set, items);
		if (r < 0)
			fprintf(stderr, "%s: container %s (pid %d, rootfs %s): %s\n", prog,
				state.id, state.pid, bundle.rootfs, strerror(-r));
		else
			(void)print_items(stderr, prog, items, o.quiet);
		tell_names(o.mountpoint, &state);
	}
	if (r >= 0 && proc_sys_served(items))
		ret = 0;
	else if (bundle.proc_sys_readonly) {
		fprintf(stderr, "%s: container %s starts without procbox's /proc/sys\n", prog,
			state.id);
		ret = 0;
	} else {
		fprintf(stderr,
			"%s: container %s: refusing to start it with the host's /proc/sys writable "
			"and procbox's not attached\n",
			prog, state.id);
	}
out:
	oci_bundle_done(&bundle);
	oci_state_done(&state);
	return ret;
}

static int cmd_runc(int argc, char **argv)
{
	static const char *const unprotect[] = {"/proc/sys", NULL};
	_cleanup_free_ char *runc = NULL;
	char self[PATH_MAX];
	const char *bundle, *mnt = getenv("PROCBOX_MOUNTPOINT");
	const char *args[] = {"procbox", "hook", mnt && *mnt ? "--mountpoint" : NULL, mnt, NULL};
	ssize_t n;
	int cmd, r;

	r = runc_find(&runc);
	if (r < 0) {
		fprintf(stderr, RUNC_WRAPPER_NAME ": cannot find runc (set PROCBOX_RUNC)\n");
		return 127;
	}
	runc_parse_args(argc, argv, &cmd, &bundle);
	if (cmd > 0 && (strcmp(argv[cmd], "create") == 0 || strcmp(argv[cmd], "run") == 0)) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			fprintf(stderr, RUNC_WRAPPER_NAME ": cannot find its own binary: %m\n");
			return 1;
		}
		self[n] = 0;
		r = oci_bundle_add_hook(bundle ? bundle : ".", self, args, unprotect);
		if (r < 0) {
			fprintf(stderr,
				RUNC_WRAPPER_NAME
				": cannot add procbox's hook to %s/config.json: %s\n",
				bundle ? bundle : ".", strerror(-r));
			return 1;
		}
	}
	argv[0] = (char *)"runc";
	execv(runc, argv);
	fprintf(stderr, RUNC_WRAPPER_NAME ": cannot run %s: %m\n", runc);
	return 127;
}

/* --- re-attach after a restart --- */

/* One line per container mount, named by its container's init pid as the daemon's other
 * lines are. */
static void log_report(const struct reattach_report *r, void *userdata)
{
	const struct nsmount_op *op = r->op;
	int err = r->error < 0 ? r->error : op->outcome == NSMOUNT_FAILED ? op->error : 0;
	pid_t init;

	/* No walk through /proc per mount while containers wait: without a pid namespace of
	 * its own, the container is named by this pid, its mount namespace's lowest. */
	if (container_find_init(r->pid, false, &init) < 0)
		init = r->pid;
	if (err < 0)
		log_warn(err,
			 "Cannot re-attach %s (procbox's %s) of container init %d (pid %d, mount "
			 "namespace %" PRIu64 "): %m",
			 r->mountpoint, r->root, (int)init, r->pid, r->ns_ino);
	else
		log_info("Re-attach %s (procbox's %s) of container init %d (pid %d, mount "
			 "namespace %" PRIu64 "): %s",
			 r->mountpoint, r->root, (int)init, r->pid, r->ns_ino,
			 nsmount_outcome_to_string(op->outcome));
}

static int parse_dev(const char *s, dev_t *ret)
{
	unsigned maj, min;
	int n = 0;

	if (sscanf(s, "%u:%u%n", &maj, &min, &n) != 2 || s[n])
		return -EINVAL;
	*ret = makedev(maj, min);
	return 0;
}

static int cmd_reattach(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"mountpoint", required_argument, NULL, 'm'},
	    {"dev", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	static const char usage[] =
	    "Usage: procbox reattach [--mountpoint DIR] --dev MAJ:MIN [--dev MAJ:MIN]...\n";
	const char *env = getenv("PROCBOX_MOUNTPOINT");
	const char *mountpoint = env && *env ? env : ATTACH_DEFAULT_MOUNTPOINT;
	_cleanup_free_ dev_t *devs = calloc((size_t)argc, sizeof(dev_t));
	struct reattach_stats st;
	struct timespec a, b;
	size_t n = 0;
	int c, r;

	if (!devs)
		return 1;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "+m:h", longopts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			mountpoint = optarg;
			break;
		case 'D':
			if (parse_dev(optarg, &devs[n]) < 0) {
				fprintf(stderr, "procbox reattach: invalid device '%s'\n", optarg);
				return 2;
			}
			n++;
			break;
		case 'h':
			printf("%s", usage);
			return 0;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	/* The dead connections' device numbers are what tells procbox's mounts from a
	 * container's own: the daemon passes those it saw die at its mountpoint. */
	if (optind != argc - 1 || n == 0) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (check_mountpoint("procbox reattach", mountpoint) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = reattach_dead_mounts(mountpoint, devs, n, log_report, NULL, &st);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (r < 0) {
		log_error(r, "Cannot look for containers with dead procbox mounts: %m");
		return 1;
	}
	if (st.dead > 0)
		log_info(
		    "Re-attached %u of %u dead procbox mounts (%u failed) in %.1f ms; %u mount "
		    "namespaces scanned",
		    st.replaced, st.dead, st.failed,
		    (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6,
		    st.namespaces);
	return st.failed > 0 ? 1 : 0;
}

int attach_command_main(int argc, char **argv)
{
	if (strcmp(program_name(argv[0]), RUNC_WRAPPER_NAME) == 0)
		return cmd_runc(argc, argv);
	if (strcmp(argv[1], "runc") == 0)
		return cmd_runc(argc - 1, argv + 1);
	if (strcmp(argv[1], "hook") == 0)
		return cmd_hook(argc, argv);
	if (strcmp(argv[1], "reattach") == 0)
		return cmd_reattach(argc, argv);
	return cmd_attach_detach(argc, argv, strcmp(argv[1], "attach") == 0);
}

/* What the daemon found dead at its mountpoint before replacing that mount. */
static dev_t *restart_devs;
static size_t restart_n_devs;

int attach_restart_prepare(const char *mountpoint)
{
	free(restart_devs);
	restart_devs = NULL;
	restart_n_devs = 0;
	return reattach_dead_devs_at(mountpoint, &restart_devs, &restart_n_devs);
}

/*
 * The re-attach runs as `procbox reattach` in a fresh process: a FUSE request from the
 * daemon's own threads is not a container's, and joining mount namespaces wants a
 * single-threaded process, which a fork of the daemon is only until it execs.
 */
static void *restart_main(void *arg)
{
	char **argv = arg;
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		/* Dies with this thread's process; the daemon's fds (/dev/fuse!) stay behind. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			_exit(127);
		syscall(SYS_close_range, 3U, ~0U, 0);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	if (pid < 0)
		log_error(-errno, "Cannot start procbox reattach: %m");
	else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			log_warn(0,
				 "procbox reattach did not re-attach every container (status %d)",
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
	return NULL;
}

int attach_restart_start(const char *mountpoint)
{
	char **argv;
	pthread_attr_t attr;
	pthread_t t;
	size_t k = 0;
	int r = -ENOMEM;

	/* Nothing died here: containers of other procbox daemons are not this one's. */
	if (restart_n_devs == 0)
		return 0;
	argv = calloc(4 + 2 * restart_n_devs + 1, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	if (!(argv[k++] = strdup("procbox")) || !(argv[k++] = strdup("reattach")) ||
	    !(argv[k++] = strdup("--mountpoint")) || !(argv[k++] = strdup(mountpoint)))
		goto fail;
	for (size_t i = 0; i < restart_n_devs; i++) {
		if (!(argv[k++] = strdup("--dev")) ||
		    asprintf(&argv[k++], "%u:%u", major(restart_devs[i]), minor(restart_devs[i])) <
			0)
			goto fail;
	}
	r = -pthread_attr_init(&attr);
	if (r < 0)
		goto fail;
	r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r == 0)
		r = -pthread_create(&t, &attr, restart_main, argv);
	pthread_attr_destroy(&attr);
	if (r == 0)
		return 0;
fail:
	for (size_t i = 0; i < k; i++)
		free(argv[i]);
	free(argv);
	return r;
}
