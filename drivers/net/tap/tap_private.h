/* SPDX-License-Identifier: BSD-3-Clause */
/* net_tap inside: a port's shared state, one queue as a process holds it,
 * and the bursts (tap_rxtx.c). */
#ifndef TAP_PRIVATE_H
#define TAP_PRIVATE_H

#include <net/if.h>
#include <stdint.h>

#include "hp_port_driver.h"

#define TAP_LOG "pmd.tap"
/* Bytes of the virtio-net header in front of every frame, both ways
 * (struct virtio_net_hdr, little-endian fields). */
#define TAP_VNET_HDR_LEN 10
/* The longest frame the kernel hands over: a 64 KiB GSO packet with its
 * Ethernet and VLAN headers. */
#define TAP_FRAME_MAX (65535 + 18)
/* The most segments of a packet that transmit takes; longer chains are
 * dropped and counted as errors. */
#define TAP_TX_SEGS_MAX 64
/* The least data room (past the headroom) of an rx queue's buffers. */
#define TAP_RX_ROOM_MIN 64

/* Shared state of one port; written by the primary at probe. */
struct tap_shared {
	char ifname[IFNAMSIZ];	/* the interface, as named at probe */
	uint16_t nb_queues;	/* queues of the interface: one fd each */
	uint8_t created;	/* 1: made by the probe, goes with the last
				 * fd; 0: a persistent TAP taken as it was */
	uint8_t offload;	/* 1: the kernel may hand over GSO frames and
				 * partial checksums */
};

/* One rx or tx queue in one process. */
struct tap_queue {
	struct hp_port_queue q;
	int fd;				/* this process's copy of the queue fd */
	struct hp_mempool *pool;	/* rx: where buffers come from */
	uint8_t *spill;			/* rx: TAP_FRAME_MAX bytes for the part
					 * of a frame past its first buffer */
};

/* The bursts: one frame per read()/write() on the queue fd. */
uint16_t tap_rx_burst(void *queue, struct hp_mbuf **pkts, uint16_t nb_pkts);
uint16_t tap_tx_burst(void *queue, struct hp_mbuf **pkts, uint16_t nb_pkts);

#endif
