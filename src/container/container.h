/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nsenter/namespaces.h"

/*
 * Containers, identified by their namespaces alone (no registration): a process belongs
 * to the container of its topmost user namespace below the host's; without one, of its
 * topmost pid namespace below the host's; without that, of the first of its mount, net,
 * uts, ipc namespaces that is not the host's. So `docker run` works as it is, and an
 * `unshare` nested inside a container counts as the same container.
 *
 * A container's state lives until its init (the oldest ancestor of the first caller that
 * is still in the container) exits; a pidfd watch then releases it.
 *
 *   r = container_registry_get(reg, caller_pid, &c);   // a new reference
 *   ... container_value_get(c, "kernel/panic", buf, sizeof(buf)) ...
 *   container_unref(c);
 */

struct container_id {
	enum ns_type type; /* _NS_TYPE_MAX: the host itself */
	uint64_t ino;
};

struct container;
struct container_registry;

/* Called (from the watch thread) when a container's init has exited. */
typedef void (*container_release_fn)(struct container *c, void *userdata);

int container_registry_new(container_release_fn on_release, void *userdata,
			   struct container_registry **ret);
void container_registry_free(struct container_registry *reg);

/* The container of pid, created on first use. */
int container_registry_get(struct container_registry *reg, pid_t pid, struct container **ret);
/* How many containers are tracked now (the host's entry included once used). */
unsigned container_registry_count(struct container_registry *reg);
/* Calls fn for every container listed now (a reference held during the call); the count. */
int container_registry_foreach(struct container_registry *reg,
			       void (*fn)(struct container *c, void *userdata), void *userdata);
/* Drops containers whose init has exited now rather than when the watch thread wakes. */
void container_registry_sweep(struct container_registry *reg);

/* Identity of pid's container, without creating anything. */
int container_identify(pid_t pid, struct container_id *ret);

/* 1 if pid, whose host uid is uid, is the host's root, or is in a container the host's
 * root made: in a user namespace whose topmost ancestor below the host's the host's root
 * made, or, in the host's user namespace, in any namespace that is not the host's. 0 for
 * a host user and for a user namespace a host user made; or a negative errno. */
int container_caller_made_by_host_root(pid_t pid, uid_t uid);

/* The host pid of the init of pid's container (1 for the host), without registering it: for
 * log lines that name a container. Without scan, a container without a pid namespace of its
 * own gets -ENOENT instead of a walk through /proc for its oldest process. */
int container_find_init(pid_t pid, bool scan, pid_t *ret);

struct container *container_ref(struct container *c);
void container_unref(struct container *c);
static inline void container_unrefp(struct container **c)
{
	if (*c)
		container_unref(*c);
}
#define _cleanup_container_ __attribute__((cleanup(container_unrefp)))

bool container_is_host(const struct container *c);
/* A serial number unique for the daemon's life: never reused, unlike namespace inodes. */
uint64_t container_serial(const struct container *c);
const struct container_id *container_get_id(const struct container *c);
pid_t container_init_pid(const struct container *c);
/* The init's start time, in clock ticks after boot (field 22 of /proc/<pid>/stat). */
uint64_t container_init_start_ticks(const struct container *c);
/* Host uid/gid that the container's root maps to (0/0 without a user namespace). */
uid_t container_root_uid(const struct container *c);
gid_t container_root_gid(const struct container *c);
/* Host id for an id of the container's user namespace; 65534 when unmapped. */
uid_t container_uid_to_host(const struct container *c, uint32_t inside);
gid_t container_gid_to_host(const struct container *c, uint32_t inside);
/*
 * Emulated values, per container: key is the file's path. get returns -ENOENT when the
 * container has not set the key (callers then seed it from the host).
 */
int container_value_get(struct container *c, const char *key, char *buf, size_t size);
int container_value_set(struct container *c, const char *key, const char *value);
unsigned container_value_count(struct container *c);

/*
 * Quotas: what the daemon holds for a container's open files, counted per container and
 * for all containers together, so that one container that opens files in a loop runs
 * into its own limit and never into the daemon's (EMFILE, out of memory) for everyone.
 * A charge either fits both limits and is taken, or is refused and nothing is taken:
 * files get EMFILE over the container's limit and ENFILE over the total (as the kernel
 * names a process's and the system's file table), snapshot bytes ENOMEM.
 */
enum container_quota {
	CONTAINER_QUOTA_FILES,	    /* open files of the mount */
	CONTAINER_QUOTA_SNAP_BYTES, /* bytes of read snapshots kept for open files */
	_CONTAINER_QUOTA_MAX,
};
#define CONTAINER_DEFAULT_MAX_FILES 1024u
#define CONTAINER_DEFAULT_MAX_FILES_TOTAL 65536u
#define CONTAINER_DEFAULT_MAX_SNAP_MIB 16u
#define CONTAINER_DEFAULT_MAX_SNAP_MIB_TOTAL 256u

/* Limits for every container and for all of them; 0 means no limit. Set at start-up. */
void container_quota_set_limits(enum container_quota q, uint64_t per_container, uint64_t total);
/* 0, or -EMFILE/-ENFILE (files) or -ENOMEM (bytes), with nothing charged. */
int container_quota_charge(struct container *c, enum container_quota q, uint64_t n);
void container_quota_uncharge(struct container *c, enum container_quota q, uint64_t n);
/* What c holds now; with c NULL, all containers together. */
uint64_t container_quota_used(const struct container *c, enum container_quota q);

/*
 * Per-container state that other modules keep with a container (a handler's computed views,
 * usage counters), opaque here. Each such module defines one slot for the daemon's life,
 *	static struct container_slot views_slot = {.free_fn = view_cgroups_free};
 * and passes it to container_slot_get()/_set(); its first use registers it (at most
 * CONTAINER_SLOTS_MAX slots). free_fn runs when the container is released.
 */
#define CONTAINER_SLOTS_MAX 8

struct container_slot {
	void (*free_fn)(void *);
	atomic_uint index; /* set at the first use: 1 + the slot's index */
};

/* The slot's value, or NULL. */
void *container_slot_get(struct container *c, struct container_slot *s);
/* Stores p if the slot is empty and returns the slot's value (p or the earlier one); if
 * another value was there, p is freed with free_fn. NULL (p freed) if no slot is left. */
void *container_slot_set(struct container *c, struct container_slot *s, void *p);
