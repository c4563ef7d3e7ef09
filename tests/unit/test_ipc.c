/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/ipc: request/reply, the server socket, broadcast, fds,
 * timeouts, peer death, credentials and concurrency, with forked peers;
 * the helpers and what the secondaries run are in hp_test_ipc.h. */
#include "hp_test_ipc.h"

/* Set when a test needed root: the binary then exits 77 (skip). */
static bool skipped_not_root;

static void test_ipc_request_reply(void **state)
{
	struct srv s = { 0 };
	struct hp_ipc *cli;
	struct hp_ipc_peer_info info[4];
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	int note = eventfd(0, EFD_CLOEXEC), down = eventfd(0, EFD_CLOEXEC);

	(void)state;
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &cli), 0);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	uint32_t peer = atomic_load(&s.last_up);
	assert_int_equal(peer, 1);

	/* secondary -> primary */
	assert_int_equal(echo_check(cli, HP_IPC_PRIMARY, "ping"), 0);
	/* primary -> secondary */
	assert_int_equal(hp_ipc_register(cli, T_ECHO, echo_handler, NULL), 0);
	assert_int_equal(echo_check(s.ipc, peer, "pong"), 0);
	/* a type nobody handles is answered -ENOTSUP, with a warning */
	cap_start();
	hp_ipc_msg_init(req, T_ABSENT, "?", 1);
	assert_int_equal(hp_ipc_request(cli, HP_IPC_PRIMARY, req, rep, WAIT_MS), 0);
	assert_int_equal(rep->status, -ENOTSUP);
	assert_true(cap_has("no handler for message type 105"));
	cap_stop();
	/* notifications */
	assert_int_equal(hp_ipc_register(s.ipc, T_NOTE, note_handler, &note), 0);
	hp_ipc_msg_init(req, T_NOTE, "note", 4);
	assert_int_equal(hp_ipc_notify(cli, HP_IPC_PRIMARY, req), 0);
	assert_true(evt_wait(note, 1, WAIT_MS));
	/* bad arguments and unknown peers */
	assert_int_equal(hp_ipc_register(s.ipc, 1, echo_handler, NULL), -EINVAL);
	assert_int_equal(hp_ipc_request(s.ipc, 99, req, rep, 10), -ENOTCONN);
	assert_int_equal(hp_ipc_notify(s.ipc, 99, req), -ENOTCONN);
	assert_int_equal(hp_ipc_reply(s.ipc, peer, req, rep), -EINVAL);

	assert_int_equal(hp_ipc_peers(s.ipc, info, 4), 1);
	assert_int_equal(info[0].id, peer);
	assert_int_equal(info[0].pid, getpid());
	assert_int_equal(info[0].uid, geteuid());
	assert_int_equal(hp_ipc_peers(cli, info, 4), 1);
	assert_int_equal(info[0].id, HP_IPC_PRIMARY);

	/* the primary hangs up on the secondary, which is told */
	hp_ipc_set_peer_callback(cli, cli_down_cb, &down);
	assert_int_equal(hp_ipc_disconnect(s.ipc, peer), 0);
	assert_int_equal(hp_ipc_disconnect(s.ipc, peer), -ENOTCONN);
	assert_true(evt_wait(down, 1, WAIT_MS));
	assert_true(evt_wait(s.down_fd, 1, WAIT_MS));
	assert_int_equal(atomic_load(&s.last_down), peer);
	assert_int_equal(echo_check(cli, HP_IPC_PRIMARY, "x"), -ENOTCONN);

	hp_ipc_destroy(cli);
	srv_stop(&s);
	hp_ipc_destroy(NULL);
	close(note);
	close(down);
	free(req);
	free(rep);
}

