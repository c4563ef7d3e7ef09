/* SPDX-License-Identifier: BSD-3-Clause */
/* The request channel between the primary and its secondaries: one
 * SOCK_SEQPACKET connection per secondary (and a private socket for its
 * requests to the primary), versioned messages with fds, request/reply,
 * broadcast- and multicast-and-gather, notifications, peer death. */
#ifndef HP_IPC_H
#define HP_IPC_H

#include <stdbool.h>
#include <sys/types.h>

#include "hp_common.h"

/* Protocol version in every message header; a mismatch is refused.
 * 3: the primary's first message is a welcome or a refusal. */
#define HP_IPC_PROTO_VERSION 3
/* First four bytes of every message ("HPIP"). */
#define HP_IPC_MAGIC 0x50495048u
/* Largest payload of one message (bytes). */
#define HP_IPC_MAX_PAYLOAD 8192
/* Most fds one message carries. */
#define HP_IPC_MAX_FDS 8
/* Peer id of the primary, as a secondary names it. */
#define HP_IPC_PRIMARY 0u
/* Default deadline of one request or broadcast (ms). */
#define HP_IPC_DEFAULT_TIMEOUT_MS 5000
/* Malformed messages after which the primary hangs up on a peer: the
 * first one (bad magic, version, header or length, a reply nobody asked
 * for), with a log line and a refusal the peer's lib/ipc logs. */
#define HP_IPC_MAX_MALFORMED 1
/* Default bound of the connections that have not joined yet
 * (hp_ipc_server_opts.max_joining). */
#define HP_IPC_MAX_JOINING 32
/* First message type of the users' (0..15 belong to lib/ipc). */
#define HP_IPC_TYPE_USER 16

struct hp_ipc;

/* One message as the caller sees it; the wire header is built by lib/ipc. */
struct hp_ipc_msg {
	uint16_t type;	  /* what it is; 0 is invalid, 1..15 belong to lib/ipc */
	uint64_t id;	  /* request id, set by lib/ipc; echoed in the reply */
	int32_t status;	  /* reply: 0 or a negative errno */
	uint32_t len;	  /* payload bytes used, <= HP_IPC_MAX_PAYLOAD */
	unsigned nb_fds;  /* fds carried, <= HP_IPC_MAX_FDS */
	int fds[HP_IPC_MAX_FDS]; /* received fds belong to the receiver */
	uint32_t via;	  /* lib/ipc's own: the way a received request came
			   * (its reply goes back the same way); a copy of
			   * the request to answer later keeps it */
	uint8_t payload[HP_IPC_MAX_PAYLOAD];
};

/* One peer's part of a broadcast. */
struct hp_ipc_result {
	uint32_t peer;	/* peer id */
	pid_t pid;	/* peer pid, as the primary sees it */
	int status;	/* 0 replied, -ETIMEDOUT no answer, -ECONNRESET gone,
			 * -ESHUTDOWN cut short by hp_ipc_destroy */
	int32_t reply_status; /* the reply's status when status is 0 */
	char reply_text[128]; /* the reply's payload as text, if any */
};

/* A connected peer. */
struct hp_ipc_peer_info {
	uint32_t id;
	pid_t pid;
	uid_t uid;
};

/* Handles a request or notification of one type; runs on the endpoint's
 * worker thread, one message at a time in arrival order (or on the I/O
 * thread when registered inline: hp_ipc_in_io_thread tells), and may
 * itself call hp_ipc_request, hp_ipc_broadcast or hp_ipc_multicast. It
 * must answer a request with hp_ipc_reply (or the caller times out). msg's
 * fds are the handler's to keep or close when it was registered with
 * HP_IPC_TAKES_FDS; others never see any. A request of a type with no
 * handler is answered -ENOTSUP (and logged). */
typedef void (*hp_ipc_handler_fn)(struct hp_ipc *ipc, uint32_t peer,
				  const struct hp_ipc_msg *msg, void *arg);

/* Told when a peer connects (up) or hangs up (!up); runs on the worker
 * thread, ordered with the handlers. A secondary is told about
 * HP_IPC_PRIMARY going down. */
typedef void (*hp_ipc_peer_fn)(struct hp_ipc *ipc, uint32_t peer, pid_t pid,
			       bool up, void *arg);

/* Options of the primary's listening endpoint. */
struct hp_ipc_server_opts {
	mode_t mode;	 /* socket file mode; 0: 0600 */
	gid_t group;	 /* also accept this group's members (primary or
			  * supplementary group); 0: owner only */
	unsigned max_peers; /* joined peers at most; 0: HP_MAX_PROCS - 1 */
	unsigned join_timeout_ms; /* 0: a peer joins as it connects; else it
				   * must be admitted (hp_ipc_peer_admit)
				   * within this many ms or it is hung up on */
	unsigned max_joining; /* connections not admitted yet, at most (the
			       * oldest is hung up on to make room for a
			       * new one); 0: HP_IPC_MAX_JOINING */
	bool hidden;	 /* listen under "<path>.new" until
			  * hp_ipc_server_publish, so that no peer connects
			  * before the server is ready to serve it */
};

