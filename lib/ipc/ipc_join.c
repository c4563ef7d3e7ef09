/* SPDX-License-Identifier: BSD-3-Clause */
/* Connections that have not joined yet, and the first word of a connection.
 *
 * A server with a join deadline (hp_ipc_server_opts.join_timeout_ms) keeps
 * each new connection apart until the application admits it
 * (hp_ipc_peer_admit, from its HELLO handler): such a connection does not
 * count against max_peers, sees no broadcast, and is hung up on when its
 * deadline passes. At most max_joining of them are kept: a new one hangs
 * up on the oldest, so connections that never speak can neither lock
 * joined peers out nor fill the fd table, and a real secondary, which
 * says HELLO at once, gets in right behind any number of them.
 *
 * The deadlines share one timerfd on the I/O thread, armed to the oldest
 * one (they expire in accept order), and to the retry of the listening
 * socket while it is not watched (ipc_server.c, out of fds); it is
 * disarmed when there is neither, so an idle server wakes for nothing.
 *
 * The first message on an admitted connection is the primary's welcome;
 * a refused one gets a refusal with the reason instead, then the hang-up
 * (also later: deadline, garbage). The secondary's connect waits for that
 * first word (ipc_client_welcome), so a refusal is an error of connect
 * with the primary's reason, not a reset seen later. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "hp_log.h"
#include "ipc_private.h"

int ipc_join_timer_open(struct hp_ipc *ipc)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = IPC_EV_TIMER };

	ipc->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ipc->timer_fd < 0)
		return -errno;
	if (epoll_ctl(ipc->epoll_fd, EPOLL_CTL_ADD, ipc->timer_fd, &ev) < 0)
		return -errno;
	return 0;
}

static bool ipc_ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The joining peer with the earliest deadline (a reference), if any, and
 * only when it passed with expired. */
static struct ipc_peer *ipc_join_oldest(struct hp_ipc *ipc, bool expired)
{
	struct ipc_peer *old = NULL;
	struct timespec now;

	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < ipc->nb_peers; i++) {
		struct ipc_peer *p = ipc->peers[i];

		if (!p->joined && (!old || ipc_ts_before(&p->join_by, &old->join_by)))
			old = p;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (old && expired && ipc_ts_before(&now, &old->join_by))
		old = NULL;
	if (old)
		atomic_fetch_add(&old->refs, 1);
	pthread_mutex_unlock(&ipc->lock);
	return old;
}

/* Arms the timer to the oldest deadline, or to the listen retry when that
 * comes first; disarms it when there is neither. I/O thread. */
