/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsenter/creds.h"
#include "util/fileio.h"
#include "util/macro.h"

#define OVERFLOW_ID 65534u

int id_map_parse(const char *text, struct id_map *ret)
{
	struct id_map m = {0};
	const char *p = text;

	while (*p) {
		unsigned long a, b, c;
		char *end;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (m.n >= ELEMENTSOF(m.extent))
			return -EINVAL;
		errno = 0;
		a = strtoul(p, &end, 10);
		if (end == p || errno)
			return -EINVAL;
		p = end;
		b = strtoul(p, &end, 10);
		if (end == p || errno)
			return -EINVAL;
		p = end;
		c = strtoul(p, &end, 10);
		if (end == p || errno)
			return -EINVAL;
		p = end;
		if (a > UINT32_MAX || b > UINT32_MAX || c > UINT32_MAX)
			return -EINVAL;
		m.extent[m.n++] = (struct id_extent){(uint32_t)a, (uint32_t)b, (uint32_t)c};
	}
	*ret = m;
	return 0;
}

uint32_t id_map_to_inside(const struct id_map *map, uint32_t outside)
{
	for (uint32_t i = 0; i < map->n; i++) {
		const struct id_extent *e = &map->extent[i];
		if (outside >= e->lower_first && outside - e->lower_first < e->count)
			return e->first + (outside - e->lower_first);
	}
	return UINT32_MAX;
}

static int parse_ids(const char *line, uint32_t out[4])
{
	char *end;

	for (int i = 0; i < 4; i++) {
		unsigned long v;

		errno = 0;
		v = strtoul(line, &end, 10);
		if (end == line || errno || v > UINT32_MAX)
			return -EINVAL;
		out[i] = (uint32_t)v;
		line = end;
	}
	return 0;
}

static int parse_hex64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 16);
	if (end == s || errno)
		return -EINVAL;
	*ret = v;
	return 0;
}

int creds_parse_status(const char *text, struct creds *ret)
{
	struct creds c = {0};
	unsigned seen = 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		uint32_t ids[4];
		int r;

		if (strncmp(line, "Uid:", 4) == 0) {
			r = parse_ids(line + 4, ids);
			if (r < 0)
				return r;
			c.ruid = ids[0], c.euid = ids[1], c.suid = ids[2], c.fsuid = ids[3];
			seen |= 1;
		} else if (strncmp(line, "Gid:", 4) == 0) {
			r = parse_ids(line + 4, ids);
			if (r < 0)
				return r;
			c.rgid = ids[0], c.egid = ids[1], c.sgid = ids[2], c.fsgid = ids[3];
			seen |= 2;
		} else if (strncmp(line, "Groups:", 7) == 0) {
			const char *p = line + 7;
			char *end;

			for (;;) {
				unsigned long g;

				while (*p == ' ' || *p == '\t')
					p++;
				if (*p == '\n' || !*p)
					break;
				errno = 0;
				g = strtoul(p, &end, 10);
				if (end == p || errno || g > UINT32_MAX)
					return -EINVAL;
				if (c.ngroups >= CREDS_MAX_GROUPS)
					return -E2BIG;
				c.groups[c.ngroups++] = (gid_t)g;
				p = end;
			}
			seen |= 4;
		} else if (strncmp(line, "CapInh:", 7) == 0) {
			if (parse_hex64(line + 7, &c.cap_inh) < 0)
				return -EINVAL;
			seen |= 8;
		} else if (strncmp(line, "CapPrm:", 7) == 0) {
			if (parse_hex64(line + 7, &c.cap_prm) < 0)
				return -EINVAL;
			seen |= 16;
		} else if (strncmp(line, "CapEff:", 7) == 0) {
			if (parse_hex64(line + 7, &c.cap_eff) < 0)
				return -EINVAL;
			seen |= 32;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (seen != 63)
		return -EINVAL;
	*ret = c;
	return 0;
}

static uint32_t to_inside(const struct id_map *m, uint32_t id)
{
	uint32_t v = id_map_to_inside(m, id);
	return v == UINT32_MAX ? OVERFLOW_ID : v;
}

int creds_read(pid_t pid, struct creds *ret)
{
	_cleanup_free_ char *status = NULL, *uidmap = NULL, *gidmap = NULL;
	struct id_map um, gm;
	struct creds c;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = read_full_file(path, &status, NULL);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	r = read_full_file(path, &uidmap, NULL);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	r = read_full_file(path, &gidmap, NULL);
	if (r < 0)
		return r;

	r = creds_parse_status(status, &c);
	if (r < 0)
		return r;
	if (id_map_parse(uidmap, &um) < 0 || id_map_parse(gidmap, &gm) < 0)
		return -EINVAL;

	c.ruid = to_inside(&um, c.ruid), c.euid = to_inside(&um, c.euid);
	c.suid = to_inside(&um, c.suid), c.fsuid = to_inside(&um, c.fsuid);
	c.rgid = to_inside(&gm, c.rgid), c.egid = to_inside(&gm, c.egid);
	c.sgid = to_inside(&gm, c.sgid), c.fsgid = to_inside(&gm, c.fsgid);
	for (uint32_t i = 0; i < c.ngroups; i++)
		c.groups[i] = to_inside(&gm, c.groups[i]);
	*ret = c;
	return 0;
}

bool creds_equal(const struct creds *a, const struct creds *b)
{
	return a->ruid == b->ruid && a->euid == b->euid && a->suid == b->suid &&
	       a->fsuid == b->fsuid && a->rgid == b->rgid && a->egid == b->egid &&
	       a->sgid == b->sgid && a->fsgid == b->fsgid && a->ngroups == b->ngroups &&
	       memcmp(a->groups, b->groups, a->ngroups * sizeof(gid_t)) == 0 &&
	       a->cap_inh == b->cap_inh && a->cap_prm == b->cap_prm && a->cap_eff == b->cap_eff;
}

static int setgroups_allowed(void)
{
	_cleanup_free_ char *s = NULL;

	if (read_full_file("/proc/self/setgroups", &s, NULL) < 0)
		return 1;
	return strncmp(s, "deny", 4) != 0;
}

int creds_apply(const struct creds *c)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (setgroups_allowed() && setgroups(c->ngroups, c->groups) < 0)
		return negative_errno();
	if (setresgid(c->rgid, c->egid, c->sgid) < 0)
		return negative_errno();
	(void)setfsgid(c->fsgid);
	/* Keep the permitted set across the uid change so the capabilities can be set to
	 * exactly the caller's afterwards, whatever its uid. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return negative_errno();
	if (setresuid(c->ruid, c->euid, c->suid) < 0)
		return negative_errno();
	(void)setfsuid(c->fsuid);

	data[0].effective = (uint32_t)c->cap_eff;
	data[1].effective = (uint32_t)(c->cap_eff >> 32);
	data[0].permitted = (uint32_t)c->cap_prm;
	data[1].permitted = (uint32_t)(c->cap_prm >> 32);
	data[0].inheritable = (uint32_t)c->cap_inh;
	data[1].inheritable = (uint32_t)(c->cap_inh >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return negative_errno();
	return 0;
}
