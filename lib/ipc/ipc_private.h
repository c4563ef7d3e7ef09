/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/ipc internals shared by its files: wire header, endpoint, peers,
 * request channels, pending calls and the worker queue. Not installed. */
#ifndef IPC_PRIVATE_H
#define IPC_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/un.h>
#include <time.h>

#include "hp_ipc.h"

#define IPC_LOG "ipc"

/* Wire header, host byte order (both ends share one machine). Magic and
 * version stay at offsets 0 and 4 in every protocol version:
 *   0 u32 magic    4 u16 version   6 u16 type   8 u16 kind  10 u16 reserved
 *  12 u64 id      20 i32 status   24 u32 len   28 payload[len]          */
#define IPC_HDR_SIZE 28
#define IPC_RX_SIZE (IPC_HDR_SIZE + HP_IPC_MAX_PAYLOAD)

/* What a message is; values on the wire. */
enum ipc_kind {
	IPC_KIND_REQUEST = 1, /* wants a reply with the same id */
	IPC_KIND_REPLY = 2,   /* answers the request with its id */
	IPC_KIND_NOTIFY = 3,  /* wants no reply; id 0 */
};

/* Message types of lib/ipc itself (1..15), handled by the I/O thread. */
enum ipc_type {
	IPC_TYPE_CHANNEL = 1, /* secondary -> primary notification: one fd,
			       * the far end of its request channel */
	IPC_TYPE_WELCOME = 2, /* primary -> secondary notification, the
			       * first message of an admitted connection */
	IPC_TYPE_REFUSED = 3, /* primary -> secondary notification before it
			       * hangs up: status a negative errno, payload
			       * the reason (text) */
};

/* hp_ipc_msg.via: the way a request came, and its reply goes back. */
enum ipc_via {
	IPC_VIA_CONN = 0, /* the peer's connection */
	IPC_VIA_CHAN = 1, /* the peer's request channel */
};

/* epoll data: a connection's is its peer id, a channel's the id |
 * IPC_EV_CHAN; then the eventfd's and the listening socket's. */
#define IPC_EV_CHAN (UINT64_C(1) << 32)
#define IPC_EV_WATCH (UINT64_C(1) << 33) /* | index in ipc->watches */
#define IPC_MAX_WATCHES 4
#define IPC_EV_STOP UINT64_MAX
#define IPC_EV_LISTEN (UINT64_MAX - 1)
#define IPC_EV_TIMER (UINT64_MAX - 2)

/* While out of file descriptors with no reserve fd left, the listening
 * socket is watched again after this long (ms). */
#define IPC_FD_RETRY_MS 1000

/* A wire header in host form. */
struct ipc_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint16_t kind;
	uint16_t reserved;
	uint64_t id;
	int32_t status;
	uint32_t len;
};

/* One datagram as the I/O thread received it. */
struct ipc_rx {
	size_t size;	/* bytes received */
	int flags;	/* msg_flags of recvmsg */
	unsigned nb_fds; /* fds received (they are ours to close) */
	int fds[HP_IPC_MAX_FDS];
	uint8_t buf[IPC_RX_SIZE];
};

/* One peer's fd to send to, and what the send came to (0 or -errno). */
struct ipc_target {
	int fd;
	int err;
};

/* A peer's credentials as the kernel recorded them at connect
 * (ipc_cred.c); groups is allocated, all of them. */
struct ipc_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	unsigned nb_groups;
	gid_t *groups;
};

/* A connection: the primary's view of a secondary, or a secondary's view of
 * the primary (id HP_IPC_PRIMARY). Referenced by the peer table and by each
 * sender; the fd is closed with the last reference, so a sender never
 * writes to a reused fd number. */
struct ipc_peer {
	atomic_uint refs;
	uint32_t id;
	int fd;
	int chan_fd;	/* primary: the peer's request channel, or -1; set
			 * once by the I/O thread under ipc->lock, shut down
			 * when it hangs up, closed with fd */
	pid_t pid;	/* cred.pid */
	struct ipc_cred cred; /* owned: freed with the peer */
	unsigned malformed;	   /* I/O thread only */
	bool joined;		   /* admitted (under ipc->lock) */
	struct timespec join_by;   /* not joined: the deadline */
	struct ipc_work *down_work; /* preallocated peer-down event */
};

/* One peer's part of a pending call. */
struct ipc_slot {
	struct ipc_peer *peer;	  /* holds a reference */
	uint32_t peer_id;
	bool done;
	int status;		  /* 0, -ETIMEDOUT, -ECONNRESET, ... */
	struct hp_ipc_result *res; /* broadcast: the caller's result */
};

/* A request or broadcast waiting for replies; on ipc->calls while
 * pending, its fields under ipc->lock. Referenced by the caller and by
 * the I/O thread while it wakes the caller after unlocking. */
