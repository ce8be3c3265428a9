/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsenter/message.h"
#include "util/macro.h"

/* ---------- helpers ---------- */

static void assert_str_eq_or_null(const char *a, const char *b, const char *what)
{
	if (!a || !b) {
		cr_assert(a == b, "%s: %s vs %s", what, strna(a), strna(b));
		return;
	}
	cr_assert_str_eq(a, b, "%s differs", what);
}

static void assert_message_eq(const struct nsenter_message *a, const struct nsenter_message *b)
{
	cr_assert_eq(a->type, b->type);
	assert_str_eq_or_null(a->path, b->path, "path");
	cr_assert_eq(a->offset, b->offset);
	cr_assert_eq(a->length, b->length);
	cr_assert_eq(a->flags, b->flags);
	cr_assert_eq(a->pass_fd, b->pass_fd);
	cr_assert_eq(a->data_len, b->data_len);
	if (a->data_len > 0)
		cr_assert(memcmp(a->data, b->data, a->data_len) == 0, "data differs");
	cr_assert_eq(a->st.ino, b->st.ino);
	cr_assert_eq(a->st.mode, b->st.mode);
	cr_assert_eq(a->st.nlink, b->st.nlink);
	cr_assert_eq(a->st.uid, b->st.uid);
	cr_assert_eq(a->st.gid, b->st.gid);
	cr_assert_eq(a->st.size, b->st.size);
	cr_assert_eq(a->st.mtime_sec, b->st.mtime_sec);
	cr_assert_eq(a->st.mtime_nsec, b->st.mtime_nsec);
	cr_assert_eq(a->n_entries, b->n_entries);
	for (size_t i = 0; i < a->n_entries; i++) {
		cr_assert_str_eq(a->entries[i].name, b->entries[i].name, "entry %zu", i);
		cr_assert_eq(a->entries[i].ino, b->entries[i].ino, "entry %zu", i);
		cr_assert_eq(a->entries[i].type, b->entries[i].type, "entry %zu", i);
	}
	cr_assert_eq(a->err, b->err);
	assert_str_eq_or_null(a->errmsg, b->errmsg, "errmsg");
}

/* Encodes m, decodes the result, checks every field came back, and that encoding the decoded
 * message gives the same bytes. Returns the decoded message. */
static struct nsenter_message *roundtrip(const struct nsenter_message *m)
{
	_cleanup_free_ char *buf = NULL, *buf2 = NULL;
	struct nsenter_message *d = NULL;
	const char *reason = NULL;
	size_t len, len2;
	int r;

	r = nsenter_message_encode(m, &buf, &len);
	cr_assert_eq(r, 0, "encode: %s", strerror(-r));
	cr_assert_eq(strlen(buf), len);
	r = nsenter_message_decode(buf, len, &d, &reason);
	cr_assert_eq(r, 0, "decode of %s: %s", buf, strna(reason));
	cr_assert_not_null(d);
	assert_message_eq(m, d);

	r = nsenter_message_encode(d, &buf2, &len2);
	cr_assert_eq(r, 0);
	cr_assert_eq(len, len2);
	cr_assert(memcmp(buf, buf2, len) == 0);
	return d;
}

/* Decodes exactly len bytes from a buffer of that size, so that the sanitizers see any read past
 * the end. */
static int decode_exact(const void *p, size_t len, struct nsenter_message **ret,
			const char **reason)
{
	_cleanup_free_ char *copy = malloc(len ? len : 1);

	cr_assert_not_null(copy);
	memcpy(copy, p, len);
	return nsenter_message_decode(copy, len, ret, reason);
}

/* How much of an input to show in a failure message. */
static int shown(size_t len)
{
	return len > 300 ? 300 : (int)len;
}

static void expect_reject_len(const char *buf, size_t len, const char *reason)
{
	struct nsenter_message *m = NULL;
	const char *got = NULL;
	int r;

	r = decode_exact(buf, len, &m, &got);
	cr_assert_eq(r, -EBADMSG, "accepted (r=%d): %.*s", r, shown(len), buf);
	cr_assert_null(m);
	cr_assert_not_null(got);
	if (reason)
		cr_assert_str_eq(got, reason, "for %.*s", shown(len), buf);
}

static void expect_reject(const char *json, const char *reason)
{
	expect_reject_len(json, strlen(json), reason);
}

_printf_(2, 3) static void expect_rejectf(const char *reason, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert_geq(r, 0);
	expect_reject(s, reason);
}

static struct nsenter_message *expect_accept_len(const char *buf, size_t len)
{
	struct nsenter_message *m = NULL;
	const char *reason = NULL;
	int r;

	r = decode_exact(buf, len, &m, &reason);
	cr_assert_eq(r, 0, "rejected (%s): %.*s", strna(reason), shown(len), buf);
	cr_assert_not_null(m);
	return m;
}

static struct nsenter_message *expect_accept(const char *json)
{
	return expect_accept_len(json, strlen(json));
}

_printf_(1, 2) static struct nsenter_message *expect_acceptf(const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert_geq(r, 0);
	return expect_accept(s);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = 0;
	return s;
}

/* ---------- type helpers ---------- */

Test(types, names_round_trip)
{
	for (int t = 0; t < _NSENTER_MSG_TYPE_MAX; t++) {
		const char *s = nsenter_msg_type_to_string(t);

		cr_assert_not_null(s, "type %d", t);
		cr_assert_eq(nsenter_msg_type_from_string(s), t, "%s", s);
	}
	cr_assert_str_eq(nsenter_msg_type_to_string(NSENTER_MSG_READ_REQ), "read");
	cr_assert_str_eq(nsenter_msg_type_to_string(NSENTER_MSG_READDIR_RESP), "readdir_resp");
	cr_assert_str_eq(nsenter_msg_type_to_string(NSENTER_MSG_ERROR_RESP), "error");
	cr_assert_null(nsenter_msg_type_to_string(_NSENTER_MSG_TYPE_MAX));
	cr_assert_null(nsenter_msg_type_to_string((enum nsenter_msg_type) - 1));
	cr_assert_eq(nsenter_msg_type_from_string("nope"), -EINVAL);
	cr_assert_eq(nsenter_msg_type_from_string("READ"), -EINVAL);
	cr_assert_eq(nsenter_msg_type_from_string(""), -EINVAL);
	cr_assert_eq(nsenter_msg_type_from_string(NULL), -EINVAL);
}

Test(types, is_request)
{
	static const enum nsenter_msg_type requests[] = {
	    NSENTER_MSG_LOOKUP_REQ, NSENTER_MSG_OPEN_REQ,	 NSENTER_MSG_READ_REQ,
	    NSENTER_MSG_WRITE_REQ,  NSENTER_MSG_READDIR_REQ,	 NSENTER_MSG_READLINK_REQ,
	    NSENTER_MSG_SLEEP_REQ,  NSENTER_MSG_SETHOSTNAME_REQ,
	};
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(requests); i++)
		cr_assert(nsenter_msg_type_is_request(requests[i]), "%d", requests[i]);
	for (int t = 0; t < _NSENTER_MSG_TYPE_MAX; t++)
		n += nsenter_msg_type_is_request(t);
	cr_assert_eq(n, ELEMENTSOF(requests));
	cr_assert_not(nsenter_msg_type_is_request(NSENTER_MSG_ERROR_RESP));
	cr_assert_not(nsenter_msg_type_is_request(_NSENTER_MSG_TYPE_MAX));
}

