/* SPDX-License-Identifier: BSD-3-Clause */
/* The wire format (header encode and decode) and the socket I/O of one
 * message with its fds (sendmsg/recvmsg with SCM_RIGHTS).
 *
 * Every send is non-blocking (MSG_DONTWAIT | MSG_NOSIGNAL): a peer whose
 * socket buffer is full never blocks a send to another peer. A sender that
 * finds a buffer full waits for it in poll() (a blocking wait on the fds,
 * not a polling loop) until the operation's one deadline, then gives up on
 * that peer with -ETIMEDOUT. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hp_log.h"
#include "ipc_private.h"

void ipc_hdr_encode(uint8_t *buf, const struct ipc_hdr *hdr)
{
	memcpy(buf + 0, &hdr->magic, 4);
	memcpy(buf + 4, &hdr->version, 2);
	memcpy(buf + 6, &hdr->type, 2);
	memcpy(buf + 8, &hdr->kind, 2);
	memcpy(buf + 10, &hdr->reserved, 2);
	memcpy(buf + 12, &hdr->id, 8);
	memcpy(buf + 20, &hdr->status, 4);
	memcpy(buf + 24, &hdr->len, 4);
}

/* Encodes the header of a message of this protocol version. */
void ipc_hdr_make(uint8_t *buf, uint16_t kind, uint16_t type, uint64_t id,
		  int32_t status, uint32_t len)
{
	struct ipc_hdr hdr = {
		.magic = HP_IPC_MAGIC,
		.version = HP_IPC_PROTO_VERSION,
		.type = type,
		.kind = kind,
		.id = id,
		.status = status,
		.len = len,
	};

	ipc_hdr_encode(buf, &hdr);
}

/* Fills hdr with what buf holds even on failure: magic and version once
 * 8 bytes arrived, the rest once a whole header did (the caller of an
 * -EPROTO answers with the id). */
