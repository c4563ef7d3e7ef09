/* SPDX-License-Identifier: BSD-3-Clause */
/* Calls: request/reply, notifications, broadcast- and multicast-and-gather.
 *
 * A call (one request, or one broadcast to every peer, or one multicast to
 * the peers named; a broadcast is a multicast to all) gets a fresh 64-bit
 * id and a slot per peer, and goes on ipc->calls before anything is sent.
 * The caller sends to every peer without blocking on any of them, then
 * waits on the call's condition variable until the single absolute
 * deadline (CLOCK_MONOTONIC). The I/O thread fills a slot when its reply
 * arrives, and a peer's removal fills its slots with the error; whoever
 * fills the last slot wakes the caller. A reply that finds no pending slot
 * but carries an id already handed out arrived late and is dropped
 * quietly; an id never handed out counts as malformed.
 *
 * A caller on the I/O thread (an inline handler) cannot sleep there: the
 * replies arrive on that very thread. It runs the event loop itself
 * (ipc_call_loop: epoll_wait up to the deadline, as the thread's own loop
 * does) until the call is done; meanwhile messages of inline types go to
 * the worker.
 *
 * A secondary's request to the primary from another thread takes the
 * request channel when it is free (ipc_chan.c): its id comes from the same
 * counter, but it is not on ipc->calls, since the caller reads its reply
 * itself. A reply goes back the way its request came (hp_ipc_msg.via).
 *
 * A notification to all (but some) goes to every peer before waiting on
 * any, as a call's request does, and waits for no reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_log.h"
#include "ipc_private.h"

/* Counts a malformed message; the primary hangs up on a peer that sent
 * HP_IPC_MAX_MALFORMED of them (-EBADMSG tells the caller to), telling it
 * why; a secondary drops it. I/O thread. */
int ipc_malformed(struct hp_ipc *ipc, struct ipc_peer *peer, const char *what)
{
	if (!ipc->is_server || ++peer->malformed < HP_IPC_MAX_MALFORMED) {
		HP_WARN(IPC_LOG, "peer %u (pid %d): %s, message dropped",
			peer->id, (int)peer->pid, what);
		return 0;
	}
	HP_WARN(IPC_LOG, "peer %u (pid %d): %s: disconnecting", peer->id,
		(int)peer->pid, what);
	ipc_refuse(peer->fd, -EBADMSG,
		   "the primary hung up: this process sent a malformed message (%s)",
		   what);
	return -EBADMSG;
}

/* Settles one slot; true for the last one. Caller holds ipc->lock. */
static bool ipc_slot_settle(struct ipc_call *call, struct ipc_slot *s,
			    int status)
{
	s->done = true;
	s->status = status;
	return --call->nb_left == 0;
}

/* Settles one slot and, with the last one, wakes the caller at once (the
 * paths that are not the reply fast path). Caller holds ipc->lock. */
static void ipc_slot_done(struct ipc_call *call, struct ipc_slot *s, int status)
{
	if (ipc_slot_settle(call, s, status))
		pthread_cond_signal(&call->cond);
}

static struct ipc_call *ipc_call_new(struct hp_ipc *ipc, unsigned max_slots,
				     struct hp_ipc_msg *reply)
{
	struct ipc_call *call;

	call = calloc(1, sizeof(*call) + sizeof(call->slots[0]) * max_slots);
	if (!call)
		return NULL;
	atomic_init(&call->refs, 1);
	call->reply = reply;
	pthread_cond_init(&call->cond, &ipc->condattr);
	return call;
}

static void ipc_call_put(struct ipc_call *call)
{
	if (!call || atomic_fetch_sub(&call->refs, 1) != 1)
		return;
	pthread_cond_destroy(&call->cond);
	free(call);
}

void ipc_calls_fail_peer(struct hp_ipc *ipc, uint32_t peer, int err)
{
	for (struct ipc_call *c = ipc->calls; c; c = c->next)
		for (unsigned i = 0; i < c->nb_slots; i++)
			if (c->slots[i].peer_id == peer && !c->slots[i].done)
				ipc_slot_done(c, &c->slots[i], err);
}

void ipc_calls_fail_all(struct hp_ipc *ipc, int err)
{
	for (struct ipc_call *c = ipc->calls; c; c = c->next)
		for (unsigned i = 0; i < c->nb_slots; i++)
			if (!c->slots[i].done)
				ipc_slot_done(c, &c->slots[i], err);
}

/* Writes a reply into the slot's destination: the requester's message (fds
 * included) or a broadcast result (fds closed). */