static void test_ipc_server_path(void **state)
{
	struct tdir d;
	struct hp_ipc *a, *b;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char longpath[200];
	struct stat st;
	int fd;

	(void)state;
	tdir_make(&d);
	assert_int_equal(hp_ipc_client_connect(d.path, &a), -ENOENT);
	/* a stale socket of a dead primary is replaced */
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	strcpy(sa.sun_path, d.path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(hp_ipc_client_connect(d.path, &a), -ECONNREFUSED);
	assert_int_equal(hp_ipc_server_create(d.path, NULL, &a), 0);
	assert_int_equal(stat(d.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* a live one is not */
	assert_int_equal(hp_ipc_server_create(d.path, NULL, &b), -EADDRINUSE);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(hp_ipc_server_create(longpath, NULL, &b),
			 -ENAMETOOLONG);
	hp_ipc_destroy(a);
	assert_int_equal(stat(d.path, &st), -1); /* unlinked */
	/* hidden until published: nobody connects to a server not ready */
	struct hp_ipc_server_opts hide = { .hidden = true };
	char tmp[sizeof(d.path) + 8];
	snprintf(tmp, sizeof(tmp), "%s.new", d.path);
	assert_int_equal(hp_ipc_server_create(d.path, &hide, &a), 0);
	assert_int_equal(hp_ipc_client_connect(d.path, &b), -ENOENT);
	assert_int_equal(hp_ipc_server_publish(a), 0);
	assert_int_equal(hp_ipc_server_publish(a), 0);
	assert_int_equal(stat(tmp, &st), -1);
	assert_int_equal(hp_ipc_client_connect(d.path, &b), 0);
	hp_ipc_destroy(b);
	hp_ipc_destroy(a);
	assert_int_equal(stat(d.path, &st), -1);
	/* destroyed before publishing: the hidden socket goes too */
	assert_int_equal(hp_ipc_server_create(d.path, &hide, &a), 0);
	hp_ipc_destroy(a);
	assert_int_equal(stat(tmp, &st), -1);
	tdir_remove(&d);
}

static void test_ipc_broadcast(void **state)
{
	struct bcast f;

	(void)state;
	bcast_start(&f, -1);
	assert_int_equal(hp_ipc_broadcast(f.s.ipc, &f.req, 2, f.res, 2, &f.nb),
			 -ENOSPC);
	assert_int_equal(hp_ipc_broadcast(f.s.ipc, &f.req, WAIT_MS, f.res, 3,
					  &f.nb), 0);
	assert_int_equal(f.nb, 3);
	for (int i = 0; i < 3; i++) {
		int idx = f.res[i].reply_status;
		char want[64];

		assert_int_equal(f.res[i].status, 0);
		assert_true(idx >= 0 && idx < 3);
		assert_int_equal(f.res[i].pid, f.c[idx].pid);
		snprintf(want, sizeof(want), "child %d pid %d", idx,
			 (int)f.c[idx].pid);
		assert_string_equal(f.res[i].reply_text, want);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(f.res[j].peer, f.res[i].peer);
	}
	bcast_stop(&f);
}

/* Broadcasts with a deadline of ms and checks that it took that long and
 * that only the peer whose pid is `answers` answered (-1: all but the
 * silent one, c[1]). */
static void bcast_partial(struct bcast *f, int ms, pid_t answers)
{
	int64_t t0 = now_ms(), dt;

	assert_int_equal(hp_ipc_broadcast(f->s.ipc, &f->req, ms, f->res, 3,
					  &f->nb), -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= ms - 5 && dt < ms + 500); /* one deadline, not 3 */
	assert_int_equal(f->nb, 3);
	for (unsigned i = 0; i < f->nb; i++) {
		bool ok = answers < 0 ? f->res[i].pid != f->c[1].pid :
					f->res[i].pid == answers;

		assert_int_equal(f->res[i].status, ok ? 0 : -ETIMEDOUT);
		if (ok)
			assert_non_null(strstr(f->res[i].reply_text, "child"));
	}
}

static void test_ipc_broadcast_one_silent(void **state)
{
	struct bcast f;
	int st;

	(void)state;
	bcast_start(&f, 1);
	bcast_partial(&f, 300, -1);
	/* a stopped peer fails only its own part too */
	kill(f.c[0].pid, SIGSTOP);
	assert_int_equal(waitpid(f.c[0].pid, &st, WUNTRACED), f.c[0].pid);
	assert_true(WIFSTOPPED(st));
	bcast_partial(&f, 200, f.c[2].pid);
	kill(f.c[0].pid, SIGCONT);
	bcast_stop(&f);
}

/* Primary: writes into the request's fd, answers with a memfd. */
static void fds_handler(struct hp_ipc *ipc, uint32_t peer,
			const struct hp_ipc_msg *req, void *arg)
{
	struct hp_ipc_msg reply;
	int *cloexec_ok = arg;
	int mfd;

	hp_ipc_msg_init(&reply, req->type, NULL, 0);
	if (req->nb_fds != 1) {
		reply.status = -EINVAL;
		hp_ipc_reply(ipc, peer, req, &reply);
		return;
	}
	*cloexec_ok = (fcntl(req->fds[0], F_GETFD) & FD_CLOEXEC) != 0;
	if (write(req->fds[0], pipe_text, sizeof(pipe_text)) < 0)
		reply.status = -errno;
	close(req->fds[0]);
	mfd = memfd_create("test", MFD_CLOEXEC);
	if (pwrite(mfd, memfd_text, sizeof(memfd_text), 0) < 0)
		reply.status = -errno;
	reply.fds[0] = mfd;
	reply.nb_fds = 1;
	hp_ipc_reply(ipc, peer, req, &reply);
	close(mfd);
}

#define T_FDS_INLINE 111	/* T_FDS's handler, inline */

/* A handler registered without HP_IPC_TAKES_FDS never sees fds: lib/ipc
 * closes what came (inline or on the worker), and the fd count stays. */
static void test_ipc_fds_only_where_taken(void **state)
{
	struct srv s = { 0 };
	struct hp_ipc *cli;
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	const uint16_t types[] = { T_FDS, T_FDS_INLINE };
	int p[2], before, ok = 0;

	(void)state;
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register(s.ipc, T_FDS, fds_handler, &ok), 0);
	assert_int_equal(hp_ipc_register_inline(s.ipc, T_FDS_INLINE,
						fds_handler, &ok), 0);
	assert_int_equal(hp_ipc_register_flags(s.ipc, T_ABSENT, 1u << 7,
					       fds_handler, &ok), -EINVAL);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &cli), 0);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	assert_int_equal(hp_ipc_peer_pid(s.ipc, atomic_load(&s.last_up)),
			 getpid());
	assert_int_equal(hp_ipc_peer_pid(s.ipc, 9999), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(echo_check(cli, HP_IPC_PRIMARY, "warm"), 0);
	before = count_fds();
	for (unsigned i = 0; i < HP_ARRAY_SIZE(types); i++) {
		hp_ipc_msg_init(req, types[i], NULL, 0);
		req->fds[0] = p[1];
		req->nb_fds = 1;
		assert_int_equal(hp_ipc_request(cli, HP_IPC_PRIMARY, req, rep,
						WAIT_MS), 0);
		assert_int_equal(rep->status, -EINVAL); /* it saw none */
		assert_int_equal(rep->nb_fds, 0);
		assert_true(fds_back_to(before));
	}
	cli_done(cli, &s, p, req, rep);
}

/* Watch: reads the eventfd and says so on another. */
static void watch_fn(struct hp_ipc *ipc, int fd, void *arg)
{
	uint64_t v;

	(void)ipc;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		evt_post(*(int *)arg);
}

/* hp_ipc_watch: the I/O thread calls back when a watched fd is readable. */
static void test_ipc_watch(void **state)
{
	struct srv s = { 0 };
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int told = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;

	(void)state;
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_watch(s.ipc, efd, watch_fn, &told), 0);
	assert_int_equal(hp_ipc_watch(s.ipc, efd, watch_fn, &told), -EEXIST);
	assert_int_equal(hp_ipc_watch(s.ipc, -1, watch_fn, &told), -EINVAL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
		assert_true(evt_wait(told, 1, WAIT_MS));
	}
	assert_int_equal(hp_ipc_unwatch(s.ipc, efd), 0);
	assert_int_equal(hp_ipc_unwatch(s.ipc, efd), -ENOENT);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_false(evt_wait(told, 1, 100));
	srv_stop(&s);
	close(efd);
	close(told);
}

