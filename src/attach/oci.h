/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The OCI runtime spec's two documents procbox reads: the state a hook gets on stdin, and
 * a bundle's config.json, which the runtime wrapper edits before runc reads it.
 */

/* Largest state document or config.json accepted. */
#define OCI_MAX_DOCUMENT (4u * 1024u * 1024u)

struct oci_state {
	char *id;
	char *status;
	pid_t pid;
	char *bundle;
	/* From annotations, NULL when absent: the Kubernetes pod the container is part of
	 * (io.kubernetes.pod.*, or containerd's io.kubernetes.cri.sandbox-*). */
	char *pod_name;
	char *pod_namespace;
};

/* Parses the state JSON ({"ociVersion","id","status","pid","bundle",...}); pid and
 * bundle are required. -EBADMSG if it is not such a document. */
int oci_state_parse(const char *buf, size_t len, struct oci_state *ret);
void oci_state_done(struct oci_state *s);

struct oci_bundle {
	char *rootfs;		/* root.path, made absolute against the bundle */
	bool proc_sys_readonly; /* "/proc/sys" is in linux.readonlyPaths */
};

int oci_bundle_read(const char *bundle, struct oci_bundle *ret);
void oci_bundle_done(struct oci_bundle *b);

/*
 * Edits <bundle>/config.json in place (a new file renamed over the old one): appends
 * {"path": path, "args": args} to hooks.createRuntime unless an entry with the same path
 * and args is there, and drops every path of unprotect from linux.readonlyPaths. args
 * and unprotect end with NULL. Returns 1 if the file changed, 0 if it had all of it.
 */
int oci_bundle_add_hook(const char *bundle, const char *path, const char *const *args,
			const char *const *unprotect);
