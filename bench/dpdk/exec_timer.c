/* exec_timer: time from exec until a program prints a "ready" marker.
 *
 *   exec_timer [-n RUNS] [-w WARMUP] [-p MARKER] [-s TEXT] [-T SECS] [-r KEY] [-l LOG]
 *              -- command [args...]
 *
 * Each run spawns the command with stdout+stderr on a pipe and stdin on
 * another pipe, and measures (CLOCK_MONOTONIC) from just before posix_spawn
 * until MARKER (a substring, default "ready") has been read.  Then TEXT (if
 * any, "\n" escapes allowed) is written to the command's stdin, stdin is
 * closed, and the command gets SECS seconds (default 20) to exit before
 * SIGTERM, then SIGKILL.  WARMUP extra runs (default 1) go first and are not
 * counted (the first run after a hugepage pool change pays for zeroing).  Prints every run, then the median; with -r KEY also
 * "RESULT KEY=<median ms>".  All output of the command goes to LOG if given.
 * No DPDK inside: it is used for DPDK and hotport programs alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static char *unescape(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			*p++ = '\n';
			s++;
		} else {
			*p++ = *s;
		}
	}
	*p = '\0';
	return o;
}

/* Wait for pid up to ms milliseconds; 1 if it exited. */
static int wait_for(pid_t pid, int ms, int *status)
{
	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		usleep(10000);
	}
	return waitpid(pid, status, WNOHANG) == pid;
}

static FILE *logf;

/* Read what is available from fd into the rolling buffer; returns bytes read
 * (0 on EOF, -1 on nothing yet). */
static ssize_t pump(int fd, char *buf, size_t *len, size_t cap)
{
	char tmp[4096];
	ssize_t r = read(fd, tmp, sizeof(tmp));
	if (r <= 0)
		return r == 0 ? 0 : -1;
	if (logf)
		fwrite(tmp, 1, r, logf);
	/* keep the last cap-1 bytes (cap is larger than tmp) */
	if (*len + r > cap - 1) {
		size_t drop = *len + r - (cap - 1);
		memmove(buf, buf + drop, *len - drop);
		*len -= drop;
	}
	memcpy(buf + *len, tmp, r);
	*len += r;
	buf[*len] = '\0';
	return r;
}

int main(int argc, char **argv)
{
	int runs = 10, warmup = 1, timeout_s = 20, c;
	const char *marker = "ready", *key = NULL, *logpath = NULL;
	char *send = NULL;

	while ((c = getopt(argc, argv, "+n:w:p:s:T:r:l:")) != -1) {
		switch (c) {
		case 'n': runs = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 'p': marker = optarg; break;
		case 's': send = unescape(optarg); break;
		case 'T': timeout_s = atoi(optarg); break;
		case 'r': key = optarg; break;
		case 'l': logpath = optarg; break;
		default:
			fprintf(stderr, "usage: exec_timer [-n RUNS] [-w WARMUP] [-p MARKER] [-s TEXT] "
				"[-T SECS] [-r KEY] [-l LOG] -- cmd [args...]\n");
			return 2;
		}
	}
	if (optind >= argc || runs < 1) {
		fprintf(stderr, "exec_timer: no command\n");
		return 2;
	}
	char **cmd = argv + optind;
	if (logpath && !(logf = fopen(logpath, "a"))) {
		perror(logpath);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	double *t = calloc(runs, sizeof(double));
	int ok = 0;
	for (int run = -warmup; run < runs; run++) {
		int out[2], in[2];
		if (pipe2(out, O_CLOEXEC) || pipe2(in, O_CLOEXEC)) {
			perror("pipe");
			return 1;
		}
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
		posix_spawn_file_actions_adddup2(&fa, out[1], 2);
		if (logf) {
			fprintf(logf, "=== run %d\n", run);
			fflush(logf);
		}

		pid_t pid;
		double t0 = now_ms();
		int err = posix_spawnp(&pid, cmd[0], &fa, NULL, cmd, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(out[1]);
		close(in[0]);
		if (err) {
			fprintf(stderr, "exec_timer: cannot run %s: %s\n", cmd[0], strerror(err));
			return 1;
		}

		char buf[8192];
		size_t len = 0;
		int found = 0, eof = 0;
		double deadline = t0 + timeout_s * 1e3, t1 = 0;
		buf[0] = '\0';
		while (!found && !eof && now_ms() < deadline) {
			struct pollfd p = {.fd = out[0], .events = POLLIN};
			if (poll(&p, 1, 100) <= 0)
				continue;
			ssize_t r = pump(out[0], buf, &len, sizeof(buf));
			if (r == 0)
				eof = 1;
			if (strstr(buf, marker)) {
				t1 = now_ms();
				found = 1;
			}
		}
		if (found && send) {
			if (write(in[1], send, strlen(send)) < 0) {
				/* the command may be gone already */
			}
		}
		close(in[1]);

		/* Drain the output until the command exits. */
		int status = 0, exited = 0;
		double end = now_ms() + timeout_s * 1e3;
		int sent_term = 0;
		while (!exited) {
			struct pollfd p = {.fd = out[0], .events = POLLIN};
			if (!eof && poll(&p, 1, 50) > 0 && pump(out[0], buf, &len, sizeof(buf)) == 0)
				eof = 1;
			if (eof)
				usleep(10000);
			if (waitpid(pid, &status, WNOHANG) == pid) {
				exited = 1;
				break;
			}
			if (!sent_term && (now_ms() > end || !found)) {
				kill(pid, SIGTERM);
				sent_term = 1;
				end = now_ms() + 5000;
			} else if (sent_term && now_ms() > end) {
				kill(pid, SIGKILL);
				exited = wait_for(pid, 5000, &status);
				break;
			}
		}
		close(out[0]);

		if (!found) {
			printf("  run %2d: marker \"%s\" not seen (exit status %d); last output:\n%s\n",
			       run, marker, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			       buf + (len > 1500 ? len - 1500 : 0));
			continue;
		}
		if (run < 0) {
			printf("  warm-up: %7.1f ms (not counted)\n", t1 - t0);
			continue;
		}
		t[ok++] = t1 - t0;
		printf("  run %2d: %8.1f ms\n", run, t1 - t0);
		fflush(stdout);
	}
	if (!ok) {
		printf("exec_timer: no successful run\n");
		if (key)
			printf("RESULT %s.error=\"marker not seen\"\n", key);
		return 1;
	}
	qsort(t, ok, sizeof(double), cmp_double);
	double med = ok % 2 ? t[ok / 2] : (t[ok / 2 - 1] + t[ok / 2]) / 2;
	printf("  median %.1f ms over %d runs (min %.1f, max %.1f)\n", med, ok, t[0], t[ok - 1]);
	if (key)
		printf("RESULT %s=%.1f\n", key, med);
	return 0;
}