void ipc_join_arm(struct hp_ipc *ipc)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	struct ipc_peer *old = ipc_join_oldest(ipc, false);

	if (old)
		its.it_value = old->join_by;
	ipc_peer_put(old);
	if (ipc->listen_paused) {
		struct timespec retry;

		ipc_deadline(IPC_FD_RETRY_MS, &retry);
		if (!old || ipc_ts_before(&retry, &its.it_value))
			its.it_value = retry;
	}
	if (timerfd_settime(ipc->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		HP_ERR(IPC_LOG, "cannot arm the join timer: %s", strerror(errno));
}

/* Hangs up on a connection that has not joined, telling it why. */
static void ipc_join_drop(struct hp_ipc *ipc, struct ipc_peer *p, int err,
			  const char *why)
{
	/* A client that connects in a loop must not flood the log: the
	 * first of an episode is a warning, the rest debug lines, and the
	 * next join says how many there were. */
	pthread_mutex_lock(&ipc->lock);
	bool first = ipc->join_drops++ == 0;
	pthread_mutex_unlock(&ipc->lock);
	if (first)
		HP_WARN(IPC_LOG, "peer %u (pid %d): %s: disconnecting (more such connections are logged at debug level until a peer joins)",
			p->id, (int)p->pid, why);
	else
		HP_DEBUG(IPC_LOG, "peer %u (pid %d): %s: disconnecting", p->id,
			 (int)p->pid, why);
	ipc_refuse(p->fd, err, "the primary hung up: %s", why);
	ipc_peer_remove(ipc, p->id, err);
	ipc_peer_put(p);
}

/* The timer fired: watches the listening socket again if it was set
 * aside, hangs up on the connections past their deadline, re-arms. I/O
 * thread. */
void ipc_join_timer(struct hp_ipc *ipc)
{
	struct ipc_peer *p;
	uint64_t n;
	char why[64];

	if (read(ipc->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		HP_DEBUG(IPC_LOG, "join timer: %s", strerror(errno));
	if (ipc->listen_paused)
		ipc_server_resume(ipc);
	snprintf(why, sizeof(why), "did not join within %u ms",
		 ipc->join_timeout_ms);
	while ((p = ipc_join_oldest(ipc, true)))
		ipc_join_drop(ipc, p, -ETIMEDOUT, why);
	ipc_join_arm(ipc);
}

/* Before a new connection joins the waiting ones: when max_joining wait
 * already, hangs up on the oldest. I/O thread. */
void ipc_join_make_room(struct hp_ipc *ipc)
{
	struct ipc_peer *p = NULL;

	pthread_mutex_lock(&ipc->lock);
	bool full = ipc->nb_peers - ipc->nb_joined >= ipc->max_joining;
	pthread_mutex_unlock(&ipc->lock);
	if (full)
		p = ipc_join_oldest(ipc, false);
	if (p)
		ipc_join_drop(ipc, p, -EUSERS,
			      "too many connections waiting to join; this one waited longest");
}

int hp_ipc_peer_admit(struct hp_ipc *ipc, uint32_t peer)
{
	int r = -ENOTCONN;

	if (!ipc || !ipc->is_server)
		return -EINVAL;
	pthread_mutex_lock(&ipc->lock);
	for (unsigned i = 0; i < ipc->nb_peers; i++) {
		struct ipc_peer *p = ipc->peers[i];

		if (p->id != peer)
			continue;
		r = 0;
		if (p->joined)
			break;
		if (ipc->nb_joined >= ipc->max_peers) {
			r = -EUSERS;
			break;
		}
		p->joined = true;
		ipc->nb_joined++;
		break;
	}
	unsigned drops = r == 0 ? ipc->join_drops : 0;
	if (r == 0)
		ipc->join_drops = 0;
	pthread_mutex_unlock(&ipc->lock);
	if (drops > 1)
		HP_NOTICE(IPC_LOG, "%u connections were hung up on before they joined",
			  drops);
	return r;
}

/* Writes the reason of a refusal (payload text) to err. */
static void ipc_refusal_text(const struct ipc_hdr *hdr, const uint8_t *payload,
			     char *err, size_t errlen)
{
	int len = (int)hdr->len;

	while (len > 0 && (payload[len - 1] == '\n' || payload[len - 1] == '\0'))
		len--;
	snprintf(err, errlen, "%.*s", len, (const char *)payload);
}

/* Secondary, before the threads start: waits for the primary's first
 * word on fd. 0 when it welcomed us; else its refusal (status and reason)
 * or what went wrong, in err. */
int ipc_client_welcome(struct hp_ipc *ipc, int fd, char *err, size_t errlen)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	const char *what = IPC_BAD_HEADER;
	struct ipc_rx *rx = &ipc->rx;
	struct ipc_hdr hdr;
	int r;

	do {
		r = poll(&p, 1, HP_IPC_DEFAULT_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		snprintf(err, errlen, "the primary did not answer within %d ms",
			 HP_IPC_DEFAULT_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	r = r < 0 ? -errno : ipc_recv(fd, rx);
	if (r <= 0) {
		snprintf(err, errlen, "the primary hung up without a word");
		return r < 0 ? r : -ECONNRESET;
	}
	ipc_close_fds(rx->fds, rx->nb_fds);
	r = ipc_rx_decode(rx, &hdr, &what);
	if (r == -EPROTO) {
		snprintf(err, errlen,
			 "the primary speaks protocol version %u, this process speaks %u",
			 hdr.version, HP_IPC_PROTO_VERSION);
		return r;
	}
	if (r == 0 && hdr.type == IPC_TYPE_WELCOME)
		return 0;
	if (r == 0 && hdr.type == IPC_TYPE_REFUSED) {
		ipc_refusal_text(&hdr, rx->buf + IPC_HDR_SIZE, err, errlen);
		return hdr.status < 0 ? hdr.status : -EACCES;
	}
	snprintf(err, errlen, "the primary's first message is not a welcome: %s",
		 r < 0 ? what : "another type");
	return -EBADMSG;
}

/* Secondary: the primary hangs up on this process and says why (deadline,
 * garbage): logged, as that is all there is to learn of it. I/O thread. */
int ipc_client_refused(const struct ipc_hdr *hdr, const struct ipc_rx *rx)
{
	char why[256];

	ipc_refusal_text(hdr, rx->buf + IPC_HDR_SIZE, why, sizeof(why));
	HP_ERR(IPC_LOG, "%s", why);
	return hdr->status < 0 ? hdr->status : -ECONNRESET;
}
