/* SPDX-License-Identifier: BSD-3-Clause */
/* Ring layout on caller-provided memory, and rings as named shm zones. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hp_ring.h"
#include "hp_shm.h"
#include "zone_obj.h"

#define RING_MAGIC 0x676e6972u /* "ring" */
#define RING_KIND "ring"

static_assert(offsetof(struct hp_ring, magic) == HP_RING_NAME_MAX,
	      "a named zone object: the magic word follows the name");
static_assert(sizeof(RING_KIND) + HP_RING_NAME_MAX <= HP_SHM_ZONE_NAME_MAX,
	      "a ring's zone name must fit in a shm zone name");
static_assert(offsetof(struct hp_ring, cons) -
			      offsetof(struct hp_ring, prod) >= 2 * HP_CACHE_LINE,
	      "producer and consumer must not share a prefetched line pair");

static bool ring_count_ok(unsigned count)
{
	return count != 0 && (count & (count - 1)) == 0 &&
	       count <= HP_RING_SIZE_MAX;
}

ssize_t hp_ring_memsize(unsigned count)
{
	if (!ring_count_ok(count))
		return -EINVAL;
	return sizeof(struct hp_ring) + (size_t)count * sizeof(void *);
}

int hp_ring_init(void *mem, const char *name, unsigned count, unsigned flags)
{
	struct hp_ring *r = mem;
	int ret;

	if (mem == NULL || (uintptr_t)mem % HP_CACHE_LINE != 0 ||
	    !ring_count_ok(count) ||
	    (flags & ~(HP_RING_F_SP_ENQ | HP_RING_F_SC_DEQ)) != 0)
		return -EINVAL;
	ret = zone_obj_name_check(name, HP_RING_NAME_MAX);
	if (ret < 0)
		return ret;

	memset(r, 0, sizeof(*r));
	strcpy(r->name, name);
	r->size = count;
	r->mask = count - 1;
	r->prod.single = !!(flags & HP_RING_F_SP_ENQ);
	r->cons.single = !!(flags & HP_RING_F_SC_DEQ);
	__atomic_store_n(&r->magic, RING_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int hp_ring_create(struct hp_shm *shm, const char *name, unsigned count,
		   unsigned flags, struct hp_ring **ret_ring)
{
	ssize_t len = hp_ring_memsize(count);
	void *mem;
	int ret;

	if (shm == NULL || ret_ring == NULL || len < 0)
		return -EINVAL;
	ret = zone_obj_reserve(shm, RING_KIND, name, HP_RING_NAME_MAX, len,
			       &mem);
	if (ret < 0)
		return ret;
	ret = hp_ring_init(mem, name, count, flags);
	if (ret < 0)
		goto err_free_zone;
	*ret_ring = mem;
	return 0;

err_free_zone:
	zone_obj_free(shm, RING_KIND, name);
	return ret;
}

int hp_ring_lookup(struct hp_shm *shm, const char *name,
		   struct hp_ring **ret_ring)
{
	void *mem;
	int ret;

	if (shm == NULL || ret_ring == NULL)
		return -EINVAL;
	ret = zone_obj_lookup(shm, RING_KIND, name, HP_RING_NAME_MAX,
			      RING_MAGIC, &mem);
	if (ret < 0)
		return ret;
	*ret_ring = mem;
	return 0;
}

void hp_ring_free(struct hp_shm *shm, struct hp_ring *ring)
{
	if (shm == NULL || ring == NULL)
		return;
	__atomic_store_n(&ring->magic, 0, __ATOMIC_RELEASE);
	zone_obj_free(shm, RING_KIND, ring->name);
}
