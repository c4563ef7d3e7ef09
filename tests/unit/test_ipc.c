/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/ipc: request/reply, broadcast, fds, timeouts, peer
 * death, malformed input, credentials and concurrency, with forked peers;
 * the helpers and what the secondaries run are in test_ipc_helpers.h. */
#include "test_ipc_helpers.h"

/* Set when a test needed root: the binary then exits 77 (skip). */
static bool skipped_not_root;

static void test_ipc_msg_decode(void **state)
{
	uint8_t buf[IPC_RX_SIZE + 16];
	struct hp_ipc_msg msg;
	struct ipc_hdr h;
	size_t n;

	(void)state;
	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REQUEST, 7, 42,
		      "hello");
	assert_int_equal(hp_ipc_msg_decode(buf, n, &msg), 0);
	assert_int_equal(msg.type, 7);
	assert_int_equal(msg.id, 42);
	assert_int_equal(msg.len, 5);
	assert_int_equal(msg.nb_fds, 0);
	assert_memory_equal(msg.payload, "hello", 5);

	assert_int_equal(hp_ipc_msg_decode(buf, 0, &msg), -EBADMSG);
	assert_int_equal(hp_ipc_msg_decode(buf, 5, &msg), -EBADMSG);
	assert_int_equal(hp_ipc_msg_decode(buf, IPC_HDR_SIZE - 1, &msg),
			 -EBADMSG); /* truncated header */
	assert_int_equal(hp_ipc_msg_decode(buf, n - 1, &msg), -EBADMSG);
	assert_int_equal(hp_ipc_msg_decode(buf, n + 1, &msg), -EBADMSG);
	assert_int_equal(hp_ipc_msg_decode(NULL, n, &msg), -EINVAL);

	buf[0] ^= 0xff; /* bad magic */
	assert_int_equal(hp_ipc_msg_decode(buf, n, &msg), -EBADMSG);
	buf[0] ^= 0xff;

	n = raw_build(buf, HP_IPC_PROTO_VERSION + 1, IPC_KIND_REQUEST, 7, 42,
		      "x");
	assert_int_equal(hp_ipc_msg_decode(buf, n, &msg), -EPROTO);
	assert_int_equal(msg.status, HP_IPC_PROTO_VERSION + 1);
	/* Another version is told even when the rest of its header is short. */
	assert_int_equal(hp_ipc_msg_decode(buf, 8, &msg), -EPROTO);

	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REQUEST, 7, 42, "");
	assert_int_equal(ipc_hdr_decode(buf, n, &h), 0);
	h.len = HP_IPC_MAX_PAYLOAD + 1; /* oversized length field */
	ipc_hdr_encode(buf, &h);
	assert_int_equal(hp_ipc_msg_decode(buf, n, &msg), -EMSGSIZE);
	assert_int_equal(hp_ipc_msg_decode(buf, IPC_HDR_SIZE + h.len, &msg),
			 -EMSGSIZE);
	h.len = HP_IPC_MAX_PAYLOAD; /* the largest one is fine */
	ipc_hdr_encode(buf, &h);
	assert_int_equal(hp_ipc_msg_decode(buf, IPC_RX_SIZE, &msg), 0);
	h.len = 0;
	h.type = 0; /* type 0 is invalid */
	ipc_hdr_encode(buf, &h);
	assert_int_equal(hp_ipc_msg_decode(buf, n, &msg), -EBADMSG);
	h.type = 7;
	h.kind = 9; /* no such kind */
	ipc_hdr_encode(buf, &h);
	assert_int_equal(hp_ipc_msg_decode(buf, n, &msg), -EBADMSG);

	assert_int_equal(hp_ipc_msg_init(&msg, 3, buf, HP_IPC_MAX_PAYLOAD + 1),
			 -EMSGSIZE);
	assert_int_equal(hp_ipc_msg_init(&msg, 3, NULL, 1), -EINVAL);
	assert_int_equal(hp_ipc_msg_init(&msg, 3, "ab", 2), 0);
	assert_int_equal(msg.len, 2);
}

