/* SPDX-License-Identifier: BSD-3-Clause */
/* Named zones: heap blocks found by name from any process. */
#include <errno.h>
#include <string.h>

#include "hp_log.h"
#include "shm_private.h"

static int shm_zone_name_check(const char *name)
{
	if (!name || !name[0])
		return -EINVAL;
	if (strnlen(name, HP_SHM_ZONE_NAME_MAX) == HP_SHM_ZONE_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The zone called name, or with name "" the first free slot; NULL if none.
 * Caller holds the lock. */
static struct shm_zone *shm_zone_find(struct shm_hdr *hdr, const char *name)
{
	for (unsigned i = 0; i < HP_SHM_MAX_ZONES; i++)
		if (!strncmp(hdr->zones[i].name, name, HP_SHM_ZONE_NAME_MAX))
			return &hdr->zones[i];
	return NULL;
}

/* Checks the arguments every zone call shares and takes the lock. */
static int shm_zone_begin(struct hp_shm *shm, const char *name)
{
	int r = shm_zone_name_check(name);

	if (r == 0 && !shm)
		r = -EINVAL;
	if (r == 0)
		r = shm_lock(shm->hdr);
	if (r < 0)
		HP_DEBUG(SHM_LOG, "zone \"%.*s\": %s", HP_SHM_ZONE_NAME_MAX,
			 name ? name : "(null)", strerror(-r));
	return r;
}

/* Unlocks and logs the outcome of a zone call. */
static int shm_zone_end(struct hp_shm *shm, const char *name, int r)
{
	shm_unlock(shm->hdr);
	if (r < 0)
		HP_DEBUG(SHM_LOG, "zone \"%s\": %s", name, strerror(-r));
	return r;
}

int hp_shm_zone_reserve(struct hp_shm *shm, const char *name, size_t len,
			size_t align, void **ret_addr)
{
	struct shm_zone *z;
	uint64_t off;
	int r;

	/* Without ret_addr the call is as bad as without a name. */
	r = shm_zone_begin(shm, ret_addr ? name : NULL);
	if (r < 0)
		return r;
	if (shm_zone_find(shm->hdr, name))
		return shm_zone_end(shm, name, -EEXIST);
	z = shm_zone_find(shm->hdr, "");
	if (!z)
		return shm_zone_end(shm, name, -ENOSPC);
	r = shm_heap_alloc(shm->hdr, len, align, true, &off);
	if (r < 0)
		return shm_zone_end(shm, name, r);
	z->off = off;
	z->len = len;
	memcpy(z->name, name, strlen(name) + 1);
	shm_zone_end(shm, name, 0);
	*ret_addr = (char *)shm->hdr + off;
	return 0;
}

/* Takes the lock and finds the zone called name; -ENOENT (unlocked) if
 * there is none. */
static int shm_zone_open(struct hp_shm *shm, const char *name,
			 struct shm_zone **ret_zone)
{
	struct shm_zone *z;
	int r = shm_zone_begin(shm, name);

	if (r < 0)
		return r;
	z = shm_zone_find(shm->hdr, name);
	if (!z)
		return shm_zone_end(shm, name, -ENOENT);
	*ret_zone = z;
	return 0;
}

int hp_shm_zone_lookup(struct hp_shm *shm, const char *name, void **ret_addr,
		       size_t *ret_len)
{
	struct shm_zone *z;
	uint64_t off, len;
	int r = shm_zone_open(shm, name, &z);

	if (r < 0)
		return r;
	off = z->off;
	len = z->len;
	shm_zone_end(shm, name, 0);
	if (ret_addr)
		*ret_addr = (char *)shm->hdr + off;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int hp_shm_zone_free(struct hp_shm *shm, const char *name)
{
	struct shm_zone *z;
	int r = shm_zone_open(shm, name, &z);

	if (r < 0)
		return r;
	r = shm_heap_free(shm->hdr, z->off, true);
	if (r == 0)
		memset(z, 0, sizeof(*z));
	return shm_zone_end(shm, name, r);
}
