/* SPDX-License-Identifier: BSD-3-Clause */
/* Libraries loaded when first needed. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#include "hp_dl.h"
#include "hp_log.h"

int hp_dl_open(const char *soname, const struct hp_dl_sym *syms, unsigned nb,
	       char *why, size_t whylen)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	unsigned i;

	if (!h) {
		snprintf(why, whylen, "%s", dlerror());
		HP_DEBUG("dl", "cannot open %s: %s", soname, why);
		return -ELIBACC;
	}
	for (i = 0; i < nb; i++) {
		*syms[i].fn = dlsym(h, syms[i].name);
		if (!*syms[i].fn)
			break;
	}
	if (i < nb) {
		/* an older library than the headers we were built with */
		snprintf(why, whylen, "%s", dlerror());
		for (unsigned k = 0; k < nb; k++)
			*syms[k].fn = NULL;
		dlclose(h);
		HP_DEBUG("dl", "%s: %s", soname, why);
		return -ELIBBAD;
	}
	return 0;
}
