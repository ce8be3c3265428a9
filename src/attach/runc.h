/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * procbox-runc, a runtime wrapper for Docker (dockerd --add-runtime procbox=<path>): for
 * `create` and `run` it adds procbox's OCI hook to the bundle's config.json and takes
 * /proc/sys out of readonlyPaths (runc would otherwise remount procbox's /proc/sys
 * read-only, after writing the spec's sysctls through it); then it runs the real runc
 * with the same arguments. Every other command goes to runc untouched.
 */

/*
 * Finds the runc command in argv (argv[0] is the program): *ret_cmd is its index (0 if
 * there is none), *ret_bundle the value of --bundle/-b after it (NULL: none given, the
 * current folder). Global options that take a value are skipped with it.
 */
void runc_parse_args(int argc, char *const *argv, int *ret_cmd, const char **ret_bundle);

/* The real runc: $PROCBOX_RUNC, else the first `runc` in $PATH that is not this program,
 * else /usr/sbin/runc, /usr/bin/runc, /usr/local/sbin/runc. */
int runc_find(char **ret);
