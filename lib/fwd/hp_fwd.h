/* SPDX-License-Identifier: BSD-3-Clause */
/* Forwarding engines, like testpmd's: threads on chosen cores poll port
 * queues and forward (io, mac), only receive, or only transmit, while
 * ports come and go.
 *
 * Each process has one forwarding set-up of its own (mode, burst size,
 * cores, ports, queues, topology) and runs it between hp_fwd_start and
 * hp_fwd_stop. The chosen ports that are attached in this process, in id
 * order, get their partners from the topology (by default paired: 0<->1,
 * 2<->3, an odd last one to itself); each chosen queue of a port that has
 * a partner is one stream: receive from (port, queue), transmit to
 * (partner, same queue). Every topology gives each port at most one port
 * that transmits to it, and streams go round-robin to the threads, so
 * each transmit queue has one writer in this process; two processes that
 * forward the same ports must choose disjoint queues
 * (hp_fwd_set_queues).
 *
 * Hotplug: a port attached in this process while forwarding runs joins
 * the streams (if chosen), a detached one leaves them; bursts on a port
 * being detached return 0 meanwhile. The control calls below are thread
 * safe, for any thread but a forwarding thread and a port event callback,
 * in the primary or any secondary. */
#ifndef HP_FWD_H
#define HP_FWD_H

#include <stdbool.h>

#include "hp_common.h"

/* Packets per burst unless hp_fwd_set_burst says otherwise. */
#define HP_FWD_BURST_DEFAULT 32
/* Largest burst. */
#define HP_FWD_BURST_MAX 512
/* Most forwarding threads (cores in the -l list). */
#define HP_FWD_THREADS_MAX 128
/* Bytes of the UDP/IPv4 frame txonly sends (no FCS). */
#define HP_FWD_TXONLY_LEN 64
/* 64-bit words of a bit set of n numbers (hp_fwd_list_parse). */
#define HP_FWD_BITS_WORDS(n) (((n) + 63) / 64)

struct hp_mempool;

/* What each stream does with its packets. */
enum hp_fwd_mode {
	HP_FWD_IO = 0,	   /* receive, transmit on the paired port as is */
	HP_FWD_MAC = 1,	   /* io, with testpmd's mac rewrite: source = the
			    * transmit port's MAC, destination =
			    * 02:00:00:00:00:<transmit port id> */
	HP_FWD_RXONLY = 2, /* receive and free */
	HP_FWD_TXONLY = 3, /* allocate, fill a 64-byte UDP/IPv4 frame (MACs
			    * as mac; 198.18.0.1:9 -> 198.18.0.2:9), transmit */
};
/* Number of modes. */
#define HP_FWD_NB_MODES 4

/* Which chosen port transmits what another one receives, as testpmd's
 * --port-topology (with one more). Positions count the chosen ports
 * attached in this process, in id order: with ports 2, 5 and 7, port 5
 * is the second. */
enum hp_fwd_topology {
	HP_FWD_TOPO_PAIRED = 0,	 /* the first with the second, the third with
				  * the fourth...; an odd last one with itself
				  * (the default) */
	HP_FWD_TOPO_CHAINED = 1, /* each to the next, the last to the first */
	HP_FWD_TOPO_LOOP = 2,	 /* each to itself */
	HP_FWD_TOPO_ONEWAY = 3,	 /* each to the next; the last one receives
				  * nothing, it only transmits (a pipeline
				  * stage: ports 0-1 forward 0 -> 1 only) */
};
/* Number of topologies. */
#define HP_FWD_NB_TOPOLOGIES 4

/* Forwarding counters of one port, summed over its streams and threads:
 * received on it, transmitted on it, and freed because its transmit
 * queue did not take them. Kept by the threads in process memory; the
 * ports' own counters are hp_port_stats_get's. */
struct hp_fwd_port_stats {
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t tx_dropped;
};

/* What a forwarding run did, as hp_fwd_stop returns it. */
struct hp_fwd_stats {
	struct hp_fwd_port_stats total; /* every port's counters summed */
	unsigned nb_ports;		/* ports that had a stream */
};

/* The set-up, as show fwd prints it. Lists are like "0-1,4", cut with
 * "..." when they do not fit. */
struct hp_fwd_info {
	enum hp_fwd_mode mode;
	unsigned burst;
	bool running;
	unsigned nb_threads;	/* started, or that start will start */
	unsigned nb_streams;	/* now; 0 when not running */
	bool ports_all;		/* the ports follow hotplug: every port */
	char ports[128];	/* the chosen ports, or "all" */
	char active[128];	/* chosen and attached here now */
	char queues[64];	/* the chosen queues */
	char lcores[128];	/* the cores; "" for one thread, not pinned */
	enum hp_fwd_topology topology;
};