static void note_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *msg, void *arg)
{
	(void)ipc;
	(void)peer;
	if (msg->len == 4 && !memcmp(msg->payload, "note", 4))
		evt_post(*(int *)arg);
}

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


static void test_ipc_fd_passing(void **state)
{
	struct srv s = { 0 };
	struct child c;
	int cloexec_ok = 0;

	(void)state;
	tdir_make(&s.d);
	child_spawn(&c, child_fds, s.d.path);
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register(s.ipc, T_FDS, fds_handler, &cloexec_ok),
			 0);
	child_go(&c);
	assert_int_equal(child_reap(&c), 0);
	srv_stop(&s);
	assert_true(cloexec_ok); /* received fds are close-on-exec */
}

/* Keeps the request to answer it late, when told to. */
struct late {
	int got_fd;
	struct hp_ipc_msg req;
	atomic_bool answer;
};

static void late_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *req, void *arg)
{
	struct late *l = arg;

	if (atomic_load(&l->answer)) {
		echo_handler(ipc, peer, req, NULL);
		return;
	}
	l->req = *req;
	evt_post(l->got_fd);
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

struct waiter {
	struct hp_ipc *cli;
	int r;
};

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

/* Sends one malformed datagram, with fds when nb_fds. */
static void send_bad(int fd, const void *buf, size_t len, const int *fds,
		     unsigned nb_fds, int *nb_bad)
{
	char ctl[CMSG_SPACE(sizeof(int) * (HP_IPC_MAX_FDS + 1))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nb_fds) {
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nb_fds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nb_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nb_fds);
	}
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
	(*nb_bad)++;
}

static void test_ipc_malformed_dropped(void **state)
{
	struct srv s = { 0 };
	uint8_t *buf = calloc(1, IPC_RX_SIZE + 512);
	int fds[HP_IPC_MAX_FDS + 1];
	struct ipc_hdr h;
	int fd, p[2], before, nb_bad = 0;
	size_t n;

	(void)state;
	cap_start();
	srv_start(&s, NULL);
	fd = raw_connect(s.d.path);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS)); /* accepted: fd count final */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	for (size_t i = 0; i < HP_ARRAY_SIZE(fds); i++)
		fds[i] = p[1];
	before = count_fds();

	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REQUEST, T_ECHO, 1,
		      "abc");
	send_bad(fd, buf, n, fds, HP_IPC_MAX_FDS + 1, &nb_bad); /* too many fds */
	send_bad(fd, buf, IPC_HDR_SIZE - 4, NULL, 0, &nb_bad); /* truncated */
	send_bad(fd, buf, n - 1, fds, 1, &nb_bad); /* length mismatch */
	buf[0] = 'X';
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* bad magic */
	h = (struct ipc_hdr){ .magic = HP_IPC_MAGIC,
			      .version = HP_IPC_PROTO_VERSION,
			      .type = T_ECHO, .kind = IPC_KIND_REQUEST, .id = 1,
			      .len = 100000 };
	ipc_hdr_encode(buf, &h);
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* oversized length field */
	h.len = HP_IPC_MAX_PAYLOAD + 100;
	ipc_hdr_encode(buf, &h);
	send_bad(fd, buf, IPC_HDR_SIZE + h.len, NULL, 0, &nb_bad); /* too big */
	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REPLY, T_ECHO, 999999,
		      "");
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* reply nobody asked for */
	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REQUEST, T_ECHO, 0, "");
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* request without an id */

	/* still served, on the same connection and on a new one */

	raw_echo(fd, 3);
	assert_int_equal(cap_count(), nb_bad);
	assert_int_equal(count_fds(), before); /* received fds were closed */
	int fd2 = raw_connect(s.d.path);
	raw_echo(fd2, 1);
	close(fd2);
	close(fd);
	close(p[0]);
	close(p[1]);
	srv_stop(&s);
	cap_stop();
	free(buf);
}

