/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/ipc's calls: multicast and notify_all to in-process
 * secondaries, inline handlers, hp_ipc_defer, calls made from the I/O
 * thread, and the request channel a secondary's callers share; the
 * helpers are in hp_test_ipc.h. */
#include "hp_test_ipc.h"

#define T_PING 106	/* secondaries of a trio: counted, answered unless silent */

/* One in-process secondary of a trio and what its handlers saw. */
struct trio_cli {
	struct hp_ipc *ipc;
	uint32_t id;		/* its peer id on the primary */
	int idx;
	atomic_uint pings;	/* T_PING requests received */
	atomic_bool silent;	/* leave T_PING unanswered */
	int ping_fd;		/* +1 per T_PING received */
	int note_fd;		/* +1 per T_NOTE received */
	atomic_uint note_fds;	/* fds that came with them (closed) */
};

/* A primary and three secondaries in this process. */
struct trio {
	struct srv s;
	struct trio_cli c[3];
};

static void ping_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *req, void *arg)
{
	struct trio_cli *c = arg;
	struct hp_ipc_msg *reply = malloc(sizeof(*reply));
	char text[16];

	atomic_fetch_add(&c->pings, 1);
	evt_post(c->ping_fd);
	if (!atomic_load(&c->silent)) {
		snprintf(text, sizeof(text), "pong%d", c->idx);
		hp_ipc_msg_init(reply, req->type, text, strlen(text));
		reply->status = c->idx;
		hp_ipc_reply(ipc, peer, req, reply);
	}
	free(reply);
}

static void trio_note_handler(struct hp_ipc *ipc, uint32_t peer,
			      const struct hp_ipc_msg *msg, void *arg)
{
	struct trio_cli *c = arg;

	(void)ipc;
	(void)peer;
	atomic_fetch_add(&c->note_fds, msg->nb_fds);
	ipc_close_fds(msg->fds, msg->nb_fds);
	evt_post(c->note_fd);
}

/* Starts the primary, then connects the three one after the other (so
 * that each one's peer id is known), each making one request. */
static void trio_start(struct trio *t)
{
	memset(t, 0, sizeof(*t));
	srv_start(&t->s, NULL);
	for (int i = 0; i < 3; i++) {
		struct trio_cli *c = &t->c[i];

		c->idx = i;
		c->ping_fd = eventfd(0, EFD_CLOEXEC);
		c->note_fd = eventfd(0, EFD_CLOEXEC);
		assert_int_equal(hp_ipc_client_connect(t->s.d.path, &c->ipc), 0);
		assert_int_equal(hp_ipc_register(c->ipc, T_PING, ping_handler, c),
				 0);
		assert_int_equal(hp_ipc_register_flags(c->ipc, T_NOTE,
						       HP_IPC_TAKES_FDS,
						       trio_note_handler, c), 0);
		assert_true(evt_wait(t->s.up_fd, 1, WAIT_MS));
		c->id = atomic_load(&t->s.last_up);
		/* answered on the channel: the primary has it (fds final) */
		assert_int_equal(echo_check(c->ipc, HP_IPC_PRIMARY, "hi"), 0);
	}
}

static void trio_stop(struct trio *t)
{
	for (int i = 0; i < 3; i++) {
		hp_ipc_destroy(t->c[i].ipc);
		close(t->c[i].ping_fd);
		close(t->c[i].note_fd);
	}
	srv_stop(&t->s);
}

/* The trio member with this peer id. */
static struct trio_cli *trio_find(struct trio *t, uint32_t id)
{
	for (int i = 0; i < 3; i++)
		if (t->c[i].id == id)
			return &t->c[i];
	fail_msg("no secondary with peer id %u", id);
	return NULL;
}

