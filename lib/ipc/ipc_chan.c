/* SPDX-License-Identifier: BSD-3-Clause */
/* The request channel: a secondary's private socket to the primary, on
 * which a thread asking the primary gets its reply itself, without the
 * secondary's I/O thread reading it and waking the caller.
 *
 * hp_ipc_client_connect makes a socketpair(SOCK_SEQPACKET) and sends one
 * end to the primary over the connection, ahead of any other message (an
 * IPC_TYPE_CHANNEL notification carrying the fd), and keeps the other.
 * The primary's I/O thread watches the channel as a second socket of that
 * peer (at most one): what it reads there is dispatched as if it came
 * over the connection (same peer id, same malformed count), tagged
 * (hp_ipc_msg.via) so that hp_ipc_reply answers on the channel, also
 * after hp_ipc_defer. The primary sends nothing else there: no request,
 * notification or broadcast, no peer event. A channel that hangs up is
 * dropped and the peer stays; removing the peer closes its channel. No
 * SO_PEERCRED: the channel came over a connection checked at accept.
 *
 * On the secondary, a request to the primary from any thread but the I/O
 * thread takes the channel when it is free (trylock): it sends there and
 * waits in poll() on it until the reply with its id comes (a reply with
 * another id answers an earlier call that timed out: dropped), the
 * primary hangs up (-ECONNRESET) or the deadline passes. A busy channel,
 * or one the primary refused (the send fails at once), leaves the call to
 * the connection (ipc_call.c). hp_ipc_destroy shuts the channel down,
 * which wakes its caller. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hp_log.h"
#include "ipc_private.h"

/* Secondary, before the threads start: makes the channel and sends its far
 * end over the connection. Without one (logged), calls take the
 * connection. */
void ipc_chan_open(struct hp_ipc *ipc, int conn_fd)
{
	struct hp_ipc_msg msg;
	uint8_t hdr[IPC_HDR_SIZE];
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		HP_DEBUG(IPC_LOG, "no request channel: socketpair: %s",
			 strerror(errno));
		return;
	}
	hp_ipc_msg_init(&msg, IPC_TYPE_CHANNEL, NULL, 0);
	msg.fds[0] = sv[1];
	msg.nb_fds = 1;
	ipc_hdr_make(hdr, IPC_KIND_NOTIFY, IPC_TYPE_CHANNEL, 0, 0, 0);
	r = ipc_send(conn_fd, hdr, &msg);
	close(sv[1]);
	if (r < 0) {
		HP_DEBUG(IPC_LOG, "no request channel: cannot send it: %s",
			 strerror(-r));
		close(sv[0]);
		return;
	}
	ipc->chan_fd = sv[0];
}

/* Sends req as request id on the channel. -EAGAIN when the primary closed
 * its end (nothing went out), other negative errnos. */
static int ipc_chan_send(struct hp_ipc *ipc, struct hp_ipc_msg *req,
			 uint64_t id, const struct timespec *deadline)
{
	struct ipc_target t = { .fd = ipc->chan_fd };
	uint8_t hdr[IPC_HDR_SIZE];

	req->id = id;
	ipc_hdr_make(hdr, IPC_KIND_REQUEST, req->type, id, req->status,
		     req->len);
	/* Counted first: the reply may come before this thread runs again. */
	atomic_fetch_add(&ipc->chan_sent, 1);
	ipc_send_many(&t, 1, hdr, req, deadline);
	if (t.err < 0)
		atomic_fetch_sub(&ipc->chan_sent, 1);
	if (t.err == -EPIPE || t.err == -ECONNRESET || t.err == -ENOTCONN)
		return -EAGAIN;
	return t.err;
}

/* Checks one datagram of the channel: 1 when it is the reply to id
 * (written to ret_reply, with its fds), 0 when it is dropped (fds
 * closed, logged), -EPROTO when the primary speaks another version. */
static int ipc_chan_reply(struct hp_ipc *ipc, uint64_t id, struct ipc_rx *rx,
			  struct hp_ipc_msg *ret_reply)
{
	const char *what = IPC_BAD_HEADER;
	struct ipc_hdr hdr;
	int r;

	r = ipc_rx_decode(rx, &hdr, &what);
	if (r == 0 && hdr.kind == IPC_KIND_REPLY && hdr.id == id) {
		ipc_msg_fill(ret_reply, &hdr, rx->buf + IPC_HDR_SIZE);
		ret_reply->nb_fds = rx->nb_fds;
		memcpy(ret_reply->fds, rx->fds, sizeof(int) * rx->nb_fds);
		return 1;
	}
	ipc_close_fds(rx->fds, rx->nb_fds);
	if (r == -EPROTO) {
		/* As on the connection: the primary is unusable. */
		ipc_peer_remove(ipc, HP_IPC_PRIMARY, ipc_version_error(&hdr));
		return -EPROTO;
	}
	if (r == 0 && hdr.kind == IPC_KIND_REPLY && hdr.id && hdr.id < id) {
		HP_DEBUG(IPC_LOG, "primary: late reply to request %llu dropped",
			 (unsigned long long)hdr.id);
		return 0;
	}
	if (r == 0)
		what = hdr.kind == IPC_KIND_REPLY ? "reply to an unknown request id" :
						    "not a reply";
	HP_WARN(IPC_LOG, "primary: %s on the request channel, message dropped",
		what);
	return 0;
}