static void test_ipc_fd_passing(void **state)
{
	struct srv s = { 0 };
	struct child c;
	int cloexec_ok = 0;

	(void)state;
	tdir_make(&s.d);
	child_spawn(&c, child_fds, s.d.path);
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register_flags(s.ipc, T_FDS, HP_IPC_TAKES_FDS,
					       fds_handler, &cloexec_ok), 0);
	child_go(&c);
	assert_int_equal(child_reap(&c), 0);
	srv_stop(&s);
	assert_true(cloexec_ok); /* received fds are close-on-exec */
}

static void test_ipc_request_timeout(void **state)
{
	struct srv s = { 0 };
	struct hp_ipc *cli;
	struct late *l = calloc(1, sizeof(*l));
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	int64_t t0, dt;
	int p[2], before;

	(void)state;
	cap_start();
	hp_log_set_levels("ipc:debug");
	l->got_fd = eventfd(0, EFD_CLOEXEC);
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register(s.ipc, T_SILENT, late_handler, l), 0);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &cli), 0);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));

	hp_ipc_msg_init(req, T_SILENT, "slow", 4);
	rep->len = 12345;
	t0 = now_ms();
	assert_int_equal(hp_ipc_request(cli, HP_IPC_PRIMARY, req, rep, 200),
			 -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= 195 && dt < 1000);
	assert_int_equal(rep->len, 12345); /* untouched on failure */

	/* the late answer (on the request channel, with an fd) is dropped;
	 * the next call gets its own reply */
	assert_true(evt_wait(l->got_fd, 1, WAIT_MS));
	assert_int_equal(l->req.via, IPC_VIA_CHAN);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	before = count_fds();
	hp_ipc_msg_init(rep, T_SILENT, "stale", 5);
	rep->fds[0] = p[0];
	rep->nb_fds = 1;
	assert_int_equal(hp_ipc_reply(s.ipc, atomic_load(&s.last_up), &l->req,
				      rep), 0);
	atomic_store(&l->answer, true);
	hp_ipc_msg_init(req, T_SILENT, "fresh", 5);
	assert_int_equal(hp_ipc_request(cli, HP_IPC_PRIMARY, req, rep, WAIT_MS),
			 0);
	assert_int_equal(rep->len, 8);
	assert_memory_equal(rep->payload, "re:fresh", 8);
	assert_int_equal(rep->nb_fds, 0);
	assert_true(cap_has("late reply"));
	assert_int_equal(cap_count(), 0);
	assert_int_equal(atomic_load(&cli->chan_sent), 2); /* both on it */
	assert_int_equal(count_fds(), before); /* the late reply's fd closed */
	close(p[0]);
	close(p[1]);

	hp_ipc_destroy(cli);
	srv_stop(&s);
	cap_stop();
	close(l->got_fd);
	free(l);
	free(req);
	free(rep);
}