/* ---------- constructors ---------- */

Test(build, new_and_setters)
{
	_cleanup_message_ struct nsenter_message *m = nsenter_message_new(NSENTER_MSG_WRITE_REQ);
	static const uint8_t bin[] = {0, 1, 0xff, 0};

	cr_assert_not_null(m);
	cr_assert_eq(m->type, NSENTER_MSG_WRITE_REQ);
	cr_assert_null(m->path);
	cr_assert_null(nsenter_message_new(_NSENTER_MSG_TYPE_MAX));

	cr_assert_eq(nsenter_message_set_path(m, "a/b"), 0);
	cr_assert_str_eq(m->path, "a/b");
	cr_assert_eq(nsenter_message_set_path(m, "c"), 0);
	cr_assert_str_eq(m->path, "c");

	cr_assert_eq(nsenter_message_set_data(m, bin, sizeof(bin)), 0);
	cr_assert_eq(m->data_len, sizeof(bin));
	cr_assert(memcmp(m->data, bin, sizeof(bin)) == 0);
	cr_assert_eq(m->data[sizeof(bin)], 0, "copy is NUL-terminated");
	cr_assert_eq(nsenter_message_set_data(m, "xyz", 2), 0);
	cr_assert_eq(m->data_len, 2);
	cr_assert_str_eq((char *)m->data, "xy");
	cr_assert_eq(nsenter_message_set_data(m, NULL, 0), 0);
	cr_assert_eq(m->data_len, 0);
	cr_assert_not_null(m->data);
	cr_assert_eq(nsenter_message_set_data(m, NULL, 1), -EINVAL);

	nsenter_message_free(NULL);
}

Test(build, add_entry_grows)
{
	_cleanup_message_ struct nsenter_message *m = nsenter_message_new(NSENTER_MSG_READDIR_RESP);
	char name[32];

	cr_assert_not_null(m);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "e%u", i);
		cr_assert_eq(nsenter_message_add_entry(m, name, 100 + i, i % 15), 0);
	}
	cr_assert_eq(m->n_entries, 1000);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "e%u", i);
		cr_assert_str_eq(m->entries[i].name, name);
		cr_assert_eq(m->entries[i].ino, 100 + i);
		cr_assert_eq(m->entries[i].type, i % 15);
	}
	cr_assert_eq(nsenter_message_add_entry(m, NULL, 1, 1), -EINVAL);
}

Test(build, new_error)
{
	_cleanup_message_ struct nsenter_message *a =
	    nsenter_message_new_error(-ENOENT, "no %s #%d", "x", 3);
	_cleanup_message_ struct nsenter_message *b = nsenter_message_new_error(EACCES, "denied");

	cr_assert_not_null(a);
	cr_assert_eq(a->type, NSENTER_MSG_ERROR_RESP);
	cr_assert_eq(a->err, ENOENT);
	cr_assert_str_eq(a->errmsg, "no x #3");
	cr_assert_not_null(b);
	cr_assert_eq(b->err, EACCES);
	cr_assert_str_eq(b->errmsg, "denied");
}

/* ---------- round trips ---------- */

static void roundtrip_free(const struct nsenter_message *m)
{
	struct nsenter_message *d = roundtrip(m);

	nsenter_message_free(d);
}

Test(roundtrip, exact_wire_form)
{
	_cleanup_message_ struct nsenter_message *m = nsenter_message_new(NSENTER_MSG_READ_REQ);
	_cleanup_free_ char *buf = NULL;
	size_t len;

	cr_assert_eq(nsenter_message_set_path(m, "net/ipv4/ip_forward"), 0);
	m->length = 4096;
	cr_assert_eq(nsenter_message_encode(m, &buf, &len), 0);
	cr_assert_str_eq(buf, "{\"type\":\"read\",\"path\":\"net/ipv4/ip_forward\",\"offset\":0,"
			      "\"length\":4096}");
}

Test(roundtrip, every_type)
{
	for (int t = 0; t < _NSENTER_MSG_TYPE_MAX; t++) {
		_cleanup_message_ struct nsenter_message *m = nsenter_message_new(t);

		cr_assert_not_null(m);
		switch (t) {
		case NSENTER_MSG_LOOKUP_REQ:
		case NSENTER_MSG_READDIR_REQ:
		case NSENTER_MSG_READLINK_REQ:
			cr_assert_eq(nsenter_message_set_path(m, "kernel/hostname"), 0);
			break;
		case NSENTER_MSG_LOOKUP_RESP:
			m->st = (struct nsenter_stat){.ino = 12345,
						      .mode = 0100644,
						      .nlink = 1,
						      .uid = 100000,
						      .gid = 100001,
						      .size = 4096,
						      .mtime_sec = 1700000000,
						      .mtime_nsec = 999999999};
			break;
		case NSENTER_MSG_OPEN_REQ:
			cr_assert_eq(nsenter_message_set_path(m, "net/core/somaxconn"), 0);
			m->flags = 02 | 01000000;
			m->pass_fd = true;
			break;
		case NSENTER_MSG_READ_REQ:
			cr_assert_eq(nsenter_message_set_path(m, "net/ipv4/ip_forward"), 0);
			m->offset = 7;
			m->length = 4096;
			break;
		case NSENTER_MSG_READ_RESP:
		case NSENTER_MSG_READLINK_RESP:
			cr_assert_eq(nsenter_message_set_data(m, "1\n", 2), 0);
			break;
		case NSENTER_MSG_WRITE_REQ:
			cr_assert_eq(nsenter_message_set_path(m, "net/ipv4/ip_forward"), 0);
			m->offset = 1;
			cr_assert_eq(nsenter_message_set_data(m, "0\n", 2), 0);
			break;
		case NSENTER_MSG_WRITE_RESP:
			m->length = 2;
			break;
		case NSENTER_MSG_READDIR_RESP:
			cr_assert_eq(nsenter_message_add_entry(m, "ipv4", 10, 4), 0);
			cr_assert_eq(nsenter_message_add_entry(m, "ip_forward", 11, 8), 0);
			break;
		case NSENTER_MSG_SLEEP_REQ:
			m->length = 250;
			break;
		case NSENTER_MSG_SETHOSTNAME_REQ:
			m->flags = 1;
			cr_assert_eq(nsenter_message_set_data(m, "example.org", 11), 0);
			break;
		case NSENTER_MSG_ERROR_RESP:
			m->err = EACCES;
			m->errmsg = strdup("Failed to open 'kernel/panic': Permission denied");
			cr_assert_not_null(m->errmsg);
			break;
		default:
			break;
		}
		roundtrip_free(m);
	}
}

