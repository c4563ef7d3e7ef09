/* SPDX-License-Identifier: BSD-3-Clause */
/* The primary's create, the secondary's attach, destroy, and what a handle
 * tells about the memory.
 *
 * The primary locks the runtime dir, maps the segments back to back from the
 * base address and writes the shared header at the base: magic (last),
 * layout version, segment table, the robust lock, the heap and the zone
 * table. A secondary maps the segments it received at the same addresses and
 * trusts nothing past the magic and layout version until both match.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_log.h"
#include "shm_private.h"

/* Smallest total size: the header and some heap (bytes). */
#define SHM_MIN_SIZE (sizeof(struct shm_hdr) + 4096)

static int shm_opts_check(const struct hp_shm_opts *opts, const char *prefix,
			  uintptr_t base, char *err, size_t errlen)
{
	uint64_t align = (uint64_t)sysconf(_SC_PAGESIZE);

	if (!opts->no_huge)
		align = opts->huge_1g ? 1ULL << 30 : 2ULL << 20;
	if (hp_shm_prefix_check(prefix) < 0)
		return hp_err_set(err, errlen, -EINVAL, "bad prefix");
	if (base % align)
		return hp_err_set(err, errlen, -EINVAL,
				  "base address 0x%llx is not aligned to the page size (%llu KiB)",
				  (unsigned long long)base,
				  (unsigned long long)align >> 10);
	return 0;
}

/* Why the memory of plan could not be mapped from base, in err. */
static int shm_map_err(const struct shm_plan *plan, uintptr_t base, int r,
		       char *err, size_t errlen)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < plan->nb_segs; i++)
		total += plan->len[i];
	if (r == -EADDRINUSE)
		return hp_err_set(err, errlen, r,
				  "address range 0x%llx-0x%llx is in use in this process: choose another --base-virtaddr",
				  (unsigned long long)base,
				  (unsigned long long)(base + total));
	if (r == -ELIBACC || r == -ELIBBAD)
		return hp_err_set(err, errlen, r,
				  "cannot place memory on NUMA nodes: %s",
				  shm_numa_why());
	return hp_err_set(err, errlen, r,
			  "cannot map %llu MiB of shared memory: %s",
			  (unsigned long long)(total >> 20), strerror(-r));
}

