/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/nsreq.h"
#include "nsenter/event.h"
#include "util/macro.h"

int nsreq_send(const struct pb_caller *c, unsigned ns_mask, unsigned long clone_flags,
	       struct nsenter_message *req, struct nsenter_message **ret_resp, int *ret_fd)
{
	_cleanup_event_ struct nsenter_event *ev = NULL;
	int r;

	if (!req)
		return -ENOMEM;
	ev = nsenter_service_new_event(c->nsenter, c->pid, c->uid, c->gid, ns_mask, clone_flags,
				       req, false);
	if (!ev) {
		nsenter_message_free(req);
		return -ENOMEM;
	}
	if (c->container)
		nsenter_event_set_tag(ev, container_serial(c->container));
	r = nsenter_event_send_request(ev);
	if (r < 0)
		return r;
	r = nsenter_event_result(ev);
	if (r < 0)
		return r;
	if (ret_fd)
		*ret_fd = nsenter_event_take_fd(ev);
	if (ret_resp) {
		*ret_resp = nsenter_event_get_response_msg(ev);
		/* detach it from the event before the event is freed */
		nsenter_event_detach_response_msg(ev);
	}
	return 0;
}

static struct nsenter_message *new_req(enum nsenter_msg_type t, const char *kpath)
{
	struct nsenter_message *m = nsenter_message_new(t);

	if (m && kpath && nsenter_message_set_path(m, kpath) < 0) {
		nsenter_message_free(m);
		return NULL;
	}
	return m;
}

int nsreq_lookup(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		 const char *kpath, struct nsenter_stat *ret)
{
	_cleanup_message_ struct nsenter_message *resp = NULL;
	int r;

	r = nsreq_send(c, mask, clone_flags, new_req(NSENTER_MSG_LOOKUP_REQ, kpath), &resp, NULL);
	if (r < 0)
		return r;
	*ret = resp->st;
	return 0;
}

int nsreq_stat(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
	       const char *kpath, struct stat *st)
{
	struct nsenter_stat ns;
	int r;

	r = nsreq_lookup(c, mask, clone_flags, kpath, &ns);
	if (r < 0)
		return r;
	pb_default_stat(c, ns.mode, st);
	st->st_uid = c->container ? container_uid_to_host(c->container, ns.uid) : ns.uid;
	st->st_gid = c->container ? container_gid_to_host(c->container, ns.gid) : ns.gid;
	if (!S_ISREG(ns.mode))
		st->st_size = 0;
	return 0;
}

static int open_req(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		    const char *kpath, int flags, bool pass_fd, bool reopen, int *ret_fd)
{
	struct nsenter_message *req = new_req(NSENTER_MSG_OPEN_REQ, kpath);
	int fd = -EBADF, r;

	if (req) {
		req->flags = flags;
		req->pass_fd = pass_fd;
		req->reopen = reopen;
	}
	r = nsreq_send(c, mask, clone_flags, req, NULL, &fd);
	if (r < 0)
		return r;
	if (ret_fd)
		*ret_fd = fd;
	else
		safe_close(fd);
	return 0;
}

int nsreq_open(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
	       const char *kpath, int flags, bool pass_fd, int *ret_fd)
{
	return open_req(c, mask, clone_flags, kpath, flags, pass_fd, false, ret_fd);
}

int nsreq_reopen(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		 const char *kpath, int flags, int *ret_fd)
{
	return open_req(c, mask, clone_flags, kpath, flags, true, true, ret_fd);
}

int nsreq_read(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
	       const char *kpath, char **ret, size_t *ret_len)
{
	_cleanup_message_ struct nsenter_message *resp = NULL;
	struct nsenter_message *req = new_req(NSENTER_MSG_READ_REQ, kpath);
	int r;

	if (req)
		req->length = NSENTER_MSG_MAX_DATA;
	r = nsreq_send(c, mask, clone_flags, req, &resp, NULL);
	if (r < 0)
		return r;
	*ret_len = resp->data_len;
	*ret = (char *)TAKE_PTR(resp->data);
	if (!*ret) {
		*ret = strdup("");
		if (!*ret)
			return -ENOMEM;
	}
	return 0;
}

int nsreq_write(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		const char *kpath, const char *buf, size_t size, off_t off)
{
	_cleanup_message_ struct nsenter_message *resp = NULL;
	struct nsenter_message *req = new_req(NSENTER_MSG_WRITE_REQ, kpath);
	int r;

	if (size > NSENTER_MSG_MAX_DATA) {
		nsenter_message_free(req);
		return -EINVAL;
	}
	if (req) {
		req->offset = off;
		if (nsenter_message_set_data(req, buf, size) < 0) {
			nsenter_message_free(req);
			return -ENOMEM;
		}
	}
	r = nsreq_send(c, mask, clone_flags, req, &resp, NULL);
	if (r < 0)
		return r;
	return (int)resp->length;
}

int nsreq_readdir(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		  const char *kpath, struct pb_dir *d)
{
	_cleanup_message_ struct nsenter_message *resp = NULL;
	int r;

	r = nsreq_send(c, mask, clone_flags, new_req(NSENTER_MSG_READDIR_REQ, kpath), &resp, NULL);
	if (r < 0)
		return r;
	for (size_t i = 0; i < resp->n_entries; i++) {
		const struct nsenter_dirent *e = &resp->entries[i];
		mode_t type = e->type == DT_DIR ? S_IFDIR : e->type == DT_LNK ? S_IFLNK : S_IFREG;

		r = pb_dir_add(d, e->name, type);
		if (r < 0)
			return r;
	}
	return 0;
}

int nsreq_readlink(const struct pb_caller *c, unsigned mask, unsigned long clone_flags,
		   const char *kpath, char *buf, size_t size)
{
	_cleanup_message_ struct nsenter_message *resp = NULL;
	int r;

	r = nsreq_send(c, mask, clone_flags, new_req(NSENTER_MSG_READLINK_REQ, kpath), &resp, NULL);
	if (r < 0)
		return r;
	if (resp->data_len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, resp->data, resp->data_len);
	buf[resp->data_len] = 0;
	return (int)resp->data_len;
}