Test(roundtrip, binary_data)
{
	uint8_t bin[300];

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 7 + 0xf9);
	bin[0] = 0;
	bin[1] = 0xff;
	bin[150] = 0;
	/* Every length 0..10 covers each padding case twice; 300 carries all byte values. */
	for (size_t len = 0; len <= 10; len++) {
		_cleanup_message_ struct nsenter_message *m =
		    nsenter_message_new(NSENTER_MSG_READ_RESP);

		cr_assert_eq(nsenter_message_set_data(m, bin, len), 0);
		roundtrip_free(m);
	}
	for (int t = 0; t < 4; t++) {
		static const enum nsenter_msg_type types[] = {
		    NSENTER_MSG_READ_RESP, NSENTER_MSG_WRITE_REQ, NSENTER_MSG_READLINK_RESP,
		    NSENTER_MSG_SETHOSTNAME_REQ};
		_cleanup_message_ struct nsenter_message *m = nsenter_message_new(types[t]);

		cr_assert_eq(nsenter_message_set_data(m, bin, sizeof(bin)), 0);
		if (types[t] == NSENTER_MSG_WRITE_REQ)
			cr_assert_eq(nsenter_message_set_path(m, "p"), 0);
		roundtrip_free(m);
	}
}

Test(roundtrip, all_byte_values_and_max_data)
{
	_cleanup_message_ struct nsenter_message *m = nsenter_message_new(NSENTER_MSG_WRITE_REQ);
	_cleanup_free_ uint8_t *big = malloc(NSENTER_MSG_MAX_DATA + 1);
	_cleanup_free_ char *buf = NULL;
	size_t len;

	cr_assert_not_null(big);
	for (size_t i = 0; i < NSENTER_MSG_MAX_DATA + 1; i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	cr_assert_eq(nsenter_message_set_path(m, "x"), 0);
	cr_assert_eq(nsenter_message_set_data(m, big, NSENTER_MSG_MAX_DATA), 0);
	roundtrip_free(m);

	cr_assert_eq(nsenter_message_set_data(m, big, NSENTER_MSG_MAX_DATA + 1), 0);
	cr_assert_eq(nsenter_message_encode(m, &buf, &len), -EMSGSIZE);
	cr_assert_null(buf);
}

Test(roundtrip, readdir_many_entries)
{
	_cleanup_message_ struct nsenter_message *m = nsenter_message_new(NSENTER_MSG_READDIR_RESP);
	_cleanup_free_ char *buf = NULL;
	char name[64];
	size_t len;

	for (unsigned i = 0; i < NSENTER_MSG_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "veth%u", i);
		cr_assert_eq(
		    nsenter_message_add_entry(m, name, i == 0 ? UINT64_MAX - 1 : i, i % 15), 0);
	}
	roundtrip_free(m);

	cr_assert_eq(nsenter_message_add_entry(m, "one-too-many", 1, 1), 0);
	cr_assert_eq(nsenter_message_encode(m, &buf, &len), -EMSGSIZE);
}

Test(roundtrip, empty_readdir_and_data)
{
	_cleanup_message_ struct nsenter_message *a = nsenter_message_new(NSENTER_MSG_READDIR_RESP);
	_cleanup_message_ struct nsenter_message *b = nsenter_message_new(NSENTER_MSG_READ_RESP);

	roundtrip_free(a);
	roundtrip_free(b); /* data NULL, length 0: sent as "" */
}

Test(roundtrip, limits)
{
	_cleanup_message_ struct nsenter_message *st = nsenter_message_new(NSENTER_MSG_LOOKUP_RESP);
	_cleanup_message_ struct nsenter_message *rd = nsenter_message_new(NSENTER_MSG_READ_REQ);
	_cleanup_message_ struct nsenter_message *op = nsenter_message_new(NSENTER_MSG_OPEN_REQ);
	_cleanup_message_ struct nsenter_message *er = nsenter_message_new(NSENTER_MSG_ERROR_RESP);
	_cleanup_free_ char *path = repeat('p', NSENTER_MSG_MAX_PATH);

	st->st = (struct nsenter_stat){.ino = UINT64_MAX - 1,
				       .mode = UINT32_MAX,
				       .nlink = UINT32_MAX,
				       .uid = UINT32_MAX,
				       .gid = 0,
				       .size = INT64_MAX,
				       .mtime_sec = INT64_MIN + 1,
				       .mtime_nsec = 0};
	roundtrip_free(st);
	st->st.size = -1;
	st->st.mtime_sec = -1;
	roundtrip_free(st);

	cr_assert_eq(nsenter_message_set_path(rd, path), 0);
	rd->offset = INT64_MAX;
	rd->length = UINT64_MAX - 1;
	roundtrip_free(rd);

	cr_assert_eq(nsenter_message_set_path(op, "a b\t\"\\/\x01\xc3\xa9\xff"), 0);
	op->flags = INT32_MIN;
	roundtrip_free(op);
	op->flags = INT32_MAX;
	roundtrip_free(op);

	er->err = 4095;
	roundtrip_free(er); /* no errmsg */
	er->err = 1;
	er->errmsg = strdup("");
	roundtrip_free(er);
}

/* ---------- encoder refusals ---------- */

static int encode_r(const struct nsenter_message *m)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 12345;
	int r;

	r = nsenter_message_encode(m, &buf, &len);
	if (r < 0) {
		cr_assert_null(buf, "output touched on failure");
		cr_assert_eq(len, 12345, "output touched on failure");
	}
	return r;
}

Test(encode, refuses_invalid)
{
	_cleanup_message_ struct nsenter_message *m = nsenter_message_new(NSENTER_MSG_LOOKUP_REQ);
	_cleanup_free_ char *long_path = repeat('a', NSENTER_MSG_MAX_PATH + 1);

	cr_assert_eq(encode_r(m), -EINVAL, "path missing");
	cr_assert_eq(nsenter_message_set_path(m, ""), 0);
	cr_assert_eq(encode_r(m), -EINVAL, "path empty");
	cr_assert_eq(nsenter_message_set_path(m, long_path), 0);
	cr_assert_eq(encode_r(m), -ENAMETOOLONG);

	m->type = NSENTER_MSG_READ_REQ;
	cr_assert_eq(nsenter_message_set_path(m, "x"), 0);
	m->offset = -1;
	cr_assert_eq(encode_r(m), -EINVAL);
	m->offset = 0;
	m->length = UINT64_MAX;
	cr_assert_eq(encode_r(m), -EINVAL);
	m->length = 0;
	cr_assert_eq(encode_r(m), 0);

	m->type = _NSENTER_MSG_TYPE_MAX;
	cr_assert_eq(encode_r(m), -EINVAL);

	m->type = NSENTER_MSG_READ_RESP;
	m->data_len = 3; /* data NULL */
	cr_assert_eq(encode_r(m), -EINVAL);
	m->data_len = 0;

	m->type = NSENTER_MSG_READDIR_RESP;
	m->n_entries = 2; /* entries NULL */
	cr_assert_eq(encode_r(m), -EINVAL);
	m->n_entries = 0;

	m->type = NSENTER_MSG_LOOKUP_RESP;
	m->st.mtime_nsec = 1000000000;
	cr_assert_eq(encode_r(m), -EINVAL);
	m->st.mtime_nsec = -1;
	cr_assert_eq(encode_r(m), -EINVAL);
	m->st.mtime_nsec = 0;
	m->st.ino = UINT64_MAX;
	cr_assert_eq(encode_r(m), -EINVAL);
	m->st.ino = 0;
	m->st.size = INT64_MIN;
	cr_assert_eq(encode_r(m), -EINVAL);
	m->st.size = 0;
	m->st.mtime_sec = INT64_MIN;
	cr_assert_eq(encode_r(m), -EINVAL);
	m->st.mtime_sec = 0;
	cr_assert_eq(encode_r(m), 0);
}

