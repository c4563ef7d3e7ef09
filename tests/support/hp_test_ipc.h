/* SPDX-License-Identifier: BSD-3-Clause */
/* The fixtures of test_ipc.c, test_ipc_wire.c and test_ipc_calls.c
 * (ipc.c): temp dirs, log capture, the primary's side, forked
 * secondaries and what they run, raw wire-format sockets. */
#ifndef HP_TEST_IPC_H
#define HP_TEST_IPC_H

/* The system headers the IPC tests use come with this one. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hp_ipc.h"
#include "hp_log.h"
#include "hp_test.h"
#include "ipc_private.h"

#define T_ECHO 100	/* replies "re:" + payload */
#define T_SILENT 101	/* never replies */
#define T_KILL 102	/* the child dies on it */
#define T_FDS 103	/* writes into the request's fd, replies a memfd */
#define T_NOTE 104	/* a notification */
#define T_ABSENT 105	/* no handler anywhere */
#define WAIT_MS 10000	/* bound of every wait that should be quick */

/* A private directory per test, so tests can run in parallel. */
struct tdir {
	char dir[64];
	char path[96];
};

void tdir_make(struct tdir *d);

void tdir_remove(struct tdir *d);

/* Log capture: every line at warning or worse, plus debug lines. */
void cap_sink(int level, const char *topic, const char *line, void *arg);

void cap_start(void);

int cap_count(void);

bool cap_has(const char *s);

void cap_stop(void);

/* ---- the primary's side ---- */

struct srv {
	struct tdir d;
	struct hp_ipc *ipc;
	int up_fd;		  /* +1 per peer up */
	int down_fd;		  /* +1 per peer down */
	atomic_uint last_up;	  /* id of the last peer up */
	atomic_uint last_down;	  /* id of the last peer down */
};

void srv_peer_cb(struct hp_ipc *ipc, uint32_t peer, pid_t pid, bool up,
		 void *arg);

void echo_handler(struct hp_ipc *ipc, uint32_t peer,
		  const struct hp_ipc_msg *req, void *arg);

/* Creates the primary in a fresh dir (directory made first by the caller
 * when it needs the path earlier). */
void srv_start(struct srv *s, const struct hp_ipc_server_opts *opts);

void srv_stop(struct srv *s);

/* How many peers the endpoint has. */
int nb_peers(struct hp_ipc *ipc);

/* Sends an echo request and checks its reply; returns 0 or what failed. */
int echo_check(struct hp_ipc *ipc, uint32_t peer, const char *text);

void note_handler(struct hp_ipc *ipc, uint32_t peer,
		  const struct hp_ipc_msg *msg, void *arg);

/* Keeps the request to answer it late, when told to. */
struct late {
	int got_fd;
	struct hp_ipc_msg req;
	atomic_bool answer;
};

void late_handler(struct hp_ipc *ipc, uint32_t peer,
		  const struct hp_ipc_msg *req, void *arg);

/* A request made from a thread of its own, and what it returned. */
struct waiter {
	struct hp_ipc *cli;
	int r;
};

/* ---- forked secondaries ---- */

struct child {
	pid_t pid;
	int go[2];	/* parent -> child: start */
	int ready[2];	/* child -> parent: one byte when set up */
};

typedef int (*child_fn)(void *arg, int ready_fd);

/* Teardown of every test: no child outlives its test. */
int kill_leftovers(void **state);

/* Forks a child that waits for child_go, runs fn and _exits with its
 * return. Fork before any thread exists in this process. */
void child_spawn(struct child *c, child_fn fn, void *arg);

void child_go(struct child *c);

bool child_ready(struct child *c);

/* Reaps the child within WAIT_MS (killing it after) and returns its exit
 * code, or 128 + signal. */
int child_reap(struct child *c);

struct cli_cfg {
	const char *path;
	int idx;
	uint16_t type;		/* handler to register */
	hp_ipc_handler_fn fn;
};

void cli_down_cb(struct hp_ipc *ipc, uint32_t peer, pid_t pid, bool up,
		 void *arg);

/* A secondary: connects, registers its handler, says ready, serves until
 * the primary hangs up. */
int child_client(void *arg, int ready_fd);

void child_bcast_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *req, void *arg);

void silent_handler(struct hp_ipc *ipc, uint32_t peer,
		    const struct hp_ipc_msg *req, void *arg);

/* Forks n secondaries serving type, starts the primary and waits until
 * every one is connected. */
void spawn_clients(struct srv *s, struct child *c, struct cli_cfg *cfg, int n);

/* Three secondaries answering broadcasts, and the primary. */
struct bcast {
	struct srv s;
	struct child c[3];
	struct cli_cfg cfg[3];
	struct hp_ipc_msg req;	/* a T_ECHO broadcast */
	struct hp_ipc_result res[3];
	unsigned nb;
};

/* Forks the three, all answering T_ECHO but the one numbered silent (-1:
 * none), and starts the primary. */
void bcast_start(struct bcast *f, int silent);

/* Stops the primary; each secondary then exits 0. */
void bcast_stop(struct bcast *f);

/* ---- raw sockets that speak the wire format by hand ---- */

/* Connects a raw socket and reads the primary's welcome. */
int raw_connect(const char *path);

/* Builds header + payload in buf; returns the size. */
size_t raw_build(uint8_t *buf, uint16_t version, uint16_t kind, uint16_t type,
		 uint64_t id, const char *text);

void raw_send(int fd, const void *buf, size_t len);

/* Receives one message within WAIT_MS: its size (0 at end of stream). */
ssize_t raw_recv(int fd, struct hp_ipc_msg *msg, int *ret_decode);

/* Ends a test of one in-process client: destroys it, stops the server,
 * closes the pipe p and frees the two messages. */
void cli_done(struct hp_ipc *cli, struct srv *s, int p[2],
	      struct hp_ipc_msg *req, struct hp_ipc_msg *rep);

/* Sends a valid echo request over a raw socket and checks the reply. */
void raw_echo(int fd, uint64_t id);

/* ---- what single forked secondaries run ---- */

/* What child_fds expects through the pipe and in the memfd. */
extern const char pipe_text[17];
extern const char memfd_text[13];

/* Secondary: sends a pipe's write end, reads what came through it and
 * what the memfd of the reply holds. */
int child_fds(void *arg, int ready_fd);

/* Secondary: dies in the middle of a request. */
void kill_handler(struct hp_ipc *ipc, uint32_t peer,
		  const struct hp_ipc_msg *req, void *arg);

/* Secondary: its request is pending when the primary goes away. */
int child_orphan(void *arg, int ready_fd);

struct other_cfg {
	const char *path;
	bool want_ok; /* served (the group is allowed) or refused */
};

/* Secondary as nobody: returns 0 when the primary served or refused it as
 * wanted. */
int child_other_user(void *arg, int ready_fd);

#endif
