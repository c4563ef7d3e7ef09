/* SPDX-License-Identifier: BSD-3-Clause */
/* The endpoint: its peers, its I/O thread, client connect and teardown.
 *
 * Each endpoint (the primary's server, or a secondary's client) has two
 * threads (the worker starts with its first item: a secondary may never
 * need it). The I/O thread blocks in epoll_wait on the listening socket, on
 * every connection and on an eventfd that asks it to stop; it accepts
 * peers, reads messages, hands replies straight to the waiting caller
 * (matched by id, woken through its condition variable), runs the
 * handlers registered inline, and queues the other requests and
 * notifications, and peer up/down events, for the worker. The worker runs
 * handlers and peer callbacks one at a time in arrival order, so a
 * handler may itself make requests and wait: the I/O thread delivers
 * their replies. An inline handler may hand its message to the worker
 * (hp_ipc_defer), which runs the same handler there.
 *
 * An inline handler may also make a call itself. Its replies arrive on
 * the thread it holds, so the call runs the event loop there
 * (ipc_io_poll, from ipc_call.c) until it is done: a nested loop, blocked
 * in epoll_wait up to the call's deadline, that dispatches replies,
 * accepts and hang-ups as usual but queues messages of inline types for
 * the worker (the outer handler owns inline_msg: no inline handler runs
 * within another). A stop request seen there ends the call (-ESHUTDOWN)
 * and then the outer loop.
 *
 * The primary's I/O thread also watches each secondary's request channel
 * (ipc_chan.c): a second socket of that peer, read like its connection,
 * whose requests are answered there.
 *
 * A peer that hangs up (EPOLLHUP, EPOLLRDHUP, end of stream) is removed at
 * once: its pending calls fail with -ECONNRESET, it counts as done in any
 * running broadcast, its channel is closed, and its peer-down event is
 * queued. A channel that hangs up only goes itself. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hp_log.h"
#include "ipc_private.h"

/* The endpoint whose I/O thread this is, if any. */
static _Thread_local const struct hp_ipc *ipc_io_self;

void ipc_peer_put(struct ipc_peer *peer)
{
	if (!peer || atomic_fetch_sub(&peer->refs, 1) != 1)
		return;
	close(peer->fd);
	if (peer->chan_fd >= 0)
		close(peer->chan_fd);
	ipc_work_free(peer->down_work);
	free(peer->cred.groups);
	free(peer);
}

/* Takes a reference on the connected peer id; NULL if there is none.
 * Caller holds ipc->lock. */
struct ipc_peer *ipc_peer_get(struct hp_ipc *ipc, uint32_t id)
{
	for (unsigned i = 0; i < ipc->nb_peers; i++) {
		if (ipc->peers[i]->id == id) {
			atomic_fetch_add(&ipc->peers[i]->refs, 1);
			return ipc->peers[i];
		}
	}
	return NULL;
}

/* Adds a connection (taking fd and cred's groups, also on failure) to the
 * table and to epoll and, if announce, queues its peer-up event. Caller
 * holds ipc->lock. */
int ipc_peer_add(struct hp_ipc *ipc, int fd, struct ipc_cred *cred,
		 uint32_t id, bool announce)
{
	pid_t pid = cred->pid;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = id };
	struct ipc_peer *peer = calloc(1, sizeof(*peer));
	struct ipc_work *up = announce ? ipc_work_new(id, pid, false) : NULL;
	int r = -ENOMEM;

	if (!peer || (announce && !up))
		goto err_free;
	peer->down_work = ipc_work_new(id, pid, false);
	if (!peer->down_work)
		goto err_free;
	atomic_init(&peer->refs, 1);
	peer->id = id;
	peer->fd = fd;
	peer->chan_fd = -1;
	peer->pid = pid;
	peer->cred = *cred;
	cred->groups = NULL;
	/* Without a join deadline, a peer joins as it connects. */
	peer->joined = !ipc->join_timeout_ms;
	if (!peer->joined)
		ipc_deadline((int)ipc->join_timeout_ms, &peer->join_by);
	if (epoll_ctl(ipc->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		goto err_free;
	}
	ipc->peers[ipc->nb_peers++] = peer;
	ipc->nb_joined += peer->joined;
	if (up) {
		up->up = true;
		ipc_worker_push(ipc, up);
	}
	return 0;

err_free:
	if (peer)
		ipc_work_free(peer->down_work);
	ipc_work_free(up);
	free(peer);
	free(cred->groups);
	cred->groups = NULL;
	close(fd);
	return r;
}