static void test_ipc_multicast(void **state)
{
	struct trio t;
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_result res[3];
	unsigned nb = 99;

	(void)state;
	trio_start(&t);
	hp_ipc_msg_init(req, T_PING, "m", 1);
	uint32_t to[] = { t.c[2].id, 999, t.c[0].id, t.c[2].id };

	/* nobody named: done at once */
	assert_int_equal(hp_ipc_multicast(t.s.ipc, to, 0, req, WAIT_MS, res, 3,
					  &nb), 0);
	assert_int_equal(nb, 0);
	assert_int_equal(hp_ipc_multicast(t.s.ipc, NULL, 1, req, WAIT_MS, res,
					  3, &nb), -EINVAL);
	/* two connected peers named (one twice), an unknown id skipped */
	assert_int_equal(hp_ipc_multicast(t.s.ipc, to, 4, req, WAIT_MS, res, 1,
					  &nb), -ENOSPC);
	assert_int_equal(hp_ipc_multicast(t.s.ipc, to, 4, req, WAIT_MS, res, 2,
					  &nb), 0);
	assert_int_equal(nb, 2);
	for (unsigned i = 0; i < nb; i++) {
		struct trio_cli *c = trio_find(&t, res[i].peer);
		char want[16];

		assert_true(c == &t.c[0] || c == &t.c[2]);
		assert_int_equal(res[i].status, 0);
		assert_int_equal(res[i].reply_status, c->idx);
		snprintf(want, sizeof(want), "pong%d", c->idx);
		assert_string_equal(res[i].reply_text, want);
	}
	assert_int_not_equal(res[0].peer, res[1].peer);
	assert_int_equal(atomic_load(&t.c[0].pings), 1);
	assert_int_equal(atomic_load(&t.c[1].pings), 0);
	assert_int_equal(atomic_load(&t.c[2].pings), 1);

	/* only unknown ids: nothing sent, nothing failed */
	to[0] = 999;
	assert_int_equal(hp_ipc_multicast(t.s.ipc, to, 2, req, WAIT_MS, res, 3,
					  &nb), 0);
	assert_int_equal(nb, 0);

	/* a silent one among those named: its part times out alone */
	atomic_store(&t.c[1].silent, true);
	to[0] = t.c[1].id;
	to[1] = t.c[0].id;
	int64_t t0 = now_ms();
	assert_int_equal(hp_ipc_multicast(t.s.ipc, to, 2, req, 200, res, 3, &nb),
			 -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 195 && now_ms() - t0 < 1500);
	assert_int_equal(nb, 2);
	for (unsigned i = 0; i < nb; i++)
		assert_int_equal(res[i].status,
				 res[i].peer == t.c[1].id ? -ETIMEDOUT : 0);
	assert_int_equal(atomic_load(&t.c[2].pings), 1);
	trio_stop(&t);
	free(req);
}

static void test_ipc_notify_all(void **state)
{
	struct trio t;
	struct hp_ipc_msg *msg = malloc(sizeof(*msg));
	uint32_t except[1];
	int p[2], before;

	(void)state;
	trio_start(&t);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	before = count_fds();
	hp_ipc_msg_init(msg, T_NOTE, "n", 1);
	msg->fds[0] = p[1];
	msg->nb_fds = 1;
	except[0] = t.c[1].id;
	assert_int_equal(hp_ipc_notify_all(t.s.ipc, msg, except, 1), 2);
	assert_int_equal(msg->id, 0);
	assert_true(evt_wait(t.c[0].note_fd, 1, WAIT_MS));
	assert_true(evt_wait(t.c[2].note_fd, 1, WAIT_MS));
	/* the one left out: a request sent after the notification is
	 * handled after it would have been */
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	hp_ipc_msg_init(msg, T_PING, "p", 1);
	assert_int_equal(hp_ipc_request(t.s.ipc, t.c[1].id, msg, rep, WAIT_MS),
			 0);
	free(rep);
	assert_false(evt_wait(t.c[1].note_fd, 1, 0));
	/* each got a copy of the fd and closed it; the sender keeps its own */
	assert_int_equal(atomic_load(&t.c[0].note_fds), 1);
	assert_int_equal(atomic_load(&t.c[2].note_fds), 1);
	assert_int_equal(count_fds(), before);
	assert_true(fcntl(p[1], F_GETFD) >= 0);

	/* no exception: all three; bad arguments */
	hp_ipc_msg_init(msg, T_NOTE, "n", 1);
	assert_int_equal(hp_ipc_notify_all(t.s.ipc, msg, NULL, 0), 3);
	for (int i = 0; i < 3; i++)
		assert_true(evt_wait(t.c[i].note_fd, 1, WAIT_MS));
	assert_int_equal(hp_ipc_notify_all(t.s.ipc, msg, NULL, 1), -EINVAL);
	msg->len = HP_IPC_MAX_PAYLOAD + 1;
	assert_int_equal(hp_ipc_notify_all(t.s.ipc, msg, NULL, 0), -EMSGSIZE);
	/* from a secondary: to the primary */
	assert_int_equal(hp_ipc_register(t.s.ipc, T_NOTE, trio_note_handler,
					 &t.c[0]), 0);
	hp_ipc_msg_init(msg, T_NOTE, "n", 1);
	assert_int_equal(hp_ipc_notify_all(t.c[1].ipc, msg, NULL, 0), 1);
	assert_true(evt_wait(t.c[0].note_fd, 1, WAIT_MS));
	trio_stop(&t);
	close(p[0]);
	close(p[1]);
	free(msg);
}

