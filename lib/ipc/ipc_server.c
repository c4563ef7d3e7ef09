/* SPDX-License-Identifier: BSD-3-Clause */
/* The primary's listening socket: bind with the right mode and group,
 * accept, check each peer's credentials (SO_PEERCRED) and the peer limit.
 *
 * The socket file gets its mode by chmod right after bind; until then the
 * umask applies, so the directory holding it must be private (lib/shm's
 * runtime dir is). Credentials are checked at accept in any case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_log.h"
#include "ipc_private.h"

/* Removes a socket file left by a dead primary; -EADDRINUSE when a live
 * one answers there, or when the path is not a socket. */
static int ipc_server_unlink_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EADDRINUSE;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ?
		    -EADDRINUSE : -errno;
	close(fd);
	if (r == -EADDRINUSE)
		return r;
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	HP_DEBUG(IPC_LOG, "removed stale socket '%s'", sa->sun_path);
	return 0;
}

/* Binds and listens under a temporary name, then (unless opts->hidden)
 * renames the socket into place: a process that sees ipc->path appear
 * (inotify: IN_MOVED_TO) can connect at once; there is never a file there
 * that refuses connections. */
static int ipc_server_listen(struct hp_ipc *ipc,
			     const struct hp_ipc_server_opts *opts)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sockaddr_un tmp = { .sun_family = AF_UNIX };
	gid_t group = opts ? opts->group : 0;
	mode_t mode = opts && opts->mode ? opts->mode : group ? 0660 : 0600;
	int r;

	strcpy(sa.sun_path, ipc->path);
	if ((size_t)snprintf(ipc->tmp_path, sizeof(ipc->tmp_path), "%s.new",
			     ipc->path) >= sizeof(ipc->tmp_path))
		return -ENAMETOOLONG;
	strcpy(tmp.sun_path, ipc->tmp_path);
	r = ipc_server_unlink_stale(&sa);
	if (r < 0)
		return r;
	if (unlink(tmp.sun_path) < 0 && errno != ENOENT)
		return -errno;
	ipc->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (ipc->listen_fd < 0)
		return -errno;
	if (bind(ipc->listen_fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0) {
		r = -errno;
		close(ipc->listen_fd);
		ipc->listen_fd = -1;
		return r;
	}
	/* From here on, hp_ipc_destroy unlinks the socket. */
	if (chmod(tmp.sun_path, mode) < 0 ||
	    (group && chown(tmp.sun_path, (uid_t)-1, group) < 0) ||
	    listen(ipc->listen_fd, (int)ipc->max_peers) < 0)
		return -errno;
	return opts && opts->hidden ? 0 : hp_ipc_server_publish(ipc);
}

int hp_ipc_server_publish(struct hp_ipc *ipc)
{
	if (!ipc || !ipc->is_server || ipc->listen_fd < 0)
		return -EINVAL;
	if (ipc->published)
		return 0;
	if (rename(ipc->tmp_path, ipc->path) < 0) {
		int r = -errno;
		HP_ERR(IPC_LOG, "cannot put the socket at '%s': %s", ipc->path,
		       strerror(-r));
		return r;
	}
	ipc->published = true;
	return 0;
}

int hp_ipc_server_create(const char *path,
			 const struct hp_ipc_server_opts *opts,
			 struct hp_ipc **ret_ipc)
{
	unsigned max = opts && opts->max_peers ? opts->max_peers :
						 HP_MAX_PROCS - 1;
	struct hp_ipc *ipc;
	int r;

	if (!path || !*path || !ret_ipc)
		return -EINVAL;
	if (strlen(path) >= sizeof(ipc->path))
		return -ENAMETOOLONG;
	r = ipc_endpoint_new(true, max, &ipc);
	if (r < 0)
		return r;
	ipc->group = opts ? opts->group : 0;
	strcpy(ipc->path, path);
	r = ipc_server_listen(ipc, opts);
	if (r < 0)
		goto err_destroy;
	r = ipc_endpoint_start(ipc);
	if (r < 0)
		goto err_destroy;
	HP_DEBUG(IPC_LOG, "listening on '%s' for up to %u peers", path, max);
	*ret_ipc = ipc;
	return 0;

err_destroy:
	HP_DEBUG(IPC_LOG, "cannot listen on '%s': %s", path, strerror(-r));
	hp_ipc_destroy(ipc);
	return r;
}

/* Root, this process's user, or a member of the allowed group (its
 * primary group or one of its supplementary groups). */
static bool ipc_server_allows(const struct hp_ipc *ipc,
			      const struct ipc_cred *c)
{
	return c->uid == geteuid() || c->uid == 0 ||
	       (ipc->group != 0 && ipc_cred_in_group(c, ipc->group));
}

/* Accepts one connection and adds it as a peer, or refuses it with a log
 * line. I/O thread. */
void ipc_server_accept(struct hp_ipc *ipc)
{
	struct ipc_cred cred;
	int fd, r;

	fd = accept4(ipc->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			HP_WARN(IPC_LOG, "accept: %s", strerror(errno));
		return;
	}
	r = ipc_cred_read(fd, &cred);
	if (r < 0) {
		HP_WARN(IPC_LOG, "refusing a peer: no credentials: %s",
			strerror(-r));
		close(fd);
		return;
	}
	if (!ipc_server_allows(ipc, &cred)) {
		HP_WARN(IPC_LOG,
			"refusing peer pid %d uid %u gid %u: not this user, root or the allowed group",
			(int)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid);
		goto err_close;
	}
	pthread_mutex_lock(&ipc->lock);
	if (ipc->nb_peers >= ipc->max_peers || ipc->next_peer_id == 0) {
		unsigned nb = ipc->nb_peers;

		pthread_mutex_unlock(&ipc->lock);
		HP_WARN(IPC_LOG, "refusing peer pid %d: %u peers connected already (the limit is %u)",
			(int)cred.pid, nb, ipc->max_peers);
		goto err_close;
	}
	uint32_t id = ipc->next_peer_id++;
	r = ipc_peer_add(ipc, fd, &cred, id, true);
	pthread_mutex_unlock(&ipc->lock);
	if (r < 0)
		HP_WARN(IPC_LOG, "refusing peer pid %d: %s", (int)cred.pid,
			strerror(-r));
	else
		HP_DEBUG(IPC_LOG, "peer %u (pid %d uid %u) connected", id,
			 (int)cred.pid, (unsigned)cred.uid);
	return;

err_close:
	free(cred.groups);
	close(fd);
}
