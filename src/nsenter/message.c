/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsenter/message.h"
#include "util/array.h"
#include "util/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

/* One bit per wire field; the order is the order the encoder writes them in. */
enum {
	FIELD_PATH,
	FIELD_OFFSET,
	FIELD_LENGTH,
	FIELD_FLAGS,
	FIELD_PASS_FD,
	FIELD_DATA,
	FIELD_ST,
	FIELD_ENTRIES,
	FIELD_ERR,
	FIELD_ERRMSG,
	_FIELD_MAX,
};

#define F(f) (1u << (f))

static const char *const field_keys[_FIELD_MAX] = {
    [FIELD_PATH] = "path",     [FIELD_OFFSET] = "offset",   [FIELD_LENGTH] = "length",
    [FIELD_FLAGS] = "flags",   [FIELD_PASS_FD] = "pass_fd", [FIELD_DATA] = "data",
    [FIELD_ST] = "st",	       [FIELD_ENTRIES] = "entries", [FIELD_ERR] = "err",
    [FIELD_ERRMSG] = "errmsg",
};

/* errmsg is the one optional field: a NULL errmsg is sent as no key at all. */
#define OPTIONAL_FIELDS F(FIELD_ERRMSG)

static const struct {
	const char *name;
	unsigned fields;
	bool request;
} type_table[_NSENTER_MSG_TYPE_MAX] = {
    [NSENTER_MSG_LOOKUP_REQ] = {"lookup", F(FIELD_PATH), true},
    [NSENTER_MSG_LOOKUP_RESP] = {"lookup_resp", F(FIELD_ST), false},
    [NSENTER_MSG_OPEN_REQ] = {"open", F(FIELD_PATH) | F(FIELD_FLAGS) | F(FIELD_PASS_FD), true},
    [NSENTER_MSG_OPEN_RESP] = {"open_resp", 0, false},
    [NSENTER_MSG_READ_REQ] = {"read", F(FIELD_PATH) | F(FIELD_OFFSET) | F(FIELD_LENGTH), true},
    [NSENTER_MSG_READ_RESP] = {"read_resp", F(FIELD_DATA), false},
    [NSENTER_MSG_WRITE_REQ] = {"write", F(FIELD_PATH) | F(FIELD_OFFSET) | F(FIELD_DATA), true},
    [NSENTER_MSG_WRITE_RESP] = {"write_resp", F(FIELD_LENGTH), false},
    [NSENTER_MSG_READDIR_REQ] = {"readdir", F(FIELD_PATH), true},
    [NSENTER_MSG_READDIR_RESP] = {"readdir_resp", F(FIELD_ENTRIES), false},
    [NSENTER_MSG_READLINK_REQ] = {"readlink", F(FIELD_PATH), true},
    [NSENTER_MSG_READLINK_RESP] = {"readlink_resp", F(FIELD_DATA), false},
    [NSENTER_MSG_SLEEP_REQ] = {"sleep", F(FIELD_LENGTH), true},
    [NSENTER_MSG_SLEEP_RESP] = {"sleep_resp", 0, false},
    [NSENTER_MSG_SETHOSTNAME_REQ] = {"sethostname", F(FIELD_FLAGS) | F(FIELD_DATA), true},
    [NSENTER_MSG_SETHOSTNAME_RESP] = {"sethostname_resp", 0, false},
    [NSENTER_MSG_ERROR_RESP] = {"error", F(FIELD_ERR) | F(FIELD_ERRMSG), false},
};

/* The largest errno the kernel hands out (MAX_ERRNO). */
#define ERRNO_MAX 4095
#define NSEC_PER_SEC 1000000000
/* A directory entry name, as the kernel's NAME_MAX. */
#define ENTRY_NAME_MAX 255

