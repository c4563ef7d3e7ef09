/* SPDX-License-Identifier: BSD-3-Clause */
/* NUMA placement: turns --socket-mem into segments and binds each to its
 * node with libnuma.
 *
 * libnuma is loaded (dlopen) only on a machine with more than one node
 * online, as the kernel lists them in /sys/devices/system/node/online:
 * elsewhere placement is a no-op, and a process that links libnuma pays
 * for mapping it and for its constructor, which reads four files of /proc
 * and /sys at every start. */
#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_dl.h"
#include "hp_log.h"
#include "shm_private.h"

#define SHM_NUMA_SONAME "libnuma.so.1"
#define SHM_NUMA_ONLINE "/sys/devices/system/node/online"

/* The calls into libnuma, typed from its headers. */
static struct {
	__typeof__(numa_available) *available;
	__typeof__(numa_num_configured_nodes) *num_configured_nodes;
	__typeof__(numa_max_node) *max_node;
	__typeof__(numa_allocate_nodemask) *allocate_nodemask;
	__typeof__(numa_bitmask_setbit) *bitmask_setbit;
	__typeof__(numa_bitmask_free) *bitmask_free;
	__typeof__(mbind) *mbind;
} shm_numa;

#define SHM_NUMA_SYM(f, name) { name, (void **)&shm_numa.f }

static const struct hp_dl_sym shm_numa_syms[] = {
	SHM_NUMA_SYM(available, "numa_available"),
	SHM_NUMA_SYM(num_configured_nodes, "numa_num_configured_nodes"),
	SHM_NUMA_SYM(max_node, "numa_max_node"),
	SHM_NUMA_SYM(allocate_nodemask, "numa_allocate_nodemask"),
	SHM_NUMA_SYM(bitmask_setbit, "numa_bitmask_setbit"),
	SHM_NUMA_SYM(bitmask_free, "numa_bitmask_free"),
	SHM_NUMA_SYM(mbind, "mbind"),
};

static struct hp_dl_lib shm_numa_dl =
	HP_DL_LIB("libnuma", SHM_NUMA_SONAME, "libnuma1", shm_numa_syms);

/* Whether the kernel lists more than node 0 online (no file: no NUMA). */
static bool shm_numa_multi_node(void)
{
	char buf[64];
	ssize_t n = -1;
	int fd = open(SHM_NUMA_ONLINE, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, "0\n") != 0 && strcmp(buf, "0") != 0;
}

/* Most entries --socket-mem may list (libnuma's usual node limit). */
#define SHM_NUMA_MAX_NODES 1024
/* Largest entry (MB): 1 EiB, far beyond any machine, and no overflow. */
#define SHM_NUMA_MAX_MB (1ULL << 40)

int shm_numa_nodes(void)
{
	int r;

	if (!shm_numa_multi_node())
		return 1;
	r = hp_dl_load(&shm_numa_dl);
	if (r < 0) {
		HP_WARN(SHM_LOG, "more than one NUMA node, but memory is not placed: %s",
			shm_numa_dl.why);
		return 1;
	}
	if (shm_numa.available() < 0 || shm_numa.num_configured_nodes() < 2)
		return 1;
	return shm_numa.max_node() + 1;
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

const char *shm_numa_why(void)
{
	return shm_numa_dl.why;
}

int shm_numa_bind(void *addr, size_t len, int node)
{
	struct bitmask *mask;
	int r = hp_dl_load(&shm_numa_dl);

	if (r < 0) {
		HP_DEBUG(SHM_LOG, "cannot place memory on node %d: %s", node,
			 shm_numa_dl.why);
		return r;
	}
	mask = shm_numa.allocate_nodemask();
	shm_numa.bitmask_setbit(mask, (unsigned)node);
	if (shm_numa.mbind(addr, len, MPOL_BIND, mask->maskp, mask->size + 1,
			   0) < 0) {
		r = -errno;
		HP_DEBUG(SHM_LOG, "binding %zu bytes at %p to node %d: %s", len,
			 addr, node, strerror(-r));
	}
	shm_numa.bitmask_free(mask);
	return r;
}
