/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "handlers/procsys.h"
#include "handlers/stats.h"
#include "util/macro.h"

/* Containers never see it: they get procbox's proc/ and sys/ folders, and anyone but
 * the host's root is told it does not exist. */
static bool allowed(const struct pb_caller *c)
{
	return c->container && container_is_host(c->container) && c->uid == 0;
}

static int stats_getattr(const struct pb_caller *c, const char *path, struct stat *st)
{
	if (!allowed(c))
		return -ENOENT;
	pb_default_stat(c, S_IFREG | 0400, st);
	return 0;
}

static int stats_open(const struct pb_caller *c, struct pb_file *f)
{
	return allowed(c) ? 0 : -ENOENT;
}

static int stats_content(const struct pb_caller *c, struct pb_file *f, char **ret, size_t *ret_len)
{
	struct nsenter_stats st;
	uint64_t fast_hits;
	unsigned sysctl_fds;
	int n;

	nsenter_service_get_stats(c->nsenter, &st);
	procsys_get_stats(&sysctl_fds, &fast_hits);
	n = asprintf(ret,
		     "{\"containers\": %u, \"agents\": %u, \"cached_fds\": %u, "
		     "\"children_spawned\": %" PRIu64 ", \"children_reaped\": %" PRIu64 ", "
		     "\"timeouts\": %" PRIu64 ", \"agent_hits\": %" PRIu64 ", \"fd_hits\": %" PRIu64
		     ", \"sysctl_fds\": %u, \"sysctl_fast_opens\": %" PRIu64 "}\n",
		     c->containers ? container_registry_count(c->containers) : 0, st.agents,
		     st.cached_fds, st.spawned, st.reaped, st.timeouts, st.agent_hits, st.fd_hits,
		     sysctl_fds, fast_hits);
	if (n < 0)
		return -ENOMEM;
	*ret_len = (size_t)n;
	return 0;
}

const struct handler stats_handlers[] = {
    {
	.path = ".procbox-stats",
	.mode = S_IFREG | 0400,
	.getattr = stats_getattr,
	.open = stats_open,
	.content = stats_content,
    },
};

const size_t n_stats_handlers = ELEMENTSOF(stats_handlers);
