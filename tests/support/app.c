/* SPDX-License-Identifier: BSD-3-Clause */
/* Apps run by the benchmarks, CPU time and statistics (hp_test_app.h).
 *
 * Children are started with fork + execv so that each gets
 * PR_SET_PDEATHSIG: if this process dies, even by SIGKILL, its children
 * get SIGTERM and leave their instance cleanly. Nothing here spins: waits
 * sleep in poll on the child's pidfd and on inotify for its log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hp_test_app.h"

volatile int bench_stop_requested;

static void bench_on_signal(int sig)
{
	(void)sig;
	bench_stop_requested = 1;
}

int bench_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* In the forked child: only async-signal-safe calls until execv. */
static void bench_child_exec(char *const argv[], int in_fd, int log_fd)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

int bench_child_start(struct bench_child *c, char *const argv[],
		      const char *log_path)
{
	int in[2], log_fd, r;

	c->pid = 0;
	c->stdin_fd = -1;
	snprintf(c->log, sizeof(c->log), "%s", log_path);
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return -errno;
	if (pipe2(in, O_CLOEXEC) < 0) {
		r = -errno;
		goto err_close_log;
	}
	c->pid = proc_fork(SIGTERM);
	if (c->pid < 0) {
		r = c->pid;
		c->pid = 0;
		goto err_close_pipe;
	}
	if (c->pid == 0)
		bench_child_exec(argv, in[0], log_fd);
	close(in[0]);
	close(log_fd);
	c->stdin_fd = in[1];
	return 0;

err_close_pipe:
	close(in[0]);
	close(in[1]);
err_close_log:
	close(log_fd);
	return r;
}

/* Whether the log at path contains marker. */
static bool bench_log_has(const char *path, const char *marker)
{
	static char buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, marker) != NULL;
}

/* Waits for fds[0] (the log written) or fds[1] (the child's pidfd) up to
 * the deadline: 0, -ETIMEDOUT or -EINTR. */
static int bench_wait_event(struct pollfd *fds, double deadline)
{
	double left = deadline - bench_now_us();

	if (left <= 0)
		return -ETIMEDOUT;
	if (poll(fds, 2, (int)(left / 1e3) + 1) < 0)
		return -errno;
	return 0;
}

int bench_child_wait_line(struct bench_child *c, const char *marker,
			  int timeout_ms)
{
	double deadline = bench_now_us() + timeout_ms * 1e3;
	struct pollfd fds[2] = {
		{ .fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), .events = POLLIN },
		{ .fd = (int)syscall(SYS_pidfd_open, c->pid, 0), .events = POLLIN },
	};
	char ev[4096];
	int r;

	if (fds[0].fd < 0 || fds[1].fd < 0 ||
	    inotify_add_watch(fds[0].fd, c->log, IN_MODIFY) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		/* Looked at after the watch is set: no write goes unseen. */
		if (bench_log_has(c->log, marker)) {
			r = 0;
			break;
		}
		if (fds[1].revents) {
			proc_wait_exit(c->pid, -1);
			c->pid = 0;
			r = -ECHILD;
			break;
		}
		r = bench_wait_event(fds, deadline);
		if (r == 0 || r == -EINTR)
			r = bench_stop_requested ? -EINTR : 0;
		if (r < 0)
			break;
		while (read(fds[0].fd, ev, sizeof(ev)) > 0)
			;
	}
out:
	if (fds[0].fd >= 0)
		close(fds[0].fd);
	if (fds[1].fd >= 0)
		close(fds[1].fd);
	return r;
}

int bench_child_stop(struct bench_child *c, int timeout_ms)
{
	int r;

	if (!c)
		return 0;
	if (c->stdin_fd >= 0)
		close(c->stdin_fd);
	c->stdin_fd = -1;
	if (c->pid <= 0)
		return 0;
	kill(c->pid, SIGTERM);
	r = proc_wait_exit(c->pid, timeout_ms);
	if (r == -ETIMEDOUT) {
		kill(c->pid, SIGKILL);
		proc_wait_exit(c->pid, -1);
	}
	c->pid = 0;
	return r >= 0 && r < 128 ? r : -1;
}

void bench_child_tail(const struct bench_child *c, int lines)
{
	char line[512], ring[16][512];
	int n = 0;
	FILE *f = fopen(c->log, "r");

	if (!f)
		return;
	if (lines > 16)
		lines = 16;
	while (fgets(line, sizeof(line), f))
		snprintf(ring[n++ % lines], sizeof(ring[0]), "%s", line);
	fclose(f);
	for (int i = n > lines ? n - lines : 0; i < n; i++)
		printf("    | %s", ring[i % lines]);
}

double bench_cpu_ms(pid_t pid)
{
	char path[64];
	struct rusage ru;

	if (pid == 0) {
		if (getrusage(RUSAGE_SELF, &ru) < 0)
			return -1;
		return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
		       ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return bench_stat_cpu_ms(path);
}

double bench_stat_cpu_ms(const char *path)
{
	char buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	/* after ") ": state is field 3; utime and stime are fields 14, 15 */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double bench_pct(const double *sorted, int n, double p)
{
	int i = (int)(p / 100.0 * (n - 1) + 0.5);

	return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

struct bench_stats bench_stats_of(double *v, int n)
{
	struct bench_stats s;
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += v[i];
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	s.mean = sum / n;
	s.p50 = bench_pct(v, n, 50);
	s.p99 = bench_pct(v, n, 99);
	s.min = v[0];
	s.max = v[n - 1];
	return s;
}

void bench_rmdir(const char *dir)
{
	char path[PATH_MAX * 2];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}
