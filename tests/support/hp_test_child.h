/* SPDX-License-Identifier: BSD-3-Clause */
/* Secondaries of the port tests: the test binary itself re-executed with
 * --child <prefix> <timeout>, driven one command line at a time over
 * pipes (child.c runs in them), and the primary's side: starting them,
 * talking to them, the primary's set-up and teardown (primary.c). */
#ifndef HP_TEST_CHILD_H
#define HP_TEST_CHILD_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hp_core.h"
#include "hp_mbuf.h"
#include "hp_port.h"
#include "hp_port_driver.h"
#include "hp_rcu.h"
#include "hp_test.h"

/* ---- the secondary side (child.c) ---- */

/* A test's own child commands: true if it knew line (and answered). */
typedef bool (*child_cmd_fn)(const char *line);

/* A pool by name ("" or an unknown name: NULL), for commands that name
 * one. */
struct hp_mempool *child_pool(const char *name);

/* The secondary: joins prefix, says "ready", then answers one line per
 * command line on stdin until it closes; extra (may be NULL) sees the
 * lines the common commands do not take. Returns the exit status. The
 * commands: attach DEVARGS, detach P, start P, stop P, has P, count,
 * listen, events, links, configure P RXQ TXQ, rxq P Q DESC [POOL],
 * txq P Q DESC, nbq P, rx P Q N [POOL], tx P Q N, stats P. */
int child_main(const char *prefix, int timeout_ms, child_cmd_fn extra);

/* ---- the primary side (primary.c) ---- */

/* A secondary driven by the test. */
struct child {
	pid_t pid;
	FILE *in;	/* its stdin */
	int out;	/* its stdout */
};

/* The running test's instance (primary_setup names it). */
extern char prefix[64];
/* The timeout the primary and its secondaries use (default 2000 ms). */
extern int test_timeout_ms;
/* When set, secondaries start inside a new PID namespace (unshare). */
extern bool child_in_pidns;

/* Starts a secondary with the environment variable env set to val (env
 * may be NULL) and waits for its "ready"; fails the test if it cannot.
 * Every child started is killed in primary_teardown. */
void child_start_env(struct child *c, const char *env, const char *val);

/* Sends one command without waiting for its answer (child_answer). */
void child_send(struct child *c, const char *fmt, ...) HP_PRINTF(2, 3);

/* Reads the answer to the command sent last into buf and returns buf;
 * fails the test if none comes. */
const char *child_answer(struct child *c, char *buf, size_t len);

/* Sends one command and returns its answer line in buf. */
const char *child_cmd(struct child *c, char *buf, size_t len,
		      const char *fmt, ...) HP_PRINTF(4, 5);

/* Closes the child's stdin (it exits) and reaps it; a stopped child is
 * fine. */
void child_stop(struct child *c);

/* SIGKILLs the child and reaps it. */
void child_kill(struct child *c);

/* Asks c with cmd until its answer reads want (events come after the
 * requester's answer); false after about 2 s. */
bool child_answer_is(struct child *c, const char *cmd, const char *want);

/* A devargs string that attach must refuse with err, with a reason that
 * contains says. */
struct bad_devargs {
	const char *devargs;
	int err;
	const char *says;
};

/* Checks that attaching bad->devargs fails as bad says, with a one-line
 * reason, and leaves the port id alone. */
void attach_must_fail(const struct bad_devargs *bad);

/* Starts this process as the primary of a new instance named by
 * hp_test_prefix(tag) (huge pages unless HOTPORT_TEST_NO_HUGE is set);
 * 0 or -1, for a cmocka setup. */
int primary_setup(const char *tag);

/* Kills every child the test started and stops the primary; a cmocka
 * teardown. */
int primary_teardown(void **state);

#endif
