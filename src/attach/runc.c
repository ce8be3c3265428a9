/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach/runc.h"
#include "util/macro.h"

/* runc's global options that take a value (urfave/cli accepts "-x" and "--x" alike). */
static const char *const global_with_value[] = {"log", "log-format", "root", "criu", "rootless"};

/* "--name=value", "--name value", "-name value": the option's name, and whether its value
 * is attached. NULL for a non-option. */
static const char *option_name(const char *arg, size_t *ret_len, bool *ret_attached)
{
	const char *eq;

	if (arg[0] != '-' || arg[1] == 0)
		return NULL;
	arg += arg[1] == '-' ? 2 : 1;
	eq = strchr(arg, '=');
	*ret_len = eq ? (size_t)(eq - arg) : strlen(arg);
	*ret_attached = eq != NULL;
	return arg;
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncmp(name, want, len) == 0;
}

void runc_parse_args(int argc, char *const *argv, int *ret_cmd, const char **ret_bundle)
{
	int cmd = 0;

	*ret_cmd = 0;
	*ret_bundle = NULL;
	for (int i = 1; i < argc; i++) {
		const char *name;
		size_t len;
		bool attached;

		if (strcmp(argv[i], "--") == 0)
			return;
		name = option_name(argv[i], &len, &attached);
		if (!name) {
			cmd = i;
			break;
		}
		for (size_t k = 0; k < ELEMENTSOF(global_with_value); k++)
			if (!attached && name_is(name, len, global_with_value[k]))
				i++;
	}
	if (cmd == 0)
		return;
	*ret_cmd = cmd;
	for (int i = cmd + 1; i < argc; i++) {
		const char *name;
		size_t len;
		bool attached;

		if (strcmp(argv[i], "--") == 0)
			break;
		name = option_name(argv[i], &len, &attached);
		if (!name || !(name_is(name, len, "bundle") || name_is(name, len, "b")))
			continue;
		if (attached)
			*ret_bundle = name + len + 1;
		else if (i + 1 < argc)
			*ret_bundle = argv[++i];
	}
}

static bool is_self(const char *path)
{
	char a[PATH_MAX], b[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", a, sizeof(a) - 1);

	if (n < 0 || !realpath(path, b))
		return false;
	a[n] = 0;
	return strcmp(a, b) == 0;
}

static bool usable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0 &&
	       !is_self(path);
}

int runc_find(char **ret)
{
	static const char *const fallback[] = {"/usr/sbin/runc", "/usr/bin/runc",
					       "/usr/local/sbin/runc"};
	const char *env = getenv("PROCBOX_RUNC"), *path = getenv("PATH");
	char *p;

	if (env && *env) {
		if (!usable(env))
			return -ENOENT;
		p = strdup(env);
		if (!p)
			return -ENOMEM;
		*ret = p;
		return 0;
	}
	for (const char *s = path; s && *s;) {
		const char *e = strchrnul(s, ':');
		_cleanup_free_ char *cand = NULL;

		if (e > s && asprintf(&cand, "%.*s/runc", (int)(e - s), s) >= 0 && usable(cand)) {
			*ret = TAKE_PTR(cand);
			return 0;
		}
		s = *e ? e + 1 : e;
	}
	for (size_t i = 0; i < ELEMENTSOF(fallback); i++) {
		if (!usable(fallback[i]))
			continue;
		p = strdup(fallback[i]);
		if (!p)
			return -ENOMEM;
		*ret = p;
		return 0;
	}
	return -ENOENT;
}
