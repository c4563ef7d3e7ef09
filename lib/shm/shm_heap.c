/* SPDX-License-Identifier: BSD-3-Clause */
/* The shared heap, first fit over an address-ordered free list, and the
 * robust process-shared lock that guards it and the zone table.
 *
 * Blocks tile the heap from heap.start to heap.start + heap.len without gaps;
 * each starts with a struct shm_blk. Free blocks are chained through their
 * next field (offsets from the base, 0 ends the list) in address order, so
 * freeing a block merges it with the free neighbours on either side. An
 * allocation takes the first free block that holds the aligned request; when
 * alignment leaves a gap at the front large enough for a block, the gap stays
 * a free block, and so does a large enough rest at the end; smaller gaps are
 * part of the allocated block. A block's magic tells whether it is free,
 * from hp_shm_alloc, or a zone's, so that hp_shm_free refuses the others.
 * Offsets, not pointers: the heap is the same in every process.
 */
#include <errno.h>
#include <string.h>

#include "hp_log.h"
#include "shm_private.h"

#define SHM_BLK_FREE 0x45455246u /* "FREE" */
#define SHM_BLK_USED 0x44455355u /* "USED" */
#define SHM_BLK_ZONE 0x454e4f5au /* "ZONE" */
/* Block offsets and sizes are multiples of this (bytes). */
#define SHM_BLK_GRAIN 16u
/* Smallest block: a header and one grain (bytes). */
#define SHM_BLK_MIN (sizeof(struct shm_blk) + SHM_BLK_GRAIN)
/* Smallest gap worth a free block of its own; a smaller one stays part of
 * the allocated block next to it (bytes). */
#define SHM_BLK_SPLIT (sizeof(struct shm_blk) + 32u)

/* Fields are written by any process holding the lock. */
struct shm_blk {
	uint64_t size;	/* of the block, this header included (bytes) */
	uint64_t next;	/* free block: next free one (offset), 0: none */
	uint32_t magic; /* SHM_BLK_FREE, SHM_BLK_USED or SHM_BLK_ZONE */
	uint32_t pad0;	/* unused */
	uint64_t pad1;	/* unused; the header stays a multiple of the grain */
};

#define SHM_BLK_HDR ((uint64_t)sizeof(struct shm_blk))

static struct shm_blk *shm_blk(struct shm_hdr *hdr, uint64_t off)
{
	return (struct shm_blk *)((char *)hdr + off);
}

int shm_lock(struct shm_hdr *hdr)
{
	int r = pthread_mutex_lock(&hdr->lock);

	if (r == EOWNERDEAD) {
		HP_WARN(SHM_LOG,
			"a process died holding the shared memory lock; recovering it");
		r = pthread_mutex_consistent(&hdr->lock);
		/* It may have died inside the heap: trust it only if whole. */
		if (r == 0 && shm_heap_check(hdr) < 0) {
			HP_ERR(SHM_LOG,
			       "the shared heap is damaged; restart the instance");
			r = ENOTRECOVERABLE;
		}
		if (r)
			pthread_mutex_unlock(&hdr->lock);
	}
	if (r) {
		HP_DEBUG(SHM_LOG, "shared memory lock: %s", strerror(r));
		return -r;
	}
	return 0;
}

void shm_unlock(struct shm_hdr *hdr)
{
	pthread_mutex_unlock(&hdr->lock);
}

void shm_heap_init(struct shm_hdr *hdr, uint64_t start, uint64_t end)
{
	struct shm_heap *h = &hdr->heap;
	struct shm_blk *b;

	start = HP_ALIGN_UP(start, (uint64_t)SHM_BLK_GRAIN);
	end &= ~(uint64_t)(SHM_BLK_GRAIN - 1);
	h->start = start;
	h->len = end - start;
	h->free_head = start;
	h->free_bytes = h->len;
	h->used_bytes = 0;
	b = shm_blk(hdr, start);
	b->size = h->len;
	b->next = 0;
	b->magic = SHM_BLK_FREE;
	h->clean = start + SHM_BLK_HDR;
}