/* Removes a peer as if it had hung up: its calls fail with err, its
 * peer-down event is queued. Any thread. -ENOTCONN if it is not there. */
int ipc_peer_remove(struct hp_ipc *ipc, uint32_t id, int err)
{
	struct ipc_peer *peer = NULL;

	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < ipc->nb_peers; i++) {
		if (ipc->peers[i]->id == id) {
			peer = ipc->peers[i];
			ipc->peers[i] = ipc->peers[--ipc->nb_peers];
			ipc->nb_joined -= peer->joined;
			break;
		}
	}
	if (!peer) {
		pthread_mutex_unlock(&ipc->lock);
		return -ENOTCONN;
	}
	epoll_ctl(ipc->epoll_fd, EPOLL_CTL_DEL, peer->fd, NULL);
	/* Wakes any sender waiting for room in this socket. */
	shutdown(peer->fd, SHUT_RDWR);
	if (peer->chan_fd >= 0) {
		epoll_ctl(ipc->epoll_fd, EPOLL_CTL_DEL, peer->chan_fd, NULL);
		shutdown(peer->chan_fd, SHUT_RDWR);
	}
	ipc_calls_fail_peer(ipc, id, err);
	if (!ipc->stopping) {
		ipc_worker_push(ipc, peer->down_work);
		peer->down_work = NULL;
	}
	pthread_mutex_unlock(&ipc->lock);
	HP_DEBUG(IPC_LOG, "peer %u (pid %d) disconnected", id, (int)peer->pid);
	ipc_peer_put(peer);
	return 0;
}

/* Registers an API call that works outside the lock; false once the
 * endpoint is being destroyed. Pairs with ipc_leave. */
bool ipc_enter(struct hp_ipc *ipc)
{
	bool ok;

	pthread_mutex_lock(&ipc->lock);
	ok = !ipc->stopping;
	ipc->users += ok;
	pthread_mutex_unlock(&ipc->lock);
	return ok;
}

void ipc_leave(struct hp_ipc *ipc)
{
	pthread_mutex_lock(&ipc->lock);
	if (--ipc->users == 0 && ipc->stopping)
		pthread_cond_broadcast(&ipc->idle);
	pthread_mutex_unlock(&ipc->lock);
}

/* Runs an inline handler of hdr's type on this (the I/O) thread; false
 * when the type has none, or while a call runs the event loop from the
 * inline handler that owns inline_msg (the worker runs it then). */
static bool ipc_rx_inline(struct hp_ipc *ipc, struct ipc_peer *peer,
			  const struct ipc_hdr *hdr, struct ipc_rx *rx,
			  uint32_t via)
{
	struct ipc_handler h;

	if (ipc->io_nested || !ipc_handler_find(ipc, hdr->type, true, &h))
		return false;
	ipc_msg_fill(&ipc->inline_msg, hdr, rx->buf + IPC_HDR_SIZE);
	ipc->inline_msg.via = via;
	ipc->inline_msg.nb_fds = rx->nb_fds;
	memcpy(ipc->inline_msg.fds, rx->fds, sizeof(int) * rx->nb_fds);
	if (!(h.flags & HP_IPC_TAKES_FDS))
		ipc_drop_fds(peer->id, &ipc->inline_msg);
	ipc->inline_fn = h.fn;
	ipc->inline_arg = h.arg;
	h.fn(ipc, peer->id, &ipc->inline_msg, h.arg);
	ipc->inline_fn = NULL;
	return true;
}

/* Queues a request or notification for the worker, or runs its inline
 * handler at once. */
