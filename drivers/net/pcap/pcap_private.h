/* SPDX-License-Identifier: BSD-3-Clause */
/* net_pcap internals: the shared state of a port, one queue in one
 * process, and the helpers the file and interface halves share. */
#ifndef PCAP_PRIVATE_H
#define PCAP_PRIVATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Types and prototypes only: libpcap is loaded at run time (pcap_lib.c). */
#include <pcap/pcap.h>

#include "hp_mbuf.h"
#include "hp_port_driver.h"

#define PCAP_LOG "pmd.pcap"
/* Snapshot length of the files written and of live captures: libpcap's
 * largest, so no packet is cut. */
#define PCAP_SNAPLEN 262144
/* Bytes of stdio buffer of each process's reader of an rx file. */
#define PCAP_READ_BUF (256u << 10)
/* Records one write to a tx file gathers at most. */
#define PCAP_TX_RECS 256
/* Segments of a packet gathered in place; longer chains are copied. */
#define PCAP_TX_SEGS_MAX 64
/* iovecs of one write to a tx file (below IOV_MAX). */
#define PCAP_TX_IOV (PCAP_TX_RECS * 2 + PCAP_TX_SEGS_MAX + 1)

/* Where a port's packets come from or go to. */
enum pcap_kind {
	PCAP_NONE = 0,	/* rx: never any; tx: freed and counted as drops */
	PCAP_FILE = 1,	/* rx_pcap= / tx_pcap= */
	PCAP_IFACE = 2,	/* iface=, rx_iface=, rx_iface_in=, tx_iface= */
};

/* Shared state of one port, in shared memory. The primary's probe writes
 * everything above rx_off; the rest is written by whichever thread polls
 * rx queue 0 at the time, in any process. */
struct pcap_shared {
	uint8_t rx_kind;		/* enum pcap_kind */
	uint8_t tx_kind;
	uint8_t rx_fd;			/* rx file: index in the port's fds */
	uint8_t tx_fd;			/* tx file: index in the port's fds */
	bool infinite_rx;		/* rx file: start again at its end */
	bool rx_in_only;		/* rx interface: incoming packets only */
	int32_t linktype;		/* DLT_ of the rx file, else Ethernet */
	int32_t rx_ifindex;		/* rx interface, as the primary saw it */
	int32_t tx_ifindex;
	char rx_iface[IFNAMSIZ];
	char tx_iface[IFNAMSIZ];
	uint64_t rx_start;		/* rx file: byte offset of its first
					 * packet (after the file header) */
	uint64_t rx_off;		/* rx file: byte offset of the next
					 * packet to read, in every process */
	uint32_t rx_eof;		/* rx file: 1 once every packet was read
					 * (never with infinite_rx) */
	int32_t rx_owner;		/* rx interface: pid of the process that
					 * polled the queue last */
	uint64_t rx_seq;		/* rx interface: packets the queue
					 * delivered, in all processes */
};

/* The header of one record of a pcap file: microsecond timestamp, bytes
 * in the file, bytes on the wire; this host's byte order, as the file
 * header (magic 0xa1b2c3d4) says. */
struct pcap_rec {
	uint32_t ts_sec;
	uint32_t ts_usec;
	uint32_t caplen;
	uint32_t len;
};

/* One queue (rx or tx) in one process; hp_port_queues_alloc makes them.
 * Everything past q is this process's, touched by the polling thread only;
 * handles and buffers are made at the first poll and freed by
 * detach_local. */
struct pcap_queue {
	struct hp_port_queue q;
	struct pcap_shared *sh;
	struct hp_mempool *pool;	/* rx: buffers come from here */
	int fd;				/* this process's copy of the file, or -1 */
	pid_t pid;			/* this process */
	pcap_t *p;			/* rx file reader or live capture */
	FILE *f;			/* rx file: the reader's stream */
	char *rbuf;			/* rx file: f's buffer, PCAP_READ_BUF */
	uint64_t off;			/* rx file: where f reads next */
	uint64_t seen;			/* rx interface: sh->rx_seq after this
					 * process's last poll */
	bool failed;			/* opening failed: logged once, no retry */
	bool rewound;			/* rx file: at the start, nothing read yet */
	/* tx: a linear copy of a packet (chains, checksums to finish) */
	uint8_t *lin;
	size_t lin_size;
	bool lin_used;			/* lin holds a record not yet written */
	/* tx file: the write being gathered */
	struct iovec *iov;
	struct pcap_rec *rec;
	unsigned nb_iov;
	unsigned nb_rec;
	unsigned nb_failed;		/* records a write failed for */
	bool pipe;			/* tx file: a FIFO (non-blocking) */
	bool broken;			/* tx FIFO: its reader left or stalled
					 * mid-record: nothing more is written */
};

