/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/ipc spoken by hand on raw sockets: the wire format,
 * malformed messages, other protocol versions and the primary's side of
 * the request channel; the helpers are in hp_test_ipc.h. */
#include "hp_test_ipc.h"

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

/* Reads what the primary says to a peer it hangs up on: a refusal with
 * the reason, then the end of the stream (or a reset, when garbage was
 * left unread). */
static void hung_up_with(int fd, const char *reason)
{
	struct hp_ipc_msg msg;
	int dec = -1;

	assert_true(raw_recv(fd, &msg, &dec) > 0);
	assert_int_equal(dec, 0);
	assert_int_equal(msg.type, IPC_TYPE_REFUSED);
	assert_int_equal(msg.status, -EBADMSG);
	msg.payload[msg.len < HP_IPC_MAX_PAYLOAD ? msg.len : 0] = '\0';
	assert_non_null(strstr((char *)msg.payload, reason));
	ssize_t n = raw_recv(fd, &msg, &dec);
	assert_true(n == 0 || n == -1);
}

/* Each kind of garbage, each on its own connection: the primary hangs up
 * on the sender at once, with a log line and a refusal naming it, closes
 * the fds that came along, and serves the next connection. Regression:
 * a garbage datagram was dropped and the connection stayed. */
static void test_ipc_malformed_hung_up(void **state)
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
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	for (size_t i = 0; i < HP_ARRAY_SIZE(fds); i++)
		fds[i] = p[1];
	before = count_fds();

	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REQUEST, T_ECHO, 1,
		      "abc");
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, n, fds, HP_IPC_MAX_FDS + 1, &nb_bad);
	hung_up_with(fd, "too many fds");
	close(fd);
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, IPC_HDR_SIZE - 4, NULL, 0, &nb_bad); /* truncated */
	hung_up_with(fd, IPC_BAD_HEADER);
	close(fd);
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, n - 1, fds, 1, &nb_bad); /* length mismatch */
	hung_up_with(fd, IPC_BAD_HEADER);
	close(fd);
	buf[0] = 'X';
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* bad magic */
	hung_up_with(fd, IPC_BAD_HEADER);
	close(fd);
	h = (struct ipc_hdr){ .magic = HP_IPC_MAGIC,
			      .version = HP_IPC_PROTO_VERSION,
			      .type = T_ECHO, .kind = IPC_KIND_REQUEST, .id = 1,
			      .len = 100000 };
	ipc_hdr_encode(buf, &h);
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* oversized length field */
	hung_up_with(fd, "payload length over the limit");
	close(fd);
	h.len = HP_IPC_MAX_PAYLOAD + 100;
	ipc_hdr_encode(buf, &h);
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, IPC_HDR_SIZE + h.len, NULL, 0, &nb_bad); /* too big */
	hung_up_with(fd, "oversized datagram");
	close(fd);
	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REPLY, T_ECHO, 999999,
		      "");
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* reply nobody asked for */
	hung_up_with(fd, "reply to an unknown request id");
	close(fd);
	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REQUEST, T_ECHO, 0, "");
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* request without an id */
	hung_up_with(fd, IPC_BAD_HEADER);
	close(fd);
	n = raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_NOTIFY,
		      IPC_TYPE_WELCOME, 0, "");
	fd = raw_connect(s.d.path);
	send_bad(fd, buf, n, NULL, 0, &nb_bad); /* a type of lib/ipc's */
	hung_up_with(fd, "a type lib/ipc keeps for itself");
	close(fd);

	/* one line each; the next connection is served */
	assert_true(evt_wait(s.down_fd, (uint64_t)nb_bad, WAIT_MS));
	assert_int_equal(cap_count(), nb_bad);
	assert_true(cap_has(": disconnecting"));
	assert_true(fds_back_to(before)); /* received fds were closed */
	fd = raw_connect(s.d.path);
	raw_echo(fd, 1);
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
	/* Welcomes the secondary, in its own version. */
	ipc_hdr_make(rx->buf, IPC_KIND_NOTIFY, IPC_TYPE_WELCOME, 0, 0, 0);
	send(fd, rx->buf, IPC_HDR_SIZE, MSG_NOSIGNAL);
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
	assert_int_equal(pthread_create(&th, NULL, old_primary, &lfd), 0);
	assert_int_equal(hp_ipc_client_connect(d.path, &cli), 0);
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

/* A peer that sends garbage is hung up on at the first datagram; the
 * primary goes on serving the peer connected all along and the next one
 * to connect. */
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
	raw_echo(fd, 1);
	raw_send(fd, buf, sizeof(buf));
	hung_up_with(fd, "sent a malformed message (" IPC_BAD_HEADER ")");
	(void)msg;
	(void)dec;
	assert_true(evt_wait(s.down_fd, 1, WAIT_MS));
	assert_true(cap_has(IPC_BAD_HEADER ": disconnecting"));
	close(fd);
	assert_int_equal(echo_check(good, HP_IPC_PRIMARY, "good"), 0);
	fd = raw_connect(s.d.path);
	raw_echo(fd, 2);
	close(fd);
	hp_ipc_destroy(good);
	srv_stop(&s);
	cap_stop();
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

	/* a second channel is refused (only that) */
	ch2 = raw_channel(fd, -1, NULL);
	pf = (struct pollfd){ .fd = ch2, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, WAIT_MS), 1);
	assert_true(pf.revents & POLLHUP); /* closed by the primary */
	assert_true(cap_has("a second request channel, refused"));
	close(ch2);
	raw_echo(fd, 7);

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

	/* malformed, each hanging the peer up: a channel message without an
	 * fd, or with another kind of fd, or one sent on the channel itself */
	fd = raw_connect(s.d.path);
	raw_channel(fd, -2, &nb_bad);
	hung_up_with(fd, "bad request channel message");
	close(fd);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fd = raw_connect(s.d.path);
	raw_channel(fd, p[1], &nb_bad);
	close(p[0]);
	close(p[1]);
	hung_up_with(fd, "bad request channel message");
	close(fd);
	fd = raw_connect(s.d.path);
	ch = raw_channel(fd, -1, NULL);
	ch2 = raw_channel(ch, -1, &nb_bad);
	hung_up_with(fd, "bad request channel message");
	close(ch2);
	close(ch);
	close(fd);
	assert_true(evt_wait(s.down_fd, 3, WAIT_MS));
	assert_true(fds_back_to(before));

	srv_stop(&s);
	cap_stop();
	close(note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ipc_msg_decode, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_malformed_hung_up, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_malformed_version, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_version_mismatch_client, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_malformed_limit, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_channel_primary_side, kill_leftovers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