/* Where the aligned memory for len bytes would start in the free block at
 * off, or 0 if it does not fit. Alignment is of the address, not of the
 * offset: the base need not be aligned to a large align. */
static uint64_t shm_heap_fit(struct shm_hdr *hdr, uint64_t off, uint64_t len,
			     uint64_t align)
{
	uint64_t base = (uint64_t)(uintptr_t)hdr;
	uint64_t user = HP_ALIGN_UP(base + off + SHM_BLK_HDR, align) - base;
	uint64_t gap = user - SHM_BLK_HDR - off;

	if (gap && gap < SHM_BLK_SPLIT)
		user = HP_ALIGN_UP(base + off + SHM_BLK_SPLIT + SHM_BLK_HDR,
				   align) - base;
	return user + len <= off + shm_blk(hdr, off)->size ? user : 0;
}

/* Allocates the block for memory at user from the free block *link points
 * to, giving back the gaps in front and behind when they make blocks. */
static void shm_heap_carve(struct shm_hdr *hdr, uint64_t *link, uint64_t user,
			   uint64_t len, uint32_t magic)
{
	uint64_t off = *link, at = user - SHM_BLK_HDR, end = user + len;
	struct shm_blk *b = shm_blk(hdr, off), *a;
	uint64_t b_end = off + b->size, next = b->next;

	if (b_end - end >= SHM_BLK_SPLIT) {
		struct shm_blk *t = shm_blk(hdr, end);

		t->size = b_end - end;
		t->next = next;
		t->magic = SHM_BLK_FREE;
		next = end;
		b_end = end;
	}
	if (at > off) {
		b->size = at - off;
		b->next = next;
	} else {
		*link = next;
	}
	a = shm_blk(hdr, at);
	a->size = b_end - at;
	a->next = 0;
	a->magic = magic;
	hdr->heap.free_bytes -= a->size;
	hdr->heap.used_bytes += a->size;
}

int shm_heap_alloc(struct shm_hdr *hdr, size_t len, size_t align, bool zone,
		   uint64_t *ret_off)
{
	struct shm_heap *h = &hdr->heap;
	uint64_t *link, off, user = 0;

	if (len == 0 || (align & (align - 1))) {
		HP_DEBUG(SHM_LOG, "bad allocation: %zu bytes aligned to %zu",
			 len, align);
		return -EINVAL;
	}
	if (len > h->len || align > h->len)
		goto err_nomem;
	len = HP_ALIGN_UP(len, (size_t)SHM_BLK_GRAIN);
	if (align < SHM_BLK_GRAIN)
		align = align ? SHM_BLK_GRAIN : HP_CACHE_LINE;
	for (link = &h->free_head; (off = *link) != 0;
	     link = &shm_blk(hdr, off)->next) {
		user = shm_heap_fit(hdr, off, len, align);
		if (user)
			break;
	}
	if (!off)
		goto err_nomem;
	shm_heap_carve(hdr, link, user, len,
		       zone ? SHM_BLK_ZONE : SHM_BLK_USED);
	/* Zero what was written before; memory never touched is zero
	 * already, and left untouched its pages cost nothing until used
	 * (no page faults at start-up for a pool that is not used yet). */
	if (user < h->clean)
		memset((char *)hdr + user, 0,
		       (h->clean < user + len ? h->clean : user + len) - user);
	/* the carve may have put a free block's header right behind */
	if (h->clean < user + len + SHM_BLK_HDR)
		h->clean = user + len + SHM_BLK_HDR;
	*ret_off = user;
	return 0;

err_nomem:
	HP_DEBUG(SHM_LOG, "no free block of %zu bytes aligned to %zu", len,
		 align);
	return -ENOMEM;
}

/* Merges the free block at off with the next one if they touch. */
static void shm_heap_merge(struct shm_hdr *hdr, uint64_t off)
{
	struct shm_blk *b = shm_blk(hdr, off), *n;

	if (!b->next || off + b->size != b->next)
		return;
	n = shm_blk(hdr, b->next);
	b->size += n->size;
	b->next = n->next;
	n->magic = 0;
}

