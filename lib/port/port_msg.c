/* SPDX-License-Identifier: BSD-3-Clause */
/* The messages between processes: what each side sends and how the other
 * handles it.
 *
 * Secondary -> primary (requests, answered): ATTACH_REQ, DETACH_REQ and
 * OP_REQ carry the hotplug API of a secondary to the primary, which runs
 * the same functions as for its own calls (port_handle_request); JOIN and
 * FDS_REQ serve hp_port_join.
 *
 * Primary -> secondaries: ATTACH_LOCAL, DETACH_LOCAL and REFRESH_LOCAL
 * (port_broadcast, answered, gathered under one deadline) make each
 * process publish, unpublish or rebuild its entry (port_handle_local);
 * EVENT (port_notify, the doorbell, no answer) makes it look at the table
 * and fire its events (port_handle_event). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hp_ipc.h"
#include "hp_log.h"
#include "port_msg.h"

/* Secondary -> primary: the secondary's side. */

/* A secondary waits longer than the primary's own deadline, so that the
 * primary's answer (maybe -ETIMEDOUT naming a stalled peer) arrives. */
static int port_request_timeout(void)
{
	return port_ctx.timeout_ms * 2 + 1000;
}

static int port_request(uint16_t type, const struct port_msg_req *req,
			struct port_msg_rep *rep, char *err, size_t errlen)
{
	struct hp_ipc_msg msg, reply;
	size_t len = type == PORT_MSG_ATTACH_REQ ?
			     offsetof(struct port_msg_req, devargs) +
				     strlen(req->devargs) + 1 :
			     offsetof(struct port_msg_req, devargs);
	int r;

	hp_ipc_msg_init(&msg, type, req, len);
	r = hp_ipc_request(port_ctx.ipc, HP_IPC_PRIMARY, &msg, &reply,
			   port_request_timeout());
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "no answer from the primary: %s", strerror(-r));
	memset(rep, 0, sizeof(*rep));
	memcpy(rep, reply.payload,
	       reply.len < sizeof(*rep) ? reply.len : sizeof(*rep));
	rep->name[sizeof(rep->name) - 1] = '\0';
	rep->err[sizeof(rep->err) - 1] = '\0';
	if (reply.status < 0)
		return hp_err_set(err, errlen, reply.status, "%s",
				  rep->err[0] ? rep->err :
						strerror(-reply.status));
	return reply.status;
}

int port_attach_request(const char *devargs, size_t len,
			uint16_t *ret_port_id, char *err, size_t errlen)
{
	struct port_msg_req req;
	struct port_msg_rep rep;
	int r;

	memset(&req, 0, offsetof(struct port_msg_req, devargs));
	memcpy(req.devargs, devargs, len + 1);
	r = port_request(PORT_MSG_ATTACH_REQ, &req, &rep, err, errlen);
	if (r == 0)
		*ret_port_id = rep.port_id;
	return r;
}

int port_detach_request(uint16_t port_id, char *name, size_t len, char *err,
			size_t errlen)
{
	struct port_msg_req req;
	struct port_msg_rep rep;
	int r;

	memset(&req, 0, sizeof(req));
	req.port_id = port_id;
	r = port_request(PORT_MSG_DETACH_REQ, &req, &rep, err, errlen);
	if (r == 0 && name && len)
		snprintf(name, len, "%s", rep.name);
	return r;
}

int port_op_request(uint16_t port_id, const struct port_op_args *a,
		    char *err, size_t errlen)
{
	struct port_msg_req req;
	struct port_msg_rep rep;

	memset(&req, 0, offsetof(struct port_msg_req, devargs));
	req.port_id = port_id;
	req.op = *a;
	return port_request(PORT_MSG_OP_REQ, &req, &rep, err, errlen);
}