#define T_DEFER 107	/* primary, inline: defers to the worker, which answers */
#define T_FANOUT 108	/* primary, inline: broadcasts T_PING, answers the count */
#define T_IECHO 109	/* primary, inline: echoes, telling where it ran */
#define T_ASK 110	/* secondary, inline: asks the primary T_ECHO, answers */

/* What the inline handlers of the primary saw. */
struct inl {
	atomic_int runs_io;	/* runs on the I/O thread */
	atomic_int runs_worker;	/* runs on the worker */
	atomic_int defer_r;	/* what hp_ipc_defer returned */
	atomic_int fan_r;	/* what the nested broadcast returned */
	atomic_llong fan_ms;	/* how long it took */
};

static void defer_handler(struct hp_ipc *ipc, uint32_t peer,
			  const struct hp_ipc_msg *req, void *arg)
{
	struct inl *in = arg;
	struct hp_ipc_msg *reply;
	char text[64];

	if (hp_ipc_in_io_thread(ipc)) {
		atomic_fetch_add(&in->runs_io, 1);
		atomic_store(&in->defer_r, hp_ipc_defer(ipc, peer, req));
		return;
	}
	atomic_fetch_add(&in->runs_worker, 1);
	reply = malloc(sizeof(*reply));
	snprintf(text, sizeof(text), "deferred:%.*s", (int)req->len,
		 (const char *)req->payload);
	hp_ipc_msg_init(reply, req->type, text, strlen(text));
	reply->status = (int32_t)req->nb_fds;
	if (req->nb_fds == 1 && write(req->fds[0], "w", 1) != 1)
		reply->status = -errno;
	ipc_close_fds(req->fds, req->nb_fds);
	hp_ipc_reply(ipc, peer, req, reply);
	free(reply);
}

static void test_ipc_defer(void **state)
{
	struct srv s = { 0 };
	struct inl in = { .defer_r = 1 };
	struct hp_ipc *cli;
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	int p[2], before;
	char c;

	(void)state;
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register_flags(s.ipc, T_DEFER,
					       HP_IPC_INLINE | HP_IPC_TAKES_FDS,
					       defer_handler, &in), 0);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &cli), 0);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(echo_check(cli, HP_IPC_PRIMARY, "warm"), 0);
	before = count_fds();

	hp_ipc_msg_init(req, T_DEFER, "job", 3);
	req->fds[0] = p[1];
	req->nb_fds = 1;
	assert_int_equal(hp_ipc_request(cli, HP_IPC_PRIMARY, req, rep, WAIT_MS),
			 0);
	assert_int_equal(rep->status, 1); /* the fd went to the worker */
	assert_int_equal(rep->len, 12);
	assert_memory_equal(rep->payload, "deferred:job", 12);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(count_fds(), before); /* the worker closed its copy */
	/* the request took the channel, and so did the worker's reply */
	assert_int_equal(atomic_load(&cli->chan_sent), 2);
	/* the I/O thread reads this one once the inline handler returned */
	assert_int_equal(echo_check(cli, HP_IPC_PRIMARY, "sync"), 0);
	assert_int_equal(atomic_load(&in.defer_r), 0);
	assert_int_equal(atomic_load(&in.runs_io), 1);
	assert_int_equal(atomic_load(&in.runs_worker), 1);

	/* only from an inline handler */
	assert_false(hp_ipc_in_io_thread(s.ipc));
	assert_false(hp_ipc_in_io_thread(NULL));
	assert_int_equal(hp_ipc_defer(s.ipc, 1, req), -EINVAL);
	assert_int_equal(hp_ipc_defer(NULL, 1, req), -EINVAL);

	cli_done(cli, &s, p, req, rep);
}

