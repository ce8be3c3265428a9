/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/mountinfo.h"

/* The kernel escapes space, tab, newline and backslash in paths as \ooo (show_path(),
 * mangle()). */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ =
			    (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = 0;
	return out;
}

/* The next field before end (moves *p past it); NULL at the end. The kernel puts one space
 * between fields, so two in a row enclose an empty one (a mount whose source is ""). */
static const char *next_field(const char **p, const char *end, size_t *ret_len)
{
	const char *s = *p, *e;

	if (s < end && *s == ' ')
		s++;
	if (s >= end)
		return NULL;
	e = memchr(s, ' ', (size_t)(end - s));
	if (!e)
		e = end;
	*ret_len = (size_t)(e - s);
	*p = e;
	return s;
}

static bool has_option(const char *opts, size_t len, const char *want)
{
	size_t n = strlen(want);

	for (const char *o = opts; o < opts + len;) {
		const char *e = memchr(o, ',', (size_t)(opts + len - o));
		size_t l = e ? (size_t)(e - o) : (size_t)(opts + len - o);

		if (l == n && memcmp(o, want, n) == 0)
			return true;
		o += l + 1;
	}
	return false;
}

void mountinfo_entry_done(struct mountinfo_entry *e)
{
	free(e->root);
	free(e->mountpoint);
	free(e->fstype);
	free(e->source);
	free(e->super_options);
	*e = (struct mountinfo_entry){0};
}

/* The next field, unescaped, into *ret; -EBADMSG at the end of the line. */
static int take_field(const char **p, const char *end, char **ret)
{
	const char *f;
	size_t len;

	f = next_field(p, end, &len);
	if (!f)
		return -EBADMSG;
	*ret = unescape(f, len);
	return *ret ? 0 : -ENOMEM;
}

int mountinfo_parse_line(const char *line, size_t len, struct mountinfo_entry *ret)
{
	/* id parent maj:min root mountpoint options [optional...] - fstype source super_options */
	const char *end = line + len, *p, *f;
	struct mountinfo_entry e = {0};
	_cleanup_free_ char *head = NULL;
	size_t flen;
	int consumed = 0, r;

	/* sscanf() wants a NUL: the first three fields are short. */
	head = strndup(line, MIN(len, (size_t)64));
	if (!head)
		return -ENOMEM;
	if (sscanf(head, "%d %d %u:%u%n", &e.mnt_id, &e.parent_id, &e.major, &e.minor, &consumed) !=
		4 ||
	    (line[consumed] != ' ' && (size_t)consumed != len))
		return -EBADMSG;
	p = line + consumed;

	r = take_field(&p, end, &e.root);
	if (r >= 0)
		r = take_field(&p, end, &e.mountpoint);
	/* The kernel prints an absolute mountpoint; the root is absolute too, but for a
	 * file of a pseudo file system, which it names as such (an nsfs bind, as Docker
	 * keeps of every container's network namespace: "net:[4026532306]"). */
	if (r >= 0 && e.mountpoint[0] != '/')
		r = -EBADMSG;
	if (r >= 0) {
		f = next_field(&p, end, &flen); /* per-mount options */
		if (f)
			e.readonly = has_option(f, flen, "ro");
		else
			r = -EBADMSG;
	}
	/* Optional fields up to the "-" separator. */
	while (r >= 0) {
		f = next_field(&p, end, &flen);
		if (!f)
			r = -EBADMSG;
		else if (flen == 1 && f[0] == '-')
			break;
		else if (flen > 7 && memcmp(f, "shared:", 7) == 0)
			e.shared = true;
	}
	if (r >= 0)
		r = take_field(&p, end, &e.fstype);
	if (r >= 0)
		r = take_field(&p, end, &e.source);
	if (r >= 0)
		r = take_field(&p, end, &e.super_options);
	if (r < 0) {
		mountinfo_entry_done(&e);
		return r;
	}
	*ret = e;
	return 0;
}

int mountinfo_parse(const char *text, struct mountinfo **ret)
{
	struct mountinfo *mi = calloc(1, sizeof(*mi));
	size_t cap = 0;

	if (!mi)
		return -ENOMEM;
	for (const char *l = text; *l;) {
		const char *nl = strchrnul(l, '\n');
		size_t len = (size_t)(nl - l);
		int r = 0;

		if (len > 0) {
			r = ARRAY_GROW(mi->entries, cap, mi->n, 32);
			if (r >= 0)
				r = mountinfo_parse_line(l, len, &mi->entries[mi->n]);
			if (r < 0) {
				mountinfo_free(mi);
				return r;
			}
			mi->n++;
		}
		l = *nl ? nl + 1 : nl;
	}
	*ret = mi;
	return 0;
}

int mountinfo_read_fd(int fd, struct mountinfo **ret)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return negative_errno();
	r = read_full_fd(fd, &text, NULL);
	if (r < 0)
		return r;
	return mountinfo_parse(text, ret);
}

int mountinfo_read_pid(pid_t pid, struct mountinfo **ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	r = read_full_file(path, &text, NULL);
	if (r < 0)
		return r;
	return mountinfo_parse(text, ret);
}

void mountinfo_free(struct mountinfo *mi)
{
	if (!mi)
		return;
	for (size_t i = 0; i < mi->n; i++)
		mountinfo_entry_done(&mi->entries[i]);
	free(mi->entries);
	free(mi);
}

const struct mountinfo_entry *mountinfo_find_id(const struct mountinfo *mi, int mnt_id)
{
	for (size_t i = 0; mi && i < mi->n; i++)
		if (mi->entries[i].mnt_id == mnt_id)
			return &mi->entries[i];
	return NULL;
}

const struct mountinfo_entry *mountinfo_find_top(const struct mountinfo *mi, const char *mountpoint)
{
	const struct mountinfo_entry *top = NULL;

	/* A mount stacked on another lists after it, as its child. */
	for (size_t i = 0; mi && i < mi->n; i++)
		if (strcmp(mi->entries[i].mountpoint, mountpoint) == 0)
			top = &mi->entries[i];
	return top;
}

bool mountinfo_entry_is_procbox(const struct mountinfo_entry *e)
{
	return e && strcmp(e->fstype, "fuse.procbox") == 0 && strcmp(e->source, "procbox") == 0;
}