/* Moves a hidden server's socket to its path (atomically: a peer watching
 * the directory sees it appear, listening). No-op when published already.
 * A negative errno from rename. */
HP_API int hp_ipc_server_publish(struct hp_ipc *ipc);

/* Fills a message with type and a payload copy; -EMSGSIZE if len is over
 * HP_IPC_MAX_PAYLOAD. */
HP_API int hp_ipc_msg_init(struct hp_ipc_msg *msg, uint16_t type,
			   const void *payload, size_t len);

/* Primary: listens on path (unlinking a stale socket) and starts the I/O
 * and worker threads; pairs with hp_ipc_destroy. Peers whose uid is not
 * ours (or root, or a member of opts->group) are refused at connect with a
 * log line, and so are peers over max_peers and, while this process is out
 * of file descriptors, every peer (with one log line per episode): the
 * refused peer's hp_ipc_client_connect_msg says why. -EADDRINUSE,
 * -ENAMETOOLONG, other negative errnos. */
HP_API int hp_ipc_server_create(const char *path,
				const struct hp_ipc_server_opts *opts,
				struct hp_ipc **ret_ipc);

/* Secondary: connects to the primary at path, waits (up to
 * HP_IPC_DEFAULT_TIMEOUT_MS) until the primary admitted or refused the
 * connection, hands it a request channel (a socket of its own for this
 * process's requests; without it, they take the connection) and starts
 * the threads; pairs with hp_ipc_destroy. -ENOENT or -ECONNREFUSED when
 * no primary listens; when the primary refused: -EACCES (not allowed),
 * -EUSERS (too many peers), -EMFILE (it is out of file descriptors);
 * -ETIMEDOUT, -ECONNRESET, -EPROTO (another protocol version). */
HP_API int hp_ipc_client_connect(const char *path, struct hp_ipc **ret_ipc);

/* hp_ipc_client_connect that also writes why it failed to err (one line,
 * the primary's own words when it refused: "refused by the primary: uid
 * 1001 is not root, ..."), when err is not NULL. */
HP_API int hp_ipc_client_connect_msg(const char *path, struct hp_ipc **ret_ipc,
				     char *err, size_t errlen);

/* Primary with a join deadline (hp_ipc_server_opts.join_timeout_ms):
 * admits a connected peer as joined: it counts against max_peers from now
 * on, has no deadline any more, and is one of the peers hp_ipc_broadcast,
 * hp_ipc_notify_all and hp_ipc_peers see. Until then only requests and
 * notifications to it by id reach it. 0 (also when it was admitted
 * already), -EINVAL, -ENOTCONN, -EUSERS (max_peers joined already: refuse
 * it). Any thread, a handler's too. */
HP_API int hp_ipc_peer_admit(struct hp_ipc *ipc, uint32_t peer);

/* Stops the threads, fails pending calls with -ESHUTDOWN (and waits for
 * their callers to return, a caller on the request channel too), closes
 * every connection; a primary unlinks its socket. Peer-down callbacks are
 * not called. Accepts NULL. Not from a handler or peer callback. */
HP_API void hp_ipc_destroy(struct hp_ipc *ipc);

/* Sets the handler of one message type (HP_IPC_TYPE_USER..65535; replaces
 * an existing one; NULL removes it). -EINVAL for a type of lib/ipc's. */
HP_API int hp_ipc_register(struct hp_ipc *ipc, uint16_t type,
			   hp_ipc_handler_fn fn, void *arg);

/* Like hp_ipc_register, but the handler runs on the I/O thread as the
 * message arrives, saving a thread hand-off. It should answer quickly, or
 * hand the message to the worker with hp_ipc_defer. It may call
 * hp_ipc_request, hp_ipc_broadcast or hp_ipc_multicast: the I/O thread
 * then runs the event loop itself until that call is done, and meanwhile
 * passes the messages of inline types to the worker (they run there
 * instead). Inline messages are not ordered with the worker's. -EINVAL,
 * -ENOMEM. */
HP_API int hp_ipc_register_inline(struct hp_ipc *ipc, uint16_t type,
				  hp_ipc_handler_fn fn, void *arg);