Test(encode, refuses_bad_error)
{
	_cleanup_message_ struct nsenter_message *m = nsenter_message_new_error(0, "zero");
	_cleanup_message_ struct nsenter_message *big = nsenter_message_new_error(-4096, "big");
	_cleanup_message_ struct nsenter_message *min = nsenter_message_new_error(INT32_MIN, "min");

	cr_assert_eq(encode_r(m), -EINVAL);
	cr_assert_eq(big->err, 4096);
	cr_assert_eq(encode_r(big), -EINVAL);
	cr_assert_gt(min->err, 0);
	cr_assert_eq(encode_r(min), -EINVAL);
	m->err = 4095;
	cr_assert_eq(encode_r(m), 0);
}

Test(encode, refuses_bad_entry_names)
{
	static const char *const bad[] = {"", ".", "..", "a/b", "/", "dir/"};
	_cleanup_free_ char *too_long = repeat('n', 256), *longest = repeat('n', 255);

	for (size_t i = 0; i <= ELEMENTSOF(bad); i++) {
		_cleanup_message_ struct nsenter_message *m =
		    nsenter_message_new(NSENTER_MSG_READDIR_RESP);

		cr_assert_eq(nsenter_message_add_entry(m, "ok", 1, 4), 0);
		cr_assert_eq(encode_r(m), 0);
		cr_assert_eq(
		    nsenter_message_add_entry(m, i < ELEMENTSOF(bad) ? bad[i] : too_long, 2, 4), 0);
		cr_assert_eq(encode_r(m), -EINVAL, "name #%zu", i);
	}
	{
		_cleanup_message_ struct nsenter_message *m =
		    nsenter_message_new(NSENTER_MSG_READDIR_RESP);

		cr_assert_eq(nsenter_message_add_entry(m, longest, 1, 4), 0);
		cr_assert_eq(nsenter_message_add_entry(m, "...", 1, 4), 0);
		cr_assert_eq(nsenter_message_add_entry(m, ".hidden", 1, 4), 0);
		roundtrip_free(m);
		cr_assert_eq(nsenter_message_add_entry(m, "x", UINT64_MAX, 4), 0);
		cr_assert_eq(encode_r(m), -EINVAL, "ino UINT64_MAX is json-c's overflow value");
	}
}

Test(encode, refuses_oversized)
{
	_cleanup_free_ char *msg = repeat('m', NSENTER_MSG_MAX_SIZE);
	_cleanup_message_ struct nsenter_message *m = nsenter_message_new_error(EIO, "%s", msg);

	cr_assert_eq(encode_r(m), -EMSGSIZE);
	/* Control characters grow sixfold when escaped: the size counts the wire form. */
	memset(msg, '\x01', NSENTER_MSG_MAX_SIZE / 5);
	msg[NSENTER_MSG_MAX_SIZE / 5] = 0;
	free(m->errmsg);
	m->errmsg = strdup(msg);
	cr_assert_eq(encode_r(m), -EMSGSIZE);
	msg[NSENTER_MSG_MAX_SIZE / 7] = 0;
	free(m->errmsg);
	m->errmsg = strdup(msg);
	roundtrip_free(m);
}

/* ---------- decoder: framing ---------- */

#define VALID_READ "{\"type\":\"read\",\"path\":\"a\",\"offset\":0,\"length\":1}"

Test(decode, reference_messages_accepted)
{
	static const char *const ok[] = {
	    VALID_READ,
	    "{\"type\":\"lookup\",\"path\":\"kernel/hostname\"}",
	    "{\"length\":1,\"offset\":0,\"path\":\"a\",\"type\":\"read\"}",
	    "{\"type\":\"open\",\"path\":\"a\",\"flags\":-1,\"pass_fd\":false}",
	    "{\"type\":\"write\",\"path\":\"a\",\"offset\":3,\"data\":\"AP8=\"}",
	    "{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"a\",\"ino\":1,\"type\":4}]}",
	    "{\"type\":\"lookup_resp\",\"st\":{\"ino\":1,\"mode\":16877,\"nlink\":2,\"uid\":0,"
	    "\"gid\":0,\"size\":0,\"mtime_sec\":-5,\"mtime_nsec\":0}}",
	    "{\"type\":\"error\",\"err\":2}",
	    "{\"type\":\"error\",\"err\":2,\"errmsg\":\"x\"}",
	    "{\"type\":\"sleep_resp\"}",
	    "{\"type\":\"read\",\"path\":\"a\\/b\",\"offset\":-0,\"length\":1}",
	    "{\"type\" : \"read\", \"path\":\"a\",\n\"offset\":0,\t\"length\":1}",
	    "{\"type\":\"lookup\",\"path\":\"it's \\\"q\\\" \\\\\"}",
	    "{\"type\":\"lookup\",\"path\":\"a\\\"'\"}",
	};

	for (size_t i = 0; i < ELEMENTSOF(ok); i++)
		nsenter_message_free(expect_accept(ok[i]));

	{
		_cleanup_message_ struct nsenter_message *m =
		    expect_accept("{\"type\":\"write\",\"path\":\"a\\/b\",\"offset\":3,"
				  "\"data\":\"AP8=\"}");

		cr_assert_str_eq(m->path, "a/b");
		cr_assert_eq(m->offset, 3);
		cr_assert_eq(m->data_len, 2);
		cr_assert_eq(m->data[0], 0);
		cr_assert_eq(m->data[1], 0xff);
		cr_assert_eq(m->data[2], 0, "NUL-terminated");
	}
}

Test(decode, honours_len)
{
	/* The input is not NUL-terminated: bytes past len must not be looked at. */
	static const char buf[] = VALID_READ "GARBAGE";
	_cleanup_message_ struct nsenter_message *m = NULL;
	const char *reason = NULL;

	cr_assert_eq(nsenter_message_decode(buf, strlen(VALID_READ), &m, &reason), 0);
	cr_assert_str_eq(m->path, "a");
	expect_reject_len(buf, sizeof(buf) - 1, "invalid JSON");
}