/* Waits on the channel for the reply to id until the deadline. */
static int ipc_chan_wait(struct hp_ipc *ipc, uint64_t id,
			 struct hp_ipc_msg *ret_reply,
			 const struct timespec *deadline)
{
	struct pollfd p = { .fd = ipc->chan_fd, .events = POLLIN };
	int r, ms;

	for (;;) {
		ms = ipc_ms_left(deadline);
		if (ms == 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		r = ipc_recv(p.fd, &ipc->chan_rx);
		if (r == 0 && (p.revents & (POLLHUP | POLLERR)))
			r = -ECONNRESET;
		if (r < 0)
			return -ECONNRESET;
		if (r > 0)
			r = ipc_chan_reply(ipc, id, &ipc->chan_rx, ret_reply);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

/* Secondary, not on the I/O thread: runs a request to the primary on the
 * channel. -EAGAIN when the channel is busy, or was refused before the
 * request went out: the caller takes the connection then. Else what
 * hp_ipc_request returns. */
int ipc_chan_request(struct hp_ipc *ipc, struct hp_ipc_msg *req,
		     struct hp_ipc_msg *ret_reply, int timeout_ms)
{
	struct timespec deadline;
	uint64_t id;
	int r = ipc_msg_check(req);

	if (r < 0)
		return r;
	if (pthread_mutex_trylock(&ipc->chan_lock) != 0)
		return -EAGAIN;
	ipc_deadline(timeout_ms, &deadline);
	if (!ipc_enter(ipc)) {
		pthread_mutex_unlock(&ipc->chan_lock);
		return -ESHUTDOWN;
	}
	pthread_mutex_lock(&ipc->lock);
	id = ipc->next_call_id++;
	pthread_mutex_unlock(&ipc->lock);
	r = ipc_chan_send(ipc, req, id, &deadline);
	if (r == 0)
		r = ipc_chan_wait(ipc, id, ret_reply, &deadline);
	if (r == -ECONNRESET) {
		/* hp_ipc_destroy's shutdown looks like a hang-up. */
		pthread_mutex_lock(&ipc->lock);
		if (ipc->stopping)
			r = -ESHUTDOWN;
		pthread_mutex_unlock(&ipc->lock);
	}
	/* Unlocked first: hp_ipc_destroy frees the lock once we leave. */
	pthread_mutex_unlock(&ipc->chan_lock);
	ipc_leave(ipc);
	return r;
}

/* Primary, I/O thread: takes the channel an IPC_TYPE_CHANNEL message of a
 * peer's connection carries and watches it. A bad one counts as
 * malformed; a second one is refused. */
int ipc_chan_accept(struct hp_ipc *ipc, struct ipc_peer *peer,
		    const struct ipc_hdr *hdr, struct ipc_rx *rx, bool via_chan)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
				  .data.u64 = IPC_EV_CHAN | peer->id };
	int type = 0, fd = rx->nb_fds == 1 ? rx->fds[0] : -1;
	socklen_t len = sizeof(type);

	if (!ipc->is_server || via_chan || hdr->kind != IPC_KIND_NOTIFY ||
	    hdr->len != 0 || fd < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET) {
		ipc_close_fds(rx->fds, rx->nb_fds);
		return ipc_malformed(ipc, peer, "bad request channel message");
	}
	pthread_mutex_lock(&ipc->lock);
	if (peer->chan_fd >= 0) {
		pthread_mutex_unlock(&ipc->lock);
		HP_WARN(IPC_LOG, "peer %u (pid %d): a second request channel, refused",
			peer->id, (int)peer->pid);
		close(fd);
		return 0;
	}
	if (epoll_ctl(ipc->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		pthread_mutex_unlock(&ipc->lock);
		HP_WARN(IPC_LOG, "peer %u (pid %d): request channel refused: %s",
			peer->id, (int)peer->pid, strerror(err));
		close(fd);
		return 0;
	}
	peer->chan_fd = fd;
	pthread_mutex_unlock(&ipc->lock);
	HP_DEBUG(IPC_LOG, "peer %u (pid %d): request channel open", peer->id,
		 (int)peer->pid);
	return 0;
}

/* Primary, I/O thread: the peer's channel hung up; it leaves epoll and is
 * shut down (a reply sent there fails with -ENOTCONN), but stays open
 * until the peer goes, so that no sender ever writes to a reused fd
 * number. The peer stays. */
void ipc_chan_drop(struct hp_ipc *ipc, struct ipc_peer *peer)
{
	if (epoll_ctl(ipc->epoll_fd, EPOLL_CTL_DEL, peer->chan_fd, NULL) < 0)
		return; /* dropped already */
	shutdown(peer->chan_fd, SHUT_RDWR);
	HP_DEBUG(IPC_LOG, "peer %u (pid %d): request channel closed", peer->id,
		 (int)peer->pid);
}