int ipc_hdr_decode(const void *buf, size_t len, struct ipc_hdr *hdr)
{
	const uint8_t *p = buf;

	memset(hdr, 0, sizeof(*hdr));
	if (len < 8)
		return -EBADMSG;
	memcpy(&hdr->magic, p + 0, 4);
	if (hdr->magic != HP_IPC_MAGIC)
		return -EBADMSG;
	memcpy(&hdr->version, p + 4, 2);
	if (len >= IPC_HDR_SIZE) {
		memcpy(&hdr->type, p + 6, 2);
		memcpy(&hdr->kind, p + 8, 2);
		memcpy(&hdr->reserved, p + 10, 2);
		memcpy(&hdr->id, p + 12, 8);
		memcpy(&hdr->status, p + 20, 4);
		memcpy(&hdr->len, p + 24, 4);
	}
	if (hdr->version != HP_IPC_PROTO_VERSION)
		return -EPROTO;
	if (len < IPC_HDR_SIZE)
		return -EBADMSG;
	if (hdr->len > HP_IPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (len - IPC_HDR_SIZE != hdr->len)
		return -EBADMSG;
	if (hdr->type == 0 || hdr->kind < IPC_KIND_REQUEST ||
	    hdr->kind > IPC_KIND_NOTIFY)
		return -EBADMSG;
	return 0;
}

void ipc_msg_fill(struct hp_ipc_msg *msg, const struct ipc_hdr *hdr,
		  const uint8_t *payload)
{
	msg->type = hdr->type;
	msg->id = hdr->id;
	msg->status = hdr->status;
	msg->len = hdr->len;
	msg->nb_fds = 0;
	msg->via = IPC_VIA_CONN;
	memcpy(msg->payload, payload, hdr->len);
}

int hp_ipc_msg_decode(const void *buf, size_t len, struct hp_ipc_msg *msg)
{
	struct ipc_hdr hdr;
	int r;

	if (!buf || !msg)
		return -EINVAL;
	r = ipc_hdr_decode(buf, len, &hdr);
	if (r == -EPROTO)
		msg->status = hdr.version;
	if (r < 0)
		return r;
	ipc_msg_fill(msg, &hdr, (const uint8_t *)buf + IPC_HDR_SIZE);
	return 0;
}

int hp_ipc_msg_init(struct hp_ipc_msg *msg, uint16_t type, const void *payload,
		    size_t len)
{
	if (!msg || (len && !payload))
		return -EINVAL;
	if (len > HP_IPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	msg->type = type;
	msg->id = 0;
	msg->status = 0;
	msg->len = (uint32_t)len;
	msg->nb_fds = 0;
	msg->via = IPC_VIA_CONN;
	if (len)
		memcpy(msg->payload, payload, len);
	return 0;
}

/* Checks a message a caller hands over for sending. */
int ipc_msg_check(const struct hp_ipc_msg *msg)
{
	if (!msg || msg->type == 0 || msg->nb_fds > HP_IPC_MAX_FDS)
		return -EINVAL;
	if (msg->len > HP_IPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	return 0;
}

int ipc_rx_decode(const struct ipc_rx *rx, struct ipc_hdr *hdr,
		  const char **ret_what)
{
	int r;

	if (rx->flags & (MSG_TRUNC | MSG_CTRUNC)) {
		*ret_what = rx->flags & MSG_TRUNC ?
				    "oversized datagram" :
				    "too many fds, or no free fd to take them in";
		return -EBADMSG;
	}
	r = ipc_hdr_decode(rx->buf, rx->size, hdr);
	if (r < 0 && r != -EPROTO) {
		*ret_what = r == -EMSGSIZE ? "payload length over the limit" :
					     IPC_BAD_HEADER;
		r = -EBADMSG;
	}
	return r;
}

/* Closes the fds that came with msg, for a handler that takes none (a
 * peer's mistake or malice must not fill this process's fd table). */
void ipc_drop_fds(uint32_t peer, struct hp_ipc_msg *msg)
{
	if (!msg->nb_fds)
		return;
	HP_WARN(IPC_LOG, "peer %u sent %u fds with message type %u, which takes none: closed",
		peer, msg->nb_fds, msg->type);
	ipc_close_fds(msg->fds, msg->nb_fds);
	msg->nb_fds = 0;
}

void ipc_close_fds(const int *fds, unsigned nb)
{
	for (unsigned i = 0; i < nb; i++)
		close(fds[i]);
}

/* Sends one datagram without blocking: 0, -EAGAIN when the socket buffer is
 * full, other negative errnos (-EPIPE: the peer hung up). */
int ipc_send(int fd, const uint8_t *hdr, const struct hp_ipc_msg *msg)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * HP_IPC_MAX_FDS)];
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = IPC_HDR_SIZE },
		{ .iov_base = (void *)msg->payload, .iov_len = msg->len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (msg->nb_fds) {
		size_t fds_len = sizeof(int) * msg->nb_fds;

		memset(ctl.buf, 0, CMSG_SPACE(fds_len)); /* padding too */
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(fds_len);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(fds_len);
		memcpy(CMSG_DATA(c), msg->fds, fds_len);
	}
	while (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	return 0;
}

/* Milliseconds left until deadline, rounded up; 0 once it passed. */
int ipc_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 +
	     (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	return ns / 1000000 >= INT32_MAX ? INT32_MAX :
					    (int)((ns + 999999) / 1000000);
}

/* Waits for room in the blocked targets' buffers and retries them, until
 * all went out or the deadline passed (they get -ETIMEDOUT). */
static void ipc_send_retry(struct ipc_target *t, unsigned n, unsigned nb_wait,
			   const uint8_t *hdr, const struct hp_ipc_msg *msg,
			   const struct timespec *deadline)
{
	struct pollfd *pfd = calloc(nb_wait, sizeof(*pfd));
	unsigned *idx = calloc(nb_wait, sizeof(*idx));
	int ms;

	while (pfd && idx && nb_wait && (ms = ipc_ms_left(deadline)) > 0) {
		unsigned k = 0;

		for (unsigned i = 0; i < n; i++) {
			if (t[i].err != -EAGAIN)
				continue;
			pfd[k] = (struct pollfd){ .fd = t[i].fd, .events = POLLOUT };
			idx[k++] = i;
		}
		if (poll(pfd, k, ms) < 0 && errno != EINTR)
			break;
		for (unsigned j = 0; j < k; j++) {
			if (!pfd[j].revents)
				continue;
			t[idx[j]].err = ipc_send(t[idx[j]].fd, hdr, msg);
			nb_wait -= t[idx[j]].err != -EAGAIN;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (t[i].err == -EAGAIN)
			t[i].err = pfd && idx ? -ETIMEDOUT : -ENOMEM;
	free(idx);
	free(pfd);
}

/* Sends one message to every target before waiting on any, so a stalled
 * peer delays nobody else; sets each target's err. */
void ipc_send_many(struct ipc_target *t, unsigned n, const uint8_t *hdr,
		   const struct hp_ipc_msg *msg, const struct timespec *deadline)
{
	unsigned nb_wait = 0;

	for (unsigned i = 0; i < n; i++) {
		t[i].err = ipc_send(t[i].fd, hdr, msg);
		nb_wait += t[i].err == -EAGAIN;
	}
	if (nb_wait)
		ipc_send_retry(t, n, nb_wait, hdr, msg, deadline);
}

/* Collects the fds of every SCM_RIGHTS block; closes any beyond
 * HP_IPC_MAX_FDS (the caller sees MSG_CTRUNC or too many fds). */
static void ipc_recv_fds(struct msghdr *mh, struct ipc_rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nb = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nb; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (rx->nb_fds < HP_IPC_MAX_FDS) {
				rx->fds[rx->nb_fds++] = fd;
			} else {
				close(fd);
				rx->flags |= MSG_CTRUNC;
			}
		}
	}
}

/* Receives one datagram without blocking: 1 when one arrived (rx filled,
 * its fds are the caller's), 0 when none is queued, -ECONNRESET at the
 * end of the stream, other negative errnos. A zero-length datagram reads
 * as the end of the stream, which SOCK_SEQPACKET cannot tell apart. */
int ipc_recv(int fd, struct ipc_rx *rx)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * HP_IPC_MAX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = rx->buf, .iov_len = sizeof(rx->buf) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	do {
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	rx->size = (size_t)n;
	rx->flags = mh.msg_flags;
	rx->nb_fds = 0;
	ipc_recv_fds(&mh, rx);
	if (n == 0) {
		ipc_close_fds(rx->fds, rx->nb_fds);
		return -ECONNRESET;
	}
	return 1;
}

/* The absolute CLOCK_MONOTONIC time timeout_ms (<0: the default) from now. */
void ipc_deadline(int timeout_ms, struct timespec *ret_ts)
{
	struct timespec ts;

	if (timeout_ms < 0)
		timeout_ms = HP_IPC_DEFAULT_TIMEOUT_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	*ret_ts = ts;
}