static int ipc_rx_queue(struct hp_ipc *ipc, struct ipc_peer *peer,
			const struct ipc_hdr *hdr, struct ipc_rx *rx,
			uint32_t via)
{
	if (ipc_rx_inline(ipc, peer, hdr, rx, via))
		return 0;

	struct ipc_work *w = ipc_work_new(peer->id, peer->pid, true);

	if (!w) {
		HP_WARN(IPC_LOG, "peer %u: out of memory, message dropped",
			peer->id);
		ipc_close_fds(rx->fds, rx->nb_fds);
		return 0;
	}
	w->kind = hdr->kind;
	ipc_msg_fill(w->msg, hdr, rx->buf + IPC_HDR_SIZE);
	w->msg->via = via;
	w->msg->nb_fds = rx->nb_fds;
	memcpy(w->msg->fds, rx->fds, sizeof(int) * rx->nb_fds);
	pthread_mutex_lock(&ipc->lock);
	ipc_worker_push(ipc, w);
	pthread_mutex_unlock(&ipc->lock);
	return 0;
}

/* A secondary's word on a message of the primary in another protocol
 * version; returns -EPROTO. */
int ipc_version_error(const struct ipc_hdr *hdr)
{
	HP_ERR(IPC_LOG,
	       "primary speaks protocol version %u, this process speaks %u",
	       hdr->version, HP_IPC_PROTO_VERSION);
	return -EPROTO;
}

/* A message in another protocol version: the primary answers -EPROTO with
 * its own version (on fd, where it came) and hangs up; a secondary fails
 * its calls with -EPROTO. Returns the error that removes the peer. */
static int ipc_rx_version(struct hp_ipc *ipc, struct ipc_peer *peer, int fd,
			  const struct ipc_hdr *hdr)
{
	if (!ipc->is_server)
		return ipc_version_error(hdr);
	HP_WARN(IPC_LOG,
		"peer %u (pid %d) speaks protocol version %u, this process speaks %u: disconnecting",
		peer->id, (int)peer->pid, hdr->version, HP_IPC_PROTO_VERSION);

	static const struct hp_ipc_msg empty;
	uint8_t buf[IPC_HDR_SIZE];

	ipc_hdr_make(buf, IPC_KIND_REPLY, hdr->type, hdr->id, -EPROTO, 0);
	ipc_send(fd, buf, &empty);
	return -EPROTO;
}

/* Handles one datagram received on the peer's connection, or on its
 * channel (chan); a negative return removes the peer. */
static int ipc_rx_dispatch(struct hp_ipc *ipc, struct ipc_peer *peer,
			   bool chan)
{
	struct ipc_rx *rx = &ipc->rx;
	const char *what = IPC_BAD_HEADER;
	struct ipc_hdr hdr;
	int r;

	r = ipc_rx_decode(rx, &hdr, &what);
	if (r == 0 && hdr.kind == IPC_KIND_REQUEST && hdr.id == 0)
		r = -EBADMSG;
	/* Of lib/ipc's own types, a primary takes only the channel from a
	 * secondary, and a secondary only a refusal past the welcome. */
	if (r == 0 && hdr.type < HP_IPC_TYPE_USER &&
	    hdr.type != (ipc->is_server ? IPC_TYPE_CHANNEL : IPC_TYPE_REFUSED)) {
		what = "message of a type lib/ipc keeps for itself";
		r = -EBADMSG;
	}
	if (r < 0)
		ipc_close_fds(rx->fds, rx->nb_fds);
	if (r == -EPROTO)
		return ipc_rx_version(ipc, peer, chan ? peer->chan_fd : peer->fd,
				      &hdr);
	if (r < 0)
		return ipc_malformed(ipc, peer, what);
	if (hdr.type == IPC_TYPE_CHANNEL)
		return ipc_chan_accept(ipc, peer, &hdr, rx, chan);
	if (hdr.type == IPC_TYPE_REFUSED)
		return ipc_client_refused(&hdr, rx);
	if (hdr.kind == IPC_KIND_REPLY)
		return ipc_rx_reply(ipc, peer, &hdr, rx);
	return ipc_rx_queue(ipc, peer, &hdr, rx,
			    chan ? IPC_VIA_CHAN : IPC_VIA_CONN);
}