static void ipc_slot_fill(struct ipc_call *call, struct ipc_slot *s,
			  const struct ipc_hdr *hdr, struct ipc_rx *rx)
{
	const uint8_t *payload = rx->buf + IPC_HDR_SIZE;

	if (call->reply) {
		ipc_msg_fill(call->reply, hdr, payload);
		call->reply->nb_fds = rx->nb_fds;
		memcpy(call->reply->fds, rx->fds, sizeof(int) * rx->nb_fds);
		return;
	}
	ipc_close_fds(rx->fds, rx->nb_fds);
	s->res->reply_status = hdr->status;
	snprintf(s->res->reply_text, sizeof(s->res->reply_text), "%.*s",
		 (int)hdr->len, (const char *)payload);
}

/* Hands a reply to its caller. The caller is woken after unlocking, so
 * that it does not wake into a held lock; the reference taken meanwhile
 * keeps its call alive. */
int ipc_rx_reply(struct hp_ipc *ipc, struct ipc_peer *peer,
		 const struct ipc_hdr *hdr, struct ipc_rx *rx)
{
	struct ipc_call *wake = NULL;
	bool issued;

	pthread_mutex_lock(&ipc->lock);
	issued = hdr->id != 0 && hdr->id < ipc->next_call_id;
	for (struct ipc_call *c = ipc->calls; c; c = c->next) {
		if (c->id != hdr->id)
			continue;
		for (unsigned i = 0; i < c->nb_slots; i++) {
			struct ipc_slot *s = &c->slots[i];

			if (s->peer_id != peer->id || s->done)
				continue;
			ipc_slot_fill(c, s, hdr, rx);
			if (ipc_slot_settle(c, s, 0)) {
				atomic_fetch_add(&c->refs, 1);
				wake = c;
			}
			pthread_mutex_unlock(&ipc->lock);
			if (wake) {
				pthread_cond_signal(&wake->cond);
				ipc_call_put(wake);
			}
			return 0;
		}
		break;
	}
	pthread_mutex_unlock(&ipc->lock);
	ipc_close_fds(rx->fds, rx->nb_fds);
	if (!issued)
		return ipc_malformed(ipc, peer, "reply to an unknown request id");
	HP_DEBUG(IPC_LOG, "peer %u (pid %d): late reply to request %llu dropped",
		 peer->id, (int)peer->pid, (unsigned long long)hdr->id);
	return 0;
}

static bool ipc_id_in(uint32_t id, const uint32_t *ids, unsigned nb)
{
	for (unsigned i = 0; i < nb; i++)
		if (ids[i] == id)
			return true;
	return false;
}

bool ipc_peer_counts(const struct ipc_peer *p, const uint32_t *to,
		     unsigned nb_to)
{
	return to ? ipc_id_in(p->id, to, nb_to) : p->joined;
}

/* Takes a reference on each connected peer whose id is in `to` (every
 * joined one when to is NULL) into fresh slots, points each at its result (when
 * results), and queues the call under a new id. Returns the number of
 * slots, -ESHUTDOWN, -ENOTCONN (a request's peer is not connected),
 * -ENOSPC (more such peers than max). */
static int ipc_call_start(struct hp_ipc *ipc, struct ipc_call *call,
			  const uint32_t *to, unsigned nb_to, unsigned max,
			  struct hp_ipc_result *results)
{
	unsigned n = 0, nb_want = 0;
	int r = 0;

	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < ipc->nb_peers; i++)
		nb_want += ipc_peer_counts(ipc->peers[i], to, nb_to);
	if (ipc->stopping)
		r = -ESHUTDOWN;
	else if (nb_want > max)
		r = -ENOSPC;
	else if (nb_want == 0 && call->reply)
		r = -ENOTCONN;
	for (unsigned i = 0; r == 0 && i < ipc->nb_peers; i++) {
		struct ipc_peer *p = ipc->peers[i];

		if (!ipc_peer_counts(p, to, nb_to))
			continue;
		atomic_fetch_add(&p->refs, 1);
		call->slots[n] = (struct ipc_slot){ .peer = p, .peer_id = p->id };
		if (results) {
			call->slots[n].res = &results[n];
			results[n] = (struct hp_ipc_result){ .peer = p->id,
							     .pid = p->pid };
		}
		n++;
	}
	if (r == 0) {
		call->id = ipc->next_call_id++;
		call->nb_slots = n;
		call->nb_left = n;
		call->next = ipc->calls;
		ipc->calls = call;
	}
	pthread_mutex_unlock(&ipc->lock);
	return r < 0 ? r : (int)n;
}