/* Primary, inline: broadcasts T_PING with the deadline the request
 * carries; answers with the broadcast's return as status and "nb=N ok=N"
 * (results, and replies among them). */
static void fanout_handler(struct hp_ipc *ipc, uint32_t peer,
			   const struct hp_ipc_msg *req, void *arg)
{
	struct inl *in = arg;
	struct hp_ipc_msg *msg = malloc(sizeof(*msg));
	struct hp_ipc_result res[4];
	unsigned nb = 0, ok = 0;
	int timeout = 0, r;
	char text[32];

	memcpy(&timeout, req->payload, sizeof(timeout));
	hp_ipc_msg_init(msg, T_PING, "f", 1);
	int64_t t0 = now_ms();
	r = hp_ipc_broadcast(ipc, msg, timeout, res, 4, &nb);
	atomic_store(&in->fan_ms, now_ms() - t0);
	atomic_store(&in->fan_r, r);
	for (unsigned i = 0; i < nb; i++)
		ok += res[i].status == 0;
	snprintf(text, sizeof(text), "nb=%u ok=%u", nb, ok);
	hp_ipc_msg_init(msg, req->type, text, strlen(text));
	msg->status = r;
	hp_ipc_reply(ipc, peer, req, msg);
	free(msg);
}

/* Primary, inline: echoes, and counts where it ran. */
static void iecho_handler(struct hp_ipc *ipc, uint32_t peer,
			  const struct hp_ipc_msg *req, void *arg)
{
	struct inl *in = arg;

	atomic_fetch_add(hp_ipc_in_io_thread(ipc) ? &in->runs_io :
						    &in->runs_worker, 1);
	echo_handler(ipc, peer, req, NULL);
}

/* Secondary, inline: asks the primary (T_ECHO, the request's payload)
 * from its I/O thread and answers with that call's outcome. */
static void ask_handler(struct hp_ipc *ipc, uint32_t peer,
			const struct hp_ipc_msg *req, void *arg)
{
	struct hp_ipc_msg *ask = malloc(sizeof(*ask));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	int r;

	(void)arg;
	hp_ipc_msg_init(ask, T_ECHO, req->payload, req->len);
	r = hp_ipc_request(ipc, HP_IPC_PRIMARY, ask, rep, WAIT_MS);
	if (r == 0 && !hp_ipc_in_io_thread(ipc))
		r = -EXDEV;
	if (r < 0) {
		hp_ipc_msg_init(rep, req->type, NULL, 0);
		rep->status = r;
	}
	hp_ipc_reply(ipc, peer, req, rep);
	free(ask);
	free(rep);
}

/* A T_FANOUT request made from a thread of its own. */
struct fan_req {
	struct hp_ipc *cli;
	int timeout;		/* of the broadcast */
	int r;
	struct hp_ipc_msg rep;
	atomic_bool done;
};

static void *fan_main(void *arg)
{
	struct fan_req *f = arg;
	struct hp_ipc_msg *req = malloc(sizeof(*req));

	hp_ipc_msg_init(req, T_FANOUT, &f->timeout, sizeof(f->timeout));
	f->r = hp_ipc_request(f->cli, HP_IPC_PRIMARY, req, &f->rep, 2 * WAIT_MS);
	atomic_store(&f->done, true);
	free(req);
	return NULL;
}