/* Reads one datagram of a connection or channel (data: its epoll data)
 * that epoll reported. One per event saves the recvmsg that would only
 * say EAGAIN; epoll (level-triggered) reports the socket again while more
 * is queued, and the others get their turn in between. Queued messages
 * are read before a hang-up ends the stream, which removes the peer, or
 * only drops the channel. */
static void ipc_rx_peer(struct hp_ipc *ipc, uint64_t data, uint32_t events)
{
	bool chan = data & IPC_EV_CHAN;
	uint32_t id = (uint32_t)data;
	struct ipc_peer *peer;
	int r, err = 0;

	pthread_mutex_lock(&ipc->lock);
	peer = ipc_peer_get(ipc, id);
	pthread_mutex_unlock(&ipc->lock);
	if (!peer)
		return; /* removed since epoll_wait returned */
	r = ipc_recv(chan ? peer->chan_fd : peer->fd, &ipc->rx);
	if (r == 0 && (events & (EPOLLHUP | EPOLLERR)))
		r = -ECONNRESET;
	if (r > 0)
		err = ipc_rx_dispatch(ipc, peer, chan);
	else if (r < 0 && chan)
		ipc_chan_drop(ipc, peer);
	else if (r < 0)
		err = -ECONNRESET;
	ipc_peer_put(peer);
	if (err < 0)
		ipc_peer_remove(ipc, id, err == -EPROTO ? -EPROTO : -ECONNRESET);
}

/* Calls the function of watch i, if it is still watched. */
static void ipc_watch_run(struct hp_ipc *ipc, unsigned i)
{
	hp_ipc_watch_fn fn = NULL;
	void *arg = NULL;
	int fd = -1;

	pthread_mutex_lock(&ipc->lock);
	if (i < IPC_MAX_WATCHES && ipc->watches[i].fd >= 0) {
		fd = ipc->watches[i].fd;
		fn = ipc->watches[i].fn;
		arg = ipc->watches[i].arg;
	}
	pthread_mutex_unlock(&ipc->lock);
	if (fn)
		fn(ipc, fd, arg);
}

int hp_ipc_watch(struct hp_ipc *ipc, int fd, hp_ipc_watch_fn fn, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r = -ENOSPC, slot = -1;

	if (!ipc || fd < 0 || !fn)
		return -EINVAL;
	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < IPC_MAX_WATCHES && r != -EEXIST; i++) {
		if (ipc->watches[i].fd == fd)
			r = -EEXIST;
		else if (ipc->watches[i].fd < 0 && slot < 0)
			slot = (int)i;
	}
	if (r != -EEXIST && slot >= 0) {
		ev.data.u64 = IPC_EV_WATCH | (uint64_t)slot;
		r = epoll_ctl(ipc->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ?
			    -errno : 0;
		if (r == 0) {
			ipc->watches[slot].fd = fd;
			ipc->watches[slot].fn = fn;
			ipc->watches[slot].arg = arg;
		}
	}
	pthread_mutex_unlock(&ipc->lock);
	if (r < 0)
		HP_DEBUG(IPC_LOG, "cannot watch fd %d: %s", fd, strerror(-r));
	return r;
}

int hp_ipc_unwatch(struct hp_ipc *ipc, int fd)
{
	int r = -ENOENT;

	if (!ipc)
		return -EINVAL;
	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < IPC_MAX_WATCHES; i++) {
		if (ipc->watches[i].fd == fd) {
			epoll_ctl(ipc->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
			ipc->watches[i].fd = -1;
			r = 0;
		}
	}
	pthread_mutex_unlock(&ipc->lock);
	return r;
}

/* Waits up to timeout_ms (-1: no limit) for what epoll reports and
 * handles it. -ESHUTDOWN once the stop request was seen (or epoll_wait
 * failed): the I/O thread then ends, and so does a call's nested loop
 * (ipc_call.c) and the loop around the inline handler that made it.
 * I/O thread. */
