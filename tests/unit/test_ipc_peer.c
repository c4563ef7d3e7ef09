/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/ipc's view of its peers: their credentials with the
 * supplementary groups, admission by group, refusals the refused peer
 * reads, connections that never join, garbage senders, and running out of
 * file descriptors. */
#include <sys/resource.h>

#include "hp_test_ipc.h"

#define T_CRED 110 /* replies the asker's struct hp_ipc_cred */
#define T_JOIN 111 /* admits the asker; replies the status */

/* Groups of the test's other user: not its primary group, two
 * supplementary ones (no names needed: the kernel takes any id). */
#define OTHER_UID 65534
#define OTHER_GID 65534
#define SUPP_A 4242
#define SUPP_B 4243

/* Set when a test needed root: the binary then exits 77 (skip). */
static bool skipped_not_root;

static void cred_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *req, void *arg)
{
	struct hp_ipc_msg *reply = malloc(sizeof(*reply));
	struct hp_ipc_cred c;
	int r = hp_ipc_peer_cred(ipc, peer, &c);

	(void)arg;
	hp_ipc_msg_init(reply, req->type, &c, sizeof(c));
	reply->status = r;
	hp_ipc_reply(ipc, peer, req, reply);
	free(reply);
}

/* The test's other user, member of SUPP_A and SUPP_B; 10 when it cannot
 * become it. */
static int become_other(void)
{
	gid_t groups[] = { SUPP_A, SUPP_B };

	if (setgroups(2, groups) < 0 || setgid(OTHER_GID) < 0 ||
	    setuid(OTHER_UID) < 0)
		return 10;
	return 0;
}

/* Secondary as the other user: asks the primary for its own credentials
 * and checks them; 0 when all is as the kernel says. */
static int child_cred(void *arg, int ready_fd)
{
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	struct hp_ipc_cred c;
	struct hp_ipc *ipc;
	int r;

	(void)ready_fd;
	if (become_other())
		return 10;
	if (hp_ipc_client_connect(arg, &ipc) < 0)
		return 11;
	hp_ipc_msg_init(req, T_CRED, NULL, 0);
	r = hp_ipc_request(ipc, HP_IPC_PRIMARY, req, rep, WAIT_MS);
	hp_ipc_destroy(ipc);
	if (r < 0 || rep->status < 0 || rep->len != sizeof(c))
		return 12;
	memcpy(&c, rep->payload, sizeof(c));
	if (c.pid != getpid() || c.uid != OTHER_UID || c.gid != OTHER_GID)
		return 13;
	if (c.nb_groups != 2 || c.groups[0] != SUPP_A || c.groups[1] != SUPP_B)
		return 14;
	return 0;
}

/* The credentials accessor: this process's own, then another user's with
 * its supplementary groups, admitted through one of them (--ipc-group G
 * admitted only a process whose primary group was G). */
static void test_ipc_peer_cred(void **state)
{
	struct hp_ipc_server_opts opts = { .group = SUPP_B };
	struct srv s = { 0 };
	struct hp_ipc_cred c;
	gid_t mine[256], all[256];
	struct hp_ipc *cli;
	struct child ch;
	int n;

	(void)state;
	srv_start(&s, NULL);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &cli), 0);
	assert_true(evt_wait(s.up_fd, 1, WAIT_MS));
	uint32_t peer = atomic_load(&s.last_up);
	assert_int_equal(hp_ipc_peer_cred(s.ipc, peer, &c), 0);
	assert_int_equal(c.pid, getpid());
	assert_int_equal(c.uid, geteuid());
	assert_int_equal(c.gid, getegid());
	n = getgroups(HP_ARRAY_SIZE(mine), mine);
	assert_int_equal(c.nb_groups, n);
	assert_int_equal(hp_ipc_peer_groups(s.ipc, peer, all, 256), n);
	for (int i = 0; i < n && i < HP_IPC_MAX_GROUPS; i++) {
		assert_int_equal(c.groups[i], mine[i]);
		assert_int_equal(all[i], mine[i]);
	}
	assert_int_equal(hp_ipc_peer_cred(s.ipc, 99, &c), -ENOTCONN);
	assert_int_equal(hp_ipc_peer_cred(s.ipc, peer, NULL), -EINVAL);
	assert_int_equal(hp_ipc_peer_groups(s.ipc, 99, all, 1), -ENOTCONN);
	hp_ipc_destroy(cli);
	srv_stop(&s);

	if (geteuid() != 0) {
		skipped_not_root = true;
		skip(); /* needs root to become another user */
	}
	tdir_make(&s.d);
	assert_int_equal(chmod(s.d.dir, 0755), 0);
	child_spawn(&ch, child_cred, s.d.path);
	srv_start(&s, &opts);
	assert_int_equal(hp_ipc_register(s.ipc, T_CRED, cred_handler, NULL), 0);
	child_go(&ch);
	assert_int_equal(child_reap(&ch), 0);
	srv_stop(&s);
}

