/* SPDX-License-Identifier: BSD-3-Clause */
/* Clocks, child processes, fds, lines and prefixes of the tests and
 * benchmarks (hp_test.h). Waits sleep in poll on an fd (a pipe, an
 * eventfd, a pidfd), never in a loop of guesses; fds_back_to is the one
 * exception, for want of an event that says an fd closed. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hp_test.h"

int64_t now_ms(void)
{
	return (int64_t)(bench_now_us() / 1000);
}

double bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

bool fds_back_to(unsigned n)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 1000; i++) {
		if (count_fds() == n)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

bool wait_fd(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t end = now_ms() + ms;
	int r;

	while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
		ms = end > now_ms() ? (int)(end - now_ms()) : 0;
	return r == 1;
}

void evt_post(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

bool evt_wait(int fd, uint64_t n, int ms)
{
	uint64_t got = 0, v;

	while (got < n) {
		if (!wait_fd(fd, ms) || read(fd, &v, sizeof(v)) != sizeof(v))
			return false;
		got += v;
	}
	return true;
}

int read_line(int fd, char *buf, size_t len, int ms)
{
	size_t n = 0;

	while (n + 1 < len) {
		if (!wait_fd(fd, ms))
			return -ETIMEDOUT;
		if (read(fd, buf + n, 1) != 1)
			return -EPIPE;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return (int)n;
}

void *test_map_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

pid_t proc_fork(int sig)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	/* The parent may have died before the death signal was set. */
	if (pid == 0 && (prctl(PR_SET_PDEATHSIG, sig) < 0 || getppid() != parent))
		_exit(126);
	return pid;
}

pid_t test_fork(int (*fn)(void *), void *arg)
{
	pid_t pid = proc_fork(SIGKILL);

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int test_wait(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int proc_wait_exit(pid_t pid, int ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int st = 0;

	/* Without pidfds (Linux < 5.3) the wait is not bounded. */
	if (pfd >= 0 && ms >= 0 && !wait_fd(pfd, ms)) {
		close(pfd);
		return -ETIMEDOUT;
	}
	if (pfd >= 0)
		close(pfd);
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

const char *hp_test_tag(void)
{
	const char *t = getenv("HOTPORT_TEST_TAG");

	return t && *t ? t : "hpt";
}

void hp_test_prefix(char *buf, size_t len, const char *what)
{
	static int n;

	snprintf(buf, len, "%s-%s-%d-%d", hp_test_tag(), what, (int)getpid(),
		 __atomic_fetch_add(&n, 1, __ATOMIC_RELAXED));
}

int hp_test_slowdown(void)
{
	const char *s = getenv("HOTPORT_TEST_SLOWDOWN");

	return s && atoi(s) > 0 ? atoi(s) : 1;
}
