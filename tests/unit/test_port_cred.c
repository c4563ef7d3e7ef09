/* SPDX-License-Identifier: BSD-3-Clause */
/* port_open_as, the open the primary's probe makes for the process that
 * asked for an attach: with another user's rights the kernel's checks are
 * that user's (modes, supplementary groups, owner of what it creates), the
 * thread gets its own credentials back, and no other thread ever sees
 * the change. Regression test for a root primary opening pcap files as
 * root for any member of --ipc-group. Needs root (exit 77 otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "port_private.h"

#define T_UID 65534
#define T_GID 65534
#define T_GROUP 4242	/* a supplementary group of the requester */

static char dir[64];

/* This thread's fsuid, fsgid, groups and effective capabilities, as
 * /proc shows them for thread tid. */
static void thread_creds(pid_t tid, char *buf, size_t len)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	assert_non_null(f);
	buf[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
		    !strncmp(line, "Groups:", 7) || !strncmp(line, "CapEff:", 7))
			strncat(buf, line, len - strlen(buf) - 1);
	fclose(f);
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static const struct hp_port_requester rq_nobody = {
	.pid = 1, .uid = T_UID, .gid = T_GID,
	.nb_groups = 1, .groups = (const gid_t[]){ T_GROUP },
};

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void file_make(const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	char p[128];
	int fd;

	path_of(p, sizeof(p), name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "root's", 6), 6);
	close(fd);
	assert_int_equal(chown(p, uid, gid), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static int open_as(const struct hp_port_requester *rq, const char *name,
		   int flags, bool want_switched)
{
	char p[128], before[1024], after[1024];
	bool switched;
	int fd;

	path_of(p, sizeof(p), name);
	thread_creds(tid(), before, sizeof(before));
	fd = port_open_as(rq, p, flags, 0644, &switched);
	assert_int_equal(switched, want_switched);
	thread_creds(tid(), after, sizeof(after));
	assert_string_equal(before, after);
	return fd;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hp_cred.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_port_cred_kernel_checks_requester(void **state)
{
	struct stat st;
	char p[128];
	int fd;

	(void)state;
	file_make("secret", 0600, 0, 0);
	file_make("public", 0644, 0, 0);
	/* Root's file: neither read nor emptied for uid 65534. */
	assert_int_equal(open_as(&rq_nobody, "secret", O_RDONLY, true),
			 -EACCES);
	assert_int_equal(open_as(&rq_nobody, "secret",
				 O_WRONLY | O_CREAT | O_TRUNC, true),
			 -EACCES);
	path_of(p, sizeof(p), "secret");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 6);
	/* Nor created in root's directory. */
	assert_int_equal(open_as(&rq_nobody, "new", O_WRONLY | O_CREAT, true),
			 -EACCES);
	/* What the requester may read, it reads. */
	fd = open_as(&rq_nobody, "public", O_RDONLY, true);
	assert_true(fd >= 0);
	close(fd);
	/* A directory of its own: the file it creates is its own. */
	path_of(p, sizeof(p), "own");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chown(p, T_UID, T_GID), 0);
	fd = open_as(&rq_nobody, "own/out", O_WRONLY | O_CREAT, true);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_uid, T_UID);
	assert_int_equal(st.st_gid, T_GID);
	close(fd);
	/* A directory of a supplementary group: only with the group. */
	path_of(p, sizeof(p), "grp");
	assert_int_equal(mkdir(p, 0770), 0);
	assert_int_equal(chown(p, 0, T_GROUP), 0);
	assert_int_equal(chmod(p, 0770), 0);
	fd = open_as(&rq_nobody, "grp/out", O_WRONLY | O_CREAT, true);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_as(&(struct hp_port_requester){
					 .pid = 1, .uid = T_UID, .gid = T_GID },
				 "grp/out2", O_WRONLY | O_CREAT, true),
			 -EACCES);
	/* Root and the primary's own user open as the primary. */
	fd = open_as(&(struct hp_port_requester){ .pid = 1 }, "secret",
		     O_RDONLY, false);
	assert_true(fd >= 0);
	close(fd);
	fd = open_as(NULL, "secret", O_RDONLY, false);
	assert_true(fd >= 0);
	close(fd);
}

/* A primary that is not root cannot take another user's rights: it
 * refuses, and keeps its own. */
static void test_port_cred_not_root_refuses(void **state)
{
	char before[1024], after[1024], p[128];
	bool switched;
	pid_t pid;
	int st;

	(void)state;
	file_make("public", 0644, 0, 0);
	path_of(p, sizeof(p), "public");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd, ok;

		if (setgroups(0, NULL) < 0 || setresgid(T_GID, T_GID, T_GID) < 0 ||
		    setresuid(T_UID, T_UID, T_UID) < 0)
			_exit(2);
		thread_creds(tid(), before, sizeof(before));
		fd = port_open_as(&(struct hp_port_requester){
					  .pid = 1, .uid = 4242, .gid = 4242 },
				  p, O_RDONLY, 0, &switched);
		thread_creds(tid(), after, sizeof(after));
		ok = fd == -EPERM && !switched && !strcmp(before, after);
		/* Its own user: served as itself. */
		fd = port_open_as(&(struct hp_port_requester){
					  .pid = 1, .uid = T_UID, .gid = 4242 },
				  p, O_RDONLY, 0, &switched);
		_exit(ok && fd >= 0 && !switched ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

struct opener {
	pid_t tid;
	const char *path;
	int fd;
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;
	bool switched;

	__atomic_store_n(&o->tid, tid(), __ATOMIC_RELEASE);
	o->fd = port_open_as(&rq_nobody, o->path, O_RDONLY, 0, &switched);
	return NULL;
}

/* While one thread opens with the requester's rights (held in the middle
 * of its open by a fanotify permission event), that thread alone has
 * them: this one keeps root's fsuid, groups and capabilities. */
static void test_port_cred_other_threads_keep_theirs(void **state)
{
	struct fanotify_event_metadata ev;
	struct fanotify_response resp;
	char p[128], mine[1024], now[1024], its[1024];
	struct opener o = { .fd = -1 };
	pthread_t th;
	int fan;

	(void)state;
	file_make("public", 0644, 0, 0);
	path_of(p, sizeof(p), "public");
	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
	if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM,
				     AT_FDCWD, p) < 0) {
		print_message("skipped: no fanotify permission events: %s\n",
			      strerror(errno));
		if (fan >= 0)
			close(fan);
		skip();
	}
	thread_creds(tid(), mine, sizeof(mine));
	o.path = p;
	assert_int_equal(pthread_create(&th, NULL, opener_main, &o), 0);
	/* The opener is now inside open(), with uid 65534's rights. */
	assert_int_equal(read(fan, &ev, sizeof(ev)), (ssize_t)sizeof(ev));
	thread_creds(__atomic_load_n(&o.tid, __ATOMIC_ACQUIRE), its,
		     sizeof(its));
	thread_creds(tid(), now, sizeof(now));
	assert_string_equal(mine, now);
	assert_non_null(strstr(its, "\t65534\n"));	/* fsuid, fsgid */
	assert_non_null(strstr(its, "Groups:\t4242"));
	assert_non_null(strstr(its, "CapEff:\t0000000000000000"));
	resp.fd = ev.fd;
	resp.response = FAN_ALLOW;
	assert_int_equal(write(fan, &resp, sizeof(resp)),
			 (ssize_t)sizeof(resp));
	close(ev.fd);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(o.fd >= 0);
	close(o.fd);
	close(fan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_port_cred_kernel_checks_requester, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_cred_not_root_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_cred_other_threads_keep_theirs, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root (to open as another user)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
