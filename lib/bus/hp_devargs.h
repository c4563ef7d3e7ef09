/* SPDX-License-Identifier: BSD-3-Clause */
/* Device arguments: "name[,key=value...]" as --vdev and port attach take
 * them, or a PCI address. */
#ifndef HP_DEVARGS_H
#define HP_DEVARGS_H

#include <stdbool.h>

#include "hp_common.h"

/* Most key=value pairs one devargs string holds. */
#define HP_DEVARGS_MAX_KV 32

/* A parsed devargs string; pointers point into the struct's own buffer. */
struct hp_devargs {
	char name[HP_NAME_MAX];	/* "net_null0" or "0000:01:00.0" */
	bool is_pci;		/* name is a PCI address */
	unsigned nb_kv;
	const char *keys[HP_DEVARGS_MAX_KV];
	const char *values[HP_DEVARGS_MAX_KV];
	char buf[HP_DEVARGS_MAX + 1];
};

/* Parses str into da. Writes a one-line reason to err (errlen bytes, may
 * be NULL) on failure: -EINVAL empty, bad name, bad or duplicate key,
 * -ENAMETOOLONG longer than HP_DEVARGS_MAX or a name over HP_NAME_MAX - 1,
 * -E2BIG too many keys. Pure; any thread. */
HP_API int hp_devargs_parse(const char *str, struct hp_devargs *da, char *err,
			    size_t errlen);

/* The value of key, or NULL if it is absent. */
HP_API const char *hp_devargs_get(const struct hp_devargs *da, const char *key);

/* Checks that every key is in allowed (NULL-terminated); on failure writes
 * the reason naming the key and the allowed ones and returns -EINVAL. */
HP_API int hp_devargs_check_keys(const struct hp_devargs *da,
				 const char *const *allowed, char *err,
				 size_t errlen);

/* Parses an unsigned value of key within [min, max], or def if absent;
 * -EINVAL with a reason when it is not a number in range. */
HP_API int hp_devargs_get_uint(const struct hp_devargs *da, const char *key,
			       unsigned long min, unsigned long max,
			       unsigned long def, unsigned long *ret_value,
			       char *err, size_t errlen);

/* Whether str is a PCI address (DDDD:BB:DD.F or BB:DD.F). */
HP_API bool hp_devargs_is_pci_addr(const char *str);

#endif