static void fan_check(struct fan_req *f, int status, const char *text)
{
	assert_int_equal(f->r, 0);
	assert_int_equal(f->rep.status, status);
	assert_int_equal(f->rep.len, strlen(text));
	assert_memory_equal(f->rep.payload, text, f->rep.len);
}

static void test_ipc_inline_calls(void **state)
{
	struct trio t;
	struct inl in = { 0 };
	struct fan_req *f = calloc(1, sizeof(*f));
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	pthread_t th;

	(void)state;
	trio_start(&t);
	assert_int_equal(hp_ipc_register_inline(t.s.ipc, T_FANOUT,
						fanout_handler, &in), 0);
	assert_int_equal(hp_ipc_register_inline(t.s.ipc, T_IECHO, iecho_handler,
						&in), 0);
	assert_int_equal(echo_check(t.c[1].ipc, HP_IPC_PRIMARY, "x"), 0);

	/* a broadcast from the primary's I/O thread: every reply arrives */
	f->cli = t.c[0].ipc;
	f->timeout = WAIT_MS;
	fan_main(f);
	fan_check(f, 0, "nb=3 ok=3");

	/* one that times out, in time; meanwhile another peer's requests are
	 * answered, an inline type's by the worker */
	hp_ipc_msg_init(req, T_IECHO, "i", 1);
	assert_int_equal(hp_ipc_request(t.c[1].ipc, HP_IPC_PRIMARY, req, rep,
					WAIT_MS), 0);
	assert_int_equal(atomic_load(&in.runs_io), 1);
	atomic_store(&t.c[2].silent, true);
	while (evt_wait(t.c[2].ping_fd, 1, 0))
		;
	f->timeout = 1000;
	atomic_store(&f->done, false);
	assert_int_equal(pthread_create(&th, NULL, fan_main, f), 0);
	assert_true(evt_wait(t.c[2].ping_fd, 1, WAIT_MS)); /* loop runs */
	assert_int_equal(echo_check(t.c[1].ipc, HP_IPC_PRIMARY, "y"), 0);
	assert_int_equal(hp_ipc_request(t.c[1].ipc, HP_IPC_PRIMARY, req, rep,
					WAIT_MS), 0);
	assert_memory_equal(rep->payload, "re:i", 4);
	assert_false(atomic_load(&f->done)); /* answered during the loop */
	assert_int_equal(atomic_load(&in.runs_worker), 1);
	assert_int_equal(atomic_load(&in.runs_io), 1);
	pthread_join(th, NULL);
	fan_check(f, -ETIMEDOUT, "nb=3 ok=2");
	assert_int_equal(atomic_load(&in.fan_r), -ETIMEDOUT);
	assert_true(atomic_load(&in.fan_ms) >= 995 &&
		    atomic_load(&in.fan_ms) < 3000);
	/* after it, inline handlers run inline again */
	assert_int_equal(hp_ipc_request(t.c[1].ipc, HP_IPC_PRIMARY, req, rep,
					WAIT_MS), 0);
	assert_int_equal(atomic_load(&in.runs_io), 2);

	/* a secondary's inline handler asks the primary */
	assert_int_equal(hp_ipc_register_inline(t.c[0].ipc, T_ASK, ask_handler,
						NULL), 0);
	hp_ipc_msg_init(req, T_ASK, "q", 1);
	assert_int_equal(hp_ipc_request(t.s.ipc, t.c[0].id, req, rep, WAIT_MS),
			 0);
	assert_int_equal(rep->status, 1); /* echo_handler's: the length */
	assert_memory_equal(rep->payload, "re:q", 4);

	trio_stop(&t);
	free(f);
	free(req);
	free(rep);
}

/* The stop request alone (the eventfd hp_ipc_destroy writes) seen by the
 * loop of an inline handler's call: the call fails -ESHUTDOWN and the
 * I/O thread ends after the handler; destroy then goes as usual. */
