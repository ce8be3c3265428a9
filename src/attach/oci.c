/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach/oci.h"
#include "util/fileio.h"
#include "util/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

static int parse_json(const char *buf, size_t len, json_object **ret)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	json_object *obj;

	if (len > OCI_MAX_DOCUMENT)
		return -EFBIG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return -EBADMSG;
	}
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (!strchr(" \t\r\n", buf[i]) || !buf[i]) {
			json_object_put(obj);
			return -EBADMSG;
		}
	*ret = obj;
	return 0;
}

static const char *get_string(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int oci_state_parse(const char *buf, size_t len, struct oci_state *ret)
{
	_cleanup_(json_object_putp) json_object *obj = NULL;
	const char *id, *status, *bundle;
	json_object *v;
	int64_t pid;
	int r;

	r = parse_json(buf, len, &obj);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(obj, "pid", &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	pid = json_object_get_int64(v);
	bundle = get_string(obj, "bundle");
	if (pid <= 0 || pid > INT_MAX || !bundle || bundle[0] != '/')
		return -EBADMSG;
	id = get_string(obj, "id");
	status = get_string(obj, "status");
	*ret = (struct oci_state){
	    .id = strdup(id ? id : ""),
	    .status = strdup(status ? status : ""),
	    .pid = (pid_t)pid,
	    .bundle = strdup(bundle),
	};
	if (!ret->id || !ret->status || !ret->bundle) {
		oci_state_done(ret);
		return -ENOMEM;
	}
	if (json_object_object_get_ex(obj, "annotations", &v) &&
	    json_object_is_type(v, json_type_object)) {
		const char *pod = get_string(v, "io.kubernetes.pod.name"),
			   *ns = get_string(v, "io.kubernetes.pod.namespace");

		if (!pod)
			pod = get_string(v, "io.kubernetes.cri.sandbox-name");
		if (!ns)
			ns = get_string(v, "io.kubernetes.cri.sandbox-namespace");
		ret->pod_name = pod ? strdup(pod) : NULL;
		ret->pod_namespace = ns ? strdup(ns) : NULL;
	}
	return 0;
}

void oci_state_done(struct oci_state *s)
{
	free(s->id);
	free(s->status);
	free(s->bundle);
	free(s->pod_name);
	free(s->pod_namespace);
	*s = (struct oci_state){0};
}

static int read_config(const char *bundle, json_object **ret)
{
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX];
	size_t len;
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >= sizeof(path))
		return -ENAMETOOLONG;
	r = read_full_file(path, &text, &len);
	if (r < 0)
		return r;
	return parse_json(text, len, ret);
}

static json_object *get_path(json_object *obj, const char *a, const char *b)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

static bool array_has_string(json_object *arr, const char *s)
{
	size_t n =
	    arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (json_object_is_type(e, json_type_string) &&
		    strcmp(json_object_get_string(e), s) == 0)
			return true;
	}
	return false;
}

int oci_bundle_read(const char *bundle, struct oci_bundle *ret)
{
	_cleanup_(json_object_putp) json_object *cfg = NULL;
	json_object *root;
	const char *rootfs;
	char *abs;
	int r;

	r = read_config(bundle, &cfg);
	if (r < 0)
		return r;
	root = get_path(cfg, "root", NULL);
	rootfs = root ? get_string(root, "path") : NULL;
	if (!rootfs || !*rootfs)
		return -EBADMSG;
	if (rootfs[0] == '/')
		abs = strdup(rootfs);
	else if (asprintf(&abs, "%s/%s", bundle, rootfs) < 0)
		abs = NULL;
	if (!abs)
		return -ENOMEM;
	*ret = (struct oci_bundle){
	    .rootfs = abs,
	    .proc_sys_readonly =
		array_has_string(get_path(cfg, "linux", "readonlyPaths"), "/proc/sys"),
	};
	return 0;
}

void oci_bundle_done(struct oci_bundle *b)
{
	free(b->rootfs);
	*b = (struct oci_bundle){0};
}