int port_join_barrier(void)
{
	struct port_msg_join_rep rep;
	struct hp_ipc_msg msg, reply;
	int r;

	hp_ipc_msg_init(&msg, PORT_MSG_JOIN, NULL, 0);
	r = hp_ipc_request(port_ctx.ipc, HP_IPC_PRIMARY, &msg, &reply,
			   port_request_timeout());
	if (r == 0)
		r = reply.status;
	if (r == 0 && reply.len != sizeof(rep))
		r = -EBADMSG;
	if (r < 0)
		return r;
	memcpy(&rep, reply.payload, sizeof(rep));
	if (rep.index >= HP_MAX_PROCS)
		return -EBADMSG;
	port_ctx.proc_index = (int)rep.index;
	return 0;
}

int port_fds_fetch(uint16_t port_id, uint32_t gen, struct hp_port_fds *fds)
{
	struct port_msg_local m = { .port_id = port_id, .generation = gen };
	struct hp_ipc_msg msg, reply;
	int r;

	hp_ipc_msg_init(&msg, PORT_MSG_FDS_REQ, &m, sizeof(m));
	r = hp_ipc_request(port_ctx.ipc, HP_IPC_PRIMARY, &msg, &reply,
			   port_request_timeout());
	if (r < 0)
		return r;
	fds->nb = reply.nb_fds;
	memcpy(fds->fd, reply.fds, sizeof(int) * reply.nb_fds);
	if (reply.status < 0)
		port_fds_close(fds);
	return reply.status;
}

/* Secondary -> primary: the primary's side. */

/* Takes hotplug_lock for a handler of the primary: on the worker it waits;
 * on the I/O thread, which must never wait for it (its holder may be
 * waiting for replies only the I/O thread reads), it hands the message to
 * the worker when the lock is taken and returns false. */
static bool port_lock_or_defer(struct hp_ipc *ipc, uint32_t peer,
			       const struct hp_ipc_msg *msg)
{
	if (!hp_ipc_in_io_thread(ipc)) {
		pthread_mutex_lock(&port_ctx.hotplug_lock);
		return true;
	}
	if (pthread_mutex_trylock(&port_ctx.hotplug_lock) == 0)
		return true;
	int r = hp_ipc_defer(ipc, peer, msg);
	if (r < 0)
		HP_ERR(PORT_LOG, "peer %u: message type %u dropped: cannot hand it to the worker: %s",
		       peer, msg->type, strerror(-r));
	return false;
}

/* Primary: a secondary's attach, detach or port operation. It runs on
 * the I/O thread as the request arrives, unless another attach, detach or
 * operation holds the port table: then the worker thread runs it, which
 * may wait (the I/O thread never waits on a holder that may itself be
 * waiting for messages the I/O thread reads). */
static void port_handle_request(struct hp_ipc *ipc, uint32_t peer,
			    const struct hp_ipc_msg *msg, void *arg)
{
	struct port_msg_req req;
	struct port_msg_rep rep;
	struct hp_ipc_msg reply;
	struct port_requester rq;
	char q[HP_LOG_QUOTE_SIZE(PORT_QUOTE_MAX)];
	bool tell = true;
	pid_t pid;
	int r;

	(void)arg;
	if (!port_lock_or_defer(ipc, peer, msg))
		return;
	memset(&req, 0, sizeof(req));
	memset(&rep, 0, sizeof(rep));
	memcpy(&req, msg->payload,
	       msg->len < sizeof(req) ? msg->len : sizeof(req));
	req.devargs[HP_DEVARGS_MAX] = '\0';
	pid = hp_ipc_peer_pid(ipc, peer);

	switch (msg->type) {
	case PORT_MSG_ATTACH_REQ:
		/* Files and interfaces are opened with its rights. */
		r = port_requester_peer(ipc, peer, &rq);
		if (r < 0)
			hp_err_set(rep.err, sizeof(rep.err), r,
				   "cannot learn the requester's credentials: %s",
				   strerror(-r));
		else
			r = port_attach_locked(req.devargs, &rq.rq,
					       &rep.port_id, rep.err,
					       sizeof(rep.err));
		port_requester_fini(&rq);
		if (r < 0)
			HP_ERR(PORT_LOG, "attach '%s' for pid %d failed: %s",
			       hp_log_quote(q, sizeof(q), req.devargs,
					    PORT_QUOTE_MAX),
			       (int)pid, rep.err);
		break;
	case PORT_MSG_DETACH_REQ:
		r = port_detach_locked(req.port_id, false, rep.name,
				       sizeof(rep.name), rep.err,
				       sizeof(rep.err));
		if (r < 0)
			HP_ERR(PORT_LOG, "detach of port %u for pid %d failed: %s",
			       req.port_id, (int)pid, rep.err);
		else
			rep.port_id = req.port_id;
		break;
	default:
		r = port_op_locked(req.port_id, &req.op, rep.err,
				   sizeof(rep.err));
		tell = port_op_changes_conf(&req.op);
		break;
	}
	pthread_mutex_unlock(&port_ctx.hotplug_lock);
	hp_ipc_msg_init(&reply, msg->type, &rep, sizeof(rep));
	reply.status = r;
	hp_ipc_reply(ipc, peer, msg, &reply);
	/* The requester has its answer; now the others hear of it. */
	if (r == 0 && tell)
		port_notify();
}

