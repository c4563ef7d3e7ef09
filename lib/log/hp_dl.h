/* SPDX-License-Identifier: BSD-3-Clause */
/* Libraries loaded when first needed (dlopen), so that a process that
 * never uses them does not pay for mapping them at start-up. Internal:
 * not installed, not exported from libhotport.so. */
#ifndef HP_DL_H
#define HP_DL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "hp_common.h"

/* One function to look up, and where its address goes. */
struct hp_dl_sym {
	const char *name;
	void **fn;
};

/* A library to load when first needed: declare it with HP_DL_LIB; the
 * rest is hp_dl_load's. */
struct hp_dl_lib {
	const char *name;	/* "libpcap", for the reason */
	const char *soname;
	const char *package;	/* the Debian package that has it */
	const struct hp_dl_sym *syms;
	unsigned nb;
	pthread_mutex_t lock;
	bool tried;		/* loaded, or failed for good */
	int res;		/* 0, -ELIBACC or -ELIBBAD */
	char why[256];		/* res < 0: "cannot load NAME (dlerror's
				 * words): apt-get install PACKAGE" */
};

/* The initializer of a struct hp_dl_lib for the functions in the array
 * syms. */
#define HP_DL_LIB(name_, soname_, package_, syms_)                            \
	{ .name = (name_), .soname = (soname_), .package = (package_),      \
	  .syms = (syms_), .nb = HP_ARRAY_SIZE(syms_),                       \
	  .lock = PTHREAD_MUTEX_INITIALIZER }

/* Opens lib->soname and fills every syms[i].fn, the first time (any
 * thread; later calls return the first result): 0; -ELIBACC when the
 * library cannot be opened, -ELIBBAD when a function is missing (then
 * every fn is NULL again), with the reason, one line, in lib->why. The library
 * stays loaded. */
int hp_dl_load(struct hp_dl_lib *lib);

#endif
