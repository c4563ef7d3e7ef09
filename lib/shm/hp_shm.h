/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared memory: the per-instance runtime dir, memfd segments mapped at one
 * address in every process, named zones and a shared heap. */
#ifndef HP_SHM_H
#define HP_SHM_H

#include <stdbool.h>
#include <sys/types.h>

#include "hp_common.h"

/* Layout version of shared memory (header, port table, packet buffers);
 * bump it whenever a shared struct changes. A secondary of another one is
 * refused, with both versions named. */
#define HP_SHM_LAYOUT_VERSION 3
/* Most segments one instance maps (one per NUMA node at most). */
#define HP_SHM_MAX_SEGS 8
/* Longest zone name, with its NUL. */
#define HP_SHM_ZONE_NAME_MAX 32
/* Most zones one instance holds at a time. */
#define HP_SHM_MAX_ZONES 256
/* Default base address of the mapping in every process: 32 TiB, above the
 * range AddressSanitizer reserves for its shadow gap on x86-64 (16 TiB, the
 * first choice, lies inside it), below where the kernel puts mmap and the
 * stack. */
#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer keeps 0x1000'0000'0000 and up for itself; its low
 * application range is below 0x80'0000'0000. */
#define HP_SHM_DEFAULT_BASE 0x4000000000ULL
#else
#define HP_SHM_DEFAULT_BASE 0x200000000000ULL
#endif
/* Longest instance name (--file-prefix), without its NUL. */
#define HP_SHM_PREFIX_MAX 64
/* Default total size of shared memory (bytes). */
#define HP_SHM_DEFAULT_SIZE (64ULL << 20)

struct hp_shm;

/* What the primary asks for; zero-filled means every default. */
struct hp_shm_opts {
	const char *prefix;	/* instance name; NULL: "hotport" */
	size_t mem_size;	/* total bytes; 0: HP_SHM_DEFAULT_SIZE */
	uintptr_t base_virtaddr; /* 0: HP_SHM_DEFAULT_BASE; aligned to the page
				  * size (the hugepage size unless no_huge) */
	bool no_huge;		/* ordinary pages even if hugepages are free */
	bool huge_1g;		/* 1 GiB pages instead of 2 MiB */
	const char *socket_mem; /* "MB[,MB...]" per NUMA node; NULL: node-blind;
				 * excludes mem_size */
	gid_t ipc_group;	/* group allowed in the runtime dir; 0: none */
};

/* One segment as a secondary needs it to map the same memory. */
struct hp_shm_seg {
	int fd;		  /* memfd; the receiver owns it */
	uint64_t addr;	  /* virtual address in every process */
	uint64_t len;	  /* bytes */
	uint32_t huge_sz; /* page size in bytes (4096 for ordinary pages) */
	int32_t node;	  /* NUMA node, -1 if not placed */
};

/* Checks an instance name: 1 to HP_SHM_PREFIX_MAX printable characters,
 * no '/' or blank, not "." or "..". 0 or -EINVAL. Pure; any thread. */
HP_API int hp_shm_prefix_check(const char *prefix);

/* Checks a socket_mem spec ("MB[,MB...]": one size per NUMA node from node
 * 0, not all 0) against this machine. 0, -EINVAL bad syntax, a size over
 * 1 EiB or more than HP_SHM_MAX_SEGS nodes given memory, -ENODEV memory
 * for a node this machine does not have. Any thread. */
HP_API int hp_shm_socket_mem_check(const char *spec);

/* Writes the runtime dir of prefix ("/run/hotport/<prefix>" for root, else
 * "$XDG_RUNTIME_DIR/hotport/<prefix>") to buf; -EINVAL for a bad prefix
 * (empty, '/', "..", longer than 64), -ENAMETOOLONG if buf is too short.
 * Any process, any thread. */
HP_API int hp_shm_runtime_dir(const char *prefix, char *buf, size_t len);

/* Primary: creates the runtime dir (0700, or 0750 with ipc_group), takes its
 * exclusive lock, creates and maps the memory, and lays out the shared
 * header; pairs with hp_shm_destroy. A stale dir of a dead primary is
 * reused. Hugepages fall back to ordinary pages with one warning. On
 * failure writes a one-line reason to err (errlen bytes; may be NULL):
 * the path of the runtime dir, the address range. -EEXIST when a live
 * primary holds the prefix, -EINVAL for bad options, -ENOMEM when even
 * ordinary pages cannot be had, -EADDRINUSE when the address range is
 * taken, other negative errnos from the kernel. */