static void test_ipc_malformed_version(void **state)
{
	struct srv s = { 0 };
	uint8_t buf[IPC_RX_SIZE];
	struct hp_ipc_msg msg;
	char want[128];
	int fd, dec = -1;

	(void)state;
	cap_start();
	srv_start(&s, NULL);
	fd = raw_connect(s.d.path);
	raw_send(fd, buf, raw_build(buf, HP_IPC_PROTO_VERSION + 1,
				    IPC_KIND_REQUEST, T_ECHO, 77, "hi"));
	/* answered -EPROTO in the primary's own version, then hung up on */
	assert_true(raw_recv(fd, &msg, &dec) > 0);
	assert_int_equal(dec, 0);
	assert_int_equal(msg.id, 77);
	assert_int_equal(msg.status, -EPROTO);
	assert_int_equal(raw_recv(fd, &msg, &dec), 0);
	snprintf(want, sizeof(want),
		 "(pid %d) speaks protocol version %d, this process speaks %d",
		 (int)getpid(), HP_IPC_PROTO_VERSION + 1, HP_IPC_PROTO_VERSION);
	assert_true(cap_has(want));
	close(fd);
	fd = raw_connect(s.d.path);
	raw_echo(fd, 1);
	close(fd);
	srv_stop(&s);
	cap_stop();
}

/* A raw primary that takes the request channel and answers the first
 * request, on the socket it came by, in another version. */
static void *old_primary(void *arg)
{
	int lfd = *(int *)arg, fd, chan = -1;
	struct ipc_rx *rx = malloc(sizeof(*rx));
	struct pollfd p[2];
	struct ipc_hdr h;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (wait_fd(fd, WAIT_MS) && ipc_recv(fd, rx) > 0 && rx->nb_fds == 1)
		chan = rx->fds[0];
	p[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = chan, .events = POLLIN };
	if (poll(p, 2, WAIT_MS) > 0) {
		int in = p[1].revents & POLLIN ? chan : fd;

		if (ipc_recv(in, rx) > 0 &&
		    ipc_hdr_decode(rx->buf, rx->size, &h) == 0) {
			h.version = HP_IPC_PROTO_VERSION + 1;
			h.kind = IPC_KIND_REPLY;
			h.status = -EPROTO;
			h.len = 0;
			ipc_hdr_encode(rx->buf, &h);
			send(in, rx->buf, IPC_HDR_SIZE, MSG_NOSIGNAL);
		}
	}
	/* Holds the connection until the test closes the listening socket. */
	wait_fd(fd, WAIT_MS);
	close(fd);
	if (chan >= 0)
		close(chan);
	free(rx);
	return NULL;
}

static void test_ipc_version_mismatch_client(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hp_ipc_msg req, rep;
	struct hp_ipc *cli;
	struct tdir d;
	pthread_t th;
	char want[128];
	int lfd;

	(void)state;
	cap_start();
	tdir_make(&d);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, d.path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(hp_ipc_client_connect(d.path, &cli), 0);
	assert_int_equal(pthread_create(&th, NULL, old_primary, &lfd), 0);
	hp_ipc_msg_init(&req, T_ECHO, "v", 1);
	assert_int_equal(hp_ipc_request(cli, HP_IPC_PRIMARY, &req, &rep,
					WAIT_MS), -EPROTO);
	assert_int_equal(atomic_load(&cli->chan_sent), 1); /* on the channel */
	assert_int_equal(nb_peers(cli), 0); /* as on the connection */
	snprintf(want, sizeof(want),
		 "primary speaks protocol version %d, this process speaks %d",
		 HP_IPC_PROTO_VERSION + 1, HP_IPC_PROTO_VERSION);
	assert_true(cap_has(want));
	hp_ipc_destroy(cli); /* hangs up: old_primary returns */
	pthread_join(th, NULL);
	close(lfd);
	tdir_remove(&d);
	cap_stop();
}