/* Primary: a joining secondary waits here until no attach or detach is
 * under way; after the answer every broadcast reaches it, and every
 * earlier one has finished, so its scan of the table misses nothing. The
 * answer gives it its process index (its bit in each slot's holders). */
static void port_handle_join(struct hp_ipc *ipc, uint32_t peer,
			     const struct hp_ipc_msg *msg, void *arg)
{
	struct port_msg_join_rep rep = { 0 };
	struct hp_ipc_msg reply;
	int r = -ENOSPC;

	(void)arg;
	if (!port_lock_or_defer(ipc, peer, msg))
		return;
	pthread_mutex_lock(&port_ctx.procs_lock);
	for (unsigned i = 0; port_ctx.table && i < HP_MAX_PROCS; i++) {
		if (port_ctx.proc_peer[i] == peer)
			port_ctx.proc_peer[i] = 0; /* joins twice: one index */
		if (r < 0 && port_ctx.proc_peer[i] == 0) {
			port_ctx.proc_peer[i] = peer;
			__atomic_store_n(&port_ctx.table->doorbell[i],
					 PORT_BELL_DEAF, __ATOMIC_SEQ_CST);
			rep.index = i;
			r = 0;
		}
	}
	pthread_mutex_unlock(&port_ctx.procs_lock);
	pthread_mutex_unlock(&port_ctx.hotplug_lock);
	if (r < 0)
		HP_ERR(PORT_LOG, "peer %u: all %d process indexes are in use",
		       peer, HP_MAX_PROCS);
	hp_ipc_msg_init(&reply, msg->type, &rep, sizeof(rep));
	reply.status = r;
	hp_ipc_reply(ipc, peer, msg, &reply);
}

/* Primary: the fds of an attached port, for a secondary that joins. */
static void port_handle_fds(struct hp_ipc *ipc, uint32_t peer,
			    const struct hp_ipc_msg *msg, void *arg)
{
	struct port_msg_local m;
	struct port_slot *s = NULL;
	struct hp_ipc_msg reply;
	int r = 0;

	(void)arg;
	hp_ipc_msg_init(&reply, msg->type, NULL, 0);
	pthread_mutex_lock(&port_ctx.hotplug_lock);
	if (msg->len != sizeof(m)) {
		r = -EBADMSG;
	} else {
		memcpy(&m, msg->payload, sizeof(m));
		s = port_check_table(NULL, 0) ? NULL : port_slot_get(m.port_id);
		if (!s || PORT_LD(s->generation) != m.generation ||
		    port_slot_state(s) == HP_PORT_FREE)
			r = -ESTALE;
	}
	if (r == 0) {
		const struct hp_port_fds *f = &port_ctx.fds[m.port_id];
		reply.nb_fds = f->nb;
		memcpy(reply.fds, f->fd, sizeof(int) * f->nb);
	}
	reply.status = r;
	hp_ipc_reply(ipc, peer, msg, &reply);
	pthread_mutex_unlock(&port_ctx.hotplug_lock);
}

