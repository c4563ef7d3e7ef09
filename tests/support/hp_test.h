/* SPDX-License-Identifier: BSD-3-Clause */
/* hotport's test-support library, the part every test and benchmark
 * shares: clocks, child processes that die with the test and waits for
 * them, shared memory for forked children, fds, lines read with a bound,
 * eventfd counters, and the instance prefixes of a test run.
 *
 * Built once (tests/meson.build) as a static library; the unit tests and
 * the benchmarks link it. Concerns with more to them have their own
 * header: hp_test_child.h (secondaries driven over pipes), hp_test_ipc.h
 * (the IPC tests' fixtures), hp_test_app.h (the apps run by benchmarks).
 * Functions that can only fail a test (they call cmocka's assertions)
 * say so. */
#ifndef HP_TEST_H
#define HP_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in ms. */
int64_t now_ms(void);

/* CLOCK_MONOTONIC in µs. */
double bench_now_us(void);

/* Open file descriptors of this process (the count's own not counted). */
unsigned count_fds(void);

/* True once this process has n fds open again, within 10 s: a peer's
 * fds close with the last reference to it, which another thread may hold
 * a moment after the peer is gone (no event tells when). */
bool fds_back_to(unsigned n);

/* True once fd is readable (or hung up) within ms. */
bool wait_fd(int fd, int ms);

/* Adds one to the eventfd fd; aborts if it cannot. */
void evt_post(int fd);

/* Waits until n events were posted on the eventfd fd, each within ms;
 * false on timeout. */
bool evt_wait(int fd, uint64_t n, int ms);

/* Reads one line from fd within ms into buf (without its newline);
 * returns its length, -ETIMEDOUT or -EPIPE. */
int read_line(int fd, char *buf, size_t len, int ms);

/* Maps len bytes shared with children forked later; fails the test if it
 * cannot. */
void *test_map_shared(size_t len);

/* Forks a child that gets sig when this thread's process dies (even by
 * SIGKILL) and returns 0 in it; the child's pid in the parent, -errno if
 * fork failed. The child must only make async-signal-safe calls if the
 * parent has threads. */
pid_t proc_fork(int sig);

/* Forks a child that runs fn(arg) and exits with its result (0 for
 * success); the child dies with the test. Returns the child's pid; fails
 * the test if fork does. */
pid_t test_fork(int (*fn)(void *), void *arg);

/* Waits for child pid and returns its exit status, or 128 + the signal
 * that killed it; fails the test if pid is no child. */
int test_wait(pid_t pid);

/* Waits up to ms for child pid to exit, on its pidfd (no polling), and
 * reaps it: its exit status, 128 + the signal that killed it, or
 * -ETIMEDOUT (not reaped; ms < 0 waits without end). */
int proc_wait_exit(pid_t pid, int ms);

/* The tag every instance prefix and temporary path of this test run
 * starts with: $HOTPORT_TEST_TAG, set by scripts/test.sh per run so that
 * its leak check looks only at what the run made, or "hpt". */
const char *hp_test_tag(void);

/* Writes "<tag>-<what>-<pid>-<n>" to buf, n counting per process: an
 * instance prefix no other test, run or process uses. */
void hp_test_prefix(char *buf, size_t len, const char *what);

/* HOTPORT_TEST_SLOWDOWN (default 1): how much slower a sanitizer build
 * runs, for the bounds of waits on real time. */
int hp_test_slowdown(void);

#endif