HP_API int hp_shm_primary_create(const struct hp_shm_opts *opts,
				 struct hp_shm **ret_shm, char *err,
				 size_t errlen);

/* Secondary: maps segments received from the primary at their addresses
 * (MAP_FIXED_NOREPLACE) and checks the shared header; takes ownership of the
 * fds on success and on failure; pairs with hp_shm_destroy. On failure
 * writes a one-line reason to err (errlen bytes; may be NULL).
 * -EADDRINUSE when a range is taken in this process (the reason names the
 * range and says to restart the primary with another --base-virtaddr),
 * -EPROTO for a wrong magic or layout version, -EINVAL for a bad
 * descriptor. */
HP_API int hp_shm_secondary_attach(const char *prefix,
				   const struct hp_shm_seg *segs,
				   unsigned nb_segs, struct hp_shm **ret_shm,
				   char *err, size_t errlen);

/* Removes the runtime dir of prefix that a dead primary left (socket,
 * lock file), if no live primary holds it: what the last secondary does
 * when its primary died. 0 when removed or already gone, -EEXIST when a
 * live primary holds the prefix. Any process. */
HP_API int hp_shm_runtime_dir_reap(const char *prefix);

/* Unmaps, closes the fds; the primary also unlocks and removes the runtime
 * dir. Accepts NULL. */
HP_API void hp_shm_destroy(struct hp_shm *shm);

/* Fills segs with the descriptors to send to a secondary (fds are this
 * process's, not dup'ed); returns how many, or -ENOSPC if max is too small. */
HP_API int hp_shm_segments(const struct hp_shm *shm, struct hp_shm_seg *segs,
			   unsigned max);

/* The runtime dir of this instance. */
HP_API const char *hp_shm_dir(const struct hp_shm *shm);
/* Whether the memory is on hugepages. */
HP_API bool hp_shm_is_huge(const struct hp_shm *shm);
/* Base address (the same in every process). */
HP_API void *hp_shm_base(const struct hp_shm *shm);
/* Total mapped bytes. */
HP_API size_t hp_shm_size(const struct hp_shm *shm);
/* Whether addr lies inside the shared mapping. */
HP_API bool hp_shm_contains(const struct hp_shm *shm, const void *addr);

/* Reserves a named zone of len bytes aligned to align (power of two, 0 means
 * cache line), zero-filled, from the shared heap; pairs with
 * hp_shm_zone_free. -EEXIST if the name is taken, -ENAMETOOLONG, -EINVAL,
 * -ENOMEM, -ENOSPC when the zone table (HP_SHM_MAX_ZONES) is full. Any process,
 * any thread. */
HP_API int hp_shm_zone_reserve(struct hp_shm *shm, const char *name, size_t len,
			       size_t align, void **ret_addr);

/* Finds a zone by name; -ENOENT if there is none. Any process. */
HP_API int hp_shm_zone_lookup(struct hp_shm *shm, const char *name,
			      void **ret_addr, size_t *ret_len);

/* Frees a zone and its memory; -ENOENT if there is none. Any process. */
HP_API int hp_shm_zone_free(struct hp_shm *shm, const char *name);

/* Allocates len bytes aligned to align (0: cache line) from the shared heap,
 * zero-filled; pairs with hp_shm_free. -ENOMEM, -EINVAL. Any process, any
 * thread (a robust process-shared lock: a holder's death does not block). */
HP_API int hp_shm_alloc(struct hp_shm *shm, size_t len, size_t align,
			void **ret_addr);

/* Returns memory from hp_shm_alloc to the heap. Accepts NULL; anything else
 * that is not a live block from hp_shm_alloc (a zone, a double free) is
 * refused with an error line. Any process, any thread. */
HP_API void hp_shm_free(struct hp_shm *shm, void *addr);

/* Heap figures: bytes free and bytes in use (block headers included, so
 * free + used stays constant), for leak checks; either pointer may be NULL.
 * Any process, any thread. */
HP_API void hp_shm_heap_stats(struct hp_shm *shm, size_t *ret_free,
			      size_t *ret_used);

#endif