Test(decode, every_prefix_rejected)
{
	_cleanup_message_ struct nsenter_message *w = nsenter_message_new(NSENTER_MSG_WRITE_REQ);
	_cleanup_message_ struct nsenter_message *d = nsenter_message_new(NSENTER_MSG_READDIR_RESP);
	_cleanup_message_ struct nsenter_message *s = nsenter_message_new(NSENTER_MSG_LOOKUP_RESP);
	_cleanup_message_ struct nsenter_message *e = nsenter_message_new_error(-EPERM, "nope");
	struct nsenter_message *all[] = {w, d, s, e};

	cr_assert_eq(nsenter_message_set_path(w, "net/ipv4/ip_forward"), 0);
	cr_assert_eq(nsenter_message_set_data(w,
					      "\0\xff"
					      "1",
					      3),
		     0);
	cr_assert_eq(nsenter_message_add_entry(d, "lo", 1, 10), 0);
	cr_assert_eq(nsenter_message_add_entry(d, "eth0", 2, 10), 0);
	s->st.ino = 77;
	s->st.size = -123;

	for (size_t k = 0; k < ELEMENTSOF(all); k++) {
		_cleanup_free_ char *buf = NULL;
		size_t len;

		cr_assert_eq(nsenter_message_encode(all[k], &buf, &len), 0);
		for (size_t n = 0; n < len; n++)
			expect_reject_len(buf, n, NULL);
		nsenter_message_free(expect_accept_len(buf, len));
	}
	expect_reject("{\"type\":\"read\",\"path\":\"a\",\"offset\":0,\"length\":1",
		      "truncated JSON");
	expect_reject_len("", 0, "truncated JSON");
}

Test(decode, oversized)
{
	/* A well-formed message one byte over the limit, and one exactly at it. */
	static const char head[] = "{\"type\":\"error\",\"err\":5,\"errmsg\":\"";
	static const char tail[] = "\"}";
	size_t fill = NSENTER_MSG_MAX_SIZE - (sizeof(head) - 1) - (sizeof(tail) - 1);
	_cleanup_free_ char *buf = malloc(NSENTER_MSG_MAX_SIZE + 2);
	_cleanup_message_ struct nsenter_message *m = NULL;
	size_t len;

	cr_assert_not_null(buf);
	len = (size_t)sprintf(buf, "%s", head);
	memset(buf + len, 'x', fill);
	len += fill;
	len += (size_t)sprintf(buf + len, "%s", tail);
	cr_assert_eq(len, NSENTER_MSG_MAX_SIZE);
	m = expect_accept_len(buf, len);
	cr_assert_eq(strlen(m->errmsg), fill);

	memmove(buf + sizeof(head), buf + sizeof(head) - 1, len - (sizeof(head) - 1) + 1);
	cr_assert_eq(strlen(buf), NSENTER_MSG_MAX_SIZE + 1);
	expect_reject_len(buf, NSENTER_MSG_MAX_SIZE + 1,
			  "message larger than NSENTER_MSG_MAX_SIZE");
}

static char *nested(size_t arrays)
{
	char *s = NULL;
	_cleanup_free_ char *open = repeat('[', arrays), *close = repeat(']', arrays);

	cr_assert_geq(asprintf(&s, "{\"type\":\"lookup\",\"path\":%s1%s}", open, close), 0);
	return s;
}

Test(decode, nesting)
{
	/* Depth counts values: the object is 1, "path" 2, each array one more, the 1 the last. */
	_cleanup_free_ char *at_limit = nested(NSENTER_MSG_MAX_DEPTH - 2);
	_cleanup_free_ char *over = nested(NSENTER_MSG_MAX_DEPTH - 1);
	_cleanup_free_ char *deep = nested(100000);

	/* Parsed, then refused for what it is: an array where a string belongs. */
	expect_reject(at_limit, "field has the wrong JSON type");
	expect_reject(over, "JSON nested deeper than NSENTER_MSG_MAX_DEPTH");
	expect_reject(deep, "JSON nested deeper than NSENTER_MSG_MAX_DEPTH");
	expect_reject(
	    "{\"type\":\"readdir_resp\",\"entries\":[{\"name\":{\"a\":{\"b\":{\"c\":{\"d\":"
	    "{\"e\":{}}}}}},\"ino\":1,\"type\":1}]}",
	    "JSON nested deeper than NSENTER_MSG_MAX_DEPTH");
}

Test(decode, trailing_bytes)
{
	expect_reject(VALID_READ "x", "invalid JSON");
	expect_reject(VALID_READ "{}", "invalid JSON");
	expect_reject(VALID_READ " ", "whitespace around the JSON object");
	expect_reject(VALID_READ "\n", "whitespace around the JSON object");
	expect_reject(" " VALID_READ, "whitespace around the JSON object");
	/* json-c stops at a NUL and calls the part before it a success. */
	expect_reject_len(VALID_READ "\0", sizeof(VALID_READ), "bytes after the JSON object");
	expect_reject_len(VALID_READ "\0garbage", sizeof(VALID_READ "\0garbage") - 1,
			  "bytes after the JSON object");
}

