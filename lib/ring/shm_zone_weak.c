/* SPDX-License-Identifier: BSD-3-Clause */
/* Stand-ins for the shm zone calls until lib/shm implements them; the real
 * (strong) definitions replace these at link time. Delete this file once
 * lib/shm has landed. */
#include <errno.h>

#include "hp_shm.h"

__attribute__((weak)) int hp_shm_zone_reserve(struct hp_shm *shm,
					      const char *name, size_t len,
					      size_t align, void **ret_addr)
{
	(void)shm, (void)name, (void)len, (void)align, (void)ret_addr;
	return -ENOSYS;
}

__attribute__((weak)) int hp_shm_zone_lookup(struct hp_shm *shm,
					     const char *name, void **ret_addr,
					     size_t *ret_len)
{
	(void)shm, (void)name, (void)ret_addr, (void)ret_len;
	return -ENOSYS;
}

__attribute__((weak)) int hp_shm_zone_free(struct hp_shm *shm, const char *name)
{
	(void)shm, (void)name;
	return -ENOSYS;
}
