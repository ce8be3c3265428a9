/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/mountinfo.h"
#include "util/fileio.h"
#include "util/macro.h"

/* The kernel escapes space, tab, newline and backslash in paths as \ooo (show_path()). */
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

/* The next space-separated field of *p (moves *p past it); NULL at the end of the line. */
static const char *next_field(const char **p, size_t *ret_len)
{
	const char *s = *p, *e;

	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	e = strchrnul(s, ' ');
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

static void entry_done(struct mountinfo_entry *e)
{
	free(e->root);
	free(e->mountpoint);
	free(e->fstype);
	free(e->source);
}

static int parse_line(const char *line, struct mountinfo_entry *e)
{
	const char *p = line, *f;
	size_t len;
	int consumed = 0;

	*e = (struct mountinfo_entry){0};
	if (sscanf(line, "%d %d %u:%u%n", &e->mnt_id, &e->parent_id, &e->major, &e->minor,
		   &consumed) != 4)
		return -EBADMSG;
	p = line + consumed;

	f = next_field(&p, &len);
	if (!f || !(e->root = unescape(f, len)))
		goto bad;
	f = next_field(&p, &len);
	if (!f || !(e->mountpoint = unescape(f, len)))
		goto bad;
	f = next_field(&p, &len); /* per-mount options */
	if (!f)
		goto bad;
	e->readonly = has_option(f, len, "ro");
	/* Optional fields up to the "-" separator. */
	for (;;) {
		f = next_field(&p, &len);
		if (!f)
			goto bad;
		if (len == 1 && f[0] == '-')
			break;
		if (len > 7 && memcmp(f, "shared:", 7) == 0)
			e->shared = true;
	}
	f = next_field(&p, &len);
	if (!f || !(e->fstype = unescape(f, len)))
		goto bad;
	f = next_field(&p, &len);
	if (!f || !(e->source = unescape(f, len)))
		goto bad;
	return 0;
bad:
	entry_done(e);
	return -EBADMSG;
}

int mountinfo_parse(const char *text, struct mountinfo **ret)
{
	struct mountinfo *mi = calloc(1, sizeof(*mi));
	size_t cap = 0;

	if (!mi)
		return -ENOMEM;
	for (const char *l = text; *l;) {
		const char *nl = strchrnul(l, '\n');
		_cleanup_free_ char *line = strndup(l, (size_t)(nl - l));
		int r;

		l = *nl ? nl + 1 : nl;
		if (!line) {
			mountinfo_free(mi);
			return -ENOMEM;
		}
		if (!*line)
			continue;
		if (mi->n == cap) {
			struct mountinfo_entry *n;

			cap = cap ? cap * 2 : 32;
			n = realloc(mi->entries, cap * sizeof(*n));
			if (!n) {
				mountinfo_free(mi);
				return -ENOMEM;
			}
			mi->entries = n;
		}
		r = parse_line(line, &mi->entries[mi->n]);
		if (r < 0) {
			mountinfo_free(mi);
			return r;
		}
		mi->n++;
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
		entry_done(&mi->entries[i]);
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