static void test_ipc_inline_call_stop(void **state)
{
	struct trio t;
	struct inl in = { .fan_r = 1 };
	struct fan_req *f = calloc(1, sizeof(*f));
	uint64_t one = 1;
	pthread_t th;

	(void)state;
	trio_start(&t);
	assert_int_equal(hp_ipc_register_inline(t.s.ipc, T_FANOUT,
						fanout_handler, &in), 0);
	for (int i = 0; i < 3; i++)
		atomic_store(&t.c[i].silent, true);
	f->cli = t.c[0].ipc;
	f->timeout = 20000;
	assert_int_equal(pthread_create(&th, NULL, fan_main, f), 0);
	assert_true(evt_wait(t.c[2].ping_fd, 1, WAIT_MS));
	assert_int_equal(write(t.s.ipc->event_fd, &one, sizeof(one)),
			 sizeof(one));
	pthread_join(th, NULL); /* the handler still answered */
	fan_check(f, -ESHUTDOWN, "nb=3 ok=0");
	/* nobody reads the primary's sockets any more */
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	hp_ipc_msg_init(req, T_ECHO, "z", 1);
	assert_int_equal(hp_ipc_request(t.c[1].ipc, HP_IPC_PRIMARY, req, rep,
					200), -ETIMEDOUT);
	trio_stop(&t);
	free(req);
	free(rep);
	free(f);
}

/* hp_ipc_destroy of the primary while an inline handler waits in a
 * broadcast: the call fails -ESHUTDOWN, the I/O thread ends, destroy
 * returns at once. */
static void test_ipc_inline_call_destroy(void **state)
{
	struct trio t;
	struct inl in = { .fan_r = 1 };
	struct fan_req *f = calloc(1, sizeof(*f));
	pthread_t th;
	int64_t t0;

	(void)state;
	trio_start(&t);
	assert_int_equal(hp_ipc_register_inline(t.s.ipc, T_FANOUT,
						fanout_handler, &in), 0);
	atomic_store(&t.c[2].silent, true);
	f->cli = t.c[0].ipc;
	f->timeout = 20000;
	assert_int_equal(pthread_create(&th, NULL, fan_main, f), 0);
	assert_true(evt_wait(t.c[2].ping_fd, 1, WAIT_MS));
	t0 = now_ms();
	hp_ipc_destroy(t.s.ipc);
	t.s.ipc = NULL;
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(atomic_load(&in.fan_r), -ESHUTDOWN);
	pthread_join(th, NULL);
	assert_int_equal(f->r, -ECONNRESET); /* the primary went */
	trio_stop(&t);
	free(f);
}

/* A T_SILENT request from a thread of its own, answered "re:late". */
static void *late_main(void *arg)
{
	struct waiter *w = arg;
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));

	hp_ipc_msg_init(req, T_SILENT, "late", 4);
	w->r = hp_ipc_request(w->cli, HP_IPC_PRIMARY, req, rep, 2 * WAIT_MS);
	if (w->r == 0 && (rep->id != req->id || rep->len != 7 ||
			  memcmp(rep->payload, "re:late", 7)))
		w->r = -EBADMSG;
	free(req);
	free(rep);
	return NULL;
}

/* Two threads of one secondary ask at once: one takes the channel, the
 * other the connection, and each gets its own reply. Nothing else comes
 * on the channel, and no fd is left behind. */
