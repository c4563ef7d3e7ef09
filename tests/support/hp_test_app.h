/* SPDX-License-Identifier: BSD-3-Clause */
/* The benchmarks' side of the test-support library (app.c): hotport apps
 * started as child processes with their output in a log, waits for a line
 * of it, CPU time and statistics. The clock, bench_now_us, is in
 * hp_test.h. */
#ifndef HP_TEST_APP_H
#define HP_TEST_APP_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "hp_test.h"

/* A started hotport app: its stdin is a pipe this process holds, its
 * stdout and stderr go to a log file. */
struct bench_child {
	pid_t pid;		/* 0: not running */
	int stdin_fd;		/* write end of the child's stdin, -1 if closed */
	char log[PATH_MAX];	/* stdout + stderr of the child */
};

/* mean, percentiles (nearest rank, as bench/dpdk computes them), extremes */
struct bench_stats {
	double mean;
	double p50;
	double p99;
	double min;
	double max;
};

/* Set by SIGINT, SIGTERM and SIGHUP once bench_catch_signals ran. */
extern volatile int bench_stop_requested;

/* Routes SIGINT, SIGTERM and SIGHUP to bench_stop_requested. */
int bench_catch_signals(void);

/* Starts argv[0] (a path) with argv, log at log_path; the child gets
 * SIGTERM when this thread exits. Pairs with bench_child_stop. -errno. */
int bench_child_start(struct bench_child *c, char *const argv[],
		      const char *log_path);

/* Waits until the child's log holds marker: the log is read again each
 * time it is written to (inotify), and the wait ends when the child
 * exits (its pidfd). -ECHILD the child exited, -ETIMEDOUT, -EINTR (a
 * stop was requested). */
int bench_child_wait_line(struct bench_child *c, const char *marker,
			  int timeout_ms);

/* Closes the child's stdin, sends SIGTERM, waits up to timeout_ms for it
 * to exit (on its pidfd), then SIGKILL. Returns the exit status, or -1 if it had to be killed. NULL
 * and stopped children are fine. */
int bench_child_stop(struct bench_child *c, int timeout_ms);

/* Prints the last lines of the child's log to stdout, indented. */
void bench_child_tail(const struct bench_child *c, int lines);

/* user + system CPU time of pid (0: this process), in ms; -1 on error. */
double bench_cpu_ms(pid_t pid);

/* user + system CPU time in ms from a /proc stat file (a process's, or a
 * thread's: /proc/PID/task/TID/stat); -1 on error. */
double bench_stat_cpu_ms(const char *path);

/* Sorts v and summarises its n > 0 values. */
struct bench_stats bench_stats_of(double *v, int n);

/* Removes dir and the plain files in it (not recursive); quiet. */
void bench_rmdir(const char *dir);

#endif
