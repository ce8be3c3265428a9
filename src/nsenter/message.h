/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Messages exchanged between the daemon and an nsenter child, one JSON object per
 * SOCK_SEQPACKET datagram. The wire form is
 *   {"type":"read","path":"net/ipv4/ip_forward","offset":0,"length":4096}
 * with binary payloads ("data") in base64. Every field but "type" depends on the type.
 */

/* Largest datagram either side accepts; the decoder refuses anything larger. */
#define NSENTER_MSG_MAX_SIZE (256u * 1024u)
/* Largest payload (write data, read data, readlink target) after base64 decoding. */
#define NSENTER_MSG_MAX_DATA (128u * 1024u)
/* Largest JSON nesting the decoder accepts. */
#define NSENTER_MSG_MAX_DEPTH 8
/* Largest number of entries in a readdir response. */
#define NSENTER_MSG_MAX_ENTRIES 4096
/* Largest path, in bytes. */
#define NSENTER_MSG_MAX_PATH 4096

enum nsenter_msg_type {
	NSENTER_MSG_LOOKUP_REQ, /* path                        -> LOOKUP_RESP (st) */
	NSENTER_MSG_LOOKUP_RESP,
	NSENTER_MSG_OPEN_REQ, /* path, flags, pass_fd        -> OPEN_RESP (fd in SCM_RIGHTS if
				 pass_fd) */
	NSENTER_MSG_OPEN_RESP,
	NSENTER_MSG_READ_REQ, /* path, offset, length        -> READ_RESP (data) */
	NSENTER_MSG_READ_RESP,
	NSENTER_MSG_WRITE_REQ, /* path, offset, data          -> WRITE_RESP (length = bytes written)
				*/
	NSENTER_MSG_WRITE_RESP,
	NSENTER_MSG_READDIR_REQ, /* path                        -> READDIR_RESP (entries) */
	NSENTER_MSG_READDIR_RESP,
	NSENTER_MSG_READLINK_REQ, /* path                        -> READLINK_RESP (data) */
	NSENTER_MSG_READLINK_RESP,
	NSENTER_MSG_SLEEP_REQ, /* length = milliseconds       -> SLEEP_RESP */
	NSENTER_MSG_SLEEP_RESP,
	NSENTER_MSG_SETHOSTNAME_REQ, /* flags = 0 hostname / 1 domainname, data -> SETHOSTNAME_RESP
				      */
	NSENTER_MSG_SETHOSTNAME_RESP,
	NSENTER_MSG_ERROR_RESP, /* err (positive errno), errmsg */
	_NSENTER_MSG_TYPE_MAX,
};

/* The part of struct stat a lookup returns. */
struct nsenter_stat {
	uint64_t ino;
	uint32_t mode; /* type and permission bits, as st_mode */
	uint32_t nlink;
	uint32_t uid; /* as the child sees them, i.e. in the caller's user namespace */
	uint32_t gid;
	int64_t size;
	int64_t mtime_sec;
	int64_t mtime_nsec;
};

struct nsenter_dirent {
	char *name;
	uint64_t ino;
	uint32_t type; /* DT_* */
};

struct nsenter_message {
	enum nsenter_msg_type type;

	char *path;	 /* requests: relative to the file-system root the child serves */
	int64_t offset;	 /* read, write */
	uint64_t length; /* read: bytes wanted; write resp: bytes written; sleep: ms */
	int32_t flags;	 /* open: O_* flags; sethostname: which name */
	bool pass_fd;	 /* open: send the opened fd back with SCM_RIGHTS */
	/* open, on the daemon's side only (never encoded): do not answer from the agent's
	 * kept fds, and keep the new fd in place of the old one (which failed) */
	bool reopen;

	uint8_t *data; /* read resp, write req, readlink resp, sethostname req */
	size_t data_len;

	struct nsenter_stat st;		/* lookup resp */
	struct nsenter_dirent *entries; /* readdir resp */
	size_t n_entries, cap_entries;

	int32_t err;  /* error resp: positive errno */
	char *errmsg; /* error resp: human-readable context */
};

struct nsenter_message *nsenter_message_new(enum nsenter_msg_type type);
void nsenter_message_free(struct nsenter_message *m);
static inline void nsenter_message_freep(struct nsenter_message **m)
{
	nsenter_message_free(*m);
	*m = NULL;
}
#define _cleanup_message_ __attribute__((cleanup(nsenter_message_freep)))

/* Sets *ret to a new error response for errno err (positive or negative) and message. */
struct nsenter_message *nsenter_message_new_error(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Takes a copy of len bytes into m->data (NUL-terminated, the NUL not counted). */
int nsenter_message_set_data(struct nsenter_message *m, const void *data, size_t len);
int nsenter_message_set_path(struct nsenter_message *m, const char *path);
/* Appends one readdir entry (copies name). */
int nsenter_message_add_entry(struct nsenter_message *m, const char *name, uint64_t ino,
			      uint32_t type);

const char *nsenter_msg_type_to_string(enum nsenter_msg_type t);
int nsenter_msg_type_from_string(const char *s); /* -EINVAL if unknown */
bool nsenter_msg_type_is_request(enum nsenter_msg_type t);

/*
 * Encodes m as JSON. On success *ret_buf is a malloc'ed buffer (NUL-terminated) and
 * *ret_len its length without the NUL. -EMSGSIZE if it would exceed NSENTER_MSG_MAX_SIZE,
 * -EINVAL for a message that is not valid for its type.
 */
int nsenter_message_encode(const struct nsenter_message *m, char **ret_buf, size_t *ret_len);

/*
 * Decodes one datagram. Rejects, with -EBADMSG and a static description in *ret_error
 * (if non-NULL): input over NSENTER_MSG_MAX_SIZE, nesting over NSENTER_MSG_MAX_DEPTH,
 * invalid JSON, trailing bytes after the object, unknown types, missing or wrongly typed
 * fields, out-of-range numbers, bad base64, payloads over NSENTER_MSG_MAX_DATA, paths
 * over NSENTER_MSG_MAX_PATH or with a NUL byte. Never reads past len.
 */
int nsenter_message_decode(const char *buf, size_t len, struct nsenter_message **ret,
			   const char **ret_error);
