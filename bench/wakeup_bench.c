/* SPDX-License-Identifier: BSD-3-Clause */
/* hotport-bench-wakeup: what a thread wake-up and a syscall cost on this
 * machine, the floor under every IPC hop of a hotplug call. No hotport
 * inside. Prints the medians of 5 slices and RESULT machine.* lines:
 *
 *   seqpacket_rtt_us  two processes bounce 8 bytes over a SOCK_SEQPACKET
 *                     socketpair (two wake-ups per round trip)
 *   condvar_rtt_us    two threads bounce a turn through a mutex and a
 *                     condition variable (two wake-ups per round trip)
 *   syscall_us        one getppid(2) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hp_test_app.h"

#define WB_SLICES 5
#define WB_ROUNDS 2000

static pthread_mutex_t wb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wb_cond = PTHREAD_COND_INITIALIZER;
static int wb_turn;

static void *wb_thread(void *arg)
{
	int n = *(int *)arg;

	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&wb_lock);
		while (wb_turn != 1)
			pthread_cond_wait(&wb_cond, &wb_lock);
		wb_turn = 0;
		pthread_cond_signal(&wb_cond);
		pthread_mutex_unlock(&wb_lock);
	}
	return NULL;
}

static double wb_condvar(int n)
{
	pthread_t t;
	double t0;

	if (pthread_create(&t, NULL, wb_thread, &n))
		return -1;
	t0 = bench_now_us();
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&wb_lock);
		wb_turn = 1;
		pthread_cond_signal(&wb_cond);
		while (wb_turn != 0)
			pthread_cond_wait(&wb_cond, &wb_lock);
		pthread_mutex_unlock(&wb_lock);
	}
	t0 = (bench_now_us() - t0) / n;
	pthread_join(t, NULL);
	return t0;
}

static double wb_seqpacket(int n)
{
	char b[8] = { 0 };
	int sv[2], ok = 1;
	double t0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		for (int i = 0; i < n; i++)
			if (read(sv[1], b, sizeof(b)) <= 0 ||
			    write(sv[1], b, sizeof(b)) <= 0)
				_exit(1);
		_exit(0);
	}
	close(sv[1]);
	t0 = bench_now_us();
	for (int i = 0; ok && pid > 0 && i < n; i++)
		ok = write(sv[0], b, sizeof(b)) > 0 && read(sv[0], b, sizeof(b)) > 0;
	t0 = (bench_now_us() - t0) / n;
	close(sv[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ok && pid > 0 ? t0 : -1;
}

static double wb_syscall(int n)
{
	double t0 = bench_now_us();

	for (int i = 0; i < n; i++)
		syscall(SYS_getppid);
	return (bench_now_us() - t0) / n;
}

static double wb_median(double (*fn)(int), int n)
{
	double v[WB_SLICES];

	for (int i = 0; i < WB_SLICES; i++)
		v[i] = fn(n);
	return bench_stats_of(v, WB_SLICES).p50;
}

int main(void)
{
	double sp = wb_median(wb_seqpacket, WB_ROUNDS);
	double cv = wb_median(wb_condvar, WB_ROUNDS);
	double sc = wb_median(wb_syscall, WB_ROUNDS * 50);

	printf("this machine: process round trip over SOCK_SEQPACKET %.1f us, thread round trip over a condvar %.1f us (2 wake-ups each), syscall %.2f us\n",
	       sp, cv, sc);
	printf("RESULT machine.wakeup.seqpacket_rtt_us=%.2f\n", sp);
	printf("RESULT machine.wakeup.condvar_rtt_us=%.2f\n", cv);
	printf("RESULT machine.syscall_us=%.3f\n", sc);
	return 0;
}
