/* SPDX-License-Identifier: BSD-3-Clause */
/* Test helpers for the multi-process situation: anonymous shared memory
 * that forked children see at the same address, and children that report
 * through their exit status (never through cmocka, whose state is the
 * parent's). */
#ifndef TEST_PROC_H
#define TEST_PROC_H

#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Maps len bytes shared with children forked later; fails the test if it
 * cannot. */
static inline void *test_map_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* Forks a child that runs fn(arg) and exits with its result (0 for
 * success); the child dies with the test. Returns the child's pid. */
static inline pid_t test_fork(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	return pid;
}

/* Waits for child pid and returns its exit status, or 128 + the signal
 * that killed it. */
static inline int test_wait(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

#endif