static void join_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *req, void *arg)
{
	struct hp_ipc_msg *reply = malloc(sizeof(*reply));

	(void)arg;
	hp_ipc_msg_init(reply, req->type, NULL, 0);
	reply->status = hp_ipc_peer_admit(ipc, peer);
	hp_ipc_reply(ipc, peer, req, reply);
	free(reply);
}

/* Asks the primary to admit this client; its answer, or the call's error. */
static int join(struct hp_ipc *cli)
{
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	int r;

	hp_ipc_msg_init(req, T_JOIN, NULL, 0);
	r = hp_ipc_request(cli, HP_IPC_PRIMARY, req, rep, WAIT_MS);
	if (r == 0)
		r = rep->status;
	free(req);
	free(rep);
	return r;
}

/* Reads a raw connection until the primary hangs up; true when its
 * refusal said want first. */
static bool told_and_hung_up(int fd, const char *want)
{
	struct hp_ipc_msg *msg = malloc(sizeof(*msg));
	bool told = false;
	ssize_t n;
	int dec;

	while ((n = raw_recv(fd, msg, &dec)) > 0) {
		if (dec == 0 && msg->type == IPC_TYPE_REFUSED &&
		    msg->len < HP_IPC_MAX_PAYLOAD) {
			msg->payload[msg->len] = '\0';
			told = strstr((char *)msg->payload, want) != NULL;
		}
	}
	free(msg);
	return told && (n == 0 || n == -1);
}

/* Connections that never join: they do not count against max_peers and
 * see no broadcast; at most max_joining wait (a new one hangs up on the
 * oldest); each is hung up on at its deadline, telling it; a client
 * admitted in time stays; admitting over max_peers fails -EUSERS. Regression:
 * 127 silent connections locked every secondary out for as long as they
 * stayed. */
static void test_ipc_join_deadline(void **state)
{
	struct hp_ipc_server_opts opts = { .join_timeout_ms = 300,
					   .max_joining = 4, .max_peers = 2 };
	struct hp_ipc_result res[4];
	struct hp_ipc_msg *msg = malloc(sizeof(*msg));
	struct hp_ipc *a, *b, *c, *d;
	struct srv s = { 0 };
	char why[128];
	int silent[10];
	unsigned nb;

	(void)state;
	cap_start();
	srv_start(&s, &opts);
	assert_int_equal(hp_ipc_register(s.ipc, T_JOIN, join_handler, NULL), 0);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &a), 0);
	assert_int_equal(nb_peers(s.ipc), 0); /* connected, not joined */
	assert_int_equal(join(a), 0);
	assert_int_equal(join(a), 0); /* once is enough */
	assert_int_equal(nb_peers(s.ipc), 1);

	for (int i = 0; i < 10; i++)
		silent[i] = raw_connect(s.d.path);
	/* the 6 oldest made room for the 4 newest */
	for (int i = 0; i < 6; i++) {
		assert_true(told_and_hung_up(silent[i], "too many connections waiting to join"));
		close(silent[i]);
	}
	/* broadcasts reach the joined client only */
	assert_int_equal(hp_ipc_register(a, T_ECHO, echo_handler, NULL), 0);
	hp_ipc_msg_init(msg, T_ECHO, "b", 1);
	assert_int_equal(hp_ipc_broadcast(s.ipc, msg, WAIT_MS, res, 4, &nb), 0);
	assert_int_equal(nb, 1);
	/* real clients get in behind them at once (the oldest waiting make
	 * room); joining over max_peers fails */
	assert_int_equal(hp_ipc_client_connect(s.d.path, &b), 0);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &c), 0);
	assert_int_equal(join(b), 0);
	assert_int_equal(join(c), -EUSERS);
	for (int i = 6; i < 8; i++) {
		assert_true(told_and_hung_up(silent[i], "too many connections waiting to join"));
		close(silent[i]);
	}
	/* the others are told at their deadline, which a's passed too */
	for (int i = 8; i < 10; i++) {
		assert_true(told_and_hung_up(silent[i], "did not join within 300 ms"));
		close(silent[i]);
	}
	assert_int_equal(echo_check(a, HP_IPC_PRIMARY, "still here"), 0);
	assert_int_equal(nb_peers(s.ipc), 2);
	/* max_peers joined: the next is refused at connect, told why */
	assert_int_equal(hp_ipc_client_connect_msg(s.d.path, &d, why, sizeof(why)),
			 -EUSERS);
	assert_string_equal(why, "refused by the primary: 2 processes joined already (the limit is 2)");
	assert_true(cap_has("did not join within 300 ms: disconnecting"));
	hp_ipc_destroy(c);
	hp_ipc_destroy(b);
	hp_ipc_destroy(a);
	srv_stop(&s);
	cap_stop();
	free(msg);
}

