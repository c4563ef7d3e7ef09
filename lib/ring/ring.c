/* SPDX-License-Identifier: BSD-3-Clause */
/* Ring layout on caller-provided memory, and rings as named shm zones. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hp_log.h"
#include "hp_ring.h"
#include "hp_shm.h"

#define RING_MAGIC 0x676e6972u /* "ring" */
#define RING_ZONE_PREFIX "ring:"

static_assert(sizeof(RING_ZONE_PREFIX) - 1 + HP_RING_NAME_MAX <=
		      HP_SHM_ZONE_NAME_MAX,
	      "a ring's zone name must fit in a shm zone name");
static_assert(offsetof(struct hp_ring, cons) - offsetof(struct hp_ring, prod) >=
		      2 * HP_CACHE_LINE,
	      "producer and consumer must not share a prefetched line pair");

static bool ring_count_ok(unsigned count)
{
	return count != 0 && (count & (count - 1)) == 0 &&
	       count <= HP_RING_SIZE_MAX;
}

/* 0 for a name that fits, -EINVAL or -ENAMETOOLONG. */
static int ring_name_check(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return -EINVAL;
	if (strnlen(name, HP_RING_NAME_MAX) == HP_RING_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Writes the shm zone name of ring name; name passed ring_name_check. */
static void ring_zone_name(const char *name, char zone[HP_SHM_ZONE_NAME_MAX])
{
	snprintf(zone, HP_SHM_ZONE_NAME_MAX, RING_ZONE_PREFIX "%s", name);
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
	ret = ring_name_check(name);
	if (ret < 0)
		return ret;

	memset(r, 0, sizeof(*r));
	strcpy(r->name, name);
	r->size = count;
	r->mask = count - 1;
	r->flags = flags;
	r->prod.single = !!(flags & HP_RING_F_SP_ENQ);
	r->cons.single = !!(flags & HP_RING_F_SC_DEQ);
	__atomic_store_n(&r->magic, RING_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int hp_ring_create(struct hp_shm *shm, const char *name, unsigned count,
		   unsigned flags, struct hp_ring **ret_ring)
{
	char zone[HP_SHM_ZONE_NAME_MAX];
	ssize_t len = hp_ring_memsize(count);
	void *mem;
	int ret;

	if (shm == NULL || ret_ring == NULL || len < 0)
		return -EINVAL;
	ret = ring_name_check(name);
	if (ret < 0)
		return ret;
	ring_zone_name(name, zone);
	ret = hp_shm_zone_reserve(shm, zone, len, HP_CACHE_LINE, &mem);
	if (ret < 0) {
		HP_DEBUG("ring", "%s: no zone of %zd bytes: %s", name, len,
			 strerror(-ret));
		return ret;
	}
	ret = hp_ring_init(mem, name, count, flags);
	if (ret < 0)
		goto err_free_zone;
	*ret_ring = mem;
	return 0;

err_free_zone:
	hp_shm_zone_free(shm, zone);
	return ret;
}

int hp_ring_lookup(struct hp_shm *shm, const char *name,
		   struct hp_ring **ret_ring)
{
	char zone[HP_SHM_ZONE_NAME_MAX];
	struct hp_ring *r;
	size_t len;
	void *mem;
	int ret;

	if (shm == NULL || ret_ring == NULL)
		return -EINVAL;
	ret = ring_name_check(name);
	if (ret < 0)
		return ret == -ENAMETOOLONG ? -ENOENT : ret;
	ring_zone_name(name, zone);
	ret = hp_shm_zone_lookup(shm, zone, &mem, &len);
	if (ret < 0)
		return ret;
	r = mem;
	/* A zone reserved but not yet laid out by hp_ring_create. */
	if (len < sizeof(*r) ||
	    __atomic_load_n(&r->magic, __ATOMIC_ACQUIRE) != RING_MAGIC)
		return -ENOENT;
	*ret_ring = r;
	return 0;
}

void hp_ring_free(struct hp_shm *shm, struct hp_ring *ring)
{
	char zone[HP_SHM_ZONE_NAME_MAX];

	if (shm == NULL || ring == NULL)
		return;
	ring_zone_name(ring->name, zone);
	__atomic_store_n(&ring->magic, 0, __ATOMIC_RELEASE);
	hp_shm_zone_free(shm, zone);
}
