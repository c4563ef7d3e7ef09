/* SPDX-License-Identifier: BSD-3-Clause */
/* Libraries loaded when first needed (dlopen), so that a process that
 * never uses them does not pay for mapping them at start-up. */
#ifndef HP_DL_H
#define HP_DL_H

#include <stddef.h>

#include "hp_common.h"

/* One function to look up, and where its address goes. */
struct hp_dl_sym {
	const char *name;
	void **fn;
};

/* Opens soname and fills every syms[i].fn: 0; -ELIBACC when the library
 * cannot be opened, -ELIBBAD when a function is missing (then every fn is
 * NULL again), with dlerror's words in why (whylen bytes). The library
 * stays loaded. Call it once (pthread_once). */
HP_API int hp_dl_open(const char *soname, const struct hp_dl_sym *syms,
		      unsigned nb, char *why, size_t whylen);

#endif