static void test_ipc_peer_death(void **state)
{
	struct srv s = { 0 };
	struct child c;
	struct cli_cfg cfg = { .type = T_KILL, .fn = kill_handler };
	struct hp_ipc_msg req, rep;
	int64_t t0;

	(void)state;
	spawn_clients(&s, &c, &cfg, 1);
	uint32_t peer = atomic_load(&s.last_up);
	hp_ipc_msg_init(&req, T_KILL, NULL, 0);
	t0 = now_ms();
	assert_int_equal(hp_ipc_request(s.ipc, peer, &req, &rep, 20000),
			 -ECONNRESET);
	assert_true(now_ms() - t0 < 2000);
	assert_true(evt_wait(s.down_fd, 1, WAIT_MS));
	assert_int_equal(atomic_load(&s.last_down), peer);
	assert_int_equal(nb_peers(s.ipc), 0);
	assert_int_equal(child_reap(&c), 128 + SIGKILL);
	srv_stop(&s);
}

static void test_ipc_primary_death(void **state)
{
	struct srv s = { 0 };
	struct late l = { .got_fd = eventfd(0, EFD_CLOEXEC) };
	struct child c;

	(void)state;
	tdir_make(&s.d);
	child_spawn(&c, child_orphan, s.d.path);
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register(s.ipc, T_SILENT, late_handler, &l), 0);
	child_go(&c);
	assert_true(evt_wait(l.got_fd, 1, WAIT_MS));
	srv_stop(&s);
	assert_int_equal(child_reap(&c), 0);
	close(l.got_fd);
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct hp_ipc_msg req, rep;

	hp_ipc_msg_init(&req, T_SILENT, NULL, 0);
	w->r = hp_ipc_request(w->cli, HP_IPC_PRIMARY, &req, &rep, 20000);
	return NULL;
}

