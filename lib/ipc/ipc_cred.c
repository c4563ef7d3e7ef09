/* SPDX-License-Identifier: BSD-3-Clause */
/* A peer's credentials as the kernel recorded them when it connected: pid,
 * uid and gid (SO_PEERCRED) and the supplementary groups (SO_PEERGROUPS,
 * Linux >= 4.13).
 *
 * Without SO_PEERGROUPS (older kernels answer ENOPROTOOPT) the groups come
 * from the "Groups:" line of /proc/<pid>/status. That is weaker: it is
 * read at accept, not at connect (a process that changed its groups since
 * shows the new ones), a pid of another PID namespace is not found (the
 * peer then has no supplementary groups), and a peer that exited and whose
 * pid was reused would show another process's groups. It only ever serves
 * where the kernel cannot tell. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hp_log.h"
#include "ipc_private.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

/* Reads "Groups:" of /proc/<pid>/status; no groups when it cannot. */
static int ipc_cred_proc_groups(pid_t pid, struct ipc_cred *c)
{
	char path[64], *line = NULL, *p, *end;
	size_t cap = 0;
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0 && strncmp(line, "Groups:", 7))
		;
	for (p = line && !strncmp(line, "Groups:", 7) ? line + 7 : NULL; p;) {
		unsigned long g = strtoul(p, &end, 10);
		gid_t *grown;

		if (end == p)
			break;
		p = end;
		grown = realloc(c->groups, sizeof(gid_t) * (c->nb_groups + 1));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		c->groups = grown;
		c->groups[c->nb_groups++] = (gid_t)g;
	}
	free(line);
	fclose(f);
	return r;
}

/* The supplementary groups by SO_PEERGROUPS (asked again with the size
 * the kernel says when the first guess is short). */
static int ipc_cred_groups(int fd, struct ipc_cred *c)
{
	socklen_t len = sizeof(gid_t) * HP_IPC_MAX_GROUPS;

	for (int tries = 0; tries < 3; tries++) {
		gid_t *g = malloc(len ? len : sizeof(gid_t));

		if (!g)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			c->groups = g;
			c->nb_groups = len / sizeof(gid_t);
			return 0;
		}
		free(g);
		if (errno == ENOPROTOOPT)
			return ipc_cred_proc_groups(c->pid, c);
		if (errno != ERANGE)
			return -errno;
	}
	return -ERANGE;
}

int ipc_cred_read(int fd, struct ipc_cred *ret_cred)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	struct ipc_cred c = { 0 };
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	c.pid = uc.pid;
	c.uid = uc.uid;
	c.gid = uc.gid;
	r = ipc_cred_groups(fd, &c);
	if (r < 0) {
		free(c.groups);
		return r;
	}
	*ret_cred = c;
	return 0;
}

bool ipc_cred_in_group(const struct ipc_cred *c, gid_t group)
{
	if (c->gid == group)
		return true;
	for (unsigned i = 0; i < c->nb_groups; i++)
		if (c->groups[i] == group)
			return true;
	return false;
}

/* Copies a connected peer's credentials under ipc->lock, or -ENOTCONN. */
static int ipc_cred_get(struct hp_ipc *ipc, uint32_t peer,
			struct hp_ipc_cred *ret_cred, gid_t *groups,
			unsigned max, unsigned *ret_nb)
{
	struct ipc_peer *p;
	const struct ipc_cred *c;

	pthread_mutex_lock(&ipc->lock);
	p = ipc_peer_get(ipc, peer);
	if (!p) {
		pthread_mutex_unlock(&ipc->lock);
		return -ENOTCONN;
	}
	c = &p->cred;
	if (ret_cred) {
		unsigned n = c->nb_groups < HP_IPC_MAX_GROUPS ?
				     c->nb_groups : HP_IPC_MAX_GROUPS;

		memset(ret_cred, 0, sizeof(*ret_cred));
		ret_cred->pid = c->pid;
		ret_cred->uid = c->uid;
		ret_cred->gid = c->gid;
		ret_cred->nb_groups = c->nb_groups;
		memcpy(ret_cred->groups, c->groups, sizeof(gid_t) * n);
	}
	if (groups)
		memcpy(groups, c->groups,
		       sizeof(gid_t) * (c->nb_groups < max ? c->nb_groups : max));
	*ret_nb = c->nb_groups;
	pthread_mutex_unlock(&ipc->lock);
	ipc_peer_put(p);
	return 0;
}

int hp_ipc_peer_cred(struct hp_ipc *ipc, uint32_t peer,
		     struct hp_ipc_cred *ret_cred)
{
	unsigned nb;

	if (!ipc || !ret_cred)
		return -EINVAL;
	return ipc_cred_get(ipc, peer, ret_cred, NULL, 0, &nb);
}

int hp_ipc_peer_groups(struct hp_ipc *ipc, uint32_t peer, gid_t *groups,
		       unsigned max)
{
	unsigned nb;
	int r;

	if (!ipc || (max && !groups))
		return -EINVAL;
	r = ipc_cred_get(ipc, peer, NULL, groups, max, &nb);
	return r < 0 ? r : (int)nb;
}