struct ipc_call {
	atomic_uint refs;
	struct ipc_call *next;
	uint64_t id;
	pthread_cond_t cond;	/* signalled when nb_left drops to 0 */
	unsigned nb_slots;
	unsigned nb_left;
	struct hp_ipc_msg *reply; /* request: the caller's ret_reply */
	struct ipc_slot slots[];
};

/* An item for the worker: a message for a handler, or a peer event. */
struct ipc_work {
	struct ipc_work *next;
	uint32_t peer;
	pid_t pid;
	bool is_msg;
	bool up;		/* peer event: up or down */
	uint16_t kind;		/* message: request or notify */
	struct hp_ipc_msg *msg; /* message: allocated with the item */
	hp_ipc_handler_fn fn;	/* deferred message: its inline handler */
	void *arg;
};

struct ipc_handler {
	uint16_t type;
	unsigned flags;		/* HP_IPC_INLINE, HP_IPC_TAKES_FDS */
	hp_ipc_handler_fn fn;
	void *arg;
};

struct hp_ipc {
	bool is_server;
	int listen_fd;	/* server only, else -1 */
	int epoll_fd;
	int event_fd;	/* wakes the I/O thread to stop */
	unsigned max_peers;	/* joined peers at most */
	unsigned max_joining;	/* connections not joined yet, at most */
	unsigned join_drops;	/* hung up on before joining, since the last join (I/O thread) */
	unsigned join_timeout_ms; /* 0: peers join at accept */
	gid_t group;
	char group_name[64];	/* group's name (or number), for refusals */
	int reserve_fd;		/* server: spare fd for refusing while out of
				 * fds (ipc_server.c), or -1 */
	int timer_fd;		/* server: join deadlines, listen retry */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char tmp_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool published;	/* the socket is at path (else at tmp_path) */
	pthread_condattr_t condattr; /* CLOCK_MONOTONIC, for every cond */
	pthread_t io_thread;
	pthread_t worker_thread;
	bool io_started;
	bool worker_started;

	/* lock guards everything below up to the worker queue. */
	pthread_mutex_t lock;
	bool stopping;
	unsigned users;		/* API calls in progress outside the lock */
	pthread_cond_t idle;	/* signalled when users drops to 0 */
	struct ipc_peer **peers;
	unsigned nb_peers;
	unsigned nb_joined;	/* peers with joined set */
	uint32_t next_peer_id;
	uint64_t next_call_id;
	struct ipc_call *calls;
	struct ipc_handler *handlers;
	unsigned nb_handlers;
	hp_ipc_peer_fn peer_fn;
	void *peer_arg;

	/* Worker queue, in arrival order. Lock order: lock, then wq_lock. */
	pthread_mutex_t wq_lock;
	pthread_cond_t wq_cond;
	struct ipc_work *wq_head;
	struct ipc_work **wq_tail;
	bool wq_stop;

	/* I/O thread only. */
	struct ipc_rx rx;
	bool fd_short;		/* out of fds: refusing connections */
	bool listen_paused;	/* the listening socket is not watched */
	bool timer_armed;
	struct hp_ipc_msg inline_msg; /* an inline handler's message */
	hp_ipc_handler_fn inline_fn;  /* the inline handler running, if any */
	/* Other fds the I/O thread watches (hp_ipc_watch), under lock. */
	struct {
		int fd;		/* -1: free */
		hp_ipc_watch_fn fn;
		void *arg;
	} watches[IPC_MAX_WATCHES];
	void *inline_arg;
	bool io_nested;	/* a call runs the event loop (ipc_call.c) */
	bool io_stop;	/* the stop request was seen: the loop ends */

	/* Secondary: the request channel (ipc_chan.c). */
	int chan_fd;		   /* -1 when there is none */
	pthread_mutex_t chan_lock; /* held by the one call using it */
	atomic_uint chan_sent;	   /* requests sent on it (the tests read it) */
	struct ipc_rx chan_rx;	   /* under chan_lock */
};

/* ipc_msg.c: wire format and socket I/O. */
void ipc_hdr_encode(uint8_t *buf, const struct ipc_hdr *hdr);
void ipc_hdr_make(uint8_t *buf, uint16_t kind, uint16_t type, uint64_t id,
		  int32_t status, uint32_t len);
int ipc_hdr_decode(const void *buf, size_t len, struct ipc_hdr *hdr);
void ipc_msg_fill(struct hp_ipc_msg *msg, const struct ipc_hdr *hdr,
		  const uint8_t *payload);
int ipc_msg_check(const struct hp_ipc_msg *msg);
/* Why a header that does not decode is refused, for the log. */
#define IPC_BAD_HEADER "bad magic, header, kind or length"
/* Decodes a received datagram's header: 0, -EPROTO (another protocol
 * version: hdr has its version), or -EBADMSG with the reason in
 * *ret_what (truncated, too many fds, bad header or length). */
