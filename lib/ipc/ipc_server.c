/* SPDX-License-Identifier: BSD-3-Clause */
/* The primary's listening socket: bind with the right mode and group,
 * accept, check each peer's credentials (SO_PEERCRED, SO_PEERGROUPS) and
 * the peer limit, and welcome the peer or tell it why it is refused.
 *
 * The socket file gets its mode by chmod right after bind; until then the
 * umask applies, so the directory holding it must be private (lib/shm's
 * runtime dir is). Credentials are checked at accept in any case.
 *
 * Out of file descriptors (EMFILE, ENFILE), accept fails and leaves the
 * connection queued, which level-triggered epoll reports again at once: a
 * spin. The server keeps a reserve fd (/dev/null) for this: it closes it,
 * accepts, sends the refusal ("out of file descriptors"), closes that
 * connection and takes the reserve back, once per queued connection. When
 * the reserve cannot be had back (another thread took the fd), it stops
 * watching the listening socket and looks again after IPC_FD_RETRY_MS
 * (ipc_join.c's timer). One log line when the episode starts, one when an
 * accept succeeds again. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
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
	/* Non-blocking: a call's nested event loop may accept the connection
	 * an outer loop's event was about, and accept4 must then say
	 * EAGAIN, not wait for the next one. */
	ipc->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
				SOCK_NONBLOCK, 0);
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

/* The allowed group's name, for refusals (looked up once: never on the
 * I/O thread, where a slow name service would stall everyone). */
static void ipc_server_group_name(struct hp_ipc *ipc)
{
	struct group g, *res = NULL;
	char buf[1024];

	if (getgrgid_r(ipc->group, &g, buf, sizeof(buf), &res) == 0 && res)
		snprintf(ipc->group_name, sizeof(ipc->group_name), "%s",
			 g.gr_name);
	else
		snprintf(ipc->group_name, sizeof(ipc->group_name), "%u",
			 (unsigned)ipc->group);
}

/* Takes the reserve fd (see the top of the file) when it is not held. */
static void ipc_server_reserve(struct hp_ipc *ipc)
{
	if (ipc->reserve_fd < 0)
		ipc->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int hp_ipc_server_create(const char *path,
			 const struct hp_ipc_server_opts *opts,
			 struct hp_ipc **ret_ipc)
{
	unsigned max = opts && opts->max_peers ? opts->max_peers :
						 HP_MAX_PROCS - 1;
	unsigned joining = opts && opts->max_joining ? opts->max_joining :
						       HP_IPC_MAX_JOINING;
	struct hp_ipc *ipc;
	int r;

	if (!path || !*path || !ret_ipc)
		return -EINVAL;
	if (strlen(path) >= sizeof(ipc->path))
		return -ENAMETOOLONG;
	if (!opts || !opts->join_timeout_ms)
		joining = 0; /* every peer joins at accept */
	r = ipc_endpoint_new(true, max + joining, &ipc);
	if (r < 0)
		return r;
	ipc->max_peers = max;
	ipc->max_joining = joining;
	ipc->join_timeout_ms = joining ? opts->join_timeout_ms : 0;
	ipc->group = opts ? opts->group : 0;
	ipc_server_group_name(ipc);
	strcpy(ipc->path, path);
	ipc_server_reserve(ipc);
	r = ipc->reserve_fd < 0 ? -errno : ipc_join_timer_open(ipc);
	if (r == 0)
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

void ipc_refuse(int fd, int status, const char *fmt, ...)
{
	struct hp_ipc_msg msg;
	uint8_t hdr[IPC_HDR_SIZE];
	va_list ap;
	int n;

	hp_ipc_msg_init(&msg, IPC_TYPE_REFUSED, NULL, 0);
	va_start(ap, fmt);
	n = vsnprintf((char *)msg.payload, 512, fmt, ap);
	va_end(ap);
	msg.len = n < 0 ? 0 : n < 512 ? (uint32_t)n : 511;
	ipc_hdr_make(hdr, IPC_KIND_NOTIFY, IPC_TYPE_REFUSED, 0, status, msg.len);
	/* A peer that is gone or does not read misses it: no matter. */
	ipc_send(fd, hdr, &msg);
}

/* Root, this process's user, or a member of the allowed group (its
 * primary group or one of its supplementary groups). */
static bool ipc_server_allows(const struct hp_ipc *ipc,
			      const struct ipc_cred *c)
{
	return c->uid == geteuid() || c->uid == 0 ||
	       (ipc->group != 0 && ipc_cred_in_group(c, ipc->group));
}

/* Refuses a peer whose credentials do not allow it in. */
static void ipc_server_deny(struct hp_ipc *ipc, int fd,
			    const struct ipc_cred *c)
{
	HP_WARN(IPC_LOG,
		"refusing peer pid %d uid %u gid %u: not this user, root or a member of the allowed group",
		(int)c->pid, (unsigned)c->uid, (unsigned)c->gid);
	if (ipc->group)
		ipc_refuse(fd, -EACCES,
			   "refused by the primary: uid %u is not root, the primary's user or a member of group %s",
			   (unsigned)c->uid, ipc->group_name);
	else
		ipc_refuse(fd, -EACCES,
			   "refused by the primary: uid %u is not root or the primary's user (uid %u; the primary's --ipc-group lets a group in)",
			   (unsigned)c->uid, (unsigned)geteuid());
}

void ipc_server_resume(struct hp_ipc *ipc)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = IPC_EV_LISTEN };

	ipc_server_reserve(ipc);
	if (epoll_ctl(ipc->epoll_fd, EPOLL_CTL_ADD, ipc->listen_fd, &ev) == 0 ||
	    errno == EEXIST)
		ipc->listen_paused = false;
}