static int shm_hdr_init(struct hp_shm *shm)
{
	struct shm_hdr *hdr = (void *)(uintptr_t)shm->segs[0].addr;
	pthread_mutexattr_t attr;
	uint64_t total = 0;
	int r;

	for (unsigned i = 0; i < shm->nb_segs; i++) {
		hdr->segs[i].addr = shm->segs[i].addr;
		hdr->segs[i].len = shm->segs[i].len;
		hdr->segs[i].huge_sz = shm->segs[i].huge_sz;
		hdr->segs[i].node = shm->segs[i].node;
		total += shm->segs[i].len;
	}
	hdr->layout_version = HP_SHM_LAYOUT_VERSION;
	hdr->nb_segs = shm->nb_segs;
	hdr->total_size = total;
	r = pthread_mutexattr_init(&attr);
	if (r == 0)
		r = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (r == 0)
		r = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (r == 0)
		r = pthread_mutex_init(&hdr->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (r) {
		HP_DEBUG(SHM_LOG, "shared lock: %s", strerror(r));
		return -r;
	}
	shm_heap_init(hdr, sizeof(*hdr), total);
	__atomic_store_n(&hdr->magic, SHM_MAGIC, __ATOMIC_RELEASE);
	shm->hdr = hdr;
	return 0;
}

int hp_shm_primary_create(const struct hp_shm_opts *opts,
			  struct hp_shm **ret_shm, char *err, size_t errlen)
{
	static const struct hp_shm_opts defaults;
	struct shm_plan plan;
	struct hp_shm *shm;
	const char *prefix;
	uintptr_t base;
	uint64_t total = 0;
	int r;

	if (!opts)
		opts = &defaults;
	prefix = opts->prefix ? opts->prefix : "hotport";
	base = opts->base_virtaddr ? opts->base_virtaddr : HP_SHM_DEFAULT_BASE;
	r = ret_shm ? shm_opts_check(opts, prefix, base, err, errlen) :
		      hp_err_set(err, errlen, -EINVAL, "no handle");
	if (r < 0)
		goto err;
	r = shm_numa_plan(opts->socket_mem, shm_numa_nodes(), opts->mem_size,
			  &plan);
	if (r < 0) {
		hp_err_set(err, errlen, r, "bad socket memory '%s'",
			   opts->socket_mem);
		goto err;
	}
	for (unsigned i = 0; i < plan.nb_segs; i++)
		total += plan.len[i];
	if (total < SHM_MIN_SIZE) {
		r = hp_err_set(err, errlen, -EINVAL,
			       "%llu bytes of shared memory: less than the %zu the header needs",
			       (unsigned long long)total, SHM_MIN_SIZE);
		goto err;
	}
	shm = calloc(1, sizeof(*shm));
	if (!shm) {
		r = hp_err_set(err, errlen, -ENOMEM, "out of memory");
		goto err;
	}
	shm->primary = true;
	shm->lock_fd = -1;
	shm->pid = getpid();
	r = shm_dir_lock(shm, prefix, opts->ipc_group, err, errlen);
	if (r < 0)
		goto err_free;
	r = shm_map_plan(shm, prefix, &plan, base, opts->no_huge,
			 opts->huge_1g);
	if (r < 0) {
		shm_map_err(&plan, base, r, err, errlen);
		goto err_unlock;
	}
	r = shm_hdr_init(shm);
	if (r < 0) {
		hp_err_set(err, errlen, r, "cannot set up the shared lock: %s",
			   strerror(-r));
		goto err_unmap;
	}
	HP_DEBUG(SHM_LOG, "primary: %s, %zu bytes at %p on %s pages", shm->dir,
		 hp_shm_size(shm), hp_shm_base(shm),
		 shm->huge ? "huge" : "ordinary");
	*ret_shm = shm;
	return 0;

err_unmap:
	shm_unmap_all(shm);
err_unlock:
	shm_dir_unlock(shm);
err_free:
	free(shm);
err:
	HP_DEBUG(SHM_LOG, "cannot create shared memory for prefix \"%s\": %s",
		 prefix, strerror(-r));
	return r;
}

/* A descriptor a secondary can map: page-aligned, backed by enough file,
 * and right after the one before it. */
static int shm_seg_check(const struct hp_shm_seg *seg,
			 const struct hp_shm_seg *prev)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct stat st;

	if (seg->fd < 0 || !seg->len || seg->huge_sz < page ||
	    (seg->huge_sz & (seg->huge_sz - 1)) || seg->addr % seg->huge_sz ||
	    seg->len % seg->huge_sz ||
	    (prev && prev->addr + prev->len != seg->addr))
		return -EINVAL;
	if (fstat(seg->fd, &st) < 0)
		return -errno;
	return (uint64_t)st.st_size < seg->len ? -EINVAL : 0;
}

/* The header the primary wrote: first that it is ours and of our layout,
 * then that it describes the segments we were given. */
static int shm_hdr_check(const struct hp_shm *shm, char *err, size_t errlen)
{
	const struct shm_hdr *hdr = shm->hdr;

	if (shm->segs[0].len < sizeof(*hdr))
		return hp_err_set(err, errlen, -EINVAL,
				  "the first segment is too short for the header");
	if (__atomic_load_n(&hdr->magic, __ATOMIC_ACQUIRE) != SHM_MAGIC)
		return hp_err_set(err, errlen, -EPROTO,
				  "memory at 0x%llx is not hotport shared memory (magic 0x%llx, expected 0x%llx)",
				  (unsigned long long)shm->segs[0].addr,
				  (unsigned long long)hdr->magic,
				  (unsigned long long)SHM_MAGIC);
	if (hdr->layout_version != HP_SHM_LAYOUT_VERSION)
		return hp_err_set(err, errlen, -EPROTO,
				  "shared memory has layout version %u, this process expects version %u: rebuild both alike",
				  hdr->layout_version, HP_SHM_LAYOUT_VERSION);
	if (hdr->nb_segs != shm->nb_segs)
		return hp_err_set(err, errlen, -EINVAL,
				  "the header lists %u segments, %u were sent",
				  hdr->nb_segs, shm->nb_segs);
	for (unsigned i = 0; i < shm->nb_segs; i++)
		if (hdr->segs[i].addr != shm->segs[i].addr ||
		    hdr->segs[i].len != shm->segs[i].len)
			return hp_err_set(err, errlen, -EINVAL,
					  "segment %u is not where the header says",
					  i);
	return 0;
}

/* Why a secondary could not map segs, in err. */
static int shm_attach_err(const struct hp_shm_seg *segs, unsigned nb, int r,
			  char *err, size_t errlen)
{
	if (r == -EADDRINUSE)
		return hp_err_set(err, errlen, r,
				  "the primary's memory (0x%llx-0x%llx) overlaps a mapping of this process: restart the primary with --base-virtaddr ADDR, an address range free in every process",
				  (unsigned long long)segs[0].addr,
				  (unsigned long long)(segs[nb - 1].addr +
						       segs[nb - 1].len));
	return hp_err_set(err, errlen, r,
			  "cannot map the primary's memory: %s",
			  r == -EINVAL ? "bad segment" : strerror(-r));
}