/* The decoder's reasons, shared with the encoder's checks so that both agree. */
#define R_TOO_LARGE "message larger than NSENTER_MSG_MAX_SIZE"
#define R_TOO_DEEP "JSON nested deeper than NSENTER_MSG_MAX_DEPTH"
#define R_TRUNCATED "truncated JSON"
#define R_INVALID_JSON "invalid JSON"
#define R_TRAILING "bytes after the JSON object"
#define R_NOT_OBJECT "not a JSON object"
#define R_WHITESPACE "whitespace around the JSON object"
#define R_NO_TYPE "missing type"
#define R_UNKNOWN_TYPE "unknown type"
#define R_UNKNOWN_KEY "unknown key for this type"
#define R_MISSING "missing field"
#define R_WRONG_TYPE "field has the wrong JSON type"
#define R_RANGE "number out of range"
#define R_NEG_OFFSET "negative offset"
#define R_BAD_BASE64 "bad base64 in data"
#define R_DATA_TOO_LARGE "data larger than NSENTER_MSG_MAX_DATA"
#define R_NO_DATA "data missing"
#define R_EMPTY_PATH "empty path"
#define R_PATH_TOO_LONG "path longer than NSENTER_MSG_MAX_PATH"
#define R_PATH_NUL "NUL byte in path"
#define R_TOO_MANY_ENTRIES "more than NSENTER_MSG_MAX_ENTRIES entries"
#define R_BAD_ENTRY_NAME "invalid entry name"
#define R_BAD_NSEC "mtime_nsec outside 0..999999999"
#define R_BAD_ERR "err outside 1..4095"
#define R_ERRMSG_NUL "NUL byte in errmsg"
#define R_NOMEM "out of memory"

const char *nsenter_msg_type_to_string(enum nsenter_msg_type t)
{
	if ((unsigned)t >= _NSENTER_MSG_TYPE_MAX)
		return NULL;
	return type_table[t].name;
}

int nsenter_msg_type_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (int t = 0; t < _NSENTER_MSG_TYPE_MAX; t++)
		if (strcmp(type_table[t].name, s) == 0)
			return t;
	return -EINVAL;
}

bool nsenter_msg_type_is_request(enum nsenter_msg_type t)
{
	return (unsigned)t < _NSENTER_MSG_TYPE_MAX && type_table[t].request;
}

struct nsenter_message *nsenter_message_new(enum nsenter_msg_type type)
{
	struct nsenter_message *m;

	if ((unsigned)type >= _NSENTER_MSG_TYPE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->type = type;
	return m;
}

void nsenter_message_free(struct nsenter_message *m)
{
	if (!m)
		return;
	free(m->path);
	free(m->data);
	for (size_t i = 0; i < m->n_entries; i++)
		free(m->entries[i].name);
	free(m->entries);
	free(m->errmsg);
	free(m);
}

struct nsenter_message *nsenter_message_new_error(int err, const char *fmt, ...)
{
	_cleanup_message_ struct nsenter_message *m = NULL;
	int64_t e = err;

