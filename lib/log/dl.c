/* SPDX-License-Identifier: BSD-3-Clause */
/* Libraries loaded when first needed. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#include "hp_dl.h"
#include "hp_log.h"

static int dl_open(const char *soname, const struct hp_dl_sym *syms,
		   unsigned nb, char *why, size_t whylen)
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

int hp_dl_load(struct hp_dl_lib *lib)
{
	int r;

	pthread_mutex_lock(&lib->lock);
	if (!lib->tried) {
		char err[200];

		lib->res = dl_open(lib->soname, lib->syms, lib->nb, err,
				   sizeof(err));
		if (lib->res < 0)
			snprintf(lib->why, sizeof(lib->why),
				 "cannot load %s (%s): apt-get install %s",
				 lib->name, err, lib->package);
		lib->tried = true;
	}
	r = lib->res;
	pthread_mutex_unlock(&lib->lock);
	return r;
}