/* Primary -> secondaries: the primary's side. */

int port_holders_peers(uint16_t port_id, uint32_t *peers)
{
	const struct port_slot *s = port_slot_get(port_id);
	int n = 0;

	/* A read-modify-write of each word, after the caller's write of the
	 * state or configuration: a secondary whose bit-setting comes later
	 * on that word reads from it, and so sees that write. */
	for (unsigned w = 0; w < PORT_HOLDER_WORDS; w++) {
		uint64_t bits = __atomic_fetch_or((uint64_t *)&s->holders[w], 0,
						  __ATOMIC_SEQ_CST);

		for (; bits; bits &= bits - 1) {
			unsigned i = w * 64 + (unsigned)__builtin_ctzll(bits);

			if (i < HP_MAX_PROCS && port_ctx.proc_peer[i])
				peers[n++] = port_ctx.proc_peer[i];
		}
	}
	return n;
}

/* Sends a local attach, detach or refresh and reports the first failure
 * of a live process; a process that hung up counts as done. A port built
 * on demand is detached or refreshed only where it is in use. */
int port_broadcast(uint16_t type, uint16_t port_id, uint32_t gen, char *err,
		   size_t errlen)
{
	static struct hp_ipc_result res[HP_MAX_PROCS];
	static uint32_t to[HP_MAX_PROCS];
	struct port_msg_local m = { .port_id = port_id, .generation = gen };
	struct hp_ipc_msg msg;
	unsigned n = 0;
	int r;

	hp_ipc_msg_init(&msg, type, &m, sizeof(m));
	if (type == PORT_MSG_ATTACH_LOCAL) {
		/* Every process gets its copies of the port's fds. */
		const struct hp_port_fds *f = &port_ctx.fds[port_id];
		msg.nb_fds = f->nb;
		memcpy(msg.fds, f->fd, sizeof(int) * f->nb);
	}
	if (type != PORT_MSG_ATTACH_LOCAL &&
	    port_on_demand(port_slot_get(port_id)))
		r = hp_ipc_multicast(port_ctx.ipc, to,
				     (unsigned)port_holders_peers(port_id, to),
				     &msg, port_ctx.timeout_ms, res,
				     HP_ARRAY_SIZE(res), &n);
	else
		r = hp_ipc_broadcast(port_ctx.ipc, &msg, port_ctx.timeout_ms,
				     res, HP_ARRAY_SIZE(res), &n);
	for (unsigned i = 0; i < n; i++) {
		if (res[i].status == -ETIMEDOUT)
			return hp_err_set(err, errlen, -ETIMEDOUT,
					  "secondary pid %d did not answer within %d ms",
					  (int)res[i].pid, port_ctx.timeout_ms);
		if (res[i].status == 0 && res[i].reply_status < 0)
			return hp_err_set(err, errlen, res[i].reply_status,
					  "secondary pid %d: %s",
					  (int)res[i].pid,
					  res[i].reply_text[0] ?
						  res[i].reply_text :
						  strerror(-res[i].reply_status));
	}
	if (r < 0 && r != -ETIMEDOUT)
		return hp_err_set(err, errlen, r, "broadcast failed: %s",
				  strerror(-r));
	return 0;
}