/* A peer that sends garbage is hung up on at the limit; the primary goes
 * on serving the peer connected all along and the next one to connect. */
static void test_ipc_malformed_limit(void **state)
{
	struct srv s = { 0 };
	uint8_t buf[IPC_HDR_SIZE] = { 'j', 'u', 'n', 'k' };
	struct hp_ipc_msg msg;
	struct hp_ipc *good;
	int fd, dec;

	(void)state;
	cap_start();
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &good), 0);
	fd = raw_connect(s.d.path);
	assert_true(evt_wait(s.up_fd, 2, WAIT_MS));
	for (int i = 0; i < HP_IPC_MAX_MALFORMED - 1; i++)
		raw_send(fd, buf, sizeof(buf));
	raw_echo(fd, 1); /* one short of the limit: still served */
	raw_send(fd, buf, sizeof(buf));
	assert_int_equal(raw_recv(fd, &msg, &dec), 0); /* hung up on */
	assert_true(evt_wait(s.down_fd, 1, WAIT_MS));
	assert_true(cap_has("malformed messages, disconnecting"));
	close(fd);
	assert_int_equal(echo_check(good, HP_IPC_PRIMARY, "good"), 0);
	fd = raw_connect(s.d.path);
	raw_echo(fd, 2);
	close(fd);
	hp_ipc_destroy(good);
	srv_stop(&s);
	cap_stop();
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
	assert_int_equal(hp_ipc_client_connect(s.d.path, &b), 0);
	int r = echo_check(b, HP_IPC_PRIMARY, "b");
	assert_true(r == -ECONNRESET || r == -ENOTCONN);
	assert_true(cap_has("the limit is 1"));
	assert_int_equal(echo_check(a, HP_IPC_PRIMARY, "a"), 0);
	hp_ipc_destroy(b);
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
		assert_int_equal(hp_ipc_register(c->ipc, T_NOTE,
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
	assert_int_equal(hp_ipc_register_inline(s.ipc, T_DEFER, defer_handler,
						&in), 0);
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

	hp_ipc_destroy(cli);
	srv_stop(&s);
	close(p[0]);
	close(p[1]);
	free(req);
	free(rep);
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

/* True once this process has n fds open again, within WAIT_MS: a peer's
 * fds close with the last reference to it, which a thread of the
 * primary may hold a moment after the peer is gone. */
static bool fds_back_to(int n)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (count_fds() == n)
			return true;
		usleep(10000);
	}
	return false;
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

/* Sends a channel message on a raw connection: the far end of a fresh
 * socketpair, or fd when it is >= 0 (no fd when it is -2); returns the
 * near end of the pair (or -1). */
static int raw_channel(int conn, int fd, int *nb_bad)
{
	uint8_t buf[IPC_HDR_SIZE];
	int sv[2] = { -1, -1 };
	int dummy = 0;

	if (fd == -1) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
					    0, sv), 0);
		fd = sv[1];
	}
	raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_NOTIFY, IPC_TYPE_CHANNEL,
		  0, "");
	send_bad(conn, buf, IPC_HDR_SIZE, &fd, fd >= 0, nb_bad ? nb_bad : &dummy);
	if (sv[1] >= 0)
		close(sv[1]);
	return sv[0];
}

/* True once the log says s, within WAIT_MS. */
static bool cap_wait(const char *s)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (cap_has(s))
			return true;
		usleep(10000);
	}
	return false;
}

/* The primary's side, spoken by hand: requests on a channel are served
 * and answered there; a second channel, a bad one, one sent on a channel
 * are refused; a channel that hangs up goes alone; a peer that goes takes
 * its channel. */