/* pcap_lib.c: the libpcap functions the driver calls, pcap_lib.X for
 * pcap_X. Filled by pcap_lib_load; read-only after. */
struct pcap_lib {
	__typeof__(pcap_create) *create;
	__typeof__(pcap_set_snaplen) *set_snaplen;
	__typeof__(pcap_set_promisc) *set_promisc;
	__typeof__(pcap_set_immediate_mode) *set_immediate_mode;
	__typeof__(pcap_set_buffer_size) *set_buffer_size;
	__typeof__(pcap_activate) *activate;
	__typeof__(pcap_setnonblock) *setnonblock;
	__typeof__(pcap_setdirection) *setdirection;
	__typeof__(pcap_setfilter) *setfilter;
	__typeof__(pcap_fopen_offline) *fopen_offline;
	__typeof__(pcap_datalink) *datalink;
	__typeof__(pcap_file) *file;
	__typeof__(pcap_next_ex) *next_ex;
	__typeof__(pcap_inject) *inject;
	__typeof__(pcap_geterr) *geterr;
	__typeof__(pcap_statustostr) *statustostr;
	__typeof__(pcap_close) *close;
};
extern struct pcap_lib pcap_lib;

/* Loads libpcap into this process, once (thread-safe); called by probe
 * and attach_local before anything else touches pcap_lib. 0, or a
 * one-line reason in dev->err and -ELIBACC (libpcap.so.0.8 not found or
 * not loadable) or -ELIBBAD (a function missing from it); a failure is
 * final for the process. */
int pcap_lib_load(struct hp_port_dev *dev);

/* pcap.c: counts an error on pq's queue; the first one also marks the
 * queue failed (no more opening attempts) and logs one line. */
void pcap_queue_error(struct pcap_queue *pq, const char *what,
		      const char *why);

/* pcap_pkt.c: packets between libpcap's bytes and mbufs. */

/* Copies len bytes into m (reset, from pq->pool), chaining more buffers
 * from the pool when they do not fit; sets lengths, port and queue.
 * -ENOBUFS when the pool ran dry (the caller frees m and its chain). */
int pcap_pkt_to_mbuf(struct pcap_queue *pq, struct hp_mbuf *m,
		     const uint8_t *data, uint32_t len);
/* A linear copy of packet m (pkt_len bytes) in pq->lin, with a partial
 * checksum finished; NULL when out of memory or the chain is short. */
const uint8_t *pcap_pkt_linear(struct pcap_queue *pq, const struct hp_mbuf *m);
/* Whether m must be copied before output: a checksum to finish, or more
 * than PCAP_TX_SEGS_MAX segments. */
bool pcap_pkt_needs_copy(const struct hp_mbuf *m);

/* pcap_file.c: probes (primary) open the rx file (checked, shared) and
 * create the tx file (header written, shared); each writes a one-line
 * reason to dev->err on failure and returns a negative errno. */
int pcap_file_rx_probe(struct hp_port_dev *dev, struct pcap_shared *sh,
		       const char *path);
int pcap_file_tx_probe(struct hp_port_dev *dev, struct pcap_shared *sh,
		       const char *path);
/* attach_local of a tx file queue: notes whether it is a FIFO (and then
 * has SIGPIPE ignored, so a reader that leaves gives EPIPE). */
void pcap_file_tx_local(struct pcap_queue *pq);
/* Bursts on a file queue, from any process (one thread per queue). */
uint16_t pcap_file_rx(void *queue, struct hp_mbuf **pkts, uint16_t n);
uint16_t pcap_file_tx(void *queue, struct hp_mbuf **pkts, uint16_t n);

/* pcap_iface.c: checks (primary) that interface name exists and can be
 * opened, for rx or tx; writes its name and index, or a reason to
 * dev->err and a negative errno. */
int pcap_iface_probe(struct hp_port_dev *dev, const char *key,
		     const char *name, bool rx, char *ret_name,
		     int32_t *ret_ifindex);
/* The interface's MAC into mac; left alone if it cannot be read. */
void pcap_iface_mac(const char *name, uint8_t mac[6]);
/* Bursts on an interface queue, from any process (one thread per queue);
 * the first poll in a process opens its handle. */
uint16_t pcap_iface_rx(void *queue, struct hp_mbuf **pkts, uint16_t n);
uint16_t pcap_iface_tx(void *queue, struct hp_mbuf **pkts, uint16_t n);

#endif