/* Sends req (with the call's id) to every slot's peer; a peer that cannot
 * take it fails its slot (-ETIMEDOUT when its buffer stayed full). */
static void ipc_call_send(struct hp_ipc *ipc, struct ipc_call *call,
			  struct hp_ipc_msg *req, const struct timespec *deadline)
{
	struct ipc_target one, *t = &one;
	uint8_t hdr[IPC_HDR_SIZE];

	if (call->nb_slots > 1)
		t = calloc(call->nb_slots, sizeof(*t));
	req->id = call->id;
	ipc_hdr_make(hdr, IPC_KIND_REQUEST, req->type, call->id, req->status,
		     req->len);
	for (unsigned i = 0; t && i < call->nb_slots; i++)
		t[i].fd = call->slots[i].peer->fd;
	if (t)
		ipc_send_many(t, call->nb_slots, hdr, req, deadline);
	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < call->nb_slots; i++) {
		int err = t ? t[i].err : -ENOMEM;

		if (err == -EPIPE || err == -ENOTCONN)
			err = -ECONNRESET;
		if (err && !call->slots[i].done)
			ipc_slot_done(call, &call->slots[i], err);
	}
	pthread_mutex_unlock(&ipc->lock);
	if (t != &one)
		free(t);
}

/* I/O thread (a call from an inline handler): runs the event loop itself
 * until every slot is settled or the deadline passed, since the replies
 * arrive on this very thread. Returns the error of the slots left:
 * -ETIMEDOUT, or -ESHUTDOWN when the loop saw the stop request. */
static int ipc_call_loop(struct hp_ipc *ipc, struct ipc_call *call,
			 const struct timespec *deadline)
{
	int ms, r = 0;

	ipc->io_nested = true;
	for (;;) {
		pthread_mutex_lock(&ipc->lock);
		unsigned left = call->nb_left;
		pthread_mutex_unlock(&ipc->lock);
		if (!left || (ms = ipc_ms_left(deadline)) == 0)
			break;
		r = ipc_io_poll(ipc, ms);
		if (r < 0)
			break;
	}
	ipc->io_nested = false;
	return r < 0 ? -ESHUTDOWN : -ETIMEDOUT;
}

/* Waits until every slot is settled or the deadline passed (the rest get
 * -ETIMEDOUT, or -ESHUTDOWN), then takes the call off the list and drops
 * the peers. */
static void ipc_call_wait(struct hp_ipc *ipc, struct ipc_call *call,
			  const struct timespec *deadline)
{
	int err = -ETIMEDOUT;

	if (hp_ipc_in_io_thread(ipc)) {
		err = ipc_call_loop(ipc, call, deadline);
		pthread_mutex_lock(&ipc->lock);
	} else {
		pthread_mutex_lock(&ipc->lock);
		while (call->nb_left &&
		       pthread_cond_timedwait(&call->cond, &ipc->lock,
					      deadline) != ETIMEDOUT)
			;
	}
	for (unsigned i = 0; i < call->nb_slots; i++)
		if (!call->slots[i].done)
			ipc_slot_done(call, &call->slots[i], err);
	for (struct ipc_call **pp = &ipc->calls; *pp; pp = &(*pp)->next) {
		if (*pp == call) {
			*pp = call->next;
			break;
		}
	}
	pthread_mutex_unlock(&ipc->lock);
	for (unsigned i = 0; i < call->nb_slots; i++)
		ipc_peer_put(call->slots[i].peer);
}

/* Runs a call to the peers in `to` (every one when NULL; up to max):
 * queues it, sends req, waits for the replies until one deadline. The
 * outcome is in the call's slots. Returns their number, or -EINVAL,
 * -EMSGSIZE, -ESHUTDOWN, -ENOTCONN, -ENOSPC. */
static int ipc_call_run(struct hp_ipc *ipc, struct ipc_call *call,
			struct hp_ipc_msg *req, int timeout_ms,
			const uint32_t *to, unsigned nb_to, unsigned max,
			struct hp_ipc_result *results)
{
	struct timespec deadline;
	int n = ipc_msg_check(req);

	if (n < 0)
		return n;
	ipc_deadline(timeout_ms, &deadline);
	if (!ipc_enter(ipc))
		return -ESHUTDOWN;
	n = ipc_call_start(ipc, call, to, nb_to, max, results);
	if (n >= 0) {
		ipc_call_send(ipc, call, req, &deadline);
		ipc_call_wait(ipc, call, &deadline);
	}
	ipc_leave(ipc);
	return n;
}

