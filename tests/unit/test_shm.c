/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/shm: zones, heap, the same address in another process,
 * hugepage fallback, the primary lock, stale dirs and bad input. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hp_log.h"
#include "hp_shm.h"
#include "hp_test.h"
#include "shm_private.h"

/* argv[1] of the re-executed test binary acting as a secondary. */
#define CHILD_ARG "--shm-secondary"
#define MIB (1ULL << 20)
/* Where forged segments go: away from the default base. */
#define FORGE_BASE 0x300000000000ULL
#define XCHG_PARENT 0x1122334455667788ULL
#define XCHG_CHILD 0x8877665544332211ULL

/* Lines logged by shm at each level since log_reset(), and the last one. */
static int log_count[HP_LOG_DEBUG + 1];
static char log_last[1280];

static void log_sink(int level, const char *topic, const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
	if (strcmp(topic, SHM_LOG) || level < 0 || level > HP_LOG_DEBUG)
		return;
	log_count[level]++;
	if (level <= HP_LOG_WARNING)
		snprintf(log_last, sizeof(log_last), "%s", line);
}

/* Lines at level so far: the sink runs on the log's writer thread. */
static int logged(int level)
{
	hp_log_flush(-1);
	return log_count[level];
}

static void log_reset(void)
{
	memset(log_count, 0, sizeof(log_count));
	log_last[0] = '\0';
}

struct fix {
	struct hp_shm *shm;
	char prefix[64];
	char dir[PATH_MAX];
	size_t base_free, base_used; /* heap figures right after create */
};

static struct hp_shm *create_ok(const char *prefix, size_t mem, bool no_huge)
{
	struct hp_shm_opts o = { .prefix = prefix, .mem_size = mem,
				 .no_huge = no_huge };
	struct hp_shm *shm = NULL;

	assert_int_equal(hp_shm_primary_create(&o, &shm, NULL, 0), 0);
	assert_non_null(shm);
	return shm;
}

static int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	log_reset();
	hp_test_prefix(f->prefix, sizeof(f->prefix), "shm");
	f->shm = create_ok(f->prefix, 16 * MIB, true);
	snprintf(f->dir, sizeof(f->dir), "%s", hp_shm_dir(f->shm));
	hp_shm_heap_stats(f->shm, &f->base_free, &f->base_used);
	*state = f;
	return 0;
}