int shm_heap_free(struct shm_hdr *hdr, uint64_t user, bool zone)
{
	struct shm_heap *h = &hdr->heap;
	uint64_t off = user - SHM_BLK_HDR, prev = 0, *link;
	struct shm_blk *b = shm_blk(hdr, off);

	if (user < h->start + SHM_BLK_HDR || user >= h->start + h->len ||
	    user % SHM_BLK_GRAIN ||
	    b->magic != (zone ? SHM_BLK_ZONE : SHM_BLK_USED) ||
	    b->size < SHM_BLK_MIN || b->size > h->start + h->len - off) {
		HP_DEBUG(SHM_LOG, "offset 0x%llx is not an allocated block",
			 (unsigned long long)user);
		return -EINVAL;
	}
	h->used_bytes -= b->size;
	h->free_bytes += b->size;
	b->magic = SHM_BLK_FREE;
	for (link = &h->free_head; *link && *link < off;
	     link = &shm_blk(hdr, prev)->next)
		prev = *link;
	b->next = *link;
	*link = off;
	shm_heap_merge(hdr, off);
	if (prev)
		shm_heap_merge(hdr, prev);
	return 0;
}

int shm_heap_check(struct shm_hdr *hdr)
{
	struct shm_heap *h = &hdr->heap;
	uint64_t off, next_free = h->free_head, fr = 0, used = 0;

	for (off = h->start; off < h->start + h->len;
	     off += shm_blk(hdr, off)->size) {
		struct shm_blk *b = shm_blk(hdr, off);

		if (b->size < SHM_BLK_MIN || b->size % SHM_BLK_GRAIN)
			return -EUCLEAN;
		if (b->magic == SHM_BLK_FREE) {
			/* Free blocks are listed in address order and never
			 * touch: they would have been merged. */
			if (off != next_free || b->next == off + b->size)
				return -EUCLEAN;
			next_free = b->next;
			fr += b->size;
		} else if (b->magic != SHM_BLK_USED &&
			   b->magic != SHM_BLK_ZONE) {
			return -EUCLEAN;
		} else {
			used += b->size;
		}
	}
	if (off != h->start + h->len || next_free || fr != h->free_bytes ||
	    used != h->used_bytes)
		return -EUCLEAN;
	return 0;
}

int hp_shm_alloc(struct hp_shm *shm, size_t len, size_t align, void **ret_addr)
{
	uint64_t off;
	int r;

	if (!shm || !ret_addr) {
		HP_DEBUG(SHM_LOG, "hp_shm_alloc: no handle or no result");
		return -EINVAL;
	}
	r = shm_lock(shm->hdr);
	if (r < 0)
		return r;
	r = shm_heap_alloc(shm->hdr, len, align, false, &off);
	shm_unlock(shm->hdr);
	if (r < 0)
		return r;
	*ret_addr = (char *)shm->hdr + off;
	return 0;
}

void hp_shm_free(struct hp_shm *shm, void *addr)
{
	int r;

	if (!shm || !addr)
		return;
	if (!hp_shm_contains(shm, addr)) {
		r = -EINVAL;
		goto err;
	}
	r = shm_lock(shm->hdr);
	if (r < 0)
		goto err;
	r = shm_heap_free(shm->hdr, (uint64_t)((char *)addr - (char *)shm->hdr),
			  false);
	shm_unlock(shm->hdr);
	if (r < 0)
		goto err;
	return;

err:
	HP_ERR(SHM_LOG, "hp_shm_free(%p): not memory from hp_shm_alloc (%s)",
	       addr, strerror(-r));
}

void hp_shm_heap_stats(struct hp_shm *shm, size_t *ret_free, size_t *ret_used)
{
	uint64_t free_bytes, used_bytes;

	if (!shm || shm_lock(shm->hdr) < 0)
		return;
	free_bytes = shm->hdr->heap.free_bytes;
	used_bytes = shm->hdr->heap.used_bytes;
	shm_unlock(shm->hdr);
	if (ret_free)
		*ret_free = free_bytes;
	if (ret_used)
		*ret_used = used_bytes;
}
