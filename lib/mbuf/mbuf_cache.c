/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-thread caches of a pool in shared memory: claim, fast get and put,
 * release, and reclaim of the caches of dead threads and processes.
 *
 * A thread finds its cache through a small thread-local table (pool ->
 * slot). Before using a slot it checks that the slot's owner word is still
 * its own (pid, tid): so a table copied by fork(), a pool laid out again at
 * the same address, or a slot reclaimed by mistake all send it back to the
 * slow path, which looks for a slot with its own owner word, else claims a
 * free one (compare-and-swap from MP_OWNER_FREE). fork() also clears the
 * child's table (pthread_atfork), since the child's pid differs.
 *
 * A cache holds between 0 and 2 * cache_size buffers. Get: when the cache
 * has fewer than n, it is refilled from the ring to cache_size / 2 after
 * the get. Put: when the cache then has more than cache_size, it is
 * flushed to the ring down to cache_size / 2. So each ring operation moves
 * at least cache_size / 2 buffers. Bursts larger than cache_size skip the
 * cache.
 *
 * Crash safety: the cache length is lowered before buffers go to the ring
 * and raised after they come from it, so a thread that dies in between
 * loses buffers (its cache looks emptier than it is) but never makes a
 * reclaim hand out a buffer twice. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mbuf_private.h"

/* Pools a thread remembers its cache of; more still work, through the slow
 * path. */
#define MP_TLS_POOLS 8

struct mp_tls_entry {
	const struct hp_mempool *pool;
	struct mp_cache *cache; /* NULL: no free slot was found */
};

/* The calling thread's caches. initial-exec: no __tls_get_addr call on the
 * fast path of the shared library. */
static __thread struct {
	uint64_t self; /* owner word of this thread; 0 until first claim */
	unsigned next; /* entry to evict when the table is full */
	struct mp_tls_entry e[MP_TLS_POOLS];
} mp_tls __attribute__((tls_model("initial-exec")));

static pthread_once_t mp_atfork_once = PTHREAD_ONCE_INIT;

/* The pid this process's cache slots carry: the one the primary sees,
 * which differs from getpid() in another PID namespace; 0: getpid(). */
static pid_t mp_owner_pid;

static pid_t mp_owner(void)
{
	pid_t p = __atomic_load_n(&mp_owner_pid, __ATOMIC_RELAXED);

	return p ? p : getpid();
}

void hp_mempool_set_owner_pid(pid_t pid)
{
	__atomic_store_n(&mp_owner_pid, pid > 0 ? pid : 0, __ATOMIC_RELAXED);
}

static void mp_atfork_child(void)
{
	mp_owner_pid = 0; /* a new process: the parent's number is not ours */
	memset(&mp_tls, 0, sizeof(mp_tls));
}

static void mp_atfork_register(void)
{
	pthread_atfork(NULL, NULL, mp_atfork_child);
}

static uint64_t mp_self(void)
{
	if (mp_tls.self == 0) {
		pthread_once(&mp_atfork_once, mp_atfork_register);
		mp_tls.self = (uint64_t)mp_owner() << 32 | (uint32_t)gettid();
	}
	return mp_tls.self;
}

static struct mp_tls_entry *mp_tls_find(const struct hp_mempool *pool)
{
	for (unsigned i = 0; i < MP_TLS_POOLS; i++)
		if (mp_tls.e[i].pool == pool)
			return &mp_tls.e[i];
	return NULL;
}

/* The slot of pool owned by owner, or NULL. */
static struct mp_cache *mp_cache_find(const struct hp_mempool *pool,
				      uint64_t owner)
{
	for (unsigned i = 0; i < pool->nb_caches; i++) {
		struct mp_cache *c = mp_cache_at(pool, i);

		if (__atomic_load_n(&c->owner, __ATOMIC_ACQUIRE) == owner)
			return c;
	}
	return NULL;
}

/* Slow path of mp_cache_get: the thread's slot, a newly claimed one, or
 * NULL; remembered in the thread's table either way. */
static struct mp_cache *mp_cache_claim(struct hp_mempool *pool)
{
	uint64_t self = mp_self();
	struct mp_cache *c = mp_cache_find(pool, self);
	struct mp_tls_entry *e;