/* accept failed with err (EMFILE or ENFILE): refuses the connection with
 * the reserve fd, or sets the listening socket aside a while. */
static void ipc_server_fd_short(struct hp_ipc *ipc, int err)
{
	struct rlimit rl = { 0 };
	int fd = -1;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (!ipc->fd_short)
		HP_WARN(IPC_LOG,
			"out of file descriptors (%s; the limit is %llu): refusing connections",
			strerror(err), (unsigned long long)rl.rlim_cur);
	ipc->fd_short = true;
	if (ipc->reserve_fd >= 0) {
		close(ipc->reserve_fd);
		ipc->reserve_fd = -1;
		fd = accept4(ipc->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			ipc_refuse(fd, -EMFILE,
				   "refused: the primary is out of file descriptors (its limit is %llu): try again later",
				   (unsigned long long)rl.rlim_cur);
			close(fd);
		}
		ipc_server_reserve(ipc);
	}
	if (ipc->reserve_fd >= 0 || ipc->listen_paused)
		return;
	epoll_ctl(ipc->epoll_fd, EPOLL_CTL_DEL, ipc->listen_fd, NULL);
	ipc->listen_paused = true;
	ipc_join_arm(ipc);
}

/* Checks a new connection and adds it as a peer (welcomed first), or
 * refuses it, telling it why. Takes fd. I/O thread. */
static void ipc_server_take(struct hp_ipc *ipc, int fd)
{
	static const struct hp_ipc_msg welcome = { .type = IPC_TYPE_WELCOME };
	uint8_t hdr[IPC_HDR_SIZE];
	struct ipc_cred cred;
	uint32_t id;
	int r;

	r = ipc_cred_read(fd, &cred);
	if (r < 0) {
		HP_WARN(IPC_LOG, "refusing a peer: no credentials: %s",
			strerror(-r));
		ipc_refuse(fd, r, "refused by the primary: it cannot read this process's credentials: %s",
			   strerror(-r));
		close(fd);
		return;
	}
	if (!ipc_server_allows(ipc, &cred)) {
		ipc_server_deny(ipc, fd, &cred);
		goto err_close;
	}
	if (ipc->join_timeout_ms)
		ipc_join_make_room(ipc);
	pthread_mutex_lock(&ipc->lock);
	if (ipc->nb_joined >= ipc->max_peers || ipc->next_peer_id == 0) {
		unsigned nb = ipc->nb_joined;

		pthread_mutex_unlock(&ipc->lock);
		HP_WARN(IPC_LOG, "refusing peer pid %d: %u peers joined already (the limit is %u)",
			(int)cred.pid, nb, ipc->max_peers);
		ipc_refuse(fd, -EUSERS, "refused by the primary: %u processes joined already (the limit is %u)",
			   nb, ipc->max_peers);
		goto err_close;
	}
	id = ipc->next_peer_id++;
	ipc_hdr_make(hdr, IPC_KIND_NOTIFY, IPC_TYPE_WELCOME, 0, 0, 0);
	r = ipc_send(fd, hdr, &welcome);
	if (r == 0)
		r = ipc_peer_add(ipc, fd, &cred, id, true);
	else
		close(fd);
	pthread_mutex_unlock(&ipc->lock);
	if (r < 0) {
		HP_WARN(IPC_LOG, "refusing peer pid %d: %s", (int)cred.pid,
			strerror(-r));
		free(cred.groups);
		return;
	}
	HP_DEBUG(IPC_LOG, "peer %u (pid %d uid %u) connected", id,
		 (int)cred.pid, (unsigned)cred.uid);
	if (ipc->join_timeout_ms)
		ipc_join_arm(ipc);
	return;

err_close:
	free(cred.groups);
	close(fd);
}

/* Accepts one connection (see the top of the file for EMFILE). I/O
 * thread. */
void ipc_server_accept(struct hp_ipc *ipc)
{
	int fd = accept4(ipc->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			ipc_server_fd_short(ipc, errno);
		else if (errno != EAGAIN && errno != EINTR &&
			 errno != ECONNABORTED)
			HP_WARN(IPC_LOG, "accept: %s", strerror(errno));
		return;
	}
	if (ipc->fd_short) {
		HP_NOTICE(IPC_LOG, "file descriptors available again: accepting connections");
		ipc->fd_short = false;
		ipc_server_reserve(ipc);
	}
	ipc_server_take(ipc, fd);
}
