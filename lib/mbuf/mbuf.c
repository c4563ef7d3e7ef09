/* SPDX-License-Identifier: BSD-3-Clause */
/* Pools of packet buffers: their layout on caller-provided memory, pools
 * as named shm zones, and buffer allocation with reset and reference
 * counts.
 *
 * Layout of a pool, from mem: struct hp_mempool; nb_caches cache slots of
 * cache_stride bytes; the ring of free buffers (a power of two of slots,
 * at least size); size struct hp_mbuf headers, one after the other; size
 * data rooms of elt_size bytes. Every part starts on a cache line. The
 * headers are apart from the data so that laying out a pool writes a few
 * pages, not every page of every data room: on ordinary (4 KiB) pages a
 * data room is then first touched when a packet is written to it. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hp_log.h"
#include "hp_shm.h"
#include "mbuf_private.h"
#include "zone_obj.h"

#define MP_MAGIC 0x6c6f6f70u /* "pool" */
#define MP_KIND "pool"

static_assert(offsetof(struct hp_mempool, magic) == HP_MEMPOOL_NAME_MAX,
	      "a named zone object: the magic word follows the name");
static_assert(sizeof(MP_KIND) + HP_MEMPOOL_NAME_MAX <= HP_SHM_ZONE_NAME_MAX,
	      "a pool's zone name must fit in a shm zone name");
static_assert(HP_MEMPOOL_NAME_MAX <= HP_RING_NAME_MAX,
	      "a pool's ring takes the pool's name");

/* Where the parts of a pool go; all offsets from the pool's start. */
struct mp_layout {
	size_t cache_stride;
	size_t ring_off;
	size_t hdrs_off;
	size_t elts_off;
	size_t elt_size;
	size_t total;
	unsigned ring_count;
	unsigned nb_caches;
};