Test(decode, invalid_json)
{
	static const char *const bad[] = {
	    "{\"type\" \"lookup\",\"path\":\"a\"}",
	    "{\"type\":\"lookup\",\"path\":\"a\",}",
	    "{\"type\":lookup,\"path\":\"a\"}",
	    "/*c*/{\"type\":\"lookup\",\"path\":\"a\"}",
	    "{\"type\":\"read\",\"path\":\"a\",\"offset\":01,\"length\":1}",
	    "\xff{}",
	    "}",
	    /* json-c takes these two; JSON does not. */
	    "{\"type\":\"lookup\",\"path\":\"a\x01\"}",
	    "{\"type\":\"lookup\",\"path\":\"a\tb\"}",
	    "{\"type\":\"lookup\",\"path\":'a'}",
	    "{'type':\"lookup\",\"path\":\"a\"}",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		expect_reject(bad[i], "invalid JSON");
	expect_reject_len("{\"type\":\"lookup\",\"path\":\"a\0b\"}",
			  sizeof("{\"type\":\"lookup\",\"path\":\"a\0b\"}") - 1, NULL);
}

Test(decode, not_an_object)
{
	expect_reject("[{\"type\":\"lookup\",\"path\":\"a\"}]", "not a JSON object");
	expect_reject("\"lookup\"", "not a JSON object");
	/* json-c waits for more input after a bare literal; the space ends it. */
	expect_reject("null ", "not a JSON object");
	expect_reject("true ", "not a JSON object");
	expect_reject("[]", "not a JSON object");
}

/* ---------- decoder: type and keys ---------- */

Test(decode, type)
{
	expect_reject("{}", "missing type");
	expect_reject("{\"path\":\"a\"}", "missing type");
	expect_reject("{\"type\":\"nope\",\"path\":\"a\"}", "unknown type");
	expect_reject("{\"type\":\"Lookup\",\"path\":\"a\"}", "unknown type");
	expect_reject("{\"type\":\"\",\"path\":\"a\"}", "unknown type");
	expect_reject("{\"type\":\"lookup\\u0000x\",\"path\":\"a\"}", "unknown type");
	expect_reject("{\"type\":1,\"path\":\"a\"}", "field has the wrong JSON type");
	expect_reject("{\"type\":null,\"path\":\"a\"}", "field has the wrong JSON type");
	expect_reject("{\"type\":[\"lookup\"],\"path\":\"a\"}", "field has the wrong JSON type");
}

Test(decode, unknown_keys)
{
	expect_reject("{\"type\":\"lookup\",\"path\":\"a\",\"foo\":1}",
		      "unknown key for this type");
	/* A key that belongs to another type. */
	expect_reject("{\"type\":\"lookup\",\"path\":\"a\",\"offset\":0}",
		      "unknown key for this type");
	expect_reject("{\"type\":\"sleep_resp\",\"errmsg\":\"x\"}", "unknown key for this type");
	expect_reject(
	    "{\"type\":\"lookup_resp\",\"st\":{\"ino\":1,\"mode\":1,\"nlink\":1,\"uid\":0,"
	    "\"gid\":0,\"size\":0,\"mtime_sec\":0,\"mtime_nsec\":0,\"extra\":0}}",
	    "unknown key for this type");
	expect_reject(
	    "{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"a\",\"ino\":1,\"type\":4,"
	    "\"x\":1}]}",
	    "unknown key for this type");
}

Test(decode, missing_fields)
{
	static const char *const bad[] = {
	    "{\"type\":\"lookup\"}",
	    "{\"type\":\"readdir\"}",
	    "{\"type\":\"readlink\"}",
	    "{\"type\":\"open\",\"flags\":0,\"pass_fd\":true}",
	    "{\"type\":\"open\",\"path\":\"a\",\"pass_fd\":true}",
	    "{\"type\":\"open\",\"path\":\"a\",\"flags\":0}",
	    "{\"type\":\"read\",\"offset\":0,\"length\":1}",
	    "{\"type\":\"read\",\"path\":\"a\",\"length\":1}",
	    "{\"type\":\"read\",\"path\":\"a\",\"offset\":0}",
	    "{\"type\":\"write\",\"path\":\"a\",\"offset\":0}",
	    "{\"type\":\"write\",\"path\":\"a\",\"data\":\"\"}",
	    "{\"type\":\"read_resp\"}",
	    "{\"type\":\"readlink_resp\"}",
	    "{\"type\":\"write_resp\"}",
	    "{\"type\":\"sleep\"}",
	    "{\"type\":\"sethostname\",\"flags\":0}",
	    "{\"type\":\"sethostname\",\"data\":\"\"}",
	    "{\"type\":\"lookup_resp\"}",
	    "{\"type\":\"readdir_resp\"}",
	    "{\"type\":\"error\",\"errmsg\":\"x\"}",
	    "{\"type\":\"lookup_resp\",\"st\":{\"ino\":1,\"nlink\":1,\"uid\":0,"
	    "\"gid\":0,\"size\":0,\"mtime_sec\":0,\"mtime_nsec\":0}}",
	    "{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"a\",\"type\":4}]}",
	    "{\"type\":\"readdir_resp\",\"entries\":[{\"ino\":1,\"type\":4}]}",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		expect_reject(bad[i], "missing field");
}

/* ---------- decoder: field types and ranges ---------- */

#define WRONG "field has the wrong JSON type"
#define RANGE "number out of range"

Test(decode, wrong_types)
{
	static const char *const not_string[] = {"1", "true", "null", "[]", "{}", "1.5"};
	static const char *const not_int[] = {"\"0\"", "0.0", "1e3", "true",
					      "null",  "[0]", "{}",  "NaN"};
	static const char *const not_bool[] = {"1", "0", "\"true\"", "null", "[]"};

	for (size_t i = 0; i < ELEMENTSOF(not_string); i++) {
		expect_rejectf(WRONG, "{\"type\":\"lookup\",\"path\":%s}", not_string[i]);
		expect_rejectf(WRONG, "{\"type\":\"read_resp\",\"data\":%s}", not_string[i]);
		expect_rejectf(WRONG, "{\"type\":\"error\",\"err\":1,\"errmsg\":%s}",
			       not_string[i]);
		expect_rejectf(WRONG,
			       "{\"type\":\"readdir_resp\",\"entries\":[{\"name\":%s,\"ino\":1,"
			       "\"type\":4}]}",
			       not_string[i]);
	}
	for (size_t i = 0; i < ELEMENTSOF(not_int); i++) {
		const char *v = not_int[i];

		expect_rejectf(WRONG,
			       "{\"type\":\"read\",\"path\":\"a\",\"offset\":%s,\"length\":1}", v);
		expect_rejectf(WRONG,
			       "{\"type\":\"read\",\"path\":\"a\",\"offset\":0,\"length\":%s}", v);
		expect_rejectf(
		    WRONG, "{\"type\":\"open\",\"path\":\"a\",\"flags\":%s,\"pass_fd\":true}", v);
		expect_rejectf(WRONG, "{\"type\":\"error\",\"err\":%s}", v);
		expect_rejectf(WRONG, "{\"type\":\"sleep\",\"length\":%s}", v);
		expect_rejectf(WRONG, "{\"type\":\"write_resp\",\"length\":%s}", v);
		expect_rejectf(WRONG, "{\"type\":\"sethostname\",\"flags\":%s,\"data\":\"\"}", v);
		expect_rejectf(WRONG,
			       "{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"a\",\"ino\":%s,"
			       "\"type\":4}]}",
			       v);
		expect_rejectf(WRONG,
			       "{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"a\",\"ino\":1,"
			       "\"type\":%s}]}",
			       v);
	}
	static const char *const st_keys[] = {"ino", "mode", "nlink",	  "uid",
					      "gid", "size", "mtime_sec", "mtime_nsec"};
	for (size_t k = 0; k < ELEMENTSOF(st_keys); k++) {
		char st[512];
		size_t n = 0;

		for (size_t j = 0; j < ELEMENTSOF(st_keys); j++)
			n += (size_t)snprintf(st + n, sizeof(st) - n, "%s\"%s\":%s", j ? "," : "",
					      st_keys[j], j == k ? "\"1\"" : "1");
		expect_rejectf(WRONG, "{\"type\":\"lookup_resp\",\"st\":{%s}}", st);
	}
	for (size_t i = 0; i < ELEMENTSOF(not_bool); i++)
		expect_rejectf(WRONG,
			       "{\"type\":\"open\",\"path\":\"a\",\"flags\":0,\"pass_fd\":%s}",
			       not_bool[i]);
	expect_reject("{\"type\":\"lookup_resp\",\"st\":[]}", WRONG);
	expect_reject("{\"type\":\"lookup_resp\",\"st\":null}", WRONG);
	expect_reject("{\"type\":\"lookup_resp\",\"st\":\"x\"}", WRONG);
	expect_reject("{\"type\":\"readdir_resp\",\"entries\":{}}", WRONG);
	expect_reject("{\"type\":\"readdir_resp\",\"entries\":\"a\"}", WRONG);
	expect_reject("{\"type\":\"readdir_resp\",\"entries\":[\"a\"]}", WRONG);
	expect_reject("{\"type\":\"readdir_resp\",\"entries\":[[]]}", WRONG);
}

Test(decode, huge_and_out_of_range_numbers)
{
	/* json-c saturates on overflow; these must not come out as INT64_MAX or UINT64_MAX. */
	expect_reject("{\"type\":\"read\",\"path\":\"a\",\"offset\":99999999999999999999,"
		      "\"length\":1}",
		      RANGE);
	expect_reject("{\"type\":\"read\",\"path\":\"a\",\"offset\":9223372036854775808,"
		      "\"length\":1}",
		      RANGE);
	nsenter_message_free(expect_accept("{\"type\":\"read\",\"path\":\"a\","
					   "\"offset\":9223372036854775807,\"length\":1}"));
	expect_reject("{\"type\":\"read\",\"path\":\"a\",\"offset\":0,"
		      "\"length\":99999999999999999999}",
		      RANGE);
	expect_reject("{\"type\":\"read\",\"path\":\"a\",\"offset\":0,"
		      "\"length\":18446744073709551615}",
		      RANGE);
	{
		_cleanup_message_ struct nsenter_message *m =
		    expect_accept("{\"type\":\"read\",\"path\":\"a\",\"offset\":0,"
				  "\"length\":18446744073709551614}");

		cr_assert_eq(m->length, UINT64_MAX - 1);
	}
	expect_reject("{\"type\":\"sleep\",\"length\":-1}", RANGE);
	expect_reject("{\"type\":\"write_resp\",\"length\":-99999999999999999999}", RANGE);
	expect_reject("{\"type\":\"read\",\"path\":\"a\",\"offset\":-1,\"length\":1}",
		      "negative offset");
	expect_reject("{\"type\":\"write\",\"path\":\"a\",\"offset\":-9223372036854775807,"
		      "\"data\":\"\"}",
		      "negative offset");

	expect_reject("{\"type\":\"open\",\"path\":\"a\",\"flags\":2147483648,\"pass_fd\":true}",
		      RANGE);
	expect_reject("{\"type\":\"open\",\"path\":\"a\",\"flags\":-2147483649,\"pass_fd\":true}",
		      RANGE);
	{
		_cleanup_message_ struct nsenter_message *m =
		    expect_accept("{\"type\":\"open\",\"path\":\"a\",\"flags\":-2147483648,"
				  "\"pass_fd\":true}");

		cr_assert_eq(m->flags, INT32_MIN);
		cr_assert(m->pass_fd);
	}

	expect_reject("{\"type\":\"error\",\"err\":0}", "err outside 1..4095");
	expect_reject("{\"type\":\"error\",\"err\":-2}", "err outside 1..4095");
	expect_reject("{\"type\":\"error\",\"err\":4096}", "err outside 1..4095");
	expect_reject("{\"type\":\"error\",\"err\":4294967298}", RANGE);
	nsenter_message_free(expect_accept("{\"type\":\"error\",\"err\":4095}"));
}

static void expect_stat(const char *reason, const char *key, const char *value)
{
	static const char *const keys[] = {"ino", "mode", "nlink",     "uid",
					   "gid", "size", "mtime_sec", "mtime_nsec"};
	char st[512];
	size_t n = 0;

	for (size_t j = 0; j < ELEMENTSOF(keys); j++)
		n += (size_t)snprintf(st + n, sizeof(st) - n, "%s\"%s\":%s", j ? "," : "", keys[j],
				      strcmp(keys[j], key) == 0 ? value : "1");
	if (reason)
		expect_rejectf(reason, "{\"type\":\"lookup_resp\",\"st\":{%s}}", st);
	else
		nsenter_message_free(expect_acceptf("{\"type\":\"lookup_resp\",\"st\":{%s}}", st));
}

Test(decode, stat_ranges)
{
	static const char *const u32[] = {"mode", "nlink", "uid", "gid"};

	for (size_t i = 0; i < ELEMENTSOF(u32); i++) {
		expect_stat(RANGE, u32[i], "4294967296");
		expect_stat(RANGE, u32[i], "-1");
		expect_stat(NULL, u32[i], "4294967295");
	}
	expect_stat(RANGE, "ino", "-1");
	expect_stat(RANGE, "ino", "99999999999999999999");
	expect_stat(NULL, "ino", "18446744073709551614");
	expect_stat(RANGE, "size", "9223372036854775808");
	expect_stat(RANGE, "size", "-99999999999999999999");
	expect_stat(NULL, "size", "-9223372036854775807");
	expect_stat(RANGE, "mtime_sec", "-99999999999999999999");
	expect_stat(RANGE, "mtime_sec", "99999999999999999999");
	expect_stat("mtime_nsec outside 0..999999999", "mtime_nsec", "1000000000");
	expect_stat("mtime_nsec outside 0..999999999", "mtime_nsec", "-1");
	expect_stat(NULL, "mtime_nsec", "999999999");
}

/* ---------- decoder: payloads, paths, entries ---------- */

Test(decode, base64)
{
	static const char *const bad[] = {
	    "A",    "AB",     "ABC",  "ABCDE",	    "AB=C", "A===",
	    "====", "=AAA",   "AA=A", "AA==AAAA",   "QR==", "QUJ=",
	    "AB C", "AB\\nC", "-_AA", "AAA\\u0000", "AA.A", "\\u00e9AAA",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		expect_rejectf("bad base64 in data", "{\"type\":\"read_resp\",\"data\":\"%s\"}",
			       bad[i]);

	static const struct {
		const char *b64;
		const char *bin;
		size_t len;
	} good[] = {
	    {"", "", 0},	{"AA==", "\0", 1},	 {"QUI=", "AB", 2},
	    {"QUJD", "ABC", 3}, {"AP8A", "\0\xff\0", 3}, {"+/+/", "\xfb\xff\xbf", 3},
	};
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		_cleanup_message_ struct nsenter_message *m =
		    expect_acceptf("{\"type\":\"read_resp\",\"data\":\"%s\"}", good[i].b64);

		cr_assert_eq(m->data_len, good[i].len, "%s", good[i].b64);
		cr_assert(memcmp(m->data, good[i].bin, good[i].len) == 0, "%s", good[i].b64);
	}
}

Test(decode, data_too_large)
{
	/* 4 base64 characters per 3 bytes: one group past the limit. */
	size_t groups = NSENTER_MSG_MAX_DATA / 3 + 1;
	_cleanup_free_ char *b64 = repeat('A', groups * 4);
	_cleanup_free_ char *b64_ok = repeat('A', (NSENTER_MSG_MAX_DATA / 3) * 4);

	expect_rejectf("data larger than NSENTER_MSG_MAX_DATA",
		       "{\"type\":\"readlink_resp\",\"data\":\"%s\"}", b64);
	{
		_cleanup_message_ struct nsenter_message *m =
		    expect_acceptf("{\"type\":\"readlink_resp\",\"data\":\"%s\"}", b64_ok);

		cr_assert_eq(m->data_len, NSENTER_MSG_MAX_DATA / 3 * 3);
	}
	{
		_cleanup_free_ char *s = NULL;

		cr_assert_geq(
		    asprintf(&s, "{\"type\":\"readlink_resp\",\"data\":\"%sAAA=\"}", b64_ok), 0);
		/* NSENTER_MSG_MAX_DATA is not a multiple of 3: 128 KiB = 3 * 43690 + 2. */
		nsenter_message_free(expect_accept(s));
		free(s);
		s = NULL;
		cr_assert_geq(
		    asprintf(&s, "{\"type\":\"readlink_resp\",\"data\":\"%sAAAA\"}", b64_ok), 0);
		expect_reject(s, "data larger than NSENTER_MSG_MAX_DATA");
	}
}

Test(decode, paths)
{
	_cleanup_free_ char *longest = repeat('p', NSENTER_MSG_MAX_PATH);
	_cleanup_free_ char *too_long = repeat('p', NSENTER_MSG_MAX_PATH + 1);

	expect_reject("{\"type\":\"lookup\",\"path\":\"a\\u0000b\"}", "NUL byte in path");
	expect_reject("{\"type\":\"lookup\",\"path\":\"\\u0000\"}", "NUL byte in path");
	expect_reject("{\"type\":\"readlink\",\"path\":\"\"}", "empty path");
	expect_reject("{\"type\":\"write\",\"path\":\"\",\"offset\":0,\"data\":\"\"}",
		      "empty path");
	expect_rejectf("path longer than NSENTER_MSG_MAX_PATH",
		       "{\"type\":\"lookup\",\"path\":\"%s\"}", too_long);
	{
		_cleanup_message_ struct nsenter_message *m =
		    expect_acceptf("{\"type\":\"lookup\",\"path\":\"%s\"}", longest);

		cr_assert_eq(strlen(m->path), NSENTER_MSG_MAX_PATH);
	}
	{
		_cleanup_message_ struct nsenter_message *m =
		    expect_accept("{\"type\":\"lookup\",\"path\":\"a\\u00e9\\n\"}");

		cr_assert_str_eq(m->path, "a\xc3\xa9\n");
	}
	expect_reject("{\"type\":\"error\",\"err\":5,\"errmsg\":\"a\\u0000\"}",
		      "NUL byte in errmsg");
}

static void expect_entry_name(const char *reason, const char *name_json)
{
	if (reason)
		expect_rejectf(reason,
			       "{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"ok\",\"ino\":1,"
			       "\"type\":4},{\"name\":%s,\"ino\":2,\"type\":8}]}",
			       name_json);
	else
		nsenter_message_free(
		    expect_acceptf("{\"type\":\"readdir_resp\",\"entries\":[{\"name\":%s,"
				   "\"ino\":2,\"type\":8}]}",
				   name_json));
}

Test(decode, entries)
{
	static const char *const bad[] = {"\"\"",  "\".\"",    "\"..\"",       "\"a/b\"",
					  "\"/\"", "\"a\\/\"", "\"a\\u0000\"", "\"\\u0000\""};
	_cleanup_free_ char *n255 = repeat('n', 255), *n256 = repeat('n', 256);
	_cleanup_free_ char *q255 = NULL, *q256 = NULL;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		expect_entry_name("invalid entry name", bad[i]);
	cr_assert_geq(asprintf(&q255, "\"%s\"", n255), 0);
	cr_assert_geq(asprintf(&q256, "\"%s\"", n256), 0);
	expect_entry_name("invalid entry name", q256);
	expect_entry_name(NULL, q255);
	expect_entry_name(NULL, "\"...\"");
	expect_entry_name(NULL, "\".a\"");

	expect_reject("{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"a\",\"ino\":-1,"
		      "\"type\":4}]}",
		      RANGE);
	expect_reject("{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"a\","
		      "\"ino\":18446744073709551615,\"type\":4}]}",
		      RANGE);
	expect_reject("{\"type\":\"readdir_resp\",\"entries\":[{\"name\":\"a\",\"ino\":1,"
		      "\"type\":4294967296}]}",
		      RANGE);
}

Test(decode, too_many_entries)
{
	static const char entry[] = "{\"name\":\"e\",\"ino\":1,\"type\":8},";
	size_t cap = 64 + (NSENTER_MSG_MAX_ENTRIES + 1) * sizeof(entry);
	_cleanup_free_ char *buf = malloc(cap);
	size_t len;

	cr_assert_not_null(buf);
	len = (size_t)sprintf(buf, "{\"type\":\"readdir_resp\",\"entries\":[");
	for (size_t i = 0; i < NSENTER_MSG_MAX_ENTRIES; i++)
		len += (size_t)sprintf(buf + len, "%s", entry);
	strcpy(buf + len - 1, "]}");
	{
		_cleanup_message_ struct nsenter_message *m = expect_accept(buf);

		cr_assert_eq(m->n_entries, NSENTER_MSG_MAX_ENTRIES);
	}
	len = strlen(buf) - 2;
	sprintf(buf + len, ",%.*s]}", (int)sizeof(entry) - 2, entry);
	expect_reject(buf, "more than NSENTER_MSG_MAX_ENTRIES entries");
}

Test(decode, output_untouched_on_failure)
{
	struct nsenter_message *m = (struct nsenter_message *)0x1;
	const char *reason = NULL;

	cr_assert_eq(nsenter_message_decode("{}", 2, &m, &reason), -EBADMSG);
	cr_assert_eq(m, (struct nsenter_message *)0x1);
	cr_assert_str_eq(reason, "missing type");
	/* The reason is optional. */
	cr_assert_eq(nsenter_message_decode("[", 1, &m, NULL), -EBADMSG);
}

/* The fuzzer's seeds are only worth something while the decoder accepts them. */
Test(decode, fuzz_seeds_accepted)
{
	static const char dir_path[] = PROCBOX_SOURCE_ROOT "/tests/fuzz/corpus/fuzz-message";
	DIR *dir = opendir(dir_path);
	struct dirent *de;
	size_t n = 0;

	cr_assert_not_null(dir, "%s: %s", dir_path, strerror(errno));
	while ((de = readdir(dir))) {
		_cleanup_fclose_ FILE *f = NULL;
		char path[1024], buf[4096];
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, de->d_name);
		f = fopen(path, "re");
		cr_assert_not_null(f, "%s", path);
		len = fread(buf, 1, sizeof(buf), f);
		cr_assert(len > 0 && len < sizeof(buf), "%s", path);
		nsenter_message_free(expect_accept_len(buf, len));
		n++;
	}
	closedir(dir);
	cr_assert_geq(n, 10);
}
