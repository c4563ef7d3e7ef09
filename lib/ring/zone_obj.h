/* SPDX-License-Identifier: BSD-3-Clause */
/* Named objects in shm zones, for the components that keep them (ring,
 * mbuf); internal to libhotport, not installed. A candidate for lib/shm.
 *
 * An object of kind K named N lives in the zone "K:N". It starts with its
 * name (name_max bytes) followed by a 32-bit magic word, set last when the
 * object is laid out and cleared before it is freed; lookup checks it. */
#ifndef ZONE_OBJ_H
#define ZONE_OBJ_H

#include <stddef.h>
#include <stdint.h>

struct hp_shm;

/* 0 for a name that fits in name_max bytes with its NUL; -EINVAL for NULL
 * or empty, -ENAMETOOLONG. */
int zone_obj_name_check(const char *name, size_t name_max);

/* Reserves the zone of len bytes (cache-line aligned) for object name of
 * kind; -EINVAL, -ENAMETOOLONG, or the error of hp_shm_zone_reserve. */
int zone_obj_reserve(struct hp_shm *shm, const char *kind, const char *name,
		     size_t name_max, size_t len, void **ret_mem);

/* Finds object name of kind whose magic word is magic; -ENOENT also when
 * the zone is there but the object is not laid out yet. */
int zone_obj_lookup(struct hp_shm *shm, const char *kind, const char *name,
		    size_t name_max, uint32_t magic, void **ret_mem);

/* Frees the zone of object name of kind (the caller clears the magic
 * word first, if it set it). */
void zone_obj_free(struct hp_shm *shm, const char *kind, const char *name);

#endif
