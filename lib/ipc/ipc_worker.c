/* SPDX-License-Identifier: BSD-3-Clause */
/* The worker thread: runs handlers and peer callbacks one at a time, in the
 * order the I/O thread queued them, and the messages inline handlers defer
 * to it. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hp_log.h"
#include "ipc_private.h"

/* A work item; a message item carries its hp_ipc_msg in the same block. */
struct ipc_work *ipc_work_new(uint32_t peer, pid_t pid, bool is_msg)
{
	size_t size = sizeof(struct ipc_work);
	struct ipc_work *w;

	if (is_msg)
		size += sizeof(struct hp_ipc_msg);
	w = malloc(size);
	if (!w)
		return NULL;
	*w = (struct ipc_work){ .peer = peer, .pid = pid, .is_msg = is_msg };
	if (is_msg) {
		w->msg = (struct hp_ipc_msg *)(w + 1);
		w->msg->nb_fds = 0;
	}
	return w;
}

void ipc_work_free(struct ipc_work *w)
{
	free(w);
}

/* Starts the worker thread, with every signal blocked in it (signals
 * belong to the application's threads). Caller holds ipc->lock. */
static int ipc_worker_spawn(struct hp_ipc *ipc)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&ipc->worker_thread, NULL, ipc_worker_main, ipc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ipc->worker_started = r == 0;
	if (r < 0)
		HP_ERR(IPC_LOG, "cannot start the worker thread: %s",
		       strerror(-r));
	return r;
}

/* Caller holds ipc->lock; dropped (its fds closed) once the endpoint
 * stops, or when the worker thread cannot start. The worker starts with
 * its first item: a secondary, whose handlers run on the I/O thread, may
 * never need it, and its start-up is one thread creation shorter. */
void ipc_worker_push(struct hp_ipc *ipc, struct ipc_work *w)
{
	if (ipc->stopping || (!ipc->worker_started && ipc_worker_spawn(ipc) < 0)) {
		if (w->is_msg)
			ipc_close_fds(w->msg->fds, w->msg->nb_fds);
		ipc_work_free(w);
		return;
	}
	pthread_mutex_lock(&ipc->wq_lock);
	w->next = NULL;
	*ipc->wq_tail = w;
	ipc->wq_tail = &w->next;
	bool was_empty = ipc->wq_head == w;
	pthread_mutex_unlock(&ipc->wq_lock);
	/* After unlocking, so the worker does not wake into a held lock. */
	if (was_empty)
		pthread_cond_signal(&ipc->wq_cond);
}

int hp_ipc_defer(struct hp_ipc *ipc, uint32_t peer,
		 const struct hp_ipc_msg *msg)
{
	struct ipc_work *w;

	if (!hp_ipc_in_io_thread(ipc) || !ipc->inline_fn || !msg ||
	    msg->nb_fds > HP_IPC_MAX_FDS || msg->len > HP_IPC_MAX_PAYLOAD)
		return -EINVAL;
	w = ipc_work_new(peer, 0, true);
	if (!w)
		return -ENOMEM;
	w->kind = msg->id ? IPC_KIND_REQUEST : IPC_KIND_NOTIFY;
	w->fn = ipc->inline_fn;
	w->arg = ipc->inline_arg;
	/* The fds go with the copy, and via: the reply takes the way the
	 * request came. */
	memcpy(w->msg, msg, offsetof(struct hp_ipc_msg, payload) + msg->len);
	pthread_mutex_lock(&ipc->lock);
	ipc_worker_push(ipc, w);
	pthread_mutex_unlock(&ipc->lock);
	return 0;
}

static void ipc_worker_msg(struct hp_ipc *ipc, struct ipc_work *w)
{
	struct ipc_handler h;

	if (w->fn) { /* deferred: its fds were seen to inline */
		w->fn(ipc, w->peer, w->msg, w->arg);
		return;
	}
	if (ipc_handler_find(ipc, w->msg->type, false, &h)) {
		if (!(h.flags & HP_IPC_TAKES_FDS))
			ipc_drop_fds(w->peer, w->msg);
		h.fn(ipc, w->peer, w->msg, h.arg);
		return;
	}
	HP_WARN(IPC_LOG, "peer %u (pid %d): no handler for message type %u%s",
		w->peer, (int)w->pid, w->msg->type,
		w->kind == IPC_KIND_REQUEST ? ", answering -ENOTSUP" : "");
	ipc_close_fds(w->msg->fds, w->msg->nb_fds);
	if (w->kind == IPC_KIND_REQUEST) {
		struct hp_ipc_msg *reply = w->msg;

		/* The request is done with: answer in its storage. */
		reply->nb_fds = 0;
		reply->len = 0;
		reply->status = -ENOTSUP;
		hp_ipc_reply(ipc, w->peer, w->msg, reply);
	}
}

static void ipc_worker_peer(struct hp_ipc *ipc, struct ipc_work *w)
{
	hp_ipc_peer_fn fn;
	void *arg;

	pthread_mutex_lock(&ipc->lock);
	fn = ipc->peer_fn;
	arg = ipc->peer_arg;
	pthread_mutex_unlock(&ipc->lock);
	HP_DEBUG(IPC_LOG, "peer %u (pid %d) %s", w->peer, (int)w->pid,
		 w->up ? "up" : "down");
	if (fn)
		fn(ipc, w->peer, w->pid, w->up, arg);
}

void *ipc_worker_main(void *arg)
{
	struct hp_ipc *ipc = arg;

	/* prctl on itself: no /proc file to open, as naming another thread
	 * needs. */
	pthread_setname_np(pthread_self(), "hp-ipc-worker");
	for (;;) {
		struct ipc_work *w;

		pthread_mutex_lock(&ipc->wq_lock);
		while (!ipc->wq_head && !ipc->wq_stop)
			pthread_cond_wait(&ipc->wq_cond, &ipc->wq_lock);
		w = ipc->wq_stop ? NULL : ipc->wq_head;
		if (w) {
			ipc->wq_head = w->next;
			if (!ipc->wq_head)
				ipc->wq_tail = &ipc->wq_head;
		}
		pthread_mutex_unlock(&ipc->wq_lock);
		if (!w)
			return NULL;
		if (w->is_msg)
			ipc_worker_msg(ipc, w);
		else
			ipc_worker_peer(ipc, w);
		ipc_work_free(w);
	}
}

/* Stops and joins the worker (after the running item, if any, returns)
 * and drops what is still queued. */
void ipc_worker_stop(struct hp_ipc *ipc)
{
	struct ipc_work *w, *next;

	pthread_mutex_lock(&ipc->wq_lock);
	ipc->wq_stop = true;
	pthread_cond_signal(&ipc->wq_cond);
	pthread_mutex_unlock(&ipc->wq_lock);
	if (ipc->worker_started)
		pthread_join(ipc->worker_thread, NULL);
	ipc->worker_started = false;
	for (w = ipc->wq_head; w; w = next) {
		next = w->next;
		if (w->is_msg)
			ipc_close_fds(w->msg->fds, w->msg->nb_fds);
		ipc_work_free(w);
	}
	ipc->wq_head = NULL;
	ipc->wq_tail = &ipc->wq_head;
}