void port_notify(void)
{
	struct hp_ipc_msg msg;
	uint32_t peers[HP_MAX_PROCS];
	unsigned n = 0;

	pthread_mutex_lock(&port_ctx.procs_lock);
	for (unsigned i = 0; port_ctx.table && i < HP_MAX_PROCS; i++)
		if (port_ctx.proc_peer[i] &&
		    __atomic_compare_exchange_n(&port_ctx.table->doorbell[i],
						&(uint32_t){ PORT_BELL_IDLE },
						PORT_BELL_RUNG, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			peers[n++] = port_ctx.proc_peer[i];
	pthread_mutex_unlock(&port_ctx.procs_lock);
	hp_ipc_msg_init(&msg, PORT_MSG_EVENT, NULL, 0);
	for (unsigned i = 0; i < n; i++)
		hp_ipc_notify(port_ctx.ipc, peers[i], &msg);
}

/* Primary -> secondaries: the secondary's side. */

/* Every secondary: publish, rebuild or unpublish a port here. */
static void port_handle_local(struct hp_ipc *ipc, uint32_t peer,
			      const struct hp_ipc_msg *msg, void *arg)
{
	struct port_msg_local m;
	struct hp_ipc_msg reply;
	char err[PORT_ERR_MAX] = "";
	int r = 0;

	(void)arg;
	if (msg->len != sizeof(m))
		for (unsigned i = 0; i < msg->nb_fds; i++)
			close(msg->fds[i]);
	if (msg->len != sizeof(m)) {
		r = -EBADMSG;
		snprintf(err, sizeof(err), "bad message length %u", msg->len);
	} else {
		memcpy(&m, msg->payload, sizeof(m));
		if (msg->type == PORT_MSG_ATTACH_LOCAL) {
			struct hp_port_fds fds = { .nb = msg->nb_fds };
			memcpy(fds.fd, msg->fds, sizeof(int) * msg->nb_fds);
			r = port_local_attach(m.port_id, m.generation, &fds,
					      err, sizeof(err));
			if (r < 0)
				HP_ERR(PORT_LOG, "port %u: cannot attach here: %s",
				       m.port_id, err);
		} else if (msg->type == PORT_MSG_REFRESH_LOCAL) {
			r = port_local_refresh(m.port_id, m.generation, err,
					       sizeof(err));
			if (r < 0)
				HP_ERR(PORT_LOG, "port %u: cannot rebuild it here: %s",
				       m.port_id, err);
		} else {
			port_local_detach(m.port_id, m.generation);
		}
	}
	hp_ipc_msg_init(&reply, msg->type, err, strlen(err) + 1);
	reply.status = r;
	hp_ipc_reply(ipc, peer, msg, &reply);
}

/* Every secondary: ports came, went or changed (the doorbell; no reply):
 * a look at the table fires the events. */
static void port_handle_event(struct hp_ipc *ipc, uint32_t peer,
			      const struct hp_ipc_msg *msg, void *arg)
{
	(void)ipc;
	(void)peer;
	(void)msg;
	(void)arg;
	port_rescan();
}

void port_handlers_register(struct hp_ipc *ipc)
{
	if (port_ctx.primary) {
		hp_ipc_register_inline(ipc, PORT_MSG_JOIN, port_handle_join,
				       NULL);
		hp_ipc_register(ipc, PORT_MSG_FDS_REQ, port_handle_fds, NULL);
		hp_ipc_register_inline(ipc, PORT_MSG_ATTACH_REQ,
				       port_handle_request, NULL);
		hp_ipc_register_inline(ipc, PORT_MSG_DETACH_REQ,
				       port_handle_request, NULL);
		hp_ipc_register_inline(ipc, PORT_MSG_OP_REQ, port_handle_request,
				       NULL);
	} else {
		/* Local attach/refresh/detach never wait on IPC: run them as
		 * they arrive, one hand-off fewer per secondary per hotplug. */
		hp_ipc_register_flags(ipc, PORT_MSG_ATTACH_LOCAL,
				      HP_IPC_INLINE | HP_IPC_TAKES_FDS,
				      port_handle_local, NULL);
		hp_ipc_register_inline(ipc, PORT_MSG_DETACH_LOCAL,
				       port_handle_local, NULL);
		hp_ipc_register_inline(ipc, PORT_MSG_REFRESH_LOCAL,
				       port_handle_local, NULL);
		hp_ipc_register_inline(ipc, PORT_MSG_EVENT, port_handle_event,
				       NULL);
	}
}
