/* SPDX-License-Identifier: BSD-3-Clause */
/* The primary's side of the port tests (hp_test_child.h): secondaries
 * started as this binary re-executed, commands sent to them and their
 * answers read with a bound, the primary's set-up and teardown. Every
 * child started by the running test is killed in teardown whatever
 * happened, so that a failed assertion never leaves a stopped child
 * holding the test runner's pipes. */
#include "hp_test_child.h"

char prefix[64];
int test_timeout_ms = 2000;
bool child_in_pidns;
static pid_t children[160];
static unsigned nb_children;

void child_start_env(struct child *c, const char *env, const char *val)
{
	int in[2], out[2];
	char line[256], tmo[16], self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c->pid = proc_fork(SIGKILL);
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (env)
			setenv(env, val, 1);
		snprintf(tmo, sizeof(tmo), "%d", test_timeout_ms);
		self[n > 0 ? n : 0] = '\0';
		/* --kill-child: the secondary dies with the unshare process
		 * the test kills. */
		if (child_in_pidns)
			execlp("unshare", "unshare", "--pid", "--kill-child",
			       self, "--child", prefix, tmo, (char *)NULL);
		execl("/proc/self/exe", "test-child", "--child", prefix, tmo,
		      (char *)NULL);
		_exit(127);
	}
	if (nb_children < HP_ARRAY_SIZE(children))
		children[nb_children++] = c->pid;
	close(in[0]);
	close(out[1]);
	c->in = fdopen(in[1], "w");
	c->out = out[0];
	assert_int_equal(read_line(c->out, line, sizeof(line), 5000), 5);
	assert_string_equal(line, "ready");
}

static void child_send_v(struct child *c, const char *fmt, va_list ap)
{
	vfprintf(c->in, fmt, ap);
	fputc('\n', c->in);
	fflush(c->in);
}

void child_send(struct child *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_send_v(c, fmt, ap);
	va_end(ap);
}

const char *child_answer(struct child *c, char *buf, size_t len)
{
	assert_true(read_line(c->out, buf, len, 3 * test_timeout_ms + 2000) >= 0);
	return buf;
}

const char *child_cmd(struct child *c, char *buf, size_t len,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_send_v(c, fmt, ap);
	va_end(ap);
	return child_answer(c, buf, len);
}

void child_stop(struct child *c)
{
	int st;

	if (c->pid <= 0)
		return;
	fclose(c->in);
	close(c->out);
	waitpid(c->pid, &st, 0);
	c->pid = 0;
}

void child_kill(struct child *c)
{
	kill(c->pid, SIGKILL);
	child_stop(c);
}

void attach_must_fail(const struct bad_devargs *bad)
{
	char err[256] = "";
	uint16_t id = 77;
	int r = hp_port_attach_msg(bad->devargs, &id, err, sizeof(err));

	if (r != bad->err || !strstr(err, bad->says))
		fail_msg("'%.60s': got %d '%s', expected %d '%s'",
			 bad->devargs, r, err, bad->err, bad->says);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	assert_int_equal(id, 77);
}

int primary_setup(const char *tag)
{
	const char *nh = getenv("HOTPORT_TEST_NO_HUGE");
	/* Hugepages unless the suite runs without them; the memory falls
	 * back to ordinary pages by itself when none are free. */
	struct hp_core_opts o = { .role = HP_ROLE_PRIMARY, .prefix = prefix,
				  .no_huge = nh && *nh,
				  .timeout_ms = test_timeout_ms,
				  .mem_size = 128u << 20 };

	hp_test_prefix(prefix, sizeof(prefix), tag);
	return hp_core_init(&o, NULL, 0) == 0 ? 0 : -1;
}

int primary_teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < nb_children; i++) {
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
	nb_children = 0;
	hp_core_fini();
	return 0;
}

bool child_answer_is(struct child *c, const char *cmd, const char *want)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char buf[64];

	for (int i = 0; i < 200; i++) {
		if (!strcmp(child_cmd(c, buf, sizeof(buf), "%s", cmd), want))
			return true;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "%s: '%s', want '%s'\n", cmd, buf, want);
	return false;
}