static void test_ipc_destroy_pending(void **state)
{
	struct srv s = { 0 };
	struct late l = { .got_fd = eventfd(0, EFD_CLOEXEC) };
	struct waiter w = { .r = 1 };
	pthread_t th;
	int64_t t0;

	(void)state;
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register(s.ipc, T_SILENT, late_handler, &l), 0);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &w.cli), 0);
	assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
	assert_true(evt_wait(l.got_fd, 1, WAIT_MS)); /* the request waits */
	t0 = now_ms();
	assert_int_equal(atomic_load(&w.cli->chan_sent), 1); /* on the channel */
	hp_ipc_destroy(w.cli); /* returns once the waiter has */
	pthread_join(th, NULL);
	assert_int_equal(w.r, -ESHUTDOWN);
	assert_true(now_ms() - t0 < 2000);
	srv_stop(&s);
	close(l.got_fd);
}

static void test_ipc_credentials(void **state)
{
	struct hp_ipc_server_opts opts = { .mode = 0666 };
	struct srv s = { 0 };
	struct other_cfg cfg = { .want_ok = false };
	struct child c;
	struct stat st;
	char want[96];

	(void)state;
	if (geteuid() != 0) {
		skipped_not_root = true;
		skip(); /* needs root to setuid */
	}
	cap_start();
	tdir_make(&s.d);
	assert_int_equal(chmod(s.d.dir, 0755), 0);
	cfg.path = s.d.path;
	child_spawn(&c, child_other_user, &cfg);
	srv_start(&s, &opts);
	child_go(&c);
	assert_int_equal(child_reap(&c), 0);
	snprintf(want, sizeof(want), "refusing peer pid %d uid 65534",
		 (int)c.pid);
	assert_true(cap_has(want));
	assert_int_equal(nb_peers(s.ipc), 0);
	assert_false(evt_wait(s.up_fd, 1, 0));
	hp_ipc_destroy(s.ipc);

	/* that user's group, when allowed, gets in */
	cfg.want_ok = true;
	child_spawn(&c, child_other_user, &cfg);
	opts = (struct hp_ipc_server_opts){ .group = 65534 };
	assert_int_equal(hp_ipc_server_create(s.d.path, &opts, &s.ipc), 0);
	hp_ipc_register(s.ipc, T_ECHO, echo_handler, NULL);
	assert_int_equal(stat(s.d.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, 65534);
	child_go(&c);
	assert_int_equal(child_reap(&c), 0);
	srv_stop(&s);
	cap_stop();
}

static void test_ipc_peer_limit(void **state)
{
	struct hp_ipc_server_opts opts = { .max_peers = 1 };
	struct srv s = { 0 };
	struct hp_ipc *a, *b;

	(void)state;
	cap_start();
	srv_start(&s, &opts);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &a), 0);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	char err[128];
	assert_int_equal(hp_ipc_client_connect_msg(s.d.path, &b, err,
						   sizeof(err)), -EUSERS);
	assert_string_equal(err, "refused by the primary: 1 processes joined already (the limit is 1)");
	assert_true(cap_has("the limit is 1"));
	assert_int_equal(echo_check(a, HP_IPC_PRIMARY, "a"), 0);
	hp_ipc_destroy(a);
	srv_stop(&s);
	cap_stop();
}