int hp_ipc_request(struct hp_ipc *ipc, uint32_t peer, struct hp_ipc_msg *req,
		   struct hp_ipc_msg *ret_reply, int timeout_ms)
{
	struct ipc_call *call;
	int r;

	if (!ipc || !ret_reply)
		return -EINVAL;
	/* The I/O thread takes the connection: its loop must go on. */
	if (peer == HP_IPC_PRIMARY && ipc->chan_fd >= 0 &&
	    !hp_ipc_in_io_thread(ipc)) {
		r = ipc_chan_request(ipc, req, ret_reply, timeout_ms);
		if (r != -EAGAIN)
			goto out;
	}
	call = ipc_call_new(ipc, 1, ret_reply);
	r = call ? ipc_call_run(ipc, call, req, timeout_ms, &peer, 1, 1, NULL) :
		   -ENOMEM;
	if (r >= 0)
		r = call->slots[0].status;
	ipc_call_put(call);
out:
	if (r < 0)
		HP_DEBUG(IPC_LOG, "request to peer %u: %s", peer, strerror(-r));
	return r;
}

/* Sends one message that waits for no reply (a reply or a notification),
 * on the peer's connection or its channel (via), with the default deadline
 * for a full socket buffer; a server's reply, none: a peer whose buffer is
 * full stopped reading its replies (a requester reads its own at once),
 * and waiting for it would stall the thread that serves everyone (one
 * connection that sent HELLO after HELLO and never read kept the primary
 * from answering anyone for 5 s per message). */
static int ipc_send_one(struct hp_ipc *ipc, uint32_t peer, uint16_t kind,
			uint64_t id, const struct hp_ipc_msg *msg, uint32_t via)
{
	struct timespec deadline;
	struct ipc_target t = { .err = -ENOTCONN };
	struct ipc_peer *p;
	uint8_t hdr[IPC_HDR_SIZE];

	ipc_deadline(kind == IPC_KIND_REPLY && ipc->is_server ? 0 : -1,
		     &deadline);
	ipc_hdr_make(hdr, kind, msg->type, id, msg->status, msg->len);
	if (!ipc_enter(ipc))
		return -ENOTCONN;
	pthread_mutex_lock(&ipc->lock);
	p = ipc_peer_get(ipc, peer);
	if (p)
		t.fd = via == IPC_VIA_CHAN ? p->chan_fd : p->fd;
	pthread_mutex_unlock(&ipc->lock);
	if (p && t.fd >= 0)
		ipc_send_many(&t, 1, hdr, msg, &deadline);
	ipc_peer_put(p);
	ipc_leave(ipc);
	if (t.err == -EPIPE || t.err == -ECONNRESET)
		t.err = -ENOTCONN;
	if (t.err < 0)
		HP_DEBUG(IPC_LOG, "%s type %u to peer %u: %s",
			 kind == IPC_KIND_REPLY ? "reply" : "notification",
			 msg->type, peer, strerror(-t.err));
	return t.err;
}

int hp_ipc_reply(struct hp_ipc *ipc, uint32_t peer,
		 const struct hp_ipc_msg *req, struct hp_ipc_msg *reply)
{
	uint64_t id;
	int r;

	if (!ipc || !req || req->id == 0)
		return -EINVAL;
	id = req->id;
	if (reply && reply->type == 0)
		reply->type = req->type;
	r = ipc_msg_check(reply);
	if (r < 0)
		return r;
	reply->id = id;
	return ipc_send_one(ipc, peer, IPC_KIND_REPLY, id, reply, req->via);
}

int hp_ipc_notify(struct hp_ipc *ipc, uint32_t peer, struct hp_ipc_msg *msg)
{
	int r;

	if (!ipc)
		return -EINVAL;
	r = ipc_msg_check(msg);
	if (r < 0)
		return r;
	msg->id = 0;
	return ipc_send_one(ipc, peer, IPC_KIND_NOTIFY, 0, msg, IPC_VIA_CONN);
}