/* Name of a mode ("io", "mac", "rxonly", "txonly"), NULL if none. Pure. */
HP_API const char *hp_fwd_mode_name(enum hp_fwd_mode mode);

/* The mode named name; -EINVAL for none. Pure, any thread. */
HP_API int hp_fwd_mode_parse(const char *name);

/* Name of a topology ("paired", "chained", "loop", "oneway"), NULL if
 * none. Pure. */
HP_API const char *hp_fwd_topology_name(enum hp_fwd_topology topo);

/* The topology named name; -EINVAL for none. Pure, any thread. */
HP_API int hp_fwd_topology_parse(const char *name);

/* Parses a list of numbers below limit ("3", "0,2-5", ranges ascending)
 * into ret_bits (HP_FWD_BITS_WORDS(limit) words, all written: bit n set
 * for each n listed); ret_bits is written only on success. -EINVAL bad
 * syntax, a range that goes down, or a NULL argument; -ERANGE a number of
 * limit or more. Pure, any thread. */
HP_API int hp_fwd_list_parse(const char *list, unsigned limit,
			     uint64_t *ret_bits);

/* Sets the mode of the next start. -EINVAL unknown mode, -EBUSY while
 * forwarding runs. */
HP_API int hp_fwd_set_mode(enum hp_fwd_mode mode);

/* Sets the packets per burst (1 to HP_FWD_BURST_MAX) of the next start.
 * -EINVAL out of range, -EBUSY while forwarding runs. */
HP_API int hp_fwd_set_burst(unsigned burst);

/* Sets the cores of the next start, one pinned thread each ("1", "0-1",
 * as -l takes them); NULL or "" for the default, one thread not pinned.
 * -EINVAL bad syntax, -ERANGE a core this process may not run on, -E2BIG
 * more than HP_FWD_THREADS_MAX cores, -EBUSY while forwarding runs. */
HP_API int hp_fwd_set_lcores(const char *list);

/* Chooses the ports to forward: a list of port ids, or NULL or "all" for
 * every port (the default; ports attached later join). Applies at once,
 * also while forwarding runs. -EINVAL bad syntax, -ERANGE a port id of
 * HP_MAX_PORTS or more. */
HP_API int hp_fwd_set_ports(const char *list);

/* Sets which chosen port forwards to which (default
 * HP_FWD_TOPO_PAIRED). Applies at once, also while forwarding runs.
 * -EINVAL unknown topology. */
HP_API int hp_fwd_set_topology(enum hp_fwd_topology topo);

/* Chooses the queues each port forwards (default "0"), so that several
 * processes can share a port's queues. Applies at once, also while
 * forwarding runs. -EINVAL bad syntax or NULL, -ERANGE a queue of
 * HP_PORT_MAX_QUEUES or more. */
HP_API int hp_fwd_set_queues(const char *list);

/* Sets the pool txonly allocates from; NULL for the default pool
 * (HP_CORE_POOL_NAME), found at start. -EBUSY while forwarding runs. */
HP_API int hp_fwd_set_pool(struct hp_mempool *pool);

/* Starts the threads and the streams; pairs with hp_fwd_stop. Zeroes the
 * counters of the previous run. -EALREADY already running, -ENOENT no
 * default pool (txonly, before hp_core_init), -ENOMEM, pthread_create's
 * or pthread_setaffinity_np's errno (nothing left running). */
HP_API int hp_fwd_start(void);

/* Stops forwarding: tells the threads, joins them (each returns its
 * packet buffer caches first), and writes the run's totals to ret_stats
 * (may be NULL). Per port: hp_fwd_port_stats_get. -EALREADY not running
 * (stopping twice is refused, harmlessly). */
HP_API int hp_fwd_stop(struct hp_fwd_stats *ret_stats);

/* The chosen ports attached in this process that are not started (admin
 * state stopped or closed), in id order: writes up to max ids to ret_ids
 * and returns how many there are (more than max when they do not fit).
 * Forwarding would move nothing on them: the 'start' command refuses
 * while there are any (as testpmd's), hp_fwd_start does not (a port
 * started later by any process joins the run's streams). -EINVAL NULL
 * ret_ids with max > 0. Any thread but a forwarding thread. */
HP_API int hp_fwd_ports_stopped(uint16_t *ret_ids, unsigned max);

/* Whether forwarding runs (between start and the end of stop). */
HP_API bool hp_fwd_running(void);

/* Copies the counters of port_id from the last finished run (a port
 * detached during it included). -EINVAL port id out of range or NULL,
 * -ENOENT the port had no stream in that run (or no run yet), -EBUSY
 * while forwarding runs. */
HP_API int hp_fwd_port_stats_get(uint16_t port_id,
				 struct hp_fwd_port_stats *ret_stats);

/* Copies the set-up and whether it runs. -EINVAL for NULL. */
HP_API int hp_fwd_info_get(struct hp_fwd_info *ret_info);

#endif