int ipc_io_poll(struct hp_ipc *ipc, int timeout_ms)
{
	struct epoll_event evs[32];
	int n;

	if (ipc->io_stop)
		return -ESHUTDOWN;
	n = epoll_wait(ipc->epoll_fd, evs, HP_ARRAY_SIZE(evs), timeout_ms);
	if (n < 0 && errno != EINTR) {
		HP_ERR(IPC_LOG, "epoll_wait: %s: the I/O thread stops",
		       strerror(errno));
		ipc->io_stop = true;
	}
	for (int i = 0; i < n && !ipc->io_stop; i++) {
		if (evs[i].data.u64 == IPC_EV_STOP)
			ipc->io_stop = true;
		else if (evs[i].data.u64 == IPC_EV_LISTEN)
			ipc_server_accept(ipc);
		else if (evs[i].data.u64 == IPC_EV_TIMER)
			ipc_join_timer(ipc);
		else if (evs[i].data.u64 & IPC_EV_WATCH)
			ipc_watch_run(ipc, (unsigned)(evs[i].data.u64 & 0xff));
		else
			ipc_rx_peer(ipc, evs[i].data.u64, evs[i].events);
	}
	return ipc->io_stop ? -ESHUTDOWN : 0;
}

static void *ipc_io_main(void *arg)
{
	struct hp_ipc *ipc = arg;

	ipc_io_self = ipc;
	pthread_setname_np(pthread_self(), "hp-ipc-io");
	while (ipc_io_poll(ipc, -1) == 0)
		;
	return NULL;
}

bool hp_ipc_in_io_thread(const struct hp_ipc *ipc)
{
	return ipc && ipc_io_self == ipc;
}

static int ipc_epoll_add(struct hp_ipc *ipc, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(ipc->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Allocates an endpoint with its epoll fd and eventfd, no thread yet;
 * hp_ipc_destroy undoes it at any stage. */
int ipc_endpoint_new(bool is_server, unsigned max_peers,
		     struct hp_ipc **ret_ipc)
{
	struct hp_ipc *ipc = calloc(1, sizeof(*ipc));
	int r = -ENOMEM;

	if (!ipc)
		return -ENOMEM;
	ipc->is_server = is_server;
	ipc->listen_fd = -1;
	ipc->reserve_fd = -1;
	ipc->timer_fd = -1;
	ipc->max_peers = max_peers;
	ipc->next_peer_id = 1;
	ipc->next_call_id = 1;
	ipc->wq_tail = &ipc->wq_head;
	ipc->chan_fd = -1;
	for (unsigned i = 0; i < IPC_MAX_WATCHES; i++)
		ipc->watches[i].fd = -1;
	pthread_mutex_init(&ipc->lock, NULL);
	pthread_mutex_init(&ipc->wq_lock, NULL);
	pthread_mutex_init(&ipc->chan_lock, NULL);
	pthread_condattr_init(&ipc->condattr);
	pthread_condattr_setclock(&ipc->condattr, CLOCK_MONOTONIC);
	pthread_cond_init(&ipc->idle, &ipc->condattr);
	pthread_cond_init(&ipc->wq_cond, &ipc->condattr);
	ipc->epoll_fd = -1;
	ipc->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ipc->event_fd < 0) {
		r = -errno;
		goto err_destroy;
	}
	ipc->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ipc->epoll_fd < 0) {
		r = -errno;
		goto err_destroy;
	}
	ipc->peers = calloc(max_peers, sizeof(*ipc->peers));
	if (!ipc->peers)
		goto err_destroy;
	r = ipc_epoll_add(ipc, ipc->event_fd, IPC_EV_STOP);
	if (r < 0)
		goto err_destroy;
	*ret_ipc = ipc;
	return 0;

err_destroy:
	hp_ipc_destroy(ipc);
	return r;
}

/* Watches the listening socket if any and starts the I/O thread, with
 * every signal blocked in it: signals belong to the application's
 * threads. The worker starts with its first item (ipc_worker_push). */
