/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CREDS_MAX_GROUPS 64

/*
 * A task's credentials as the task itself sees them, i.e. with ids translated into its own
 * user namespace: what an nsenter child must take on, after joining that namespace, to be
 * refused or allowed exactly as the caller would be.
 */
struct creds {
	uid_t ruid, euid, suid, fsuid;
	gid_t rgid, egid, sgid, fsgid;
	uint32_t ngroups;
	gid_t groups[CREDS_MAX_GROUPS];
	uint64_t cap_inh, cap_prm, cap_eff;
};

/* One line of /proc/<pid>/{uid,gid}_map: inside, outside (in the reader's namespace), count. */
struct id_extent {
	uint32_t first, lower_first, count;
};

struct id_map {
	uint32_t n;
	struct id_extent extent[340]; /* the kernel's limit since 4.15 */
};

/* Parses the text of a uid_map/gid_map. -EINVAL on malformed input. */
int id_map_parse(const char *text, struct id_map *ret);

/* Maps an id of the reader's namespace into the map's namespace; (uint32_t)-1 if unmapped. */
uint32_t id_map_to_inside(const struct id_map *map, uint32_t outside);

/* Parses /proc/<pid>/status text (ids as the reader sees them). */
int creds_parse_status(const char *text, struct creds *ret);

/*
 * Reads the credentials of pid from the host side and translates them into pid's user
 * namespace (ids the namespace does not map become the overflow id 65534).
 */
int creds_read(pid_t pid, struct creds *ret);

bool creds_equal(const struct creds *a, const struct creds *b);

/*
 * Takes on c in the current user namespace: groups, gids, uids, then capabilities.
 * Runs in the single-threaded nsenter child after it joined the caller's namespaces.
 * A user namespace whose setgroups is "deny" keeps the groups it has.
 */
int creds_apply(const struct creds *c);
