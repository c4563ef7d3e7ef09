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

/* In the shared structs below, each field's comment gives its unit and its
 * writer: "primary" is the primary, once, at create before any secondary
 * exists; "locked" is any process holding shm_hdr.lock. */

/* A zone: a named heap block. */
struct shm_zone {
	char name[HP_SHM_ZONE_NAME_MAX]; /* NUL-ended, "" if free; locked */
	uint64_t off;			 /* from the base (bytes); locked */
	uint64_t len;			 /* bytes asked for; locked */
};

/* One segment as the header records it. */
struct shm_hdr_seg {
	uint64_t addr;	  /* virtual address, same everywhere; primary */
	uint64_t len;	  /* bytes; primary */
	uint32_t huge_sz; /* page size (bytes); primary */
	int32_t node;	  /* NUMA node, -1 if not placed; primary */
};

/* Heap bookkeeping; shm_heap.c describes the blocks. */
struct shm_heap {
	uint64_t start;	     /* first block, from the base (bytes); primary */
	uint64_t len;	     /* bytes from start to the end; primary */
	uint64_t free_head;  /* first free block (offset), 0: none; locked */
	uint64_t free_bytes; /* in free blocks, headers too (bytes); locked */
	uint64_t used_bytes; /* in used blocks, headers too (bytes); locked */
	uint64_t clean;	     /* offset from which no byte was ever written:
			      * still the zeros of a new memfd; locked */
};

/* The shared header at the base address (first bytes of segment 0). */
struct shm_hdr {
	uint64_t magic;		 /* SHM_MAGIC; primary, last */
	uint32_t layout_version; /* HP_SHM_LAYOUT_VERSION; primary */
	uint32_t nb_segs;	 /* entries used in segs (count); primary */
	uint64_t total_size;	 /* all segments (bytes); primary */
	struct shm_hdr_seg segs[HP_SHM_MAX_SEGS]; /* primary */
	/* Robust, process-shared; guards heap and zones. Initialized by the
	 * primary, then taken by any process. */
	pthread_mutex_t lock HP_CACHE_ALIGNED;
	struct shm_heap heap;			 /* locked */
	struct shm_zone zones[HP_SHM_MAX_ZONES]; /* locked */
};

/* This process's handle. */
struct hp_shm {
	struct shm_hdr *hdr;	/* at the base address */
	bool primary;		/* created (true) or attached (false) */
	bool huge;		/* segments are on hugepages */
	int lock_fd;		/* primary: <dir>/lock, held; -1 otherwise */
	pid_t pid;		/* process that made the handle */
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
int shm_dir_lock(struct hp_shm *shm, const char *prefix, gid_t ipc_group,
		 char *err, size_t errlen);
void shm_dir_unlock(struct hp_shm *shm);

/* shm_map.c */
int shm_map_plan(struct hp_shm *shm, const char *prefix,
		 const struct shm_plan *plan, uintptr_t base, bool no_huge,
		 bool huge_1g);
int shm_map_seg(const struct hp_shm_seg *seg);
void shm_unmap_all(struct hp_shm *shm);

/* shm_numa.c */
int shm_numa_plan(const char *socket_mem, int nb_nodes, size_t mem_size,
		  struct shm_plan *ret_plan);
int shm_numa_nodes(void);
int shm_numa_bind(void *addr, size_t len, int node);
/* Why libnuma could not be loaded (shm_numa_bind's -ELIBACC, -ELIBBAD). */
const char *shm_numa_why(void);

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
