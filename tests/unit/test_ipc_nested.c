/* SPDX-License-Identifier: BSD-3-Clause */
/* What the I/O thread finds after a call made from an inline handler: the
 * call runs the event loop itself, so events that the outer loop holds
 * from before may have been handled meanwhile. The fixtures are in
 * hp_test_ipc.h. */
#include "hp_test_ipc.h"

#define T_HOLD 110	/* inline: blocks the I/O thread until released */
#define T_NEST 111	/* inline: makes a call that is never answered */

struct nest {
	int in_hold;	/* posted once the I/O thread is in T_HOLD */
	int release;	/* posted to let it go */
	int nested;	/* posted once T_NEST's call returned */
};

static void hold_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *msg, void *arg)
{
	struct nest *n = arg;

	(void)ipc;
	(void)peer;
	(void)msg;
	evt_post(n->in_hold);
	evt_wait(n->release, 1, WAIT_MS);
}

static void nest_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *msg, void *arg)
{
	struct hp_ipc_msg req, rep;
	struct nest *n = arg;

	(void)msg;
	hp_ipc_msg_init(&req, T_ECHO, "x", 1);
	/* The raw peer never answers: the loop runs for the whole wait. */
	hp_ipc_request(ipc, peer, &req, &rep, 300);
	evt_post(n->nested);
}

static void send_note(int fd, uint16_t type)
{
	uint8_t buf[IPC_RX_SIZE];

	raw_send(fd, buf, raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_NOTIFY,
				    type, 0, ""));
}

/* Connects without waiting for the primary's welcome (raw_connect waits
 * for it): the I/O thread that sends it may be held. */
static int raw_connect_only(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Regression: a connection accepted by a call's nested loop left the
 * outer loop's stale "listening socket readable" event, and the blocking
 * accept4 it led to hung the I/O thread until the next connection, so
 * nobody was served (and hp_ipc_destroy waited for ever). */
static void test_ipc_accept_after_nested_call_does_not_block(void **state)
{
	struct nest n = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC),
			  eventfd(0, EFD_CLOEXEC) };
	struct srv s = { 0 };
	int a, b, c = -1;

	(void)state;
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_register_inline(s.ipc, T_HOLD, hold_handler, &n), 0);
	assert_int_equal(hp_ipc_register_inline(s.ipc, T_NEST, nest_handler, &n), 0);
	a = raw_connect(s.d.path);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	/* The I/O thread held: A's T_NEST and B's connection come in, so
	 * that its next wait returns both, A's first. */
	send_note(a, T_HOLD);
	assert_true(evt_wait(n.in_hold, 1, WAIT_MS));
	send_note(a, T_NEST);
	b = raw_connect_only(s.d.path);
	evt_post(n.release);
	/* T_NEST's call accepts B in its own loop... */
	assert_true(evt_wait(n.nested, 1, WAIT_MS));
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	/* ...and the outer loop, back with its stale event, serves B. */
	uint8_t buf[IPC_RX_SIZE];
	struct hp_ipc_msg msg;
	int dec = -1;

	msg.id = 0;
	raw_send(b, buf, raw_build(buf, HP_IPC_PROTO_VERSION, IPC_KIND_REQUEST,
				   T_ECHO, 7, "raw"));
	if (raw_recv(b, &msg, &dec) > 0 && msg.type == IPC_TYPE_WELCOME)
		raw_recv(b, &msg, &dec);
	if (msg.id != 7)
		c = raw_connect(s.d.path); /* frees a stuck accept4 */
	assert_int_equal(c, -1);
	assert_int_equal(dec, 0);
	close(a);
	close(b);
	srv_stop(&s);
	close(n.in_hold);
	close(n.release);
	close(n.nested);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipc_accept_after_nested_call_does_not_block),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