static bool hook_matches(json_object *h, const char *path, const char *const *args)
{
	json_object *a;
	const char *p = get_string(h, "path");
	size_t n = 0;

	if (!p || strcmp(p, path) != 0)
		return false;
	while (args[n])
		n++;
	if (!json_object_object_get_ex(h, "args", &a) || !json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);

		if (!json_object_is_type(e, json_type_string) ||
		    strcmp(json_object_get_string(e), args[i]) != 0)
			return false;
	}
	return true;
}

static json_object *new_hook(const char *path, const char *const *args)
{
	_cleanup_(json_object_putp) json_object *h = json_object_new_object();
	json_object *a = json_object_new_array();

	if (!h || !a || json_object_object_add(h, "args", a) < 0) {
		json_object_put(a);
		return NULL;
	}
	for (size_t i = 0; args[i]; i++)
		if (json_object_array_add(a, json_object_new_string(args[i])) < 0)
			return NULL;
	if (json_object_object_add(h, "path", json_object_new_string(path)) < 0)
		return NULL;
	return TAKE_PTR(h);
}

/* Returns the child object (or array) key of obj, creating it if missing. */
static json_object *ensure(json_object *obj, const char *key, json_type type)
{
	json_object *v;

	if (json_object_object_get_ex(obj, key, &v))
		return json_object_is_type(v, type) ? v : NULL;
	v = type == json_type_array ? json_object_new_array() : json_object_new_object();
	if (!v || json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return NULL;
	}
	return v;
}

static int write_config(const char *bundle, json_object *cfg)
{
	_cleanup_close_ int fd = -EBADF;
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *text;
	struct stat st;
	size_t len;

	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.config.json.procbox", bundle) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (stat(path, &st) < 0)
		return negative_errno();
	text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (fd < 0)
		return negative_errno();
	for (size_t off = 0; off < len;) {
		ssize_t k = write(fd, text + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = negative_errno();
			(void)unlink(tmp);
			return r;
		}
		off += (size_t)k;
	}
	if (rename(tmp, path) < 0) {
		int r = negative_errno();
		(void)unlink(tmp);
		return r;
	}
	return 0;
}

int oci_bundle_add_hook(const char *bundle, const char *path, const char *const *args,
			const char *const *unprotect)
{
	_cleanup_(json_object_putp) json_object *cfg = NULL;
	json_object *hooks, *stage, *linux_obj, *ro;
	bool changed = false, present = false;
	int r;

	r = read_config(bundle, &cfg);
	if (r < 0)
		return r;

	hooks = ensure(cfg, "hooks", json_type_object);
	stage = hooks ? ensure(hooks, "createRuntime", json_type_array) : NULL;
	if (!stage)
		return -EBADMSG;
	for (size_t i = 0; i < json_object_array_length(stage) && !present; i++)
		present = hook_matches(json_object_array_get_idx(stage, i), path, args);
	if (!present) {
		json_object *h = new_hook(path, args);

		if (!h || json_object_array_add(stage, h) < 0) {
			json_object_put(h);
			return -ENOMEM;
		}
		changed = true;
	}

	if (json_object_object_get_ex(cfg, "linux", &linux_obj) &&
	    json_object_object_get_ex(linux_obj, "readonlyPaths", &ro) &&
	    json_object_is_type(ro, json_type_array)) {
		for (size_t i = json_object_array_length(ro); i-- > 0;) {
			json_object *e = json_object_array_get_idx(ro, i);

			for (size_t k = 0; unprotect[k]; k++) {
				if (!json_object_is_type(e, json_type_string) ||
				    strcmp(json_object_get_string(e), unprotect[k]) != 0)
					continue;
				if (json_object_array_del_idx(ro, i, 1) < 0)
					return -ENOMEM;
				changed = true;
				break;
			}
		}
	}
	if (!changed)
		return 0;
	r = write_config(bundle, cfg);
	return r < 0 ? r : 1;
}