/* From an inline handler, on the I/O thread: hands msg, with its fds, to
 * the worker thread, which then runs the same handler (with the same arg)
 * in its turn with the worker's messages, as if it had been registered
 * with hp_ipc_register; the reply of a request still takes the way the
 * request came. The fds are the worker's then (closed if the endpoint
 * stops first); on failure they stay the caller's. -EINVAL (not from an
 * inline handler, or a bad msg), -ENOMEM. */
HP_API int hp_ipc_defer(struct hp_ipc *ipc, uint32_t peer,
			const struct hp_ipc_msg *msg);

/* True on the I/O thread of ipc (where its inline handlers run); false on
 * any other thread, and for NULL. */
HP_API bool hp_ipc_in_io_thread(const struct hp_ipc *ipc);

/* Flags of hp_ipc_register_flags. */
#define HP_IPC_INLINE (1u << 0)	   /* runs on the I/O thread, as
				    * hp_ipc_register_inline says */
#define HP_IPC_TAKES_FDS (1u << 1) /* gets the fds that come with its
				    * messages; without it lib/ipc closes
				    * them before the handler runs, and logs
				    * it (a peer's mistake or malice must not
				    * fill this process's fd table) */

/* Sets the handler of one message type with flags (above; -EINVAL for
 * others): hp_ipc_register is flags 0, hp_ipc_register_inline
 * HP_IPC_INLINE. -EINVAL for a type below HP_IPC_TYPE_USER, -ENOMEM. */
HP_API int hp_ipc_register_flags(struct hp_ipc *ipc, uint16_t type,
				 unsigned flags, hp_ipc_handler_fn fn,
				 void *arg);

/* Sets the peer up/down callback; NULL removes it. */
HP_API void hp_ipc_set_peer_callback(struct hp_ipc *ipc, hp_ipc_peer_fn fn,
				     void *arg);

/* Sends req to peer and waits up to timeout_ms (<0: default) for its
 * reply, written to ret_reply (its fds become the caller's). Any thread,
 * an inline handler's too. A secondary's request to the primary, from any
 * thread but the I/O thread, takes the request channel when no other
 * thread is using it: the reply then wakes the caller itself (such
 * requests are not ordered with this process's other messages).
 * -ETIMEDOUT, -ECONNRESET when the peer hangs up first, -ENOTCONN for an
 * unknown peer, -EPROTO when the peer speaks another protocol version
 * (logged with both versions), -ESHUTDOWN. The reply's own status is in
 * ret_reply->status. */
HP_API int hp_ipc_request(struct hp_ipc *ipc, uint32_t peer,
			  struct hp_ipc_msg *req, struct hp_ipc_msg *ret_reply,
			  int timeout_ms);

/* Answers req (from a handler) with reply; its id is set from req, and
 * its type too when it is 0. Any thread, once per request; the request's
 * caller drops a reply that arrives after its deadline. Waits up to
 * HP_IPC_DEFAULT_TIMEOUT_MS only while the peer's socket buffer is full.
 * -EINVAL for a notification (id 0), -EMSGSIZE, -ENOTCONN if the peer is
 * gone, -ETIMEDOUT if its buffer stayed full. */
HP_API int hp_ipc_reply(struct hp_ipc *ipc, uint32_t peer,
			const struct hp_ipc_msg *req, struct hp_ipc_msg *reply);

/* Sends a message that wants no reply (its id becomes 0); any thread.
 * Waits as hp_ipc_reply does. -EINVAL, -EMSGSIZE, -ENOTCONN if the peer is
 * gone, -ETIMEDOUT if its socket buffer stayed full. */
HP_API int hp_ipc_notify(struct hp_ipc *ipc, uint32_t peer,
			 struct hp_ipc_msg *msg);

/* Primary: sends req to every joined peer first, then gathers the
 * replies until all answered, hung up, or timeout_ms (<0: default) passed;
 * one slow peer never delays the messages to the others (a peer whose
 * socket buffer stays full fails with -ETIMEDOUT). Writes one result per
 * peer (up to max) and their count to ret_nb, also when it returns
 * -ETIMEDOUT; a reply's fds are closed. Returns 0 when
 * every peer replied or hung up, -ETIMEDOUT when any did not answer in
 * time (its result says so), -ENOSPC (nothing sent) if max is too small,
 * -ESHUTDOWN (also when hp_ipc_destroy cuts it short: the peers it left
 * unsettled have that status). Any thread, an inline handler's too. */
HP_API int hp_ipc_broadcast(struct hp_ipc *ipc, struct hp_ipc_msg *req,
			    int timeout_ms, struct hp_ipc_result *results,
			    unsigned max, unsigned *ret_nb);

/* Primary: hp_ipc_broadcast to the connected peers whose id is in `to`
 * only (each once, whatever the repeats); an id not connected is
 * skipped, with no result, and fails nothing (as a peer gone). nb_to 0
 * returns 0 at once, with *ret_nb 0. -ENOSPC (nothing sent) when more
 * of them are connected than max; else as hp_ipc_broadcast. Any thread,
 * an inline handler's too. */
HP_API int hp_ipc_multicast(struct hp_ipc *ipc, const uint32_t *to,
			    unsigned nb_to, struct hp_ipc_msg *req,
			    int timeout_ms, struct hp_ipc_result *results,
			    unsigned max, unsigned *ret_nb);

/* Sends msg as a notification (its id becomes 0) to every joined peer
 * whose id is not in except, to all before waiting on any (a peer whose
 * socket buffer stays full past HP_IPC_DEFAULT_TIMEOUT_MS is not
 * reached); msg's fds go to each as copies and stay the caller's.
 * Returns how many peers it reached, or -EINVAL, -EMSGSIZE, -ENOMEM,
 * -ESHUTDOWN. Any thread. */
HP_API int hp_ipc_notify_all(struct hp_ipc *ipc, struct hp_ipc_msg *msg,
			     const uint32_t *except, unsigned nb_except);

/* Told on the I/O thread that a watched fd is readable; must not wait
 * (as an inline handler) and should read until EAGAIN. */
typedef void (*hp_ipc_watch_fn)(struct hp_ipc *ipc, int fd, void *arg);

/* Has the I/O thread call fn whenever fd (the caller's; kept open by it
 * until hp_ipc_unwatch) is readable: a kernel event source handled with
 * no thread of its own. Any thread. -EINVAL, -EEXIST (fd watched
 * already), -ENOSPC (a few watches per endpoint), -errno of epoll_ctl. */
HP_API int hp_ipc_watch(struct hp_ipc *ipc, int fd, hp_ipc_watch_fn fn,
			void *arg);

/* Stops watching fd; once it returns on a thread other than the I/O
 * thread, fn may still be running there: close fd only after
 * hp_ipc_destroy, or from fn's own thread. -ENOENT. */
HP_API int hp_ipc_unwatch(struct hp_ipc *ipc, int fd);

/* The pid of connected peer (as this process sees it), 0 if it is not
 * connected. */
HP_API pid_t hp_ipc_peer_pid(struct hp_ipc *ipc, uint32_t peer);

/* Most supplementary groups struct hp_ipc_cred lists. */
#define HP_IPC_MAX_GROUPS 64

/* A peer's credentials as the kernel recorded them when the peer connected
 * (SO_PEERCRED, SO_PEERGROUPS): what it could do then, whatever it did
 * since (setuid, setgroups). Ids as this process's user namespace sees
 * them. */
struct hp_ipc_cred {
	pid_t pid;
	uid_t uid;	    /* effective uid */
	gid_t gid;	    /* effective (primary) gid */
	unsigned nb_groups; /* supplementary groups the peer has; when over
			     * HP_IPC_MAX_GROUPS, groups[] holds only the
			     * first ones: hp_ipc_peer_groups gives all */
	gid_t groups[HP_IPC_MAX_GROUPS];
};

/* Writes the credentials of connected peer to ret_cred. On kernels
 * without SO_PEERGROUPS (before 4.13) the groups were read from
 * /proc/<pid>/status at accept instead: see doc/security.md. Any thread.
 * -EINVAL, -ENOTCONN (no such peer, or it hung up). */
HP_API int hp_ipc_peer_cred(struct hp_ipc *ipc, uint32_t peer,
			    struct hp_ipc_cred *ret_cred);

/* Writes up to max of connected peer's supplementary groups (as
 * hp_ipc_peer_cred) to groups; returns how many it has (more than max
 * when they did not all fit, as getgroups does not). Any thread. -EINVAL,
 * -ENOTCONN. */
HP_API int hp_ipc_peer_groups(struct hp_ipc *ipc, uint32_t peer,
			      gid_t *groups, unsigned max);

/* Lists the joined peers (every connected one when the server has no
 * join deadline); returns how many were written (up to max). */
HP_API int hp_ipc_peers(struct hp_ipc *ipc, struct hp_ipc_peer_info *peers,
			unsigned max);

/* Disconnects a peer (primary) as if it had hung up. -ENOTCONN. */
HP_API int hp_ipc_disconnect(struct hp_ipc *ipc, uint32_t peer);

/* Decodes one received datagram into msg (no fds); -EBADMSG for a bad
 * magic or truncated header or length, -EMSGSIZE for an oversized payload,
 * -EPROTO for another protocol version (msg->status holds it then). Pure:
 * used by the receive path and the fuzz target. */
HP_API int hp_ipc_msg_decode(const void *buf, size_t len,
			     struct hp_ipc_msg *msg);

#endif