/* A broadcast (to NULL) or multicast, past the argument checks. */
static int ipc_gather(struct hp_ipc *ipc, const uint32_t *to, unsigned nb_to,
		      struct hp_ipc_msg *req, int timeout_ms,
		      struct hp_ipc_result *results, unsigned max,
		      unsigned *ret_nb)
{
	unsigned nb_slots = max < ipc->max_peers ? max : ipc->max_peers;
	struct ipc_call *call;
	int r, n;

	/* Nobody to ask (a primary alone): done, without a call's set-up. */
	pthread_mutex_lock(&ipc->lock);
	n = (int)(to ? ipc->nb_peers : ipc->nb_joined);
	pthread_mutex_unlock(&ipc->lock);
	if (n == 0) {
		*ret_nb = 0;
		return 0;
	}
	/* At most min(max, max_peers, nb_to) slots get used; max_peers is
	 * fixed. */
	if (to && nb_to < nb_slots)
		nb_slots = nb_to;
	call = ipc_call_new(ipc, nb_slots, NULL);
	n = call ? ipc_call_run(ipc, call, req, timeout_ms, to, nb_to, max,
				results) :
		   -ENOMEM;
	r = n < 0 ? n : 0;
	for (int i = 0; i < n; i++) {
		results[i].status = call->slots[i].status;
		if (results[i].status == -ETIMEDOUT && r == 0)
			r = -ETIMEDOUT;
		if (results[i].status == -ESHUTDOWN)
			r = -ESHUTDOWN; /* hp_ipc_destroy cut it short */
	}
	if (n >= 0)
		*ret_nb = (unsigned)n;
	ipc_call_put(call);
	if (r < 0)
		HP_DEBUG(IPC_LOG, "%s: %s", to ? "multicast" : "broadcast",
			 strerror(-r));
	return r;
}

int hp_ipc_broadcast(struct hp_ipc *ipc, struct hp_ipc_msg *req,
		     int timeout_ms, struct hp_ipc_result *results,
		     unsigned max, unsigned *ret_nb)
{
	if (!ipc || !ret_nb || (max && !results))
		return -EINVAL;
	return ipc_gather(ipc, NULL, 0, req, timeout_ms, results, max, ret_nb);
}

int hp_ipc_multicast(struct hp_ipc *ipc, const uint32_t *to, unsigned nb_to,
		     struct hp_ipc_msg *req, int timeout_ms,
		     struct hp_ipc_result *results, unsigned max,
		     unsigned *ret_nb)
{
	if (!ipc || !ret_nb || (max && !results) || (nb_to && !to))
		return -EINVAL;
	if (nb_to == 0) {
		*ret_nb = 0;
		return 0;
	}
	return ipc_gather(ipc, to, nb_to, req, timeout_ms, results, max, ret_nb);
}

/* Takes a reference on each connected peer not in except, into p and t;
 * returns how many. */
static unsigned ipc_peers_but(struct hp_ipc *ipc, const uint32_t *except,
			      unsigned nb_except, struct ipc_peer **p,
			      struct ipc_target *t)
{
	unsigned n = 0;

	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < ipc->nb_peers; i++) {
		if (!ipc->peers[i]->joined ||
		    ipc_id_in(ipc->peers[i]->id, except, nb_except))
			continue;
		p[n] = ipc->peers[i];
		atomic_fetch_add(&p[n]->refs, 1);
		t[n] = (struct ipc_target){ .fd = p[n]->fd };
		n++;
	}
	pthread_mutex_unlock(&ipc->lock);
	return n;
}

int hp_ipc_notify_all(struct hp_ipc *ipc, struct hp_ipc_msg *msg,
		      const uint32_t *except, unsigned nb_except)
{
	struct timespec deadline;
	struct ipc_target *t = NULL;
	struct ipc_peer **p = NULL;
	uint8_t hdr[IPC_HDR_SIZE];
	unsigned n;
	int r;

	if (!ipc || (nb_except && !except))
		return -EINVAL;
	r = ipc_msg_check(msg);
	if (r < 0)
		return r;
	msg->id = 0;
	ipc_hdr_make(hdr, IPC_KIND_NOTIFY, msg->type, 0, msg->status, msg->len);
	ipc_deadline(-1, &deadline);
	if (!ipc_enter(ipc))
		return -ESHUTDOWN;
	t = calloc(ipc->max_peers, sizeof(*t));
	p = calloc(ipc->max_peers, sizeof(*p));
	if (!t || !p) {
		r = -ENOMEM;
		goto out;
	}
	n = ipc_peers_but(ipc, except, nb_except, p, t);
	ipc_send_many(t, n, hdr, msg, &deadline);
	for (unsigned i = 0; i < n; i++) {
		r += t[i].err == 0;
		ipc_peer_put(p[i]);
	}
out:
	ipc_leave(ipc);
	free(p);
	free(t);
	if (r < 0)
		HP_DEBUG(IPC_LOG, "notification type %u to all: %s", msg->type,
			 strerror(-r));
	return r;
}
