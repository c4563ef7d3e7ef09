/* SPDX-License-Identifier: BSD-3-Clause */
/* memfd segments mapped at fixed addresses: hugepages first, ordinary pages
 * when none can be had.
 *
 * A hugetlb memfd takes its pages from the pool when it is mapped (the
 * reservation), so a shortage shows as mmap failing, not as a fault later.
 * Any failure on the hugepage path, except the address range being taken,
 * sends every segment back to ordinary pages with one warning. Segments are
 * sealed against shrinking and growing: a process that truncated one would
 * make every other process fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hp_log.h"
#include "shm_private.h"

#define SHM_HUGE_2M (2u << 20)
#define SHM_HUGE_1G (1u << 30)

/* The caller says which range and what to do; this says where. */
static void shm_addr_taken(uint64_t addr, uint64_t len)
{
	HP_DEBUG(SHM_LOG, "address range 0x%llx-0x%llx is in use already",
		 (unsigned long long)addr, (unsigned long long)(addr + len));
}

static int shm_memfd(const char *prefix, uint32_t page_sz, uint64_t len,
		     int *ret_fd)
{
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	char name[HP_SHM_PREFIX_MAX + 16];
	int fd, r;

	if (page_sz == SHM_HUGE_2M)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	else if (page_sz == SHM_HUGE_1G)
		flags |= MFD_HUGETLB | MFD_HUGE_1GB;
	snprintf(name, sizeof(name), "hotport-%s", prefix);
	fd = memfd_create(name, flags);
	if (fd < 0) {
		r = -errno;
		HP_DEBUG(SHM_LOG, "memfd_create(%s, page %u): %s", name,
			 page_sz, strerror(-r));
		return r;
	}
	if (ftruncate(fd, (off_t)len) < 0) {
		r = -errno;
		HP_DEBUG(SHM_LOG, "ftruncate(%s, %llu): %s", name,
			 (unsigned long long)len, strerror(-r));
		goto err_close;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) <
	    0) {
		r = -errno;
		HP_DEBUG(SHM_LOG, "sealing %s: %s", name, strerror(-r));
		goto err_close;
	}
	*ret_fd = fd;
	return 0;

err_close:
	close(fd);
	return r;
}

int shm_map_seg(const struct hp_shm_seg *seg)
{
	void *want = (void *)(uintptr_t)seg->addr;
	void *p;
	int r;

	p = mmap(want, seg->len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE, seg->fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		if (r == -EEXIST) {
			shm_addr_taken(seg->addr, seg->len);
			return -EADDRINUSE;
		}
		HP_DEBUG(SHM_LOG, "mmap 0x%llx, %llu bytes, page %u: %s",
			 (unsigned long long)seg->addr,
			 (unsigned long long)seg->len, seg->huge_sz,
			 strerror(-r));
		return r;
	}
	if (p != want) {
		/* Kernels before 4.17 take the flag for a mere hint. */
		munmap(p, seg->len);
		shm_addr_taken(seg->addr, seg->len);
		return -EADDRINUSE;
	}
	return 0;
}

void shm_unmap_all(struct hp_shm *shm)
{
	for (unsigned i = 0; i < shm->nb_segs; i++) {
		munmap((void *)(uintptr_t)shm->segs[i].addr, shm->segs[i].len);
		close(shm->segs[i].fd);
	}
	shm->nb_segs = 0;
}

/* Creates, maps and places one segment and appends it to shm->segs. */
static int shm_map_one(struct hp_shm *shm, const char *prefix, uint64_t addr,
		       uint64_t len, int node, uint32_t page_sz)
{
	struct hp_shm_seg *seg = &shm->segs[shm->nb_segs];
	int r;

	seg->addr = addr;
	seg->len = len;
	seg->huge_sz = page_sz;
	seg->node = node;
	r = shm_memfd(prefix, page_sz, len, &seg->fd);
	if (r < 0)
		return r;
	r = shm_map_seg(seg);
	if (r < 0)
		goto err_close;
	shm->nb_segs++;
	/* Before the first touch, so that pages come from the node. */
	if (node >= 0) {
		r = shm_numa_bind((void *)(uintptr_t)addr, len, node);
		if (r < 0)
			return r;
	}
	return 0;

err_close:
	close(seg->fd);
	return r;
}

/* Maps every segment of plan back to back from base with one page size;
 * leaves nothing mapped on failure. */
static int shm_map_pages(struct hp_shm *shm, const char *prefix,
			 const struct shm_plan *plan, uintptr_t base,
			 uint32_t page_sz)
{
	uint64_t addr = base;
	int r;

	for (unsigned i = 0; i < plan->nb_segs; i++) {
		uint64_t len = HP_ALIGN_UP(plan->len[i], (uint64_t)page_sz);

		r = shm_map_one(shm, prefix, addr, len, plan->node[i], page_sz);
		if (r < 0)
			goto err_unmap;
		addr += len;
	}
	return 0;

err_unmap:
	shm_unmap_all(shm);
	return r;
}

int shm_map_plan(struct hp_shm *shm, const char *prefix,
		 const struct shm_plan *plan, uintptr_t base, bool no_huge,
		 bool huge_1g)
{
	uint32_t huge_sz = huge_1g ? SHM_HUGE_1G : SHM_HUGE_2M;
	int r, huge_r = 0;

	if (!no_huge) {
		huge_r = shm_map_pages(shm, prefix, plan, base, huge_sz);
		if (huge_r == 0) {
			shm->huge = true;
			return 0;
		}
	}
	/* Ordinary pages after any hugepage failure, -EADDRINUSE too: under
	 * valgrind a hugepage shortage comes back as EEXIST; a range that is
	 * really taken fails again here. */
	shm->huge = false;
	r = shm_map_pages(shm, prefix, plan, base,
			  (uint32_t)sysconf(_SC_PAGESIZE));
	if (r == 0 && huge_r < 0)
		HP_WARN(SHM_LOG,
			"hugepages of %s are not available (%s); using ordinary pages",
			huge_1g ? "1 GiB" : "2 MiB", strerror(-huge_r));
	return r;
}
