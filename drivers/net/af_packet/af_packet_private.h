/* SPDX-License-Identifier: BSD-3-Clause */
/* net_af_packet: what the control path (af_packet.c) and the bursts
 * (af_packet_rxtx.c) share. */
#ifndef AF_PACKET_PRIVATE_H
#define AF_PACKET_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_port_driver.h"

/* Most queue pairs (one packet socket each): as many fds as a port shares. */
#define AFP_MAX_QPAIRS HP_PORT_MAX_FDS
/* Bytes of the virtio-net header in front of every frame, both ways. */
#define AFP_VNET_HDR_LEN 10
/* Most packets one rx burst takes from the ring. */
#define AFP_RX_BURST_MAX 64
/* Most buffers one rx burst allocates (a 64 KiB packet takes 33 of the
 * default 2 KiB ones); a packet that needs more is dropped. */
#define AFP_RX_SEGS_MAX 1024
/* Least data room of an rx buffer: the Ethernet addresses and a VLAN tag
 * fit in the first segment. */
#define AFP_SEG_ROOM_MIN 64

/* Where the next packet of an rx ring is; written by the thread polling
 * the queue, in whichever process, so the next poller continues there. */
struct afp_ring_pos {
	uint32_t head;		/* next frame to read, 0..frame_nr-1 */
} HP_CACHE_ALIGNED;

/* Shared state of one port; written by the primary at probe, except the
 * ring positions. */
struct afp_shared {
	uint32_t ifindex;	/* the interface, in the primary's namespace */
	uint16_t nb_qpairs;	/* sockets; socket q serves rx and tx queue q */
	uint32_t frame_size;	/* bytes per ring frame (a power of two) */
	uint32_t frame_nr;	/* frames per ring */
	size_t ring_size;	/* bytes of each socket's ring (mmap length) */
	struct afp_ring_pos rx[AFP_MAX_QPAIRS];
};

/* One queue in one process. */
struct afp_queue {
	struct hp_port_queue q;
	int fd;			/* this process's copy of socket queue_id */
	/* rx only */
	uint8_t *ring;		/* the socket's ring, mapped here */
	size_t ring_size;
	uint32_t frame_size;
	uint32_t frame_nr;
	uint32_t *head;		/* the ring position, in shared memory */
	struct hp_mempool *pool;
	uint16_t seg_room;	/* packet bytes per buffer */
};

uint16_t afp_rx_burst(void *queue, struct hp_mbuf **pkts, uint16_t nb_pkts);
uint16_t afp_tx_burst(void *queue, struct hp_mbuf **pkts, uint16_t nb_pkts);

#endif