	for (unsigned i = 0; c == NULL && i < pool->nb_caches; i++) {
		uint64_t expect = MP_OWNER_FREE;

		if (__atomic_compare_exchange_n(&mp_cache_at(pool, i)->owner,
						&expect, self, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			c = mp_cache_at(pool, i);
	}
	e = mp_tls_find(pool);
	if (e == NULL)
		e = mp_tls_find(NULL);
	if (e == NULL)
		e = &mp_tls.e[mp_tls.next++ % MP_TLS_POOLS];
	e->pool = pool;
	e->cache = c;
	return c;
}

/* The calling thread's cache of pool, or NULL: use the ring. */
static inline struct mp_cache *mp_cache_get(struct hp_mempool *pool)
{
	if (pool->nb_caches == 0)
		return NULL;
	for (unsigned i = 0; i < MP_TLS_POOLS; i++) {
		struct mp_tls_entry *e = &mp_tls.e[i];

		if (e->pool != pool)
			continue;
		if (e->cache == NULL)
			return NULL;
		if (HP_LIKELY(__atomic_load_n(&e->cache->owner,
					      __ATOMIC_RELAXED) == mp_tls.self))
			return e->cache;
		break;
	}
	return mp_cache_claim(pool);
}

/* Moves every buffer of c to the ring; returns how many. The caller owns
 * c (as its thread, or by a reclaim). */
static unsigned mp_cache_flush(struct hp_mempool *pool, struct mp_cache *c)
{
	unsigned len = __atomic_load_n(&c->len, __ATOMIC_RELAXED);

	__atomic_store_n(&c->len, 0, __ATOMIC_RELAXED);
	hp_ring_mp_enqueue_bulk(pool->ring, (void **)c->objs, len);
	return len;
}

int mp_get(struct hp_mempool *pool, struct hp_mbuf **objs, unsigned n)
{
	struct mp_cache *c = mp_cache_get(pool);
	unsigned len;

	if (c == NULL || n > pool->cache_size) {
		if (hp_ring_mc_dequeue_bulk(pool->ring, (void **)objs, n) == n)
			return 0;
		/* The buffers this thread caches count as free too. */
		if (c == NULL || c->len == 0)
			return -ENOBUFS;
		mp_cache_flush(pool, c);
		return hp_ring_mc_dequeue_bulk(pool->ring, (void **)objs, n) ==
				       n
			       ? 0
			       : -ENOBUFS;
	}
	len = c->len;
	if (len < n) {
		len += hp_ring_mc_dequeue_burst(pool->ring,
						(void **)&c->objs[len],
						pool->cache_size / 2 + n - len);
		__atomic_store_n(&c->len, len, __ATOMIC_RELAXED);
		if (len < n)
			return -ENOBUFS;
	}
	/* Last freed first: those are the likeliest in this CPU's cache. */
	for (unsigned i = 0; i < n; i++)
		objs[i] = c->objs[len - 1 - i];
	__atomic_store_n(&c->len, len - n, __ATOMIC_RELAXED);
	return 0;
}

void mp_put(struct hp_mempool *pool, struct hp_mbuf *const *objs, unsigned n)
{
	struct mp_cache *c = mp_cache_get(pool);
	unsigned len, keep;

	/* The ring has a slot for every buffer of the pool: it never fills. */
	if (c == NULL || n > pool->cache_size) {
		hp_ring_mp_enqueue_bulk(pool->ring, (void *const *)objs, n);
		return;
	}
	len = c->len;
	for (unsigned i = 0; i < n; i++)
		c->objs[len + i] = objs[i];
	len += n;
	if (len <= pool->cache_size) {
		__atomic_store_n(&c->len, len, __ATOMIC_RELAXED);
		return;
	}
	keep = pool->cache_size / 2;
	__atomic_store_n(&c->len, keep, __ATOMIC_RELAXED);
	hp_ring_mp_enqueue_bulk(pool->ring, (void **)&c->objs[keep],
				len - keep);
}

void hp_mempool_cache_release(struct hp_mempool *pool)
{
	struct mp_tls_entry *e;
	struct mp_cache *c;

	if (pool == NULL || mp_tls.self == 0)
		return;
	e = mp_tls_find(pool);
	if (e != NULL)
		*e = (struct mp_tls_entry){ 0 };
	c = mp_cache_find(pool, mp_tls.self);
	if (c == NULL)
		return;
	mp_cache_flush(pool, c);
	__atomic_store_n(&c->owner, MP_OWNER_FREE, __ATOMIC_RELEASE);
}

/* Whether thread tid of process pid may still run. A zombie (dead, not yet
 * reaped) still takes signals, so its state is read from /proc; when that
 * cannot be read, the thread counts as alive. */
static bool mp_thread_alive(pid_t pid, pid_t tid)
{
	char path[64], buf[256], *state;
	ssize_t len;
	int fd;

	if (syscall(SYS_tgkill, pid, tid, 0) < 0)
		return errno != ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return true;
	buf[len] = '\0';
	/* "tid (comm) S ...": comm may hold anything, even ") ". */
	state = strrchr(buf, ')');
	if (state == NULL || state[1] == '\0')
		return true;
	return state[2] != 'Z' && state[2] != 'X';
}

int hp_mempool_reclaim_pid(struct hp_mempool *pool, pid_t pid)
{
	int total = 0;
	/* Thread ids are this process's own view when it reclaims its own
	 * caches; another process's ids are checked under its pid. */
	pid_t probe = pid == mp_owner() ? getpid() : pid;

	if (pool == NULL || pid <= 0)
		return -EINVAL;
	for (unsigned i = 0; i < pool->nb_caches; i++) {
		struct mp_cache *c = mp_cache_at(pool, i);
		uint64_t owner = __atomic_load_n(&c->owner, __ATOMIC_ACQUIRE);

		if (owner == MP_OWNER_FREE || owner == MP_OWNER_RECLAIM ||
		    (pid_t)(owner >> 32) != pid ||
		    mp_thread_alive(probe, (pid_t)(uint32_t)owner))
			continue;
		/* Another reclaim may have taken it meanwhile. */
		if (!__atomic_compare_exchange_n(&c->owner, &owner,
						 MP_OWNER_RECLAIM, false,
						 __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		total += mp_cache_flush(pool, c);
		__atomic_store_n(&c->owner, MP_OWNER_FREE, __ATOMIC_RELEASE);
	}
	return total;
}