int ipc_endpoint_start(struct hp_ipc *ipc)
{
	sigset_t all, old;
	int r = 0;

	if (ipc->listen_fd >= 0) {
		r = ipc_epoll_add(ipc, ipc->listen_fd, IPC_EV_LISTEN);
		if (r < 0)
			return r;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&ipc->io_thread, NULL, ipc_io_main, ipc);
	ipc->io_started = r == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int hp_ipc_client_connect(const char *path, struct hp_ipc **ret_ipc)
{
	return hp_ipc_client_connect_msg(path, ret_ipc, NULL, 0);
}

int hp_ipc_client_connect_msg(const char *path, struct hp_ipc **ret_ipc,
			      char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char why[512] = "";
	struct ipc_cred cred;
	struct hp_ipc *ipc;
	int fd, r;

	if (!path || !ret_ipc || (errlen && !err))
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		ipc = NULL;
		r = -ENAMETOOLONG;
		goto err_destroy;
	}
	strcpy(sa.sun_path, path);
	/* Out of fds here too: the caller gets the reason, not "". */
	r = ipc_endpoint_new(false, 1, &ipc);
	if (r < 0) {
		ipc = NULL;
		goto err_destroy;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto err_destroy;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		goto err_destroy;
	}
	r = ipc_client_welcome(ipc, fd, why, sizeof(why));
	if (r == 0)
		r = ipc_cred_read(fd, &cred);
	if (r < 0) {
		close(fd);
		goto err_destroy;
	}
	ipc_chan_open(ipc, fd);
	/* The primary is there when connect returns: no peer-up event. */
	pthread_mutex_lock(&ipc->lock);
	r = ipc_peer_add(ipc, fd, &cred, HP_IPC_PRIMARY, false);
	pthread_mutex_unlock(&ipc->lock);
	if (r < 0)
		goto err_destroy;
	r = ipc_endpoint_start(ipc);
	if (r < 0)
		goto err_destroy;
	*ret_ipc = ipc;
	return 0;

err_destroy:
	if (!why[0])
		snprintf(why, sizeof(why), "cannot connect to %s: %s", path,
			 strerror(-r));
	HP_DEBUG(IPC_LOG, "cannot connect to '%s': %s", path, why);
	if (errlen)
		snprintf(err, errlen, "%s", why);
	hp_ipc_destroy(ipc);
	return r;
}

/* Stops the I/O thread and drops every connection. */
static void ipc_stop_io(struct hp_ipc *ipc)
{
	uint64_t one = 1;

	if (ipc->io_started && write(ipc->event_fd, &one, sizeof(one)) < 0)
		HP_ERR(IPC_LOG, "cannot wake the I/O thread: %s",
		       strerror(errno));
	if (ipc->io_started)
		pthread_join(ipc->io_thread, NULL);
	ipc->io_started = false;
	for (;;) {
		pthread_mutex_lock(&ipc->lock);
		uint32_t id = ipc->nb_peers ? ipc->peers[0]->id : 0;
		bool any = ipc->nb_peers > 0;
		pthread_mutex_unlock(&ipc->lock);
		if (!any)
			break;
		ipc_peer_remove(ipc, id, -ESHUTDOWN);
	}
}

void hp_ipc_destroy(struct hp_ipc *ipc)
{
	if (!ipc)
		return;
	pthread_mutex_lock(&ipc->lock);
	ipc->stopping = true;
	ipc_calls_fail_all(ipc, -ESHUTDOWN);
	pthread_mutex_unlock(&ipc->lock);
	/* Wakes a caller waiting on the channel (it returns -ESHUTDOWN). */
	if (ipc->chan_fd >= 0)
		shutdown(ipc->chan_fd, SHUT_RDWR);

	ipc_stop_io(ipc);
	ipc_worker_stop(ipc);
	pthread_mutex_lock(&ipc->lock);
	while (ipc->users)
		pthread_cond_wait(&ipc->idle, &ipc->lock);
	pthread_mutex_unlock(&ipc->lock);

	if (ipc->listen_fd >= 0) {
		close(ipc->listen_fd);
		unlink(ipc->published ? ipc->path : ipc->tmp_path);
	}
	if (ipc->epoll_fd >= 0)
		close(ipc->epoll_fd);
	if (ipc->timer_fd >= 0)
		close(ipc->timer_fd);
	if (ipc->reserve_fd >= 0)
		close(ipc->reserve_fd);
	if (ipc->event_fd >= 0)
		close(ipc->event_fd);
	if (ipc->chan_fd >= 0)
		close(ipc->chan_fd);
	pthread_cond_destroy(&ipc->wq_cond);
	pthread_cond_destroy(&ipc->idle);
	pthread_condattr_destroy(&ipc->condattr);
	pthread_mutex_destroy(&ipc->wq_lock);
	pthread_mutex_destroy(&ipc->chan_lock);
	pthread_mutex_destroy(&ipc->lock);
	free(ipc->handlers);
	free(ipc->peers);
	free(ipc);
}

