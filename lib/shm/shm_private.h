/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals of lib/shm: the shared header's layout and the helpers the
 * component's files share. */
#ifndef SHM_PRIVATE_H
#define SHM_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hp_shm.h"

#define SHM_LOG "shm"
/* "HOTPORT\0" read as a little-endian integer. */
#define SHM_MAGIC 0x0054524f50544f48ULL
/* Longest prefix, without its NUL. */
#define SHM_PREFIX_MAX 64

/* A zone: a named heap block. */
struct shm_zone {
	char name[HP_SHM_ZONE_NAME_MAX]; /* NUL-terminated, "" when free; any process, under lock */
	uint64_t off;			  /* offset of the memory from the base (bytes); any process, under lock */
	uint64_t len;			  /* bytes asked for; any process, under lock */
};

/* One segment as the header records it. */
struct shm_hdr_seg {
	uint64_t addr;	  /* virtual address (same in every process); primary, at create */
	uint64_t len;	  /* bytes; primary, at create */
	uint32_t huge_sz; /* page size (bytes); primary, at create */
	int32_t node;	  /* NUMA node, -1 if not placed; primary, at create */
};

/* Heap bookkeeping; the blocks themselves are described in shm_heap.c. */
struct shm_heap {
	uint64_t start;	     /* offset of the first block from the base (bytes); primary, at create */
	uint64_t len;	     /* bytes from start to the heap's end; primary, at create */
	uint64_t free_head;  /* offset of the first free block, 0 if none; any process, under lock */
	uint64_t free_bytes; /* bytes in free blocks, headers included; any process, under lock */
	uint64_t used_bytes; /* bytes in used blocks, headers included; any process, under lock */
};

/* The shared header at the base address (first bytes of segment 0). */
struct shm_hdr {
	uint64_t magic;		  /* SHM_MAGIC; primary, at create, last */
	uint32_t layout_version;  /* HP_SHM_LAYOUT_VERSION; primary, at create */
	uint32_t nb_segs;	  /* entries used in segs; primary, at create */
	uint64_t total_size;	  /* bytes over all segments; primary, at create */
	struct shm_hdr_seg segs[HP_SHM_MAX_SEGS]; /* primary, at create */
	pthread_mutex_t lock HP_CACHE_ALIGNED; /* robust, process-shared: guards zones and heap */
	struct shm_heap heap;	  /* under lock */
	struct shm_zone zones[HP_SHM_MAX_ZONES]; /* under lock */
};

/* This process's handle. */
struct hp_shm {
	struct shm_hdr *hdr;	/* at the base address */
	bool primary;		/* created (true) or attached (false) */
	bool huge;		/* segments are on hugepages */
	int lock_fd;		/* primary: <dir>/lock, held; -1 otherwise */
	unsigned nb_segs;
	struct hp_shm_seg segs[HP_SHM_MAX_SEGS]; /* fds are this process's */
	char dir[PATH_MAX];
};

/* What the primary will map: one entry per segment, sizes not yet rounded. */
struct shm_plan {
	unsigned nb_segs;
	uint64_t len[HP_SHM_MAX_SEGS]; /* bytes asked for */
	int node[HP_SHM_MAX_SEGS];     /* NUMA node, -1: no placement */
};

/* shm_dir.c */
int shm_prefix_check(const char *prefix);
int shm_dir_lock(struct hp_shm *shm, const char *prefix, gid_t ipc_group);
void shm_dir_unlock(struct hp_shm *shm);

/* shm_map.c */
int shm_map_plan(struct hp_shm *shm, const char *prefix,
		 const struct shm_plan *plan, uintptr_t base, bool no_huge,
		 bool huge_1g);
int shm_map_seg(const struct hp_shm_seg *seg);
void shm_unmap_all(struct hp_shm *shm);
void shm_log_addr_taken(uint64_t addr, uint64_t len);

/* shm_numa.c */
int shm_numa_plan(const char *socket_mem, int nb_nodes, size_t mem_size,
		  struct shm_plan *ret_plan);
int shm_numa_nodes(void);
int shm_numa_bind(void *addr, size_t len, int node);

/* shm_heap.c */
int shm_lock(struct shm_hdr *hdr);
void shm_unlock(struct shm_hdr *hdr);
void shm_heap_init(struct shm_hdr *hdr, uint64_t start, uint64_t end);
int shm_heap_alloc(struct shm_hdr *hdr, size_t len, size_t align, bool zone,
		   uint64_t *ret_off);
int shm_heap_free(struct shm_hdr *hdr, uint64_t off, bool zone);
/* Walks every block: 0 if the heap is consistent, -EUCLEAN if not. Caller
 * holds the lock (or is alone). For tests. */
int shm_heap_check(struct shm_hdr *hdr);

#endif