struct hammer {
	struct hp_ipc *cli;
	int idx;
	int failures;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	char text[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "t%d-%d", h->idx, i);
		h->failures += echo_check(h->cli, HP_IPC_PRIMARY, text) != 0;
	}
	return NULL;
}

static void test_ipc_concurrent_requests(void **state)
{
	struct srv s = { 0 };
	struct hammer h[4];
	pthread_t th[4];
	struct hp_ipc *cli;

	(void)state;
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &cli), 0);
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ .cli = cli, .idx = i };
		assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &h[i]),
				 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].failures, 0);
	}
	hp_ipc_destroy(cli);
	srv_stop(&s);
}

/* Empties a socket; the thread that makes room in a full buffer. */
static void *drain_main(void *arg)
{
	uint8_t buf[IPC_RX_SIZE];

	while (recv(*(int *)arg, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	return NULL;
}

static void test_ipc_send_full_buffer(void **state)
{
	struct hp_ipc_msg *msg = calloc(1, sizeof(*msg));
	struct ipc_target t[2];
	struct timespec deadline;
	uint8_t hdr[IPC_HDR_SIZE] = { 0 };
	int full[2], free_sp[2], n = 0;
	pthread_t th;
	int64_t t0, dt;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, full), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, free_sp), 0);
	msg->len = HP_IPC_MAX_PAYLOAD;
	while (ipc_send(full[0], hdr, msg) == 0)
		n++;
	assert_true(n > 0);
	assert_int_equal(ipc_send(full[0], hdr, msg), -EAGAIN);

	/* the stalled peer gets -ETIMEDOUT at the deadline, the other its
	 * message at once */
	t[0] = (struct ipc_target){ .fd = full[0] };
	t[1] = (struct ipc_target){ .fd = free_sp[0] };
	ipc_deadline(100, &deadline);
	t0 = now_ms();
	ipc_send_many(t, 2, hdr, msg, &deadline);
	dt = now_ms() - t0;
	assert_int_equal(t[0].err, -ETIMEDOUT);
	assert_int_equal(t[1].err, 0);
	assert_true(dt >= 95 && dt < 1000);

	/* room made while waiting lets the message go */
	assert_int_equal(pthread_create(&th, NULL, drain_main, &full[1]), 0);
	ipc_deadline(WAIT_MS, &deadline);
	ipc_send_many(t, 1, hdr, msg, &deadline);
	pthread_join(th, NULL);
	assert_int_equal(t[0].err, 0);

	/* a peer that is gone fails at once */
	close(free_sp[1]);
	ipc_send_many(&t[1], 1, hdr, msg, &deadline);
	assert_true(t[1].err == -EPIPE || t[1].err == -ECONNRESET);
	close(full[0]);
	close(full[1]);
	close(free_sp[0]);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ipc_request_reply, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_server_path, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_broadcast, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_broadcast_one_silent, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_fd_passing, kill_leftovers),
		cmocka_unit_test(test_ipc_fds_only_where_taken),
		cmocka_unit_test(test_ipc_watch),
		cmocka_unit_test_teardown(test_ipc_request_timeout, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_peer_death, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_primary_death, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_destroy_pending, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_credentials, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_peer_limit, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_concurrent_requests, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_send_full_buffer, kill_leftovers),
	};
	int fails = cmocka_run_group_tests(tests, NULL, NULL);
	/* meson's skip code, so a missing privilege never passes silently */
	return fails == 0 && skipped_not_root ? 77 : fails;
}