static void test_ipc_channel_two_callers(void **state)
{
	struct srv s = { 0 };
	struct late *l = calloc(1, sizeof(*l));
	struct waiter w = { .r = 1 };
	struct hp_ipc_msg *msg = malloc(sizeof(*msg));
	struct hp_ipc_result res[1];
	unsigned nb;
	pthread_t th;
	int before;

	(void)state;
	cap_start();
	l->got_fd = eventfd(0, EFD_CLOEXEC);
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register(s.ipc, T_SILENT, late_handler, l), 0);
	before = count_fds();
	assert_int_equal(hp_ipc_client_connect(s.d.path, &w.cli), 0);
	assert_int_equal(hp_ipc_register(w.cli, T_ECHO, echo_handler, NULL), 0);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	assert_int_equal(pthread_create(&th, NULL, late_main, &w), 0);
	assert_true(evt_wait(l->got_fd, 1, WAIT_MS)); /* it waits, on the channel */
	assert_int_equal(atomic_load(&w.cli->chan_sent), 1);
	assert_int_equal(l->req.via, IPC_VIA_CHAN);

	/* the channel is busy: this one takes the connection */
	assert_int_equal(echo_check(w.cli, HP_IPC_PRIMARY, "meanwhile"), 0);
	assert_int_equal(atomic_load(&w.cli->chan_sent), 1);
	/* the primary's broadcasts go on the connection too */
	hp_ipc_msg_init(msg, T_ECHO, "b", 1);
	assert_int_equal(hp_ipc_broadcast(s.ipc, msg, WAIT_MS, res, 1, &nb), 0);
	assert_int_equal(res[0].status, 0);

	/* the first one's reply goes back on the channel */
	hp_ipc_msg_init(msg, T_SILENT, "re:late", 7);
	assert_int_equal(hp_ipc_reply(s.ipc, atomic_load(&s.last_up), &l->req,
				      msg), 0);
	pthread_join(th, NULL);
	assert_int_equal(w.r, 0);
	/* free again: the next one takes it */
	assert_int_equal(echo_check(w.cli, HP_IPC_PRIMARY, "after"), 0);
	assert_int_equal(atomic_load(&w.cli->chan_sent), 2);
	assert_int_equal(cap_count(), 0);

	hp_ipc_destroy(w.cli);
	assert_true(evt_wait(s.down_fd, 1, WAIT_MS));
	assert_true(fds_back_to(before)); /* both ends, on both sides */
	srv_stop(&s);
	cap_stop();
	close(l->got_fd);
	free(l);
	free(msg);
}

/* Primary, in a child: tells the parent (a byte on the fd arg points to)
 * of each T_SILENT request, and never answers. */
static void told_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *req, void *arg)
{
	(void)ipc;
	(void)peer;
	(void)req;
	if (write(*(int *)arg, "q", 1) != 1)
		abort();
}

static int child_silent_primary(void *arg, int ready_fd)
{
	struct hp_ipc *ipc;

	if (hp_ipc_server_create(arg, NULL, &ipc) < 0)
		return 10;
	if (hp_ipc_register(ipc, T_SILENT, told_handler, &ready_fd) < 0)
		return 11;
	if (write(ready_fd, "r", 1) != 1)
		return 12;
	for (;;)
		pause(); /* until the test kills it */
}

static void *kill_when_told(void *arg)
{
	struct child *c = arg;

	if (child_ready(c))
		kill(c->pid, SIGKILL);
	return NULL;
}

/* The primary dies while a caller waits on the channel: the caller
 * returns -ECONNRESET at once, not at its deadline. */
static void test_ipc_channel_primary_killed(void **state)
{
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	struct hp_ipc *cli;
	struct child c;
	struct tdir d;
	pthread_t th;
	int64_t t0;
	int before;

	(void)state;
	before = count_fds();
	tdir_make(&d);
	child_spawn(&c, child_silent_primary, d.path);
	child_go(&c);
	assert_true(child_ready(&c));
	assert_int_equal(hp_ipc_client_connect(d.path, &cli), 0);
	assert_int_equal(pthread_create(&th, NULL, kill_when_told, &c), 0);
	hp_ipc_msg_init(req, T_SILENT, NULL, 0);
	t0 = now_ms();
	assert_int_equal(hp_ipc_request(cli, HP_IPC_PRIMARY, req, rep, 20000),
			 -ECONNRESET);
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(atomic_load(&cli->chan_sent), 1);
	pthread_join(th, NULL);
	assert_int_equal(child_reap(&c), 128 + SIGKILL);
	hp_ipc_destroy(cli);
	assert_int_equal(count_fds(), before);
	tdir_remove(&d);
	free(req);
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ipc_multicast, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_notify_all, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_defer, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_inline_calls, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_inline_call_stop, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_inline_call_destroy, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_channel_two_callers, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_channel_primary_killed, kill_leftovers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
