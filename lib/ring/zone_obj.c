/* SPDX-License-Identifier: BSD-3-Clause */
/* Named objects in shm zones: name checks, zone names, magic words. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hp_log.h"
#include "hp_shm.h"
#include "zone_obj.h"

int zone_obj_name_check(const char *name, size_t name_max)
{
	if (name == NULL || name[0] == '\0')
		return -EINVAL;
	if (strnlen(name, name_max) == name_max)
		return -ENAMETOOLONG;
	return 0;
}

/* Writes "kind:name" to zone; -ENAMETOOLONG when it does not fit. */
static int zone_obj_zone(const char *kind, const char *name,
			 char zone[HP_SHM_ZONE_NAME_MAX])
{
	int len = snprintf(zone, HP_SHM_ZONE_NAME_MAX, "%s:%s", kind, name);

	return len < HP_SHM_ZONE_NAME_MAX ? 0 : -ENAMETOOLONG;
}

int zone_obj_reserve(struct hp_shm *shm, const char *kind, const char *name,
		     size_t name_max, size_t len, void **ret_mem)
{
	char zone[HP_SHM_ZONE_NAME_MAX];
	int ret = zone_obj_name_check(name, name_max);

	if (ret == 0)
		ret = zone_obj_zone(kind, name, zone);
	if (ret < 0)
		return ret;
	ret = hp_shm_zone_reserve(shm, zone, len, HP_CACHE_LINE, ret_mem);
	if (ret < 0)
		HP_DEBUG(kind, "%s: no zone of %zu bytes: %s", name, len,
			 strerror(-ret));
	return ret;
}

int zone_obj_lookup(struct hp_shm *shm, const char *kind, const char *name,
		    size_t name_max, uint32_t magic, void **ret_mem)
{
	char zone[HP_SHM_ZONE_NAME_MAX];
	size_t len;
	void *mem;
	int ret = zone_obj_name_check(name, name_max);

	if (ret == 0)
		ret = zone_obj_zone(kind, name, zone);
	/* A name too long for any object names none. */
	if (ret == -ENAMETOOLONG)
		return -ENOENT;
	if (ret < 0)
		return ret;
	ret = hp_shm_zone_lookup(shm, zone, &mem, &len);
	if (ret < 0)
		return ret;
	if (len < name_max + sizeof(uint32_t) ||
	    __atomic_load_n((uint32_t *)((char *)mem + name_max),
			    __ATOMIC_ACQUIRE) != magic)
		return -ENOENT;
	*ret_mem = mem;
	return 0;
}

void zone_obj_free(struct hp_shm *shm, const char *kind, const char *name)
{
	char zone[HP_SHM_ZONE_NAME_MAX];

	if (zone_obj_zone(kind, name, zone) == 0)
		hp_shm_zone_free(shm, zone);
}