static unsigned mp_pow2_above(unsigned n)
{
	unsigned p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* 0 and *lay filled, or -EINVAL for arguments no pool can have. */
static int mp_layout(unsigned n, unsigned cache_size, unsigned nb_caches,
		     uint16_t data_room, struct mp_layout *lay)
{
	ssize_t ring_len;

	if (n == 0 || n > HP_RING_SIZE_MAX ||
	    cache_size > HP_MEMPOOL_CACHE_MAX || data_room < HP_MBUF_HEADROOM)
		return -EINVAL;
	lay->nb_caches = cache_size ? nb_caches : 0;
	lay->cache_stride =
		HP_ALIGN_UP(sizeof(struct mp_cache) +
				    2 * cache_size * sizeof(struct hp_mbuf *),
			    (size_t)HP_CACHE_LINE);
	lay->ring_count = mp_pow2_above(n);
	ring_len = hp_ring_memsize(lay->ring_count);
	assert(ring_len > 0);
	lay->ring_off = sizeof(struct hp_mempool) +
			(size_t)lay->nb_caches * lay->cache_stride;
	lay->hdrs_off = lay->ring_off + HP_ALIGN_UP((size_t)ring_len,
						    (size_t)HP_CACHE_LINE);
	lay->elts_off = lay->hdrs_off + (size_t)n * sizeof(struct hp_mbuf);
	lay->elt_size = HP_ALIGN_UP((size_t)data_room, (size_t)HP_CACHE_LINE);
	lay->total = lay->elts_off + (size_t)n * lay->elt_size;
	return 0;
}

ssize_t hp_mempool_memsize(unsigned n, unsigned cache_size,
			   unsigned nb_caches, uint16_t data_room)
{
	struct mp_layout lay;
	int ret = mp_layout(n, cache_size, nb_caches, data_room, &lay);

	return ret < 0 ? ret : (ssize_t)lay.total;
}

/* Sets the fields of m that stay as they are for its whole life. */
static void mp_mbuf_init(struct hp_mempool *pool, struct hp_mbuf *m,
			 char *data)
{
	memset(m, 0, sizeof(*m));
	m->buf_addr = data;
	m->pool = pool;
	m->buf_len = pool->data_room;
	m->data_off = HP_MBUF_HEADROOM;
	m->port = HP_MBUF_PORT_INVALID;
}

int hp_mempool_init(void *mem, const char *name, unsigned n,
		    unsigned cache_size, unsigned nb_caches, uint16_t data_room)
{
	struct hp_mempool *pool = mem;
	struct mp_layout lay;
	int ret;

	if (mem == NULL || (uintptr_t)mem % HP_CACHE_LINE != 0)
		return -EINVAL;
	ret = mp_layout(n, cache_size, nb_caches, data_room, &lay);
	if (ret < 0)
		return ret;
	ret = zone_obj_name_check(name, HP_MEMPOOL_NAME_MAX);
	if (ret < 0)
		return ret;

	memset(pool, 0, sizeof(*pool) + lay.nb_caches * lay.cache_stride);
	strcpy(pool->name, name);
	pool->size = n;
	pool->cache_size = lay.nb_caches ? cache_size : 0;
	pool->nb_caches = lay.nb_caches;
	pool->cache_stride = lay.cache_stride;
	pool->elt_size = lay.elt_size;
	pool->data_room = data_room;
	pool->caches = (char *)mem + sizeof(*pool);
	pool->ring = (struct hp_ring *)((char *)mem + lay.ring_off);
	pool->hdrs = (char *)mem + lay.hdrs_off;
	pool->elts = (char *)mem + lay.elts_off;
	ret = hp_ring_init(pool->ring, name, lay.ring_count, 0);
	assert(ret == 0);
	for (unsigned i = 0; i < n; i++) {
		struct hp_mbuf *m = (struct hp_mbuf *)pool->hdrs + i;

		mp_mbuf_init(pool, m, pool->elts + (size_t)i * lay.elt_size);
		hp_ring_sp_enqueue_bulk(pool->ring, (void **)&m, 1);
	}
	__atomic_store_n(&pool->magic, MP_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int hp_mempool_create(struct hp_shm *shm, const char *name, unsigned n,
		      unsigned cache_size, uint16_t data_room,
		      struct hp_mempool **ret_pool)
{
	ssize_t len = hp_mempool_memsize(n, cache_size, HP_MEMPOOL_CACHES,
					 data_room);
	void *mem;
	int ret;

	if (shm == NULL || ret_pool == NULL || len < 0)
		return -EINVAL;
	ret = zone_obj_reserve(shm, MP_KIND, name, HP_MEMPOOL_NAME_MAX, len,
			       &mem);
	if (ret < 0)
		return ret;
	ret = hp_mempool_init(mem, name, n, cache_size, HP_MEMPOOL_CACHES,
			      data_room);
	if (ret < 0)
		goto err_free_zone;
	*ret_pool = mem;
	return 0;

err_free_zone:
	zone_obj_free(shm, MP_KIND, name);
	return ret;
}

int hp_mempool_lookup(struct hp_shm *shm, const char *name,
		      struct hp_mempool **ret_pool)
{
	void *mem;
	int ret;

	if (shm == NULL || ret_pool == NULL)
		return -EINVAL;
	ret = zone_obj_lookup(shm, MP_KIND, name, HP_MEMPOOL_NAME_MAX,
			      MP_MAGIC, &mem);
	if (ret < 0)
		return ret;
	*ret_pool = mem;
	return 0;
}

void hp_mempool_destroy(struct hp_shm *shm, struct hp_mempool *pool)
{
	unsigned avail;

	if (shm == NULL || pool == NULL)
		return;
	avail = hp_mempool_avail(pool);
	if (avail != pool->size)
		HP_DEBUG("mbuf", "%s: destroyed with %u of %u buffers out",
			 pool->name, pool->size - avail, pool->size);
	__atomic_store_n(&pool->magic, 0, __ATOMIC_RELEASE);
	zone_obj_free(shm, MP_KIND, pool->name);
}

void hp_mempool_stats(const struct hp_mempool *pool,
		      struct hp_mempool_stats *ret_stats)
{
	struct hp_mempool_stats st = {
		.size = pool->size,
		.nb_caches = pool->nb_caches,
		.in_ring = hp_ring_count(pool->ring),
	};

	for (unsigned i = 0; i < pool->nb_caches; i++) {
		const struct mp_cache *c = mp_cache_at(pool, i);

		if (__atomic_load_n(&c->owner, __ATOMIC_ACQUIRE) ==
		    MP_OWNER_FREE)
			continue;
		st.caches_used++;
		st.in_caches += __atomic_load_n(&c->len, __ATOMIC_RELAXED);
	}
	*ret_stats = st;
}

unsigned hp_mempool_avail(const struct hp_mempool *pool)
{
	struct hp_mempool_stats st;
	unsigned avail;

	hp_mempool_stats(pool, &st);
	avail = st.in_ring + st.in_caches;
	/* Buffers moving between a cache and the ring may count twice. */
	return avail > st.size ? st.size : avail;
}

unsigned hp_mempool_data_room(const struct hp_mempool *pool)
{
	return pool->data_room;
}

unsigned hp_mempool_size(const struct hp_mempool *pool)
{
	return pool->size;
}

/* The fields an alloc resets, data_off to next, are one run of bytes,
 * copied from a template: a few stores a buffer instead of a dozen. */
#define MP_RESET_OFF offsetof(struct hp_mbuf, data_off)
#define MP_RESET_LEN (sizeof(struct hp_mbuf) - MP_RESET_OFF)
static_assert(offsetof(struct hp_mbuf, next) + sizeof(void *) ==
		      sizeof(struct hp_mbuf),
	      "the reset run is data_off to next, the last field");
static_assert(sizeof(struct hp_mbuf) == 64, "an mbuf is one cache line");

int hp_mbuf_alloc_bulk(struct hp_mempool *pool, struct hp_mbuf **mbufs,
		       unsigned n)
{
	struct hp_mbuf tmpl = {
		.data_off = HP_MBUF_HEADROOM,
		.buf_len = pool ? pool->data_room : 0,
		.port = HP_MBUF_PORT_INVALID,
		.refcnt = 1,
		.nb_segs = 1,
	};
	int ret;

	if (HP_UNLIKELY(pool == NULL || mbufs == NULL))
		return -EINVAL;
	ret = mp_get(pool, mbufs, n);
	if (HP_UNLIKELY(ret < 0))
		return ret;
	/* The buffers are this thread's alone until it passes them on
	 * (through a ring, with release), so plain stores do. */
	for (unsigned i = 0; i < n; i++)
		memcpy((char *)mbufs[i] + MP_RESET_OFF,
		       (const char *)&tmpl + MP_RESET_OFF, MP_RESET_LEN);
	return 0;
}

/* Drops one reference of m; true when it was the last. */
static inline bool mp_mbuf_unref(struct hp_mbuf *m)
{
	/* The only reference is ours: nobody else can change the count. */
	if (__atomic_load_n(&m->refcnt, __ATOMIC_RELAXED) == 1) {
		__atomic_store_n(&m->refcnt, 0, __ATOMIC_RELAXED);
		return true;
	}
	return __atomic_sub_fetch(&m->refcnt, 1, __ATOMIC_ACQ_REL) == 0;
}

/* Hands each run of consecutive buffers that go back to the same pool to
 * that pool at once, straight from the caller's array. */
void hp_mbuf_free_bulk(struct hp_mbuf **mbufs, unsigned n)
{
	struct hp_mempool *pool = NULL; /* of the run [start, i) */
	unsigned start = 0;

	if (HP_UNLIKELY(mbufs == NULL))
		return;
	for (unsigned i = 0; i < n; i++) {
		struct hp_mbuf *m = mbufs[i];
		bool last = m != NULL && mp_mbuf_unref(m);

		if (HP_UNLIKELY(last && m->next)) {
			hp_mbuf_free_segs(m->next);
			m->next = NULL;
		}
		if (last && m->pool == pool)
			continue;
		if (i > start)
			mp_put(pool, mbufs + start, i - start);
		pool = last ? m->pool : NULL;
		start = last ? i : i + 1;
	}
	if (n > start)
		mp_put(pool, mbufs + start, n - start);
}

void hp_mbuf_free_segs(struct hp_mbuf *seg)
{
	while (seg) {
		struct hp_mbuf *next = seg->next;

		if (mp_mbuf_unref(seg)) {
			seg->next = NULL;
			mp_put(seg->pool, &seg, 1);
		}
		seg = next;
	}
}

uint32_t hp_mbuf_read(const struct hp_mbuf *m, uint32_t off, void *dst,
		      uint32_t len)
{
	uint32_t done = 0;

	for (; m && done < len; m = m->next) {
		uint32_t n;

		if (off >= m->data_len) {
			off -= m->data_len;
			continue;
		}
		n = m->data_len - off;
		if (n > len - done)
			n = len - done;
		memcpy((char *)dst + done, (const char *)hp_mbuf_data(m) + off, n);
		done += n;
		off = 0;
	}
	return done;
}
