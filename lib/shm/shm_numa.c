/* SPDX-License-Identifier: BSD-3-Clause */
/* NUMA placement: turns --socket-mem into segments and binds each to its
 * node with libnuma. */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>

#include "hp_log.h"
#include "shm_private.h"

/* Most entries --socket-mem may list (libnuma's usual node limit). */
#define SHM_NUMA_MAX_NODES 1024
/* Largest entry (MB): 1 EiB, far beyond any machine, and no overflow. */
#define SHM_NUMA_MAX_MB (1ULL << 40)

int shm_numa_nodes(void)
{
	if (numa_available() < 0 || numa_num_configured_nodes() < 2)
		return 1;
	return numa_max_node() + 1;
}

/* Reads one "MB" item; -EINVAL unless it is digits only and fits in bytes. */
static int shm_numa_parse_mb(const char *s, const char *end, uint64_t *ret_len)
{
	uint64_t mb = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		mb = mb * 10 + (uint64_t)(*s - '0');
		if (mb > SHM_NUMA_MAX_MB)
			return -EINVAL;
	}
	*ret_len = mb << 20;
	return 0;
}

/* Adds one node's share to plan: its own segment on a NUMA machine, the one
 * node-blind segment otherwise. */
static int shm_numa_add(struct shm_plan *plan, int node, int nb_nodes,
			uint64_t len)
{
	if (len == 0)
		return 0;
	if (node >= nb_nodes)
		return -EINVAL;
	if (nb_nodes == 1) {
		plan->nb_segs = 1;
		plan->len[0] = len;
		plan->node[0] = -1;
		return 0;
	}
	if (plan->nb_segs == HP_SHM_MAX_SEGS)
		return -EINVAL;
	plan->len[plan->nb_segs] = len;
	plan->node[plan->nb_segs++] = node;
	return 0;
}

int shm_numa_plan(const char *socket_mem, int nb_nodes, size_t mem_size,
		  struct shm_plan *ret_plan)
{
	struct shm_plan plan = { .nb_segs = 0 };
	const char *s = socket_mem;
	int node = 0, r = 0;

	if (!socket_mem) {
		ret_plan->nb_segs = 1;
		ret_plan->len[0] = mem_size ? mem_size : HP_SHM_DEFAULT_SIZE;
		ret_plan->node[0] = -1;
		return 0;
	}
	if (mem_size)
		r = -EINVAL;
	for (; r == 0; node++) {
		const char *end = strchr(s, ',');
		uint64_t len;

		if (!end)
			end = s + strlen(s);
		r = node < SHM_NUMA_MAX_NODES ?
			    shm_numa_parse_mb(s, end, &len) : -EINVAL;
		if (r == 0)
			r = shm_numa_add(&plan, node, nb_nodes, len);
		if (*end == '\0')
			break;
		s = end + 1;
	}
	if (r == 0 && plan.nb_segs == 0)
		r = -EINVAL;
	if (r < 0) {
		HP_DEBUG(SHM_LOG,
			 "bad socket memory \"%s\" for %d node(s)%s", socket_mem,
			 nb_nodes, mem_size ? " with a total size" : "");
		return r;
	}
	*ret_plan = plan;
	return 0;
}

int hp_shm_socket_mem_check(const char *spec)
{
	struct shm_plan plan;

	/* As if every node existed: what is left is the syntax. */
	if (!spec || shm_numa_plan(spec, SHM_NUMA_MAX_NODES, 0, &plan) < 0)
		return -EINVAL;
	if (shm_numa_plan(spec, shm_numa_nodes(), 0, &plan) < 0)
		return -ENODEV;
	return 0;
}

int shm_numa_bind(void *addr, size_t len, int node)
{
	struct bitmask *mask = numa_allocate_nodemask();
	int r = 0;

	numa_bitmask_setbit(mask, (unsigned)node);
	if (mbind(addr, len, MPOL_BIND, mask->maskp, mask->size + 1, 0) < 0) {
		r = -errno;
		HP_DEBUG(SHM_LOG, "binding %zu bytes at %p to node %d: %s", len,
			 addr, node, strerror(-r));
	}
	numa_bitmask_free(mask);
	return r;
}