static void test_ipc_channel_primary_side(void **state)
{
	struct srv s = { 0 };
	uint8_t buf[IPC_RX_SIZE];
	struct hp_ipc_msg msg;
	int fd, ch, ch2, p[2], before, dec, nb_bad = 0;
	int note = eventfd(0, EFD_CLOEXEC);
	struct pollfd pf;

	(void)state;
	cap_start();
	hp_log_set_levels("ipc:debug");
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register(s.ipc, T_NOTE, note_handler, &note), 0);
	before = count_fds();
	fd = raw_connect(s.d.path);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	uint32_t id = atomic_load(&s.last_up);
	ch = raw_channel(fd, -1, NULL);

	/* a request on the channel is answered there, not on the connection;
	 * a notification there reaches its handler */
	raw_echo(ch, 5);
	assert_false(wait_fd(fd, 0));
	raw_send(ch, buf, raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_NOTIFY,
				    T_NOTE, 0, "note"));
	assert_true(evt_wait(note, 1, WAIT_MS));
	raw_echo(fd, 6);
	assert_false(wait_fd(ch, 0));

	/* refused: a second channel, one without an fd or with another kind
	 * of fd, one sent on the channel itself; each counts as malformed but
	 * the second, which is only refused */
	ch2 = raw_channel(fd, -1, NULL);
	pf = (struct pollfd){ .fd = ch2, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, WAIT_MS), 1);
	assert_true(pf.revents & POLLHUP); /* closed by the primary */
	assert_true(cap_has("a second request channel, refused"));
	close(ch2);
	raw_channel(fd, -2, &nb_bad);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	raw_channel(fd, p[1], &nb_bad);
	close(p[0]);
	close(p[1]);
	ch2 = raw_channel(ch, -1, &nb_bad);
	raw_echo(fd, 7); /* all handled by now */
	assert_true(cap_has("bad request channel message"));
	assert_int_equal(cap_count(), nb_bad + 1);
	close(ch2);

	/* the channel hangs up: it goes, the peer stays */
	close(ch);
	assert_true(cap_wait("request channel closed"));
	raw_echo(fd, 8);
	assert_int_equal(nb_peers(s.ipc), 1);
	assert_false(evt_wait(s.down_fd, 1, 0));
	/* a reply for it now fails */
	msg = (struct hp_ipc_msg){ .type = T_ECHO, .id = 9, .via = IPC_VIA_CHAN };
	assert_int_equal(hp_ipc_reply(s.ipc, id, &msg, &msg), -ENOTCONN);
	close(fd);
	assert_true(evt_wait(s.down_fd, 1, WAIT_MS));

	/* a peer removed takes its channel along */
	fd = raw_connect(s.d.path);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	ch = raw_channel(fd, -1, NULL);
	raw_echo(ch, 10);
	assert_int_equal(hp_ipc_disconnect(s.ipc, atomic_load(&s.last_up)), 0);
	assert_int_equal(raw_recv(ch, &msg, &dec), 0); /* end of stream */
	close(ch);
	close(fd);
	assert_true(fds_back_to(before));

	srv_stop(&s);
	cap_stop();
	close(note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ipc_msg_decode, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_request_reply, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_server_path, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_broadcast, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_broadcast_one_silent, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_fd_passing, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_request_timeout, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_peer_death, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_primary_death, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_destroy_pending, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_malformed_dropped, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_malformed_version, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_version_mismatch_client, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_malformed_limit, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_credentials, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_peer_limit, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_concurrent_requests, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_send_full_buffer, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_multicast, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_notify_all, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_defer, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_inline_calls, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_inline_call_stop, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_inline_call_destroy, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_channel_two_callers, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_channel_primary_killed, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_channel_primary_side, kill_leftovers),
	};
	int fails = cmocka_run_group_tests(tests, NULL, NULL);
	/* meson's skip code, so a missing privilege never passes silently */
	return fails == 0 && skipped_not_root ? 77 : fails;
}