int ipc_rx_decode(const struct ipc_rx *rx, struct ipc_hdr *hdr,
		  const char **ret_what);
void ipc_close_fds(const int *fds, unsigned nb);
void ipc_drop_fds(uint32_t peer, struct hp_ipc_msg *msg);
int ipc_send(int fd, const uint8_t *hdr, const struct hp_ipc_msg *msg);
void ipc_send_many(struct ipc_target *t, unsigned n, const uint8_t *hdr,
		   const struct hp_ipc_msg *msg, const struct timespec *deadline);
int ipc_recv(int fd, struct ipc_rx *rx);
void ipc_deadline(int timeout_ms, struct timespec *ret_ts);
int ipc_ms_left(const struct timespec *deadline);

/* ipc.c: endpoint, peers, I/O thread. */
int ipc_endpoint_new(bool is_server, unsigned max_peers,
		     struct hp_ipc **ret_ipc);
int ipc_endpoint_start(struct hp_ipc *ipc);
int ipc_peer_add(struct hp_ipc *ipc, int fd, struct ipc_cred *cred,
		 uint32_t id, bool announce);
struct ipc_peer *ipc_peer_get(struct hp_ipc *ipc, uint32_t id);
void ipc_peer_put(struct ipc_peer *peer);
int ipc_peer_remove(struct hp_ipc *ipc, uint32_t id, int err);
bool ipc_enter(struct hp_ipc *ipc);
void ipc_leave(struct hp_ipc *ipc);
int ipc_io_poll(struct hp_ipc *ipc, int timeout_ms);
int ipc_version_error(const struct ipc_hdr *hdr);

/* ipc_chan.c: the request channel. */
void ipc_chan_open(struct hp_ipc *ipc, int conn_fd);
int ipc_chan_request(struct hp_ipc *ipc, struct hp_ipc_msg *req,
		     struct hp_ipc_msg *ret_reply, int timeout_ms);
int ipc_chan_accept(struct hp_ipc *ipc, struct ipc_peer *peer,
		    const struct ipc_hdr *hdr, struct ipc_rx *rx, bool via_chan);
void ipc_chan_drop(struct hp_ipc *ipc, struct ipc_peer *peer);

/* ipc.c: copies the handler of type into ret, under ipc->lock; false if
 * there is none (or, with inline_only, none that runs inline). */
bool ipc_handler_find(struct hp_ipc *ipc, uint16_t type, bool inline_only,
		      struct ipc_handler *ret);

/* ipc_cred.c: reads the credentials of the peer of a connected socket
 * fd (the groups are the caller's to free); a negative errno. */
int ipc_cred_read(int fd, struct ipc_cred *ret_cred);
/* Whether the credentials have group as primary or supplementary group. */
bool ipc_cred_in_group(const struct ipc_cred *c, gid_t group);

/* ipc_server.c: the listening socket. */
void ipc_server_accept(struct hp_ipc *ipc);
/* Watches the listening socket again, set aside while out of fds. */
void ipc_server_resume(struct hp_ipc *ipc);
/* Sends a refusal (status, reason as printf) on fd, without blocking. */
void ipc_refuse(int fd, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ipc_join.c: the connections that have not joined yet. */
int ipc_join_timer_open(struct hp_ipc *ipc);
void ipc_join_arm(struct hp_ipc *ipc);
void ipc_join_timer(struct hp_ipc *ipc);
void ipc_join_make_room(struct hp_ipc *ipc);
int ipc_client_welcome(struct hp_ipc *ipc, int fd, char *err, size_t errlen);
int ipc_client_refused(const struct ipc_hdr *hdr, const struct ipc_rx *rx);

/* ipc_call.c: pending calls and replies. */
int ipc_rx_reply(struct hp_ipc *ipc, struct ipc_peer *peer,
		 const struct ipc_hdr *hdr, struct ipc_rx *rx);
void ipc_calls_fail_peer(struct hp_ipc *ipc, uint32_t peer, int err);
void ipc_calls_fail_all(struct hp_ipc *ipc, int err);
int ipc_malformed(struct hp_ipc *ipc, struct ipc_peer *peer,
		  const char *what);
/* Whether a call to `to` (all joined peers when NULL) includes p. Caller
 * holds ipc->lock. */
bool ipc_peer_counts(const struct ipc_peer *p, const uint32_t *to,
		     unsigned nb_to);

/* ipc_worker.c: the worker thread and its queue. */
void *ipc_worker_main(void *arg);
void ipc_worker_push(struct hp_ipc *ipc, struct ipc_work *w);
struct ipc_work *ipc_work_new(uint32_t peer, pid_t pid, bool is_msg);
void ipc_work_free(struct ipc_work *w);
void ipc_worker_stop(struct hp_ipc *ipc);

#endif