/* Also checks that the instance leaks nothing and removes its dir. */
static int fix_teardown(void **state)
{
	struct fix *f = *state;
	size_t fr, used;

	hp_shm_heap_stats(f->shm, &fr, &used);
	hp_shm_destroy(f->shm);
	assert_int_equal(used, f->base_used);
	assert_int_equal(fr, f->base_free);
	assert_int_equal(access(f->dir, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	free(f);
	return 0;
}

static void assert_zero(const void *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		assert_int_equal(((const unsigned char *)p)[i], 0);
}

static void test_shm_zone_reserve_lookup_free(void **state)
{
	struct fix *f = *state;
	void *a, *b, *got, *keep = (void *)0x1;
	size_t len = 0;

	assert_int_equal(hp_shm_zone_reserve(f->shm, "rx-ring", 1000, 0, &a), 0);
	assert_true(hp_shm_contains(f->shm, a));
	assert_int_equal((uintptr_t)a % HP_CACHE_LINE, 0);
	assert_zero(a, 1000);
	memset(a, 0xab, 1000);
	assert_int_equal(hp_shm_zone_reserve(f->shm, "big", 3 * MIB, 2 * MIB, &b), 0);
	assert_int_equal((uintptr_t)b % (2 * MIB), 0);
	assert_zero(b, 3 * MIB);

	assert_int_equal(hp_shm_zone_lookup(f->shm, "rx-ring", &got, &len), 0);
	assert_ptr_equal(got, a);
	assert_int_equal(len, 1000);
	assert_int_equal(((unsigned char *)got)[999], 0xab);
	assert_int_equal(hp_shm_zone_reserve(f->shm, "rx-ring", 8, 0, &keep),
			 -EEXIST);
	assert_ptr_equal(keep, (void *)0x1);

	/* A zone is not hp_shm_alloc memory: hp_shm_free must refuse it. */
	log_reset();
	hp_shm_free(f->shm, a);
	assert_int_equal(logged(HP_LOG_ERR), 1);
	assert_int_equal(hp_shm_zone_lookup(f->shm, "rx-ring", NULL, NULL), 0);

	assert_int_equal(hp_shm_zone_free(f->shm, "rx-ring"), 0);
	assert_int_equal(hp_shm_zone_lookup(f->shm, "rx-ring", &keep, &len),
			 -ENOENT);
	assert_ptr_equal(keep, (void *)0x1);
	assert_int_equal(hp_shm_zone_free(f->shm, "rx-ring"), -ENOENT);
	assert_int_equal(hp_shm_zone_free(f->shm, "big"), 0);
	/* Reserved again, a zone is zero-filled again. */
	assert_int_equal(hp_shm_zone_reserve(f->shm, "rx-ring", 1000, 0, &a), 0);
	assert_zero(a, 1000);
	assert_int_equal(hp_shm_zone_free(f->shm, "rx-ring"), 0);
}

static void test_shm_zone_bad_names(void **state)
{
	struct fix *f = *state;
	char name[HP_SHM_ZONE_NAME_MAX + 1];
	void *a;

	memset(name, 'z', HP_SHM_ZONE_NAME_MAX);
	name[HP_SHM_ZONE_NAME_MAX] = '\0';
	assert_int_equal(hp_shm_zone_reserve(f->shm, name, 64, 0, &a),
			 -ENAMETOOLONG);
	assert_int_equal(hp_shm_zone_lookup(f->shm, name, &a, NULL),
			 -ENAMETOOLONG);
	name[HP_SHM_ZONE_NAME_MAX - 1] = '\0';
	assert_int_equal(hp_shm_zone_reserve(f->shm, name, 64, 0, &a), 0);
	assert_int_equal(hp_shm_zone_free(f->shm, name), 0);
	assert_int_equal(hp_shm_zone_reserve(f->shm, "", 64, 0, &a), -EINVAL);
	assert_int_equal(hp_shm_zone_reserve(f->shm, NULL, 64, 0, &a), -EINVAL);
	assert_int_equal(hp_shm_zone_reserve(NULL, "x", 64, 0, &a), -EINVAL);
	assert_int_equal(hp_shm_zone_reserve(f->shm, "x", 0, 0, &a), -EINVAL);
	assert_int_equal(hp_shm_zone_reserve(f->shm, "x", 64, 48, &a), -EINVAL);
	assert_int_equal(hp_shm_zone_reserve(f->shm, "x", 64 * MIB, 0, &a),
			 -ENOMEM);
	assert_int_equal(hp_shm_zone_lookup(f->shm, "x", &a, NULL), -ENOENT);
}

static void test_shm_zone_table_full(void **state)
{
	struct fix *f = *state;
	char name[HP_SHM_ZONE_NAME_MAX];
	void *a;

	for (int i = 0; i < HP_SHM_MAX_ZONES; i++) {
		snprintf(name, sizeof(name), "zone-%d", i);
		assert_int_equal(hp_shm_zone_reserve(f->shm, name, 64, 0, &a), 0);
	}
	assert_int_equal(hp_shm_zone_reserve(f->shm, "one-more", 64, 0, &a),
			 -ENOSPC);
	/* A taken name is still told apart from a full table. */
	assert_int_equal(hp_shm_zone_reserve(f->shm, "zone-7", 64, 0, &a),
			 -EEXIST);
	assert_int_equal(hp_shm_zone_free(f->shm, "zone-7"), 0);
	assert_int_equal(hp_shm_zone_reserve(f->shm, "one-more", 64, 0, &a), 0);
	assert_int_equal(hp_shm_zone_free(f->shm, "one-more"), 0);
	for (int i = 0; i < HP_SHM_MAX_ZONES; i++) {
		snprintf(name, sizeof(name), "zone-%d", i);
		assert_int_equal(hp_shm_zone_free(f->shm, name),
				 i == 7 ? -ENOENT : 0);
	}
}

/* A small deterministic generator, so that a failure can be replayed. */
static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

#define HEAP_N 300

static void test_shm_heap_sizes_alignments(void **state)
{
	static const size_t aligns[] = { 0, 1, 16, 64, 256, 4096, 65536 };
	struct fix *f = *state;
	void *p[HEAP_N];
	size_t len[HEAP_N], fr, used;
	uint32_t seed = 42;

	for (int i = 0; i < HEAP_N; i++) {
		size_t al = aligns[rnd(&seed) % HP_ARRAY_SIZE(aligns)];

		len[i] = 1 + rnd(&seed) % (i % 10 ? 2000 : 40000);
		assert_int_equal(hp_shm_alloc(f->shm, len[i], al, &p[i]), 0);
		assert_true(hp_shm_contains(f->shm, p[i]));
		assert_true(hp_shm_contains(f->shm, (char *)p[i] + len[i] - 1));
		assert_int_equal((uintptr_t)p[i] % (al ? al : HP_CACHE_LINE), 0);
		assert_zero(p[i], len[i]);
		memset(p[i], i & 0xff, len[i]);
		assert_int_equal(shm_heap_check(hp_shm_base(f->shm)), 0);
		hp_shm_heap_stats(f->shm, &fr, &used);
		assert_int_equal(fr + used, f->base_free + f->base_used);
		assert_true(used > f->base_used);
	}
	/* No block overlaps another: each still holds its own pattern. */
	for (int i = 0; i < HEAP_N; i++)
		for (size_t j = 0; j < len[i]; j++)
			assert_int_equal(((unsigned char *)p[i])[j], i & 0xff);
	/* Free in a scrambled order, so that merges happen on both sides. */
	for (int k = 0; k < HEAP_N; k++) {
		int i = (k * 7) % HEAP_N;

		hp_shm_free(f->shm, p[i]);
		assert_int_equal(shm_heap_check(hp_shm_base(f->shm)), 0);
	}
	hp_shm_heap_stats(f->shm, &fr, &used);
	assert_int_equal(used, f->base_used);
	assert_int_equal(fr, f->base_free);
}

static void test_shm_heap_enomem_and_coalescing(void **state)
{
	struct fix *f = *state;
	void *a, *b, *keep = (void *)0x1;
	size_t fr, used;

	assert_int_equal(hp_shm_alloc(f->shm, hp_shm_size(f->shm), 0, &keep),
			 -ENOMEM);
	assert_int_equal(hp_shm_alloc(f->shm, SIZE_MAX, 0, &keep), -ENOMEM);
	assert_int_equal(hp_shm_alloc(f->shm, 64, 1ULL << 40, &keep), -ENOMEM);
	assert_int_equal(hp_shm_alloc(f->shm, 0, 0, &keep), -EINVAL);
	assert_int_equal(hp_shm_alloc(f->shm, 64, 3, &keep), -EINVAL);
	assert_int_equal(hp_shm_alloc(NULL, 64, 0, &keep), -EINVAL);
	assert_ptr_equal(keep, (void *)0x1);

	/* Split the heap in two halves, free both: only if they merged back
	 * does one block of nearly all of it fit again. */
	assert_int_equal(hp_shm_alloc(f->shm, f->base_free / 2, 16, &a), 0);
	assert_int_equal(hp_shm_alloc(f->shm, f->base_free / 4, 16, &b), 0);
	assert_int_equal(hp_shm_alloc(f->shm, f->base_free / 2, 16, &keep),
			 -ENOMEM);
	hp_shm_free(f->shm, a);
	hp_shm_free(f->shm, b);
	assert_int_equal(hp_shm_alloc(f->shm, f->base_free - 64, 16, &a), 0);
	hp_shm_heap_stats(f->shm, &fr, &used);
	assert_true(fr < 64);
	hp_shm_free(f->shm, a);

	/* A double free is refused and changes nothing. */
	assert_int_equal(hp_shm_alloc(f->shm, 100, 0, &a), 0);
	hp_shm_free(f->shm, a);
	log_reset();
	hp_shm_free(f->shm, a);
	hp_shm_free(f->shm, (char *)hp_shm_base(f->shm) + hp_shm_size(f->shm));
	assert_int_equal(logged(HP_LOG_ERR), 2);
	hp_shm_free(f->shm, NULL);
}

struct churn {
	struct hp_shm *shm;
	int id;
	uint32_t seed;
	int failures;
};

static void *churn_run(void *arg)
{
	struct churn *c = arg;
	char name[HP_SHM_ZONE_NAME_MAX];
	void *p, *z;

	for (int i = 0; i < 2000; i++) {
		size_t len = 1 + rnd(&c->seed) % 3000;

		snprintf(name, sizeof(name), "churn-%d-%d", c->id, i);
		if (hp_shm_alloc(c->shm, len, 0, &p) < 0 ||
		    hp_shm_zone_reserve(c->shm, name, len, 0, &z) < 0) {
			c->failures++;
			continue;
		}
		memset(p, 1, len);
		memset(z, 2, len);
		hp_shm_free(c->shm, p);
		if (hp_shm_zone_free(c->shm, name) < 0)
			c->failures++;
	}
	return NULL;
}

/* Two threads here and a forked process (sharing the mapping) at once. */
static void test_shm_heap_threads_and_processes(void **state)
{
	struct fix *f = *state;
	struct churn c[3] = { { f->shm, 0, 1, 0 }, { f->shm, 1, 2, 0 },
			      { f->shm, 2, 3, 0 } };
	pthread_t t[2];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		churn_run(&c[2]);
		_exit(c[2].failures ? 1 : 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn_run, &c[i]),
				 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(c[i].failures, 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(shm_heap_check(hp_shm_base(f->shm)), 0);
}

static void test_shm_lock_owner_death_recovered(void **state)
{
	struct fix *f = *state;
	int status;
	void *a;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(shm_lock(hp_shm_base(f->shm)) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	log_reset();
	assert_int_equal(hp_shm_zone_reserve(f->shm, "after", 64, 0, &a), 0);
	assert_int_equal(logged(HP_LOG_WARNING), 1);
	assert_int_equal(hp_shm_zone_free(f->shm, "after"), 0);
}

/* The re-executed binary: attach as a secondary, check the parent's zone,
 * answer in it and leave a zone of its own. Exit codes name the step. */
static int secondary_main(char **argv)
{
	struct hp_shm_seg seg = { .node = -1 };
	struct hp_shm *shm;
	uint64_t *x, *y;
	size_t len;

	seg.fd = atoi(argv[3]);
	seg.addr = strtoull(argv[4], NULL, 0);
	seg.len = strtoull(argv[5], NULL, 0);
	seg.huge_sz = (uint32_t)strtoul(argv[6], NULL, 0);
	hp_log_set_role("secondary");
	if (hp_shm_secondary_attach(argv[2], &seg, 1, &shm, NULL, 0) < 0)
		return 10;
	if (hp_shm_zone_lookup(shm, "xchg", (void **)&x, &len) < 0 || len != 64)
		return 11;
	if ((uintptr_t)x != x[1] || x[0] != XCHG_PARENT)
		return 12;
	x[2] = XCHG_CHILD;
	if (hp_shm_zone_reserve(shm, "from-child", 8, 0, (void **)&y) < 0)
		return 13;
	*y = (uint64_t)getpid();
	hp_shm_destroy(shm);
	return 0;
}

static void test_shm_secondary_same_address(void **state)
{
	struct fix *f = *state;
	struct hp_shm_seg seg;
	char a[5][32];
	uint64_t *x, *y;
	int fd, status;
	pid_t pid;

	assert_int_equal(hp_shm_segments(f->shm, &seg, 0), -ENOSPC);
	assert_int_equal(hp_shm_segments(f->shm, &seg, 1), 1);
	assert_int_equal(hp_shm_zone_reserve(f->shm, "xchg", 64, 0, (void **)&x), 0);
	x[0] = XCHG_PARENT;
	x[1] = (uintptr_t)x;
	/* The child inherits a copy of the memfd without close-on-exec. */
	fd = dup(seg.fd);
	assert_true(fd >= 0);
	snprintf(a[0], sizeof(a[0]), "%d", fd);
	snprintf(a[1], sizeof(a[1]), "0x%llx", (unsigned long long)seg.addr);
	snprintf(a[2], sizeof(a[2]), "%llu", (unsigned long long)seg.len);
	snprintf(a[3], sizeof(a[3]), "%u", seg.huge_sz);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_shm", CHILD_ARG, f->prefix, a[0],
		      a[1], a[2], a[3], (char *)NULL);
		_exit(127);
	}
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(x[2], XCHG_CHILD);
	assert_int_equal(hp_shm_zone_lookup(f->shm, "from-child", (void **)&y,
					    NULL), 0);
	assert_int_equal(*y, (uint64_t)pid);
	assert_int_equal(hp_shm_zone_free(f->shm, "from-child"), 0);
	assert_int_equal(hp_shm_zone_free(f->shm, "xchg"), 0);
}

static bool fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static void test_shm_secondary_address_taken(void **state)
{
	struct fix *f = *state;
	char err[256] = "";
	struct hp_shm_seg seg;
	struct hp_shm *shm = (void *)0x1;

	assert_int_equal(hp_shm_segments(f->shm, &seg, 1), 1);
	seg.fd = dup(seg.fd);
	assert_true(seg.fd >= 0);
	log_reset();
	/* This process already maps the range: the primary's own mapping. */
	assert_int_equal(hp_shm_secondary_attach(f->prefix, &seg, 1, &shm, err,
						 sizeof(err)),
			 -EADDRINUSE);
	assert_ptr_equal(shm, (void *)0x1);
	assert_true(fd_closed(seg.fd));
	/* The reason goes back to the caller, not to the log; --base-virtaddr
	 * is the primary's option: the secondary is told to restart it. */
	assert_int_equal(logged(HP_LOG_ERR), 0);
	assert_non_null(strstr(err, "restart the primary with --base-virtaddr"));
}

/* A segment whose header holds magic and version, and otherwise only the
 * segment table. */
static void forge_seg(struct hp_shm_seg *seg, uint64_t magic, uint32_t version)
{
	struct shm_hdr *h;

	seg->fd = memfd_create("forged", MFD_CLOEXEC);
	assert_true(seg->fd >= 0);
	seg->addr = FORGE_BASE;
	seg->len = MIB;
	seg->huge_sz = (uint32_t)sysconf(_SC_PAGESIZE);
	seg->node = -1;
	assert_int_equal(ftruncate(seg->fd, (off_t)seg->len), 0);
	h = mmap(NULL, seg->len, PROT_READ | PROT_WRITE, MAP_SHARED, seg->fd, 0);
	assert_true(h != MAP_FAILED);
	h->magic = magic;
	h->layout_version = version;
	h->nb_segs = 1;
	h->segs[0].addr = seg->addr;
	h->segs[0].len = seg->len;
	munmap(h, seg->len);
}

/* The reason the last attach_forged got. */
static char attach_err[256];

/* Attaches a forged segment, moved by addr_delta and given len bytes (0:
 * its own), expecting r; the fd is gone afterwards whatever the outcome. */
static void attach_forged(const char *prefix, uint64_t magic, uint32_t version,
			  uint64_t addr_delta, uint64_t len, int r)
{
	struct hp_shm *shm = (void *)0x1;
	struct hp_shm_seg seg;

	forge_seg(&seg, magic, version);
	seg.addr += addr_delta;
	seg.len = len ? len : seg.len;
	attach_err[0] = '\0';
	assert_int_equal(hp_shm_secondary_attach(prefix, &seg, 1, &shm,
						 attach_err, sizeof(attach_err)),
			 r);
	if (r < 0)
		assert_true(attach_err[0] != '\0');
	if (r == 0) {
		assert_ptr_equal(hp_shm_base(shm), (void *)(uintptr_t)FORGE_BASE);
		assert_false(hp_shm_is_huge(shm));
		hp_shm_destroy(shm);
	} else {
		assert_ptr_equal(shm, (void *)0x1);
	}
	assert_true(fd_closed(seg.fd));
}

static void test_shm_secondary_wrong_magic_or_layout(void **state)
{
	const uint32_t v = HP_SHM_LAYOUT_VERSION;
	char want[64];

	(void)state;
	log_reset();
	attach_forged("t", SHM_MAGIC ^ 1, v, 0, 0, -EPROTO);
	assert_non_null(strstr(attach_err, "not hotport shared memory"));
	attach_forged("t", SHM_MAGIC, v + 1, 0, 0, -EPROTO);
	assert_int_equal(logged(HP_LOG_ERR), 0);
	snprintf(want, sizeof(want), "version %u", v + 1);
	assert_non_null(strstr(attach_err, want));
	snprintf(want, sizeof(want), "version %u", v);
	assert_non_null(strstr(attach_err, want));
	/* Bad descriptors: more than the file holds, an odd address, a bad
	 * prefix. */
	attach_forged("t", SHM_MAGIC, v, 0, 2 * MIB, -EINVAL);
	attach_forged("t", SHM_MAGIC, v, 100, 0, -EINVAL);
	attach_forged("a/b", SHM_MAGIC, v, 0, 0, -EINVAL);
	/* The control: the same forgery with the right magic and version. */
	attach_forged("t", SHM_MAGIC, v, 0, 0, 0);
}

/* Hugepages of 2 MiB the kernel could still reserve, and how many it could
 * ever have (pool and overcommit); -1 when the default size is not 2 MiB. */
static long huge_2m_free(long *ret_max)
{
	long total = 0, fr = 0, rsvd = 0, sz = 0, over = 0;
	char line[128];
	FILE *fp = fopen("/proc/meminfo", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		sscanf(line, "HugePages_Total: %ld", &total);
		sscanf(line, "HugePages_Free: %ld", &fr);
		sscanf(line, "HugePages_Rsvd: %ld", &rsvd);
		sscanf(line, "Hugepagesize: %ld", &sz);
	}
	fclose(fp);
	fp = fopen("/proc/sys/vm/nr_overcommit_hugepages", "r");
	if (fp) {
		if (fscanf(fp, "%ld", &over) != 1)
			over = 0;
		fclose(fp);
	}
	*ret_max = total + over;
	return sz == 0 || sz == 2048 ? fr - rsvd : -1;
}

static void check_pages(const char *prefix, size_t mem, bool no_huge,
			bool want_huge)
{
	struct hp_shm_seg seg;
	struct hp_shm *shm;
	void *a;

	log_reset();
	shm = create_ok(prefix, mem, no_huge);
	assert_int_equal(hp_shm_is_huge(shm), want_huge);
	assert_int_equal(logged(HP_LOG_WARNING), !no_huge && !want_huge);
	assert_int_equal(hp_shm_segments(shm, &seg, 1), 1);
	assert_int_equal(seg.huge_sz, want_huge ? 2 * MIB :
				      (uint64_t)sysconf(_SC_PAGESIZE));
	assert_true(seg.len >= mem && seg.len % seg.huge_sz == 0);
	assert_int_equal(hp_shm_zone_reserve(shm, "z", 4096, 0, &a), 0);
	memset(a, 7, 4096);
	hp_shm_destroy(shm);
}

static void test_shm_pages_no_huge(void **state)
{
	char prefix[64];

	(void)state;
	hp_test_prefix(prefix, sizeof(prefix), "shm");
	check_pages(prefix, 3 * MIB, true, false);
}

static void test_shm_pages_huge_or_fallback(void **state)
{
	char prefix[64];
	long max, fr = huge_2m_free(&max);

	(void)state;
	if (fr < 0)
		skip();
	hp_test_prefix(prefix, sizeof(prefix), "shm");
	/* One hugepage: huge exactly when /proc/meminfo has one to spare. */
	check_pages(prefix, 2 * MIB, false, fr >= 1);
	/* More than the pool could ever give: always the fallback. */
	check_pages(prefix, (size_t)(max + 1) * 2 * MIB, false, false);
}

static void test_shm_second_primary_refused(void **state)
{
	struct fix *f = *state;
	struct hp_shm_opts o = { .prefix = f->prefix, .no_huge = true,
				 .base_virtaddr = FORGE_BASE };
	struct hp_shm *shm = (void *)0x1;
	char lock[PATH_MAX + 8];
	int status;
	pid_t pid;

	/* flock belongs to the open file description: a second open in the
	 * same process conflicts too. */
	assert_int_equal(hp_shm_primary_create(&o, &shm, NULL, 0), -EEXIST);
	assert_ptr_equal(shm, (void *)0x1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r = hp_shm_primary_create(&o, &shm, NULL, 0);

		/* The inherited handle: destroying it must leave the dir. */
		hp_shm_destroy(f->shm);
		_exit(-r);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EEXIST);
	/* Neither the refused ones nor the child's destroy took anything
	 * away from the live primary. */
	snprintf(lock, sizeof(lock), "%s/lock", f->dir);
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(hp_shm_primary_create(&o, &shm, NULL, 0), -EEXIST);
}

static void test_shm_stale_dir_reused(void **state)
{
	char prefix[64], path[PATH_MAX + 16], dir[PATH_MAX], ready = 0;
	struct hp_shm *shm;
	int p[2], hold[2], status;
	pid_t pid;

	(void)state;
	hp_test_prefix(prefix, sizeof(prefix), "shm");
	assert_int_equal(hp_shm_runtime_dir(prefix, dir, sizeof(dir)), 0);
	/* p: the child tells it is ready; hold: it waits on it, and its end
	 * tells the child to go if this process dies first. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hp_shm_opts o = { .prefix = prefix, .no_huge = true };
		int fd = -1;

		close(p[0]);
		close(hold[1]);
		snprintf(path, sizeof(path), "%s/mp.sock", dir);
		if (hp_shm_primary_create(&o, &shm, NULL, 0) == 0)
			fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		ready = fd >= 0 ? 'r' : 'f';
		if (write(p[1], &ready, 1) != 1 || read(hold[0], &ready, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	close(hold[0]);
	assert_int_equal(read(p[0], &ready, 1), 1);
	close(p[0]);
	assert_int_equal(ready, 'r');
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(hold[1]);
	assert_true(WIFSIGNALED(status));

	snprintf(path, sizeof(path), "%s/mp.sock", dir);
	assert_int_equal(access(path, F_OK), 0);
	shm = create_ok(prefix, 4 * MIB, true);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/lock", dir);
	assert_int_equal(access(path, F_OK), 0);
	hp_shm_destroy(shm);
	assert_int_equal(access(dir, F_OK), -1);
}

static void test_shm_address_taken(void **state)
{
	struct hp_shm_opts o = { .no_huge = true, .mem_size = 4 * MIB };
	struct hp_shm *shm = (void *)0x1;
	char prefix[64], dir[PATH_MAX], want[64], err[256] = "";
	void *p;

	(void)state;
	hp_test_prefix(prefix, sizeof(prefix), "shm");
	o.prefix = prefix;
	p = mmap((void *)(uintptr_t)HP_SHM_DEFAULT_BASE + 2 * MIB, 4096,
		 PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		 -1, 0);
	assert_ptr_equal(p, (void *)(uintptr_t)(HP_SHM_DEFAULT_BASE + 2 * MIB));
	log_reset();
	assert_int_equal(hp_shm_primary_create(&o, &shm, err, sizeof(err)),
			 -EADDRINUSE);
	assert_ptr_equal(shm, (void *)0x1);
	assert_int_equal(logged(HP_LOG_ERR), 0);
	snprintf(want, sizeof(want), "0x%llx-0x%llx", HP_SHM_DEFAULT_BASE,
		 HP_SHM_DEFAULT_BASE + 4 * MIB);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "--base-virtaddr"));
	/* The failure left no lock behind: elsewhere, the prefix works. */
	assert_int_equal(hp_shm_runtime_dir(prefix, dir, sizeof(dir)), 0);
	assert_int_equal(access(dir, F_OK), -1);
	o.base_virtaddr = FORGE_BASE;
	assert_int_equal(hp_shm_primary_create(&o, &shm, NULL, 0), 0);
	assert_ptr_equal(hp_shm_base(shm), (void *)(uintptr_t)FORGE_BASE);
	hp_shm_destroy(shm);
	munmap(p, 4096);
}

/* Regression: "cannot create shared memory: Not a directory" named no
 * path. A file where the runtime dir goes: the reason names the dir. */
static void test_shm_runtime_dir_not_a_dir(void **state)
{
	struct hp_shm_opts o = { .no_huge = true, .mem_size = 4 * MIB };
	struct hp_shm *shm = (void *)0x1;
	char prefix[64], dir[PATH_MAX], err[512] = "";
	int fd;

	(void)state;
	hp_test_prefix(prefix, sizeof(prefix), "shm");
	o.prefix = prefix;
	assert_int_equal(hp_shm_runtime_dir(prefix, dir, sizeof(dir)), 0);
	/* The parent exists once any primary ran; make sure it does. */
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	dir[strlen(dir)] = '/';
	fd = open(dir, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	log_reset();
	assert_int_equal(hp_shm_primary_create(&o, &shm, err, sizeof(err)),
			 -ENOTDIR);
	assert_ptr_equal(shm, (void *)0x1);
	assert_int_equal(logged(HP_LOG_ERR), 0);
	if (!strstr(err, dir) || !strstr(err, "not a directory"))
		fail_msg("reason '%s' does not name %s", err, dir);
	assert_int_equal(unlink(dir), 0);
}

static void expect_einval(struct hp_shm_opts o)
{
	struct hp_shm *shm = (void *)0x1;

	assert_int_equal(hp_shm_primary_create(&o, &shm, NULL, 0), -EINVAL);
	assert_ptr_equal(shm, (void *)0x1);
}

static void test_shm_bad_options(void **state)
{
	static const char *const prefixes[] = {
		"", "a/b", "..", ".", "sp ace",
		"0123456789012345678901234567890123456789012345678901234567890123456789",
	};
	static const char *const mems[] = {
		"", "x", "1,,2", "-1", "12MB", "0", "0,0", ",5", "5,",
		"99999999999999999999", "32,32", "0,32",
	};
	struct hp_shm_opts o = { .no_huge = true, .mem_size = 4 * MIB };
	char prefix[64], buf[PATH_MAX];

	(void)state;
	hp_test_prefix(prefix, sizeof(prefix), "shm");
	for (size_t i = 0; i < HP_ARRAY_SIZE(prefixes); i++) {
		o.prefix = prefixes[i];
		expect_einval(o);
		assert_int_equal(hp_shm_runtime_dir(o.prefix, buf, sizeof(buf)),
				 -EINVAL);
	}
	o.prefix = prefix;
	/* "32,32" and "0,32" ask for a second node this machine lacks. */
	if (shm_numa_nodes() == 1) {
		o.mem_size = 0;
		for (size_t i = 0; i < HP_ARRAY_SIZE(mems); i++) {
			o.socket_mem = mems[i];
			expect_einval(o);
		}
		o.mem_size = 4 * MIB;
	}
	o.socket_mem = "4";
	expect_einval(o); /* with mem_size as well */
	o.socket_mem = NULL;
	o.mem_size = 4096;
	expect_einval(o); /* no room for the header */
	o.mem_size = 4 * MIB;
	o.base_virtaddr = HP_SHM_DEFAULT_BASE + 100;
	expect_einval(o);
	o.no_huge = false;
	o.base_virtaddr = HP_SHM_DEFAULT_BASE + 4096;
	expect_einval(o); /* not aligned to the hugepage size */
	assert_int_equal(hp_shm_primary_create(&o, NULL, NULL, 0), -EINVAL);
	assert_int_equal(hp_shm_runtime_dir(prefix, buf, sizeof(buf)), 0);
	assert_int_equal(access(buf, F_OK), -1);
	hp_shm_destroy(NULL);
}

static void test_shm_runtime_dir_and_socket_mem(void **state)
{
	struct hp_shm_opts o = { .no_huge = true, .socket_mem = "5" };
	char prefix[64], want[PATH_MAX], buf[PATH_MAX];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct hp_shm *shm;
	struct stat st;

	(void)state;
	hp_test_prefix(prefix, sizeof(prefix), "shm");
	if (geteuid() == 0)
		snprintf(want, sizeof(want), "/run/hotport/%s", prefix);
	else if (xdg && xdg[0] == '/')
		snprintf(want, sizeof(want), "%s/hotport/%s", xdg, prefix);
	else
		snprintf(want, sizeof(want), "/tmp/hotport-%u/%s",
			 (unsigned)geteuid(), prefix);
	strcpy(buf, "untouched");
	assert_int_equal(hp_shm_runtime_dir(prefix, buf, 8), -ENAMETOOLONG);
	assert_string_equal(buf, "untouched");
	assert_int_equal(hp_shm_runtime_dir(prefix, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);

	o.prefix = prefix;
	assert_int_equal(hp_shm_primary_create(&o, &shm, NULL, 0), 0);
	assert_string_equal(hp_shm_dir(shm), want);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	if (shm_numa_nodes() == 1)
		assert_int_equal(hp_shm_size(shm), 5 * MIB);
	hp_shm_destroy(shm);

	o.ipc_group = geteuid() == 0 ? 4242 : getegid();
	if (!o.ipc_group)
		skip();
	assert_int_equal(hp_shm_primary_create(&o, &shm, NULL, 0), 0);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_gid, o.ipc_group);
	hp_shm_destroy(shm);
}

static void expect_plan(const char *mem, int nodes, size_t size, int r,
			unsigned nb, const uint64_t *mb, const int *node)
{
	struct shm_plan plan = { .nb_segs = 99 };

	assert_int_equal(shm_numa_plan(mem, nodes, size, &plan), r);
	if (r < 0) {
		assert_int_equal(plan.nb_segs, 99);
		return;
	}
	assert_int_equal(plan.nb_segs, nb);
	for (unsigned i = 0; i < nb; i++) {
		assert_int_equal(plan.len[i], mb[i] * MIB);
		assert_int_equal(plan.node[i], node[i]);
	}
}

static void test_shm_numa_plan(void **state)
{
	static const uint64_t m64[] = { 64 }, m32[] = { 32 },
			      m64_32[] = { 64, 32 };
	static const int blind[] = { -1 }, n0_2[] = { 0, 2 };
	void *p;

	(void)state;
	expect_plan(NULL, 1, 0, 0, 1, m64, blind);
	expect_plan(NULL, 4, 32 * MIB, 0, 1, m32, blind);
	expect_plan("32", 1, 0, 0, 1, m32, blind);
	expect_plan("32,0", 1, 0, 0, 1, m32, blind);
	expect_plan("32,32", 1, 0, -EINVAL, 0, NULL, NULL);
	expect_plan("64,0,32", 4, 0, 0, 2, m64_32, n0_2);
	expect_plan("64,0,32", 2, 0, -EINVAL, 0, NULL, NULL);
	expect_plan("0,0", 2, 0, -EINVAL, 0, NULL, NULL);
	expect_plan("1,1,1,1,1,1,1,1,1", 9, 0, -EINVAL, 0, NULL, NULL);
	expect_plan("32", 1, MIB, -EINVAL, 0, NULL, NULL);

	/* Binding works for a node this machine has, not for one it lacks. */
	p = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(shm_numa_bind(p, 2 * MIB, 0), 0);
	assert_true(shm_numa_bind(p, 2 * MIB, 1000) < 0);
	munmap(p, 2 * MIB);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define FIX_TEST(t) cmocka_unit_test_setup_teardown(t, fix_setup, fix_teardown)
		FIX_TEST(test_shm_zone_reserve_lookup_free),
		FIX_TEST(test_shm_zone_bad_names),
		FIX_TEST(test_shm_zone_table_full),
		FIX_TEST(test_shm_heap_sizes_alignments),
		FIX_TEST(test_shm_heap_enomem_and_coalescing),
		FIX_TEST(test_shm_heap_threads_and_processes),
		FIX_TEST(test_shm_lock_owner_death_recovered),
		FIX_TEST(test_shm_secondary_same_address),
		FIX_TEST(test_shm_secondary_address_taken),
		FIX_TEST(test_shm_second_primary_refused),
		cmocka_unit_test(test_shm_secondary_wrong_magic_or_layout),
		cmocka_unit_test(test_shm_pages_no_huge),
		cmocka_unit_test(test_shm_pages_huge_or_fallback),
		cmocka_unit_test(test_shm_stale_dir_reused),
		cmocka_unit_test(test_shm_address_taken),
		cmocka_unit_test(test_shm_runtime_dir_not_a_dir),
		cmocka_unit_test(test_shm_bad_options),
		cmocka_unit_test(test_shm_runtime_dir_and_socket_mem),
		cmocka_unit_test(test_shm_numa_plan),
	};

	hp_log_set_sink(log_sink, NULL);
	if (argc == 7 && !strcmp(argv[1], CHILD_ARG))
		return secondary_main(argv);
	hp_log_set_role("primary");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