static void shm_close_fds(const struct hp_shm_seg *segs, unsigned from,
			  unsigned to)
{
	for (unsigned i = from; segs && i < to; i++)
		if (segs[i].fd >= 0)
			close(segs[i].fd);
}

int hp_shm_secondary_attach(const char *prefix, const struct hp_shm_seg *segs,
			    unsigned nb_segs, struct hp_shm **ret_shm,
			    char *err, size_t errlen)
{
	struct hp_shm *shm = NULL;
	int r;

	if (!ret_shm || !segs || !nb_segs || nb_segs > HP_SHM_MAX_SEGS) {
		r = hp_err_set(err, errlen, -EINVAL,
			       "no handle, or no segments or more than %d",
			       HP_SHM_MAX_SEGS);
		goto err_close;
	}
	shm = calloc(1, sizeof(*shm));
	if (!shm) {
		r = hp_err_set(err, errlen, -ENOMEM, "out of memory");
		goto err_close;
	}
	shm->lock_fd = -1;
	r = hp_shm_runtime_dir(prefix, shm->dir, sizeof(shm->dir));
	for (unsigned i = 0; r == 0 && i < nb_segs; i++) {
		r = shm_seg_check(&segs[i], i ? &segs[i - 1] : NULL);
		if (r == 0)
			r = shm_map_seg(&segs[i]);
		if (r == 0)
			shm->segs[shm->nb_segs++] = segs[i];
	}
	if (r < 0) {
		shm_attach_err(segs, nb_segs, r, err, errlen);
		goto err_unmap;
	}
	shm->hdr = (void *)(uintptr_t)segs[0].addr;
	shm->huge = segs[0].huge_sz > (uint64_t)sysconf(_SC_PAGESIZE);
	r = shm_hdr_check(shm, err, errlen);
	if (r < 0)
		goto err_unmap;
	HP_DEBUG(SHM_LOG, "secondary: %zu bytes at %p", hp_shm_size(shm),
		 hp_shm_base(shm));
	*ret_shm = shm;
	return 0;

err_unmap:
	shm_close_fds(segs, shm->nb_segs, nb_segs);
	shm_unmap_all(shm);
	free(shm);
	HP_DEBUG(SHM_LOG, "cannot attach shared memory: %s", strerror(-r));
	return r;
err_close:
	shm_close_fds(segs, 0, nb_segs);
	HP_DEBUG(SHM_LOG, "cannot attach shared memory: %s", strerror(-r));
	return r;
}

void hp_shm_destroy(struct hp_shm *shm)
{
	if (!shm)
		return;
	shm_unmap_all(shm);
	/* A forked child of the primary holds the lock's file too, but the
	 * dir is not its to remove. */
	if (shm->primary && shm->pid == getpid())
		shm_dir_unlock(shm);
	else if (shm->lock_fd >= 0)
		close(shm->lock_fd);
	free(shm);
}

int hp_shm_segments(const struct hp_shm *shm, struct hp_shm_seg *segs,
		    unsigned max)
{
	if (!shm || !segs || max < shm->nb_segs) {
		HP_DEBUG(SHM_LOG, "hp_shm_segments: %s",
			 shm && segs ? "array too small" : "no handle or array");
		return shm && segs ? -ENOSPC : -EINVAL;
	}
	memcpy(segs, shm->segs, shm->nb_segs * sizeof(*segs));
	return (int)shm->nb_segs;
}

const char *hp_shm_dir(const struct hp_shm *shm)
{
	return shm ? shm->dir : NULL;
}

bool hp_shm_is_huge(const struct hp_shm *shm)
{
	return shm && shm->huge;
}

void *hp_shm_base(const struct hp_shm *shm)
{
	return shm ? shm->hdr : NULL;
}

size_t hp_shm_size(const struct hp_shm *shm)
{
	size_t len = 0;

	for (unsigned i = 0; shm && i < shm->nb_segs; i++)
		len += shm->segs[i].len;
	return len;
}

bool hp_shm_contains(const struct hp_shm *shm, const void *addr)
{
	uintptr_t a = (uintptr_t)addr, base = (uintptr_t)hp_shm_base(shm);

	return shm && a >= base && a - base < hp_shm_size(shm);
}
