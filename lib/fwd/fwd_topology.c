/* SPDX-License-Identifier: BSD-3-Clause */
/* The port topologies (paired, chained, loop, oneway): their names, and
 * the partner each gives a port of the stream table. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "fwd_private.h"

static const char *const fwd_topology_names[HP_FWD_NB_TOPOLOGIES] = {
	[HP_FWD_TOPO_PAIRED] = "paired",
	[HP_FWD_TOPO_CHAINED] = "chained",
	[HP_FWD_TOPO_LOOP] = "loop",
	[HP_FWD_TOPO_ONEWAY] = "oneway",
};

const char *hp_fwd_topology_name(enum hp_fwd_topology topo)
{
	return (unsigned)topo < HP_FWD_NB_TOPOLOGIES ?
		       fwd_topology_names[topo] : NULL;
}

int hp_fwd_topology_parse(const char *name)
{
	for (int t = 0; name && t < HP_FWD_NB_TOPOLOGIES; t++)
		if (!strcmp(name, fwd_topology_names[t]))
			return t;
	return -EINVAL;
}

int fwd_topology_partner(enum hp_fwd_topology topo, unsigned i, unsigned n)
{
	assert(i < n);
	switch (topo) {
	case HP_FWD_TOPO_CHAINED:
		return (int)((i + 1) % n);
	case HP_FWD_TOPO_LOOP:
		return (int)i;
	case HP_FWD_TOPO_ONEWAY:
		return i + 1 < n ? (int)i + 1 : -1;
	case HP_FWD_TOPO_PAIRED:
	default:
		return (int)((i ^ 1) < n ? i ^ 1 : i);
	}
}