	m = nsenter_message_new(NSENTER_MSG_ERROR_RESP);
	if (!m)
		return NULL;
	/* Widened first: -INT_MIN does not fit an int. Out-of-range values are kept so that the
	 * encoder refuses them instead of sending a made-up errno. */
	e = e < 0 ? -e : e;
	m->err = e > INT32_MAX ? INT32_MAX : (int32_t)e;
	if (fmt) {
		va_list ap;
		int r;

		va_start(ap, fmt);
		r = vasprintf(&m->errmsg, fmt, ap);
		va_end(ap);
		if (r < 0) {
			m->errmsg = NULL;
			return NULL;
		}
	}
	return TAKE_PTR(m);
}

int nsenter_message_set_data(struct nsenter_message *m, const void *data, size_t len)
{
	uint8_t *copy;

	if (!m || (!data && len > 0))
		return -EINVAL;
	if (len == SIZE_MAX)
		return -ENOMEM;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	if (len > 0)
		memcpy(copy, data, len);
	copy[len] = 0;
	free(m->data);
	m->data = copy;
	m->data_len = len;
	return 0;
}

int nsenter_message_set_path(struct nsenter_message *m, const char *path)
{
	char *copy = NULL;

	if (!m)
		return -EINVAL;
	if (path) {
		copy = strdup(path);
		if (!copy)
			return -ENOMEM;
	}
	free(m->path);
	m->path = copy;
	return 0;
}

/* The decoder fills the entries through here too. */
static int entry_append(struct nsenter_message *m, char *name, uint64_t ino, uint32_t type)
{
	if (ARRAY_GROW(m->entries, m->cap_entries, m->n_entries, 16) < 0)
		return -ENOMEM;
	m->entries[m->n_entries++] =
	    (struct nsenter_dirent){.name = name, .ino = ino, .type = type};
	return 0;
}

int nsenter_message_add_entry(struct nsenter_message *m, const char *name, uint64_t ino,
			      uint32_t type)
{
	_cleanup_free_ char *copy = NULL;
	int r;

	if (!m || !name)
		return -EINVAL;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	r = entry_append(m, copy, ino, type);
	if (r < 0)
		return r;
	TAKE_PTR(copy);
	return 0;
}

static bool entry_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	return len > 0 && len <= ENTRY_NAME_MAX && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

/*
 * The rules both directions share: the encoder refuses what the decoder would reject. Returns
 * the errno the encoder reports; the decoder turns every failure into -EBADMSG.
 * json-c saturates integers that overflow to INT64_MIN or UINT64_MAX without telling, so
 * those two values are out of range for every field: a peer cannot mean them anyway.
 */
static int message_validate(const struct nsenter_message *m, const char **ret_reason)
{
	unsigned fields;

	if ((unsigned)m->type >= _NSENTER_MSG_TYPE_MAX) {
		*ret_reason = R_UNKNOWN_TYPE;
		return -EINVAL;
	}
	fields = type_table[m->type].fields;

	if (fields & F(FIELD_PATH)) {
		if (!m->path || m->path[0] == 0) {
			*ret_reason = R_EMPTY_PATH;
			return -EINVAL;
		}
		if (strlen(m->path) > NSENTER_MSG_MAX_PATH) {
			*ret_reason = R_PATH_TOO_LONG;
			return -ENAMETOOLONG;
		}
	}
	if ((fields & F(FIELD_OFFSET)) && m->offset < 0) {
		*ret_reason = R_NEG_OFFSET;
		return -EINVAL;
	}
	if ((fields & F(FIELD_LENGTH)) && m->length == UINT64_MAX) {
		*ret_reason = R_RANGE;
		return -EINVAL;
	}
	if (fields & F(FIELD_DATA)) {
		if (!m->data && m->data_len > 0) {
			*ret_reason = R_NO_DATA;
			return -EINVAL;
		}
		if (m->data_len > NSENTER_MSG_MAX_DATA) {
			*ret_reason = R_DATA_TOO_LARGE;
			return -EMSGSIZE;
		}
	}
	if (fields & F(FIELD_ST)) {
		if (m->st.ino == UINT64_MAX || m->st.size == INT64_MIN ||
		    m->st.mtime_sec == INT64_MIN) {
			*ret_reason = R_RANGE;
			return -EINVAL;
		}
		if (m->st.mtime_nsec < 0 || m->st.mtime_nsec >= NSEC_PER_SEC) {
			*ret_reason = R_BAD_NSEC;
			return -EINVAL;
		}
	}
	if (fields & F(FIELD_ENTRIES)) {
		if (!m->entries && m->n_entries > 0) {
			*ret_reason = R_MISSING;
			return -EINVAL;
		}
		if (m->n_entries > NSENTER_MSG_MAX_ENTRIES) {
			*ret_reason = R_TOO_MANY_ENTRIES;
			return -EMSGSIZE;
		}
		for (size_t i = 0; i < m->n_entries; i++) {
			if (!entry_name_valid(m->entries[i].name)) {
				*ret_reason = R_BAD_ENTRY_NAME;
				return -EINVAL;
			}
			if (m->entries[i].ino == UINT64_MAX) {
				*ret_reason = R_RANGE;
				return -EINVAL;
			}
		}
	}
	if ((fields & F(FIELD_ERR)) && (m->err < 1 || m->err > ERRNO_MAX)) {
		*ret_reason = R_BAD_ERR;
		return -EINVAL;
	}
	return 0;
}

static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static char *base64_encode(const uint8_t *p, size_t len, size_t *ret_len)
{
	size_t out_len = (len + 2) / 3 * 4;
	char *out, *o;

	out = malloc(out_len + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = base64_chars[(v >> 18) & 63];
		*o++ = base64_chars[(v >> 12) & 63];
		*o++ = i + 1 < len ? base64_chars[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? base64_chars[v & 63] : '=';
	}
	*o = 0;
	*ret_len = out_len;
	return out;
}

/*
 * Strict RFC 4648 base64: padded, no line breaks, no whitespace, and the unused bits before
 * the padding must be zero, so that every payload has exactly one encoding. The result is
 * NUL-terminated like nsenter_message_set_data()'s copy.
 */
static int base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len,
			 const char **ret_reason)
{
	_cleanup_free_ uint8_t *out = NULL;
	size_t pad = 0, out_len;
	uint8_t *o;

	if (len % 4 != 0) {
		*ret_reason = R_BAD_BASE64;
		return -EBADMSG;
	}
	if (len > 0 && s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	out_len = len / 4 * 3 - pad;
	out = malloc(out_len + 1);
	if (!out) {
		*ret_reason = R_NOMEM;
		return -ENOMEM;
	}
	o = out;
	for (size_t i = 0; i + 4 <= len; i += 4) {
		bool last = i + 4 == len;
		size_t n_chars = last ? 4 - pad : 4;
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int c = 0;

			if (j < n_chars) {
				c = base64_value(s[i + j]);
				if (c < 0) {
					*ret_reason = R_BAD_BASE64;
					return -EBADMSG;
				}
			}
			v = v << 6 | (uint32_t)c;
		}
		/* Bits that padding hides must be zero, or "QQ==" and "QR==" would both be "A". */
		if ((pad == 1 && last && (v & 0xff)) || (pad == 2 && last && (v & 0xffff))) {
			*ret_reason = R_BAD_BASE64;
			return -EBADMSG;
		}
		*o++ = v >> 16;
		if (n_chars > 2)
			*o++ = (v >> 8) & 0xff;
		if (n_chars > 3)
			*o++ = v & 0xff;
	}
	*o = 0;
	*ret = TAKE_PTR(out);
	*ret_len = out_len;
	return 0;
}

static int json_add(json_object *obj, const char *key, json_object *val)
{
	if (!val)
		return -ENOMEM;
	/* Keys are string literals and each is added once. */
	if (json_object_object_add_ex(
		obj, key, val, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static json_object *stat_to_json(const struct nsenter_stat *st)
{
	_cleanup_(json_object_putp) json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	if (json_add(obj, "ino", json_object_new_uint64(st->ino)) < 0 ||
	    json_add(obj, "mode", json_object_new_int64(st->mode)) < 0 ||
	    json_add(obj, "nlink", json_object_new_int64(st->nlink)) < 0 ||
	    json_add(obj, "uid", json_object_new_int64(st->uid)) < 0 ||
	    json_add(obj, "gid", json_object_new_int64(st->gid)) < 0 ||
	    json_add(obj, "size", json_object_new_int64(st->size)) < 0 ||
	    json_add(obj, "mtime_sec", json_object_new_int64(st->mtime_sec)) < 0 ||
	    json_add(obj, "mtime_nsec", json_object_new_int64(st->mtime_nsec)) < 0)
		return NULL;
	return TAKE_PTR(obj);
}

static json_object *entries_to_json(const struct nsenter_message *m)
{
	_cleanup_(json_object_putp) json_object *arr = json_object_new_array_ext((int)m->n_entries);

	if (!arr)
		return NULL;
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct nsenter_dirent *d = &m->entries[i];
		_cleanup_(json_object_putp) json_object *e = json_object_new_object();

		if (!e || json_add(e, "name", json_object_new_string(d->name)) < 0 ||
		    json_add(e, "ino", json_object_new_uint64(d->ino)) < 0 ||
		    json_add(e, "type", json_object_new_int64(d->type)) < 0)
			return NULL;
		if (json_object_array_add(arr, e) < 0)
			return NULL;
		TAKE_PTR(e);
	}
	return TAKE_PTR(arr);
}

static json_object *data_to_json(const struct nsenter_message *m)
{
	_cleanup_free_ char *b64 = NULL;
	size_t len;

	b64 = base64_encode(m->data, m->data_len, &len);
	if (!b64)
		return NULL;
	return json_object_new_string_len(b64, (int)len);
}

static json_object *field_to_json(const struct nsenter_message *m, int field)
{
	switch (field) {
	case FIELD_PATH:
		return json_object_new_string(m->path);
	case FIELD_OFFSET:
		return json_object_new_int64(m->offset);
	case FIELD_LENGTH:
		return json_object_new_uint64(m->length);
	case FIELD_FLAGS:
		return json_object_new_int(m->flags);
	case FIELD_PASS_FD:
		return json_object_new_boolean(m->pass_fd);
	case FIELD_DATA:
		return data_to_json(m);
	case FIELD_ST:
		return stat_to_json(&m->st);
	case FIELD_ENTRIES:
		return entries_to_json(m);
	case FIELD_ERR:
		return json_object_new_int(m->err);
	case FIELD_ERRMSG:
		return json_object_new_string(m->errmsg);
	}
	return NULL;
}

/*
 * Beyond -EINVAL and -EMSGSIZE, a path over NSENTER_MSG_MAX_PATH gives -ENAMETOOLONG, the
 * errno a caller should pass on.
 */
int nsenter_message_encode(const struct nsenter_message *m, char **ret_buf, size_t *ret_len)
{
	_cleanup_(json_object_putp) json_object *obj = NULL;
	const char *reason, *s;
	unsigned fields;
	size_t len;
	char *buf;
	int r;

	if (!m || !ret_buf || !ret_len)
		return -EINVAL;
	r = message_validate(m, &reason);
	if (r < 0)
		return r;

	obj = json_object_new_object();
	if (!obj)
		return -ENOMEM;
	r = json_add(obj, "type", json_object_new_string(type_table[m->type].name));
	if (r < 0)
		return r;

	fields = type_table[m->type].fields;
	for (int f = 0; f < _FIELD_MAX; f++) {
		if (!(fields & F(f)))
			continue;
		if (f == FIELD_ERRMSG && !m->errmsg)
			continue;
		r = json_add(obj, field_keys[f], field_to_json(m, f));
		if (r < 0)
			return r;
	}

	/* The peer reads '/' as is; escaping it only costs bytes. */
	s = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s)
		return -ENOMEM;
	if (len > NSENTER_MSG_MAX_SIZE)
		return -EMSGSIZE;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, s, len + 1);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* A JSON integer that fits int64_t. An integer above INT64_MAX reads as INT64_MAX from
 * json_object_get_int64(); only json_object_get_uint64() tells it apart. */
static int json_to_int64(json_object *o, int64_t min, int64_t max, int64_t *ret,
			 const char **ret_reason)
{
	int64_t v;

	if (!json_object_is_type(o, json_type_int)) {
		*ret_reason = R_WRONG_TYPE;
		return -EBADMSG;
	}
	v = json_object_get_int64(o);
	if ((v == INT64_MAX && json_object_get_uint64(o) != (uint64_t)INT64_MAX) || v < min ||
	    v > max) {
		*ret_reason = R_RANGE;
		return -EBADMSG;
	}
	*ret = v;
	return 0;
}

/* A JSON integer that fits uint64_t. A negative integer reads as 0 from
 * json_object_get_uint64(); only json_object_get_int64() tells it apart. */
static int json_to_uint64(json_object *o, uint64_t max, uint64_t *ret, const char **ret_reason)
{
	uint64_t v;

	if (!json_object_is_type(o, json_type_int)) {
		*ret_reason = R_WRONG_TYPE;
		return -EBADMSG;
	}
	v = json_object_get_uint64(o);
	if (json_object_get_int64(o) < 0 || v > max) {
		*ret_reason = R_RANGE;
		return -EBADMSG;
	}
	*ret = v;
	return 0;
}

/* A JSON string without NUL bytes (JSON can carry them as \u0000). */
static int json_to_cstring(json_object *o, const char *nul_reason, const char **ret,
			   const char **ret_reason)
{
	const char *s;

	if (!json_object_is_type(o, json_type_string)) {
		*ret_reason = R_WRONG_TYPE;
		return -EBADMSG;
	}
	s = json_object_get_string(o);
	if (strlen(s) != (size_t)json_object_get_string_len(o)) {
		*ret_reason = nul_reason;
		return -EBADMSG;
	}
	*ret = s;
	return 0;
}

static int json_to_strdup(json_object *o, const char *nul_reason, char **ret,
			  const char **ret_reason)
{
	const char *s;
	char *copy;
	int r;

	r = json_to_cstring(o, nul_reason, &s, ret_reason);
	if (r < 0)
		return r;
	copy = strdup(s);
	if (!copy) {
		*ret_reason = R_NOMEM;
		return -ENOMEM;
	}
	*ret = copy;
	return 0;
}

/*
 * Every key of obj is one of keys[0..n_keys), and each of those is present. A JSON null is a
 * NULL json_object, so presence is tracked apart from the values.
 */
static int json_check_keys(json_object *obj, const char *const *keys, size_t n_keys,
			   json_object **values, const char **ret_reason)
{
	unsigned present = 0;

	json_object_object_foreach (obj, key, val) {
		size_t i;

		for (i = 0; i < n_keys; i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (i == n_keys) {
			*ret_reason = R_UNKNOWN_KEY;
			return -EBADMSG;
		}
		values[i] = val;
		present |= 1u << i;
	}
	for (size_t i = 0; i < n_keys; i++)
		if (!(present & (1u << i))) {
			*ret_reason = R_MISSING;
			return -EBADMSG;
		}
	return 0;
}

static int stat_from_json(json_object *o, struct nsenter_stat *st, const char **ret_reason)
{
	static const char *const keys[] = {"ino", "mode", "nlink",     "uid",
					   "gid", "size", "mtime_sec", "mtime_nsec"};
	json_object *v[ELEMENTSOF(keys)] = {};
	uint64_t u[5];
	int64_t s[3];
	int r;

	if (!json_object_is_type(o, json_type_object)) {
		*ret_reason = R_WRONG_TYPE;
		return -EBADMSG;
	}
	r = json_check_keys(o, keys, ELEMENTSOF(keys), v, ret_reason);
	if (r < 0)
		return r;
	r = json_to_uint64(v[0], UINT64_MAX, &u[0], ret_reason);
	for (size_t i = 1; r >= 0 && i < 5; i++)
		r = json_to_uint64(v[i], UINT32_MAX, &u[i], ret_reason);
	for (size_t i = 0; r >= 0 && i < 3; i++)
		r = json_to_int64(v[5 + i], INT64_MIN, INT64_MAX, &s[i], ret_reason);
	if (r < 0)
		return r;

	*st = (struct nsenter_stat){
	    .ino = u[0],
	    .mode = (uint32_t)u[1],
	    .nlink = (uint32_t)u[2],
	    .uid = (uint32_t)u[3],
	    .gid = (uint32_t)u[4],
	    .size = s[0],
	    .mtime_sec = s[1],
	    .mtime_nsec = s[2],
	};
	return 0;
}

static int entries_from_json(json_object *o, struct nsenter_message *m, const char **ret_reason)
{
	static const char *const keys[] = {"name", "ino", "type"};
	size_t n;
	int r;

	if (!json_object_is_type(o, json_type_array)) {
		*ret_reason = R_WRONG_TYPE;
		return -EBADMSG;
	}
	/* The count is checked with the rest in message_validate(): the datagram's size already
	 * bounds the work done here. */
	n = json_object_array_length(o);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(o, i), *v[ELEMENTSOF(keys)] = {};
		_cleanup_free_ char *name = NULL;
		uint64_t ino, type;

		if (!json_object_is_type(e, json_type_object)) {
			*ret_reason = R_WRONG_TYPE;
			return -EBADMSG;
		}
		r = json_check_keys(e, keys, ELEMENTSOF(keys), v, ret_reason);
		if (r < 0)
			return r;
		r = json_to_strdup(v[0], R_BAD_ENTRY_NAME, &name, ret_reason);
		if (r < 0)
			return r;
		r = json_to_uint64(v[1], UINT64_MAX, &ino, ret_reason);
		if (r < 0)
			return r;
		r = json_to_uint64(v[2], UINT32_MAX, &type, ret_reason);
		if (r < 0)
			return r;
		r = entry_append(m, name, ino, (uint32_t)type);
		if (r < 0) {
			*ret_reason = R_NOMEM;
			return r;
		}
		TAKE_PTR(name);
	}
	return 0;
}

static int field_from_json(json_object *o, int field, struct nsenter_message *m,
			   const char **ret_reason)
{
	int64_t s;
	int r;

	switch (field) {
	case FIELD_PATH:
		return json_to_strdup(o, R_PATH_NUL, &m->path, ret_reason);
	case FIELD_OFFSET:
		return json_to_int64(o, INT64_MIN, INT64_MAX, &m->offset, ret_reason);
	case FIELD_LENGTH:
		return json_to_uint64(o, UINT64_MAX, &m->length, ret_reason);
	case FIELD_FLAGS:
		r = json_to_int64(o, INT32_MIN, INT32_MAX, &s, ret_reason);
		if (r >= 0)
			m->flags = (int32_t)s;
		return r;
	case FIELD_PASS_FD:
		if (!json_object_is_type(o, json_type_boolean)) {
			*ret_reason = R_WRONG_TYPE;
			return -EBADMSG;
		}
		m->pass_fd = json_object_get_boolean(o);
		return 0;
	case FIELD_DATA:
		if (!json_object_is_type(o, json_type_string)) {
			*ret_reason = R_WRONG_TYPE;
			return -EBADMSG;
		}
		return base64_decode(json_object_get_string(o),
				     (size_t)json_object_get_string_len(o), &m->data, &m->data_len,
				     ret_reason);
	case FIELD_ST:
		return stat_from_json(o, &m->st, ret_reason);
	case FIELD_ENTRIES:
		return entries_from_json(o, m, ret_reason);
	case FIELD_ERR:
		r = json_to_int64(o, INT32_MIN, INT32_MAX, &s, ret_reason);
		if (r >= 0)
			m->err = (int32_t)s;
		return r;
	case FIELD_ERRMSG:
		return json_to_strdup(o, R_ERRMSG_NUL, &m->errmsg, ret_reason);
	}
	*ret_reason = R_UNKNOWN_KEY;
	return -EBADMSG;
}

static int message_from_json(json_object *obj, struct nsenter_message **ret,
			     const char **ret_reason)
{
	_cleanup_message_ struct nsenter_message *m = NULL;
	json_object *values[_FIELD_MAX] = {}, *type_obj = NULL;
	const char *type_name;
	unsigned fields, present = 0;
	int type, r;

	if (!json_object_object_get_ex(obj, "type", &type_obj)) {
		*ret_reason = R_NO_TYPE;
		return -EBADMSG;
	}
	r = json_to_cstring(type_obj, R_UNKNOWN_TYPE, &type_name, ret_reason);
	if (r < 0)
		return r;
	type = nsenter_msg_type_from_string(type_name);
	if (type < 0) {
		*ret_reason = R_UNKNOWN_TYPE;
		return -EBADMSG;
	}
	fields = type_table[type].fields;

	json_object_object_foreach (obj, key, val) {
		int f;

		if (strcmp(key, "type") == 0)
			continue;
		for (f = 0; f < _FIELD_MAX; f++)
			if ((fields & F(f)) && strcmp(key, field_keys[f]) == 0)
				break;
		if (f == _FIELD_MAX) {
			*ret_reason = R_UNKNOWN_KEY;
			return -EBADMSG;
		}
		values[f] = val;
		present |= F(f);
	}

	m = nsenter_message_new(type);
	if (!m) {
		*ret_reason = R_NOMEM;
		return -ENOMEM;
	}
	for (int f = 0; f < _FIELD_MAX; f++) {
		if (!(fields & F(f)))
			continue;
		if (!(present & F(f))) {
			if (OPTIONAL_FIELDS & F(f))
				continue;
			*ret_reason = R_MISSING;
			return -EBADMSG;
		}
		r = field_from_json(values[f], f, m, ret_reason);
		if (r < 0)
			return r;
	}

	r = message_validate(m, ret_reason);
	if (r < 0)
		return -EBADMSG;
	*ret = TAKE_PTR(m);
	return 0;
}

/*
 * RFC 8259 forbids raw control characters in strings and knows no single-quoted strings; json-c
 * takes both even when strict. Refusing them keeps every accepted message re-encodable within
 * NSENTER_MSG_MAX_SIZE: a raw control byte would grow sixfold into a \u escape.
 */
static bool json_lexically_valid(const char *buf, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (!in_string) {
			if (c == '\'')
				return false;
			in_string = c == '"';
		} else if (c == '\\')
			i++;
		else if (c == '"')
			in_string = false;
		else if (c < 0x20)
			return false;
	}
	return true;
}

/*
 * A datagram is one JSON object and nothing else: json-c tolerates whitespace around it, the
 * protocol does not, because the encoder never writes any and a strict reader is simpler to
 * reason about. json-c's depth counts every value, the top-level object being 1. json-c hides
 * two things from the checks that follow: of duplicate keys the last one wins, and a key is cut
 * at a \u0000 in it.
 */
static int decode(const char *buf, size_t len, struct nsenter_message **ret,
		  const char **ret_reason)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	_cleanup_(json_object_putp) json_object *obj = NULL;
	enum json_tokener_error e;

