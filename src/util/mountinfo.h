/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * One line of /proc/<pid>/mountinfo (proc(5)). Paths are unescaped; mountpoint is as the
 * reading process's view of <pid> shows it: relative to <pid>'s root.
 */
struct mountinfo_entry {
	int mnt_id;
	int parent_id;
	unsigned major;
	unsigned minor;
	char *root;	  /* the mount's root inside its file system ("net:[...]" for nsfs) */
	char *mountpoint; /* absolute */
	bool readonly;	  /* per-mount "ro" */
	bool shared;	  /* has a "shared:N" optional field: mounts here propagate */
	char *fstype;	  /* "fuse.procbox", "proc", ... */
	char *source;
	char *super_options; /* "rw,memory", "rw,nsdelegate", ... */
};

struct mountinfo {
	struct mountinfo_entry *entries; /* in the file's order: a parent before its children */
	size_t n;
};

/* Parses one line (without its newline): -EBADMSG if malformed. ret is to be freed with
 * mountinfo_entry_done(). */
int mountinfo_parse_line(const char *line, size_t len, struct mountinfo_entry *ret);
void mountinfo_entry_done(struct mountinfo_entry *e);

/* Parses the whole text; -EBADMSG for a malformed line. */
int mountinfo_parse(const char *text, struct mountinfo **ret);
int mountinfo_read_fd(int fd, struct mountinfo **ret);
int mountinfo_read_pid(pid_t pid, struct mountinfo **ret);
void mountinfo_free(struct mountinfo *mi);
static inline void mountinfo_freep(struct mountinfo **mi)
{
	mountinfo_free(*mi);
}
#define _cleanup_mountinfo_ __attribute__((cleanup(mountinfo_freep)))

const struct mountinfo_entry *mountinfo_find_id(const struct mountinfo *mi, int mnt_id);
/* The mount on top at mountpoint (the last one mounted there), or NULL. */
const struct mountinfo_entry *mountinfo_find_top(const struct mountinfo *mi,
						 const char *mountpoint);

/* A mount that calls itself procbox's (fuse.procbox, source "procbox"). Only for the
 * host's own mount table: a container can give its own FUSE mount these strings, so in a
 * container's namespace procbox's mounts are told by their device number instead. */
bool mountinfo_entry_is_procbox(const struct mountinfo_entry *e);
