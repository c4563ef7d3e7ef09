/* SPDX-License-Identifier: BSD-3-Clause */
/* Files and interfaces opened by the primary's probe with the rights of
 * the process that asked for the attach, not the primary's own.
 *
 * A secondary's attach runs in the primary, which may be root. Whoever
 * the primary lets in (root, its own user, a member of --ipc-group) must
 * not get, through a devargs path, a file it could not open itself. So:
 *  - the requester is root or the primary's own user: the primary opens
 *    as it is (it can do no more than the requester could);
 *  - another user: this thread takes the requester's filesystem identity
 *    for the one open, by raw syscalls that change the calling thread's
 *    credentials only (glibc's setgroups wrapper would change every
 *    thread's, forwarding threads included): SYS_setgroups (its
 *    supplementary groups), SYS_setfsgid, SYS_setfsuid, then SYS_capset
 *    with no effective capability (the fsuid change drops root's
 *    file-system capabilities, this drops the rest, such as
 *    CAP_SYS_PTRACE, which /proc would honour). The kernel then applies
 *    its own checks, as for the requester: modes, ACLs, LSMs, every
 *    directory on the way, protected symlinks, /proc's ptrace rule for
 *    /proc/PID/cwd. Everything is put back in reverse order and checked;
 *    a thread that cannot get its own credentials back aborts the
 *    process rather than run on with another user's rights;
 *  - a primary that cannot take another user's identity (not root, no
 *    CAP_SETUID and CAP_SETGID) refuses: a check of mode bits by hand
 *    would miss ACLs, LSMs and races.
 * Kernel interfaces (captures, packet sockets, TAPs) need CAP_NET_RAW or
 * CAP_NET_ADMIN, which no check of a peer's credentials can tell: only
 * root or the primary's user may have a port on one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hp_log.h"
#include "port_private.h"

/* A thread's own credentials, as port_cred_enter found them. */
struct port_cred_saved {
	uid_t fsuid;
	gid_t fsgid;
	int nb_groups;
	gid_t *groups;
	struct __user_cap_header_struct caph;
	struct __user_cap_data_struct cap[_LINUX_CAPABILITY_U32S_3];
};

static bool port_cred_same_user(const struct hp_port_requester *rq)
{
	return !rq || rq->uid == 0 || rq->uid == geteuid();
}

/* The current fsuid/fsgid: an invalid id changes nothing and returns
 * it. */
static uid_t port_fsuid(void)
{
	return (uid_t)syscall(SYS_setfsuid, (uid_t)-1);
}

static gid_t port_fsgid(void)
{
	return (gid_t)syscall(SYS_setfsgid, (gid_t)-1);
}

/* Puts this thread's credentials back as saved and checks them; aborts if
 * it cannot (the thread would go on with another user's rights). */
static void port_cred_leave(struct port_cred_saved *sv)
{
	struct __user_cap_data_struct cap[_LINUX_CAPABILITY_U32S_3];
	gid_t *groups = sv->groups + sv->nb_groups + 1;
	bool ok;
	int n;

	/* Capabilities first: setting the fsuid back needs CAP_SETUID. */
	syscall(SYS_capset, &sv->caph, sv->cap);
	syscall(SYS_setfsuid, sv->fsuid);
	syscall(SYS_setfsgid, sv->fsgid);
	syscall(SYS_setgroups, (size_t)sv->nb_groups, sv->groups);
	n = getgroups(sv->nb_groups + 1, groups);
	ok = port_fsuid() == sv->fsuid && port_fsgid() == sv->fsgid &&
	     n == sv->nb_groups &&
	     !memcmp(groups, sv->groups, (size_t)n * sizeof(gid_t)) &&
	     syscall(SYS_capget, &sv->caph, cap) == 0 &&
	     !memcmp(cap, sv->cap, sizeof(cap));
	if (!ok) {
		HP_ERR(PORT_LOG, "cannot take back this thread's own credentials after an open with a requester's: aborting");
		abort();
	}
	free(sv->groups);
	sv->groups = NULL;
}

/* Gives this thread the file-system identity of rq, and no effective
 * capability; -EPERM if the process may not. */
static int port_cred_enter(const struct hp_port_requester *rq,
			   struct port_cred_saved *sv)
{
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];

	memset(sv, 0, sizeof(*sv));
	sv->caph.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &sv->caph, sv->cap) < 0)
		return -errno;
	sv->nb_groups = getgroups(0, NULL);
	if (sv->nb_groups < 0)
		return -errno;
	/* Room for the list, and for reading it back in port_cred_leave. */
	sv->groups = calloc(2 * ((size_t)sv->nb_groups + 1), sizeof(gid_t));
	if (!sv->groups)
		return -ENOMEM;
	sv->nb_groups = getgroups(sv->nb_groups, sv->groups);
	if (sv->nb_groups < 0) {
		free(sv->groups);
		return -EAGAIN;
	}
	sv->fsuid = port_fsuid();
	sv->fsgid = port_fsgid();
	memcpy(none, sv->cap, sizeof(none));
	for (unsigned i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		none[i].effective = 0;
	if (syscall(SYS_setgroups, (size_t)rq->nb_groups, rq->groups) < 0 ||
	    (syscall(SYS_setfsgid, rq->gid), port_fsgid() != rq->gid) ||
	    (syscall(SYS_setfsuid, rq->uid), port_fsuid() != rq->uid) ||
	    syscall(SYS_capset, &sv->caph, none) < 0) {
		port_cred_leave(sv);
		return -EPERM;
	}
	return 0;
}