bool ipc_handler_find(struct hp_ipc *ipc, uint16_t type, bool inline_only,
		      struct ipc_handler *ret)
{
	bool found = false;

	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < ipc->nb_handlers && !found; i++) {
		if (ipc->handlers[i].type == type &&
		    (!inline_only || (ipc->handlers[i].flags & HP_IPC_INLINE))) {
			*ret = ipc->handlers[i];
			found = true;
		}
	}
	pthread_mutex_unlock(&ipc->lock);
	return found;
}

int hp_ipc_register_flags(struct hp_ipc *ipc, uint16_t type, unsigned flags,
			  hp_ipc_handler_fn fn, void *arg)
{
	struct ipc_handler *h = NULL;
	int r = 0;

	if (!ipc || type < HP_IPC_TYPE_USER || (flags & ~(HP_IPC_INLINE | HP_IPC_TAKES_FDS)))
		return -EINVAL;
	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < ipc->nb_handlers && !h; i++)
		if (ipc->handlers[i].type == type)
			h = &ipc->handlers[i];
	if (!h && fn) {
		h = realloc(ipc->handlers,
			    sizeof(*h) * (ipc->nb_handlers + 1));
		if (!h) {
			r = -ENOMEM;
			goto out;
		}
		ipc->handlers = h;
		h = &ipc->handlers[ipc->nb_handlers++];
	}
	if (fn) {
		*h = (struct ipc_handler){ .type = type, .flags = flags,
					   .fn = fn, .arg = arg };
	} else if (h) {
		*h = ipc->handlers[--ipc->nb_handlers];
	}
out:
	pthread_mutex_unlock(&ipc->lock);
	return r;
}

int hp_ipc_register(struct hp_ipc *ipc, uint16_t type, hp_ipc_handler_fn fn,
		    void *arg)
{
	return hp_ipc_register_flags(ipc, type, 0, fn, arg);
}

int hp_ipc_register_inline(struct hp_ipc *ipc, uint16_t type,
			   hp_ipc_handler_fn fn, void *arg)
{
	return hp_ipc_register_flags(ipc, type, HP_IPC_INLINE, fn, arg);
}

void hp_ipc_set_peer_callback(struct hp_ipc *ipc, hp_ipc_peer_fn fn, void *arg)
{
	if (!ipc)
		return;
	pthread_mutex_lock(&ipc->lock);
	ipc->peer_fn = fn;
	ipc->peer_arg = arg;
	pthread_mutex_unlock(&ipc->lock);
}

int hp_ipc_peers(struct hp_ipc *ipc, struct hp_ipc_peer_info *peers,
		 unsigned max)
{
	unsigned n = 0;

	if (!ipc || (max && !peers))
		return -EINVAL;
	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < ipc->nb_peers && n < max; i++) {
		if (!ipc->peers[i]->joined)
			continue;
		peers[n].id = ipc->peers[i]->id;
		peers[n].pid = ipc->peers[i]->pid;
		peers[n].uid = ipc->peers[i]->cred.uid;
		n++;
	}
	pthread_mutex_unlock(&ipc->lock);
	return (int)n;
}

pid_t hp_ipc_peer_pid(struct hp_ipc *ipc, uint32_t peer)
{
	struct ipc_peer *p;
	pid_t pid = 0;

	if (!ipc)
		return 0;
	pthread_mutex_lock(&ipc->lock);
	p = ipc_peer_get(ipc, peer);
	if (p)
		pid = p->pid;
	pthread_mutex_unlock(&ipc->lock);
	ipc_peer_put(p);
	return pid;
}

int hp_ipc_disconnect(struct hp_ipc *ipc, uint32_t peer)
{
	if (!ipc)
		return -EINVAL;
	return ipc_peer_remove(ipc, peer, -ECONNRESET);
}