	if (len > NSENTER_MSG_MAX_SIZE) {
		*ret_reason = R_TOO_LARGE;
		return -EBADMSG;
	}
	if (len == 0 || !buf) {
		*ret_reason = R_TRUNCATED;
		return -EBADMSG;
	}

	if (!json_lexically_valid(buf, len)) {
		*ret_reason = R_INVALID_JSON;
		return -EBADMSG;
	}

	tok = json_tokener_new_ex(NSENTER_MSG_MAX_DEPTH);
	if (!tok) {
		*ret_reason = R_NOMEM;
		return -ENOMEM;
	}
	/* Strict: no comments, no trailing commas, no second object after the first. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	e = json_tokener_get_error(tok);
	/* A bare null parses successfully into NULL. */
	if (!obj && e == json_tokener_success) {
		*ret_reason = R_NOT_OBJECT;
		return -EBADMSG;
	}
	if (!obj) {
		*ret_reason = e == json_tokener_error_depth ? R_TOO_DEEP
			      : e == json_tokener_continue  ? R_TRUNCATED
							    : R_INVALID_JSON;
		return -EBADMSG;
	}
	/* json-c stops at a NUL byte and reports success for what came before it. */
	if (json_tokener_get_parse_end(tok) != len) {
		*ret_reason = R_TRAILING;
		return -EBADMSG;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		*ret_reason = R_NOT_OBJECT;
		return -EBADMSG;
	}
	if (buf[0] != '{' || buf[len - 1] != '}') {
		*ret_reason = R_WHITESPACE;
		return -EBADMSG;
	}
	return message_from_json(obj, ret, ret_reason);
}

int nsenter_message_decode(const char *buf, size_t len, struct nsenter_message **ret,
			   const char **ret_error)
{
	const char *reason = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = decode(buf, len, ret, &reason);
	if (r < 0 && ret_error)
		*ret_error = reason;
	return r;
}