int port_open_as(const struct hp_port_requester *rq, const char *path,
		 int flags, mode_t mode, bool *ret_switched)
{
	struct port_cred_saved sv;
	char buf[PATH_MAX];
	int fd, r;

	*ret_switched = false;
	if (rq && path[0] != '/' && rq->pid > 0 && rq->pid != getpid()) {
		/* Relative to the requester's working directory. */
		if (snprintf(buf, sizeof(buf), "/proc/%d/cwd/%s", (int)rq->pid,
			     path) >= (int)sizeof(buf))
			return -ENAMETOOLONG;
		path = buf;
	}
	if (port_cred_same_user(rq)) {
		fd = open(path, flags | O_CLOEXEC, mode);
		return fd < 0 ? -errno : fd;
	}
	r = port_cred_enter(rq, &sv);
	if (r < 0)
		return r;
	*ret_switched = true;
	fd = open(path, flags | O_CLOEXEC, mode);
	r = fd < 0 ? -errno : fd;
	port_cred_leave(&sv);
	return r;
}

int hp_port_open(struct hp_port_dev *dev, const char *key, const char *path,
		 int flags, mode_t mode)
{
	const struct hp_port_requester *rq = dev->requester;
	const char *verb = flags & O_CREAT ? "create" : "open";
	bool switched;
	int fd;

	fd = port_open_as(rq, path, flags, mode, &switched);
	if (fd >= 0)
		return fd;
	if (!switched && !port_cred_same_user(rq))
		snprintf(dev->err, dev->errlen,
			 "%s=%.200s: refused: uid %u (who asked for the attach) is neither root nor the primary's user (uid %u), and the primary cannot take another user's rights to open a file for it (%s)",
			 key, path, (unsigned)rq->uid, (unsigned)geteuid(),
			 fd == -EPERM ? "it is not root" : strerror(-fd));
	else if (switched)
		snprintf(dev->err, dev->errlen,
			 "%s=%.200s: cannot %s with the rights of uid %u (who asked for the attach): %s",
			 key, path, verb, (unsigned)rq->uid, strerror(-fd));
	else
		snprintf(dev->err, dev->errlen, "%s=%.200s: cannot %s: %s",
			 key, path, verb, strerror(-fd));
	return fd;
}

int hp_port_iface_allowed(struct hp_port_dev *dev, const char *key,
			  const char *what, const char *ifname)
{
	const struct hp_port_requester *rq = dev->requester;

	if (port_cred_same_user(rq))
		return 0;
	snprintf(dev->err, dev->errlen,
		 "%s=%.32s: requester uid %u may not %s interface %.32s: needs root or the primary's user (uid %u)",
		 key, ifname, (unsigned)rq->uid, what, ifname,
		 (unsigned)geteuid());
	return -EPERM;
}

void port_requester_self(struct port_requester *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->rq.pid = port_ctx.pid;
	ret->rq.uid = geteuid();
	ret->rq.gid = getegid();
}

int port_requester_peer(struct hp_ipc *ipc, uint32_t peer,
			struct port_requester *ret)
{
	struct hp_ipc_cred *c = &ret->cred;
	int n, r;

	memset(ret, 0, sizeof(*ret));
	r = hp_ipc_peer_cred(ipc, peer, c);
	if (r < 0)
		return r;
	ret->rq = (struct hp_port_requester){ .pid = c->pid, .uid = c->uid,
					      .gid = c->gid,
					      .nb_groups = c->nb_groups,
					      .groups = c->groups };
	if (c->nb_groups <= HP_IPC_MAX_GROUPS)
		return 0;
	/* More than the struct lists: all of them, or the open would see
	 * fewer groups than the requester has. */
	ret->more = calloc(c->nb_groups, sizeof(gid_t));
	if (!ret->more)
		return -ENOMEM;
	n = hp_ipc_peer_groups(ipc, peer, ret->more, c->nb_groups);
	if (n < 0 || (unsigned)n > c->nb_groups) {
		port_requester_fini(ret);
		return n < 0 ? n : -EAGAIN;
	}
	ret->rq.nb_groups = (unsigned)n;
	ret->rq.groups = ret->more;
	return 0;
}

void port_requester_fini(struct port_requester *r)
{
	free(r->more);
	r->more = NULL;
}
