/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sys/stat.h>

#include "fs/inodeset.h"
#include "handlers/tree.h"

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '+' || c == '-';
}

int inodeset_name_check(const char *name)
{
	size_t len = strlen(name);

	/* ".", "..", and hidden names: not there */
	if (len == 0 || name[0] == '.')
		return -ENOENT;
	if (len > INODESET_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!name_char(name[i]))
			return -EINVAL;
	return 0;
}

bool inodeset_name_valid(const char *name)
{
	return inodeset_name_check(name) == 0;
}

bool inodeset_is_folder(const char *path)
{
	return strcmp(path, INODESET_DIR) == 0;
}

/* The set's name in path: its length, or 0 if path is not `.inodes/NAME[/...]`. The
 * name was checked when it was looked up; it is checked again, so that no path the
 * table may hold is read as a set that a lookup would refuse. */
static size_t set_name_len(const char *path)
{
	const size_t dl = sizeof(INODESET_DIR) - 1;
	const char *name, *end;
	char buf[INODESET_NAME_MAX + 1];
	size_t len;

	if (strncmp(path, INODESET_DIR, dl) != 0 || path[dl] != '/')
		return 0;
	name = path + dl + 1;
	end = strchr(name, '/');
	len = end ? (size_t)(end - name) : strlen(name);
	if (len == 0 || len > INODESET_NAME_MAX)
		return 0;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return inodeset_name_valid(buf) ? len : 0;
}

const char *inodeset_tree_path(const char *path)
{
	size_t len = set_name_len(path);
	const char *rest;

	if (!len)
		return path;
	rest = path + sizeof(INODESET_DIR) + len;
	return *rest == '/' ? rest + 1 : rest;
}

bool inodeset_is_gate(const char *path)
{
	if (!*path || inodeset_is_folder(path))
		return true;
	return set_name_len(path) && !*inodeset_tree_path(path);
}

int inodeset_path(const char *name, const char *path, char *buf, size_t size)
{
	int n;

	if (!inodeset_name_valid(name))
		return -EINVAL;
	n = snprintf(buf, size, "%s/%s%s%s", INODESET_DIR, name, *path ? "/" : "", path);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int inodeset_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	int r;

	if (!inodeset_is_folder(path))
		return tree_getattr(c, inodeset_tree_path(path), st);
	/* the root's owner and times, a folder nobody but its owner may list */
	r = tree_getattr(c, "", st);
	if (r >= 0)
		st->st_mode = S_IFDIR | 0500;
	return r;
}

int inodeset_readdir(const struct pb_caller *c, const char *path, struct tree_dirent **ret,
		     size_t *ret_n)
{
	if (!inodeset_is_folder(path))
		return tree_readdir(c, inodeset_tree_path(path), ret, ret_n);
	/* no enumeration of the sets, hence of the containers */
	*ret = NULL;
	*ret_n = 0;
	return 0;
}
