/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/core internals: the hello handshake and process list messages. */
#ifndef CORE_PRIVATE_H
#define CORE_PRIVATE_H

#include "hp_core.h"
#include "hp_pci.h"
#include "hp_shm.h"

#define CORE_LOG "core"
#define CORE_POOL_NAME HP_CORE_POOL_NAME
#define CORE_POOL_SIZE 8191
#define CORE_POOL_CACHE 256

/* Smallest --mem in MiB: the default packet pool, the port table (at most
 * 4 KiB a slot) and 2 MiB for the header, the zones and a few ports'
 * state. it_startup.py starts a primary at this size. Pure. */
unsigned core_mem_min_mb(void);

/* The primary's -a and -b lists, in a zone secondaries read (show pci);
 * the primary writes it once, at start-up, before any secondary joins. */
#define CORE_PCI_ZONE "hp_core_pci"
struct core_pci_lists {
	uint32_t nb_allow;	/* entries of allow */
	uint32_t nb_block;	/* entries of block */
	char allow[HP_CORE_MAX_DEVS][HP_PCI_ADDR_LEN];	/* as -a gave them */
	char block[HP_CORE_MAX_DEVS][HP_PCI_ADDR_LEN];	/* as -b gave them */
};

/* Message types of lib/core (16..31). */
enum core_msg_type {
	CORE_MSG_HELLO = 16,	/* secondary -> primary: join, get memory */
	CORE_MSG_PROCS = 17,	/* any -> primary: list processes */
};

/* Sent by a joining secondary: what it was built with. */
struct core_hello_req {
	uint32_t shm_layout;	/* HP_SHM_LAYOUT_VERSION */
	uint32_t max_ports;	/* HP_MAX_PORTS */
	uint32_t max_procs;	/* HP_MAX_PROCS */
	int32_t pid;		/* its own pid, in its namespace */
};

/* The primary's answer; the segment fds ride along in the message. */
struct core_hello_rep {
	uint32_t shm_layout;
	uint32_t max_ports;
	uint32_t max_procs;
	int32_t primary_pid;
	int32_t timeout_ms;
	uint32_t peer_id;	/* the secondary's id */
	int32_t peer_pid;	/* the secondary's pid as the primary sees it */
	uint32_t nb_segs;
	struct {
		uint64_t addr;
		uint64_t len;
		uint32_t huge_sz;
		int32_t node;
	} segs[HP_SHM_MAX_SEGS];
	char err[160];
};

struct core_procs_rep {
	uint32_t nb;
	struct hp_proc_info procs[];
};

#endif