struct fd_short_cfg {
	const char *path;
	int resume[2];	/* parent -> child: free some fds; EOF: done */
};

/* Primary in a child that uses up its fds once listening: the secondaries
 * that connect are refused, told why; after the parent says so it frees a
 * few, and the next one gets in. 0 when the log said the episode once. */
static int child_fd_short(void *arg, int ready_fd)
{
	struct fd_short_cfg *cfg = arg;
	struct rlimit rl = { .rlim_cur = 64, .rlim_max = 64 };
	struct hp_ipc *srv;
	int fill[64], nb = 0, fd;
	char b;

	close(cfg->resume[1]);
	cap_start();
	if (hp_ipc_server_create(cfg->path, NULL, &srv) < 0)
		return 10;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 11;
	while (nb < 64 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		fill[nb++] = fd;
	if (errno != EMFILE || nb < 4 || write(ready_fd, "r", 1) != 1)
		return 12;
	if (read(cfg->resume[0], &b, 1) != 1)
		return 13;
	for (int i = 0; i < 4; i++)
		close(fill[--nb]);
	if (write(ready_fd, "r", 1) != 1)
		return 14;
	while (read(cfg->resume[0], &b, 1) > 0)
		;
	hp_ipc_destroy(srv);
	bool said = cap_has("out of file descriptors (Too many open files; the limit is 64): refusing connections") &&
		    cap_has("file descriptors available again: accepting connections");
	return said ? 0 : 15;
}

/* Out of fds, the primary refuses each connection with a reason (a reserve
 * fd takes it in), logs the episode once, and accepts again once fds are
 * free. Regression: a failed accept left the connection queued and
 * level-triggered epoll spun on it, logging each time, and the secondary
 * waited without a word. */
static void test_ipc_out_of_fds(void **state)
{
	struct fd_short_cfg cfg;
	struct hp_ipc *cli;
	struct tdir d;
	struct child c;
	char why[160];

	(void)state;
	tdir_make(&d);
	cfg.path = d.path;
	assert_int_equal(pipe2(cfg.resume, O_CLOEXEC), 0);
	child_spawn(&c, child_fd_short, &cfg);
	close(cfg.resume[0]);
	child_go(&c);
	assert_true(child_ready(&c));
	for (int i = 0; i < 5; i++) {
		assert_int_equal(hp_ipc_client_connect_msg(d.path, &cli, why,
							   sizeof(why)), -EMFILE);
		assert_non_null(strstr(why, "the primary is out of file descriptors (its limit is 64)"));
	}
	assert_int_equal(write(cfg.resume[1], "r", 1), 1);
	assert_true(child_ready(&c));
	assert_int_equal(hp_ipc_client_connect(d.path, &cli), 0);
	hp_ipc_destroy(cli);
	close(cfg.resume[1]);
	assert_int_equal(child_reap(&c), 0);
	tdir_remove(&d);
}

/* A client that connects over and over and never joins costs one warning
 * per episode, not one per connection; the next join says how many. */
static void test_ipc_join_drops_logged_once(void **state)
{
	struct hp_ipc_server_opts opts = { .join_timeout_ms = 5000,
					   .max_joining = 2, .max_peers = 2 };
	struct hp_ipc *a;
	struct srv s = { 0 };
	int fd[40];

	(void)state;
	cap_start();
	srv_start(&s, &opts);
	assert_int_equal(hp_ipc_register(s.ipc, T_JOIN, join_handler, NULL), 0);
	for (int i = 0; i < 40; i++)
		fd[i] = raw_connect(s.d.path);
	/* the 38 oldest made room for the 2 newest */
	for (int i = 0; i < 38; i++) {
		assert_true(told_and_hung_up(fd[i], "too many connections waiting to join"));
		close(fd[i]);
	}
	assert_int_equal(cap_count(), 1);
	assert_int_equal(hp_ipc_client_connect(s.d.path, &a), 0);
	assert_int_equal(join(a), 0);
	assert_true(cap_has("39 connections were hung up on before they joined"));
	assert_int_equal(cap_count(), 1);
	hp_ipc_destroy(a);
	close(fd[38]);
	close(fd[39]);
	srv_stop(&s);
	cap_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ipc_peer_cred, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_join_deadline, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_join_drops_logged_once, kill_leftovers),
		cmocka_unit_test_teardown(test_ipc_out_of_fds, kill_leftovers),
	};
	int fails = cmocka_run_group_tests(tests, NULL, NULL);
	/* meson's skip code, so a missing privilege never passes silently */
	return fails == 0 && skipped_not_root ? 77 : fails;
}
