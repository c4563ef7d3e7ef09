/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/log's writer thread: a fork, and a change of sink,
 * while the sink is stuck on the last line. */
#include <errno.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hp_log.h"

static sem_t sink_in, sink_go;

/* Stops on the line that says "stuck" until the test lets it go. */
static void stuck_sink(int level, const char *topic, const char *line,
		       void *arg)
{
	(void)level;
	(void)topic;
	(void)arg;
	if (strstr(line, "stuck")) {
		sem_post(&sink_in);
		sem_wait(&sink_go);
	}
}

/* Sets stuck_sink and logs a line it stops on; returns once the writer
 * thread is in the sink with it. */
static void sink_stuck_on_line(void)
{
	assert_int_equal(sem_init(&sink_in, 0, 0), 0);
	assert_int_equal(sem_init(&sink_go, 0, 0), 0);
	hp_log_set_sink(stuck_sink, NULL);
	hp_log("test", HP_LOG_ERR, "stuck");
	assert_int_equal(sem_wait(&sink_in), 0);
}

/* Regression: the fork handler took a writer whose queue was empty for
 * idle and joined its thread, which was still in the sink with the last
 * line: fork() waited for a stderr that nobody reads, for ever. */
static void test_fork_while_sink_stuck(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	sink_stuck_on_line();
	/* the queue is empty, the line is in the sink */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sem_post(&sink_go);
	assert_int_equal(hp_log_flush(-1), 0);
	hp_log_set_sink(NULL, NULL);
}

/* Regression: replacing a sink stuck for good waited for it for ever
 * (hp_log_set_sink flushed without a limit): the call that should get
 * the process out of a stuck log hung in it. */
static void test_set_sink_while_sink_stuck(void **state)
{
	(void)state;
	sink_stuck_on_line();
	/* returns: gives the stuck sink a second, not for ever */
	hp_log_set_sink(NULL, NULL);
	assert_int_equal(hp_log_flush(0), -ETIMEDOUT);
	sem_post(&sink_go);
	assert_int_equal(hp_log_flush(-1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_while_sink_stuck),
		cmocka_unit_test(test_set_sink_while_sink_stuck),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
