/* SPDX-License-Identifier: BSD-3-Clause */
/* net_pcap files: rx_pcap= read with libpcap, tx_pcap= written as pcap.
 *
 * Both files are opened once, by the primary's probe, and shared with
 * every process (hp_port_fd_add): a process polls the very file the probe
 * opened, whatever its working directory, permissions or mount namespace.
 * The probe opens them with the rights of the process that asked for the
 * attach (hp_port_open), not the primary's.
 *
 * rx: each process reads through its own stdio stream (pcap_file_stream):
 * its copy of the fd reopened through /proc/self/fd (a new open file
 * description: its own offset), or where that fails, pread on the fd at
 * the stream's own position; so the processes never move each other's
 * file offset. The position that counts is the port's: the byte offset of
 * the next packet, in shared memory. Every burst starts there (seeking
 * this process's stream when another process read last) and leaves it
 * after the last packet taken, so when polling moves to another process
 * (one thread polls a queue at a time) it goes on with the next packet:
 * the file is read once in all, in order.
 *
 * tx: the file is opened O_APPEND and its header written by the probe;
 * each burst becomes one writev of whole records (a burst too large for
 * one is cut between records), so records from several processes or
 * queues never interleave. Timestamps are the time of the write; bytes
 * and lengths are the packet's, so a file read and written back holds the
 * same packets. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hp_log.h"
#include "pcap_private.h"

/* A stdio stream that reads fd with pread from its own position. */
struct pcap_cookie {
	int fd;
	off64_t pos;
};

static ssize_t pcap_cookie_read(void *c, char *buf, size_t size)
{
	struct pcap_cookie *ck = c;
	ssize_t r;

	do {
		r = pread(ck->fd, buf, size, ck->pos);
	} while (r < 0 && errno == EINTR);
	if (r > 0)
		ck->pos += r;
	return r;
}

static int pcap_cookie_seek(void *c, off64_t *off, int whence)
{
	struct pcap_cookie *ck = c;
	struct stat st;
	off64_t base = 0;

	if (whence == SEEK_CUR) {
		base = ck->pos;
	} else if (whence == SEEK_END) {
		if (fstat(ck->fd, &st) < 0)
			return -1;
		base = st.st_size;
	}
	if (base + *off < 0) {
		errno = EINVAL;
		return -1;
	}
	ck->pos = base + *off;
	*off = ck->pos;
	return 0;
}

/* Frees the cookie; the fd belongs to the port layer. */
static int pcap_cookie_close(void *c)
{
	free(c);
	return 0;
}

/* A stream that preads fd from its own position. */
static FILE *pcap_cookie_open(int fd)
{
	static const cookie_io_functions_t io = {
		.read = pcap_cookie_read,
		.seek = pcap_cookie_seek,
		.close = pcap_cookie_close,
	};
	struct pcap_cookie *ck = malloc(sizeof(*ck));
	FILE *f;

	if (!ck)
		return NULL;
	ck->fd = fd;
	ck->pos = 0;
	f = fopencookie(ck, "r", io);
	if (!f)
		free(ck);
	return f;
}

/* This process's own stream on the shared file fd, buffered in buf (size
 * bytes, outliving the stream; NULL: stdio's own): the file reopened
 * through /proc (a new open file description, with its own offset, and
 * glibc's fast path for plain files), or where that is refused (no /proc,
 * the file's permissions) a stream that preads fd. */
static FILE *pcap_file_stream(int fd, char *buf, size_t size)
{
	char path[32];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	f = fopen(path, "re");
	if (!f)
		f = pcap_cookie_open(fd);
	if (!f)
		return NULL;
	if (buf)
		setvbuf(f, buf, _IOFBF, size);
	/* One thread reads it at a time (the fast-path contract). */
	__fsetlocking(f, FSETLOCKING_BYCALLER);
	/* A seek makes glibc track the offset, so ftello costs no
	 * syscall. */
	if (fseeko(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return NULL;
	}
	return f;
}

/* A libpcap reader of the shared file fd (see pcap_file_stream). */
static pcap_t *pcap_file_reader(int fd, char *buf, size_t size,
				 char *errbuf)
{
	FILE *f = pcap_file_stream(fd, buf, size);
	pcap_t *p;

	if (!f) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", strerror(ENOMEM));
		return NULL;
	}
	/* On success the pcap_t owns f (pcap_close closes it). */
	p = pcap_lib.fopen_offline(f, errbuf);
	if (!p)
		fclose(f);
	return p;
}

/* Checks that the rx file is a pcap file (and has a packet when it is to
 * be repeated), notes its link type and where its packets start. */
static int pcap_file_rx_check(struct hp_port_dev *dev, struct pcap_shared *sh,
			      const char *path, int fd)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p;
	int r = 0;

	p = pcap_file_reader(fd, NULL, 0, errbuf);
	if (!p) {
		snprintf(dev->err, dev->errlen,
			 "rx_pcap=%.200s: not a pcap file (%s)", path, errbuf);
		return -EINVAL;
	}
	sh->linktype = pcap_lib.datalink(p);
	sh->rx_start = (uint64_t)ftello(pcap_lib.file(p));
	sh->rx_off = sh->rx_start;
	if (sh->infinite_rx && pcap_lib.next_ex(p, &h, &data) != 1) {
		snprintf(dev->err, dev->errlen,
			 "rx_pcap=%.200s: no packet to repeat (infinite_rx=1)",
			 path);
		r = -EINVAL;
	}
	pcap_lib.close(p);
	return r;
}

int pcap_file_rx_probe(struct hp_port_dev *dev, struct pcap_shared *sh,
		       const char *path)
{
	struct stat st;
	int fd, r;

	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer,
	 * and the hotplug thread with it; only a regular file is taken. */
	fd = hp_port_open(dev, "rx_pcap", path, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(dev->err, dev->errlen,
			 "rx_pcap=%.200s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFL, 0) < 0) {
		r = -errno;
		snprintf(dev->err, dev->errlen, "rx_pcap=%.200s: fcntl: %s",
			 path, strerror(-r));
		close(fd);
		return r;
	}
	r = pcap_file_rx_check(dev, sh, path, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	sh->rx_fd = (uint8_t)dev->fds->nb;
	sh->rx_kind = PCAP_FILE;
	return hp_port_fd_add(dev, fd);
}

/* Writes the file header; the records follow, appended by tx bursts. */
static int pcap_file_header_write(int fd, int32_t linktype)
{
	const struct pcap_file_header fh = {
		.magic = 0xa1b2c3d4,	/* microsecond timestamps */
		.version_major = PCAP_VERSION_MAJOR,
		.version_minor = PCAP_VERSION_MINOR,
		.snaplen = PCAP_SNAPLEN,
		.linktype = (bpf_u_int32)linktype,
	};
	ssize_t w = write(fd, &fh, sizeof(fh));

	if (w == (ssize_t)sizeof(fh))
		return 0;
	return w < 0 ? -errno : -EIO;
}

int pcap_file_tx_probe(struct hp_port_dev *dev, struct pcap_shared *sh,
		       const char *path)
{
	struct stat st, rst;
	int fd, r;

	/* O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead
	 * of blocking the hotplug thread. No O_TRUNC yet: the rx file must
	 * not be emptied if tx names the same file. */
	fd = hp_port_open(dev, "tx_pcap", path,
			  O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, 0644);
	if (fd == -ENXIO)	/* not "cannot create: No such device" */
		snprintf(dev->err, dev->errlen,
			 "tx_pcap=%.200s: a FIFO that nobody reads: start its reader first",
			 path);
	if (fd < 0)
		return fd;
	r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && sh->rx_kind == PCAP_FILE &&
	    fstat(dev->fds->fd[sh->rx_fd], &rst) == 0 &&
	    st.st_dev == rst.st_dev && st.st_ino == rst.st_ino) {
		snprintf(dev->err, dev->errlen,
			 "tx_pcap=%.200s: the same file as rx_pcap=", path);
		r = -EINVAL;
	}
	if (r == 0 && S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0)
		r = -errno;
	/* A FIFO stays non-blocking: a stalled reader must not stop the
	 * fast path (the tx burst waits a little, then gives up). */
	if (r == 0 && fcntl(fd, F_SETFL,
			    O_APPEND | (S_ISREG(st.st_mode) ? 0 : O_NONBLOCK)) < 0)
		r = -errno;
	if (r == 0)
		r = pcap_file_header_write(fd, sh->linktype);
	if (r < 0) {
		if (!dev->err[0])
			snprintf(dev->err, dev->errlen,
				 "tx_pcap=%.200s: cannot write: %s", path,
				 strerror(-r));
		close(fd);
		return r;
	}
	sh->tx_fd = (uint8_t)dev->fds->nb;
	sh->tx_kind = PCAP_FILE;
	return hp_port_fd_add(dev, fd);
}

/* ---- rx ---- */

/* Opens this process's reader of the rx file (first poll), and puts it
 * where the port's position is. */
static int pcap_file_rx_sync(struct pcap_queue *pq, uint64_t off)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";

	if (HP_UNLIKELY(!pq->p)) {
		if (pq->failed)
			return -EIO;
		if (!pq->rbuf)
			pq->rbuf = malloc(PCAP_READ_BUF);
		pq->p = pq->rbuf ? pcap_file_reader(pq->fd, pq->rbuf,
						    PCAP_READ_BUF, errbuf) :
				   NULL;
		if (!pq->p) {
			pcap_queue_error(pq, "cannot read the rx file",
					 pq->rbuf ? errbuf : strerror(ENOMEM));
			return -EIO;
		}
		pq->f = pcap_lib.file(pq->p);
		pq->off = (uint64_t)ftello(pq->f);
	}
	if (pq->off != off) {
		if (fseeko(pq->f, (off_t)off, SEEK_SET) < 0) {
			pcap_queue_error(pq, "cannot seek the rx file",
					 strerror(errno));
			return -EIO;
		}
		pq->off = off;
	}
	return 0;
}

/* At the end of the file, or a read error: true if reading goes on from
 * the start (infinite_rx), else the port's rx is over. */
static bool pcap_file_rx_end(struct pcap_queue *pq, int r)
{
	struct pcap_shared *sh = pq->sh;

	if (r == PCAP_ERROR_BREAK && sh->infinite_rx && !pq->rewound &&
	    fseeko(pq->f, (off_t)sh->rx_start, SEEK_SET) == 0) {
		/* A file that shrank to no packet stops instead of spinning. */
		pq->rewound = true;
		return true;
	}
	if (r != PCAP_ERROR_BREAK) {
		/* A truncated last record, or the file changed under us. */
		hp_port_qstats_add(&pq->q.stats->errors, 1);
		HP_DEBUG(PCAP_LOG, "port %u: rx file: %s", pq->q.port_id,
			 pcap_lib.geterr(pq->p));
	}
	__atomic_store_n(&sh->rx_eof, 1, __ATOMIC_RELAXED);
	return false;
}

uint16_t pcap_file_rx(void *queue, struct hp_mbuf **pkts, uint16_t n)
{
	struct pcap_queue *pq = queue;
	struct pcap_shared *sh = pq->sh;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t bytes = 0;
	uint16_t got = 0;
	unsigned lost = 0;
	int r;

	if (HP_UNLIKELY(__atomic_load_n(&sh->rx_eof, __ATOMIC_ACQUIRE) || !n))
		return 0;
	if (HP_UNLIKELY(pcap_file_rx_sync(pq, __atomic_load_n(
				      &sh->rx_off, __ATOMIC_ACQUIRE)) < 0))
		return 0;
	if (HP_UNLIKELY(!pq->pool || hp_mbuf_alloc_bulk(pq->pool, pkts, n) < 0))
		return 0;
	while (got < n) {
		r = pcap_lib.next_ex(pq->p, &h, &data);
		if (HP_UNLIKELY(r != 1)) {
			if (pcap_file_rx_end(pq, r))
				continue;
			break;
		}
		pq->rewound = false;
		if (HP_UNLIKELY(pcap_pkt_to_mbuf(pq, pkts[got], data,
						 h->caplen) < 0)) {
			/* No buffer for a chain segment: the packet is lost;
			 * its head is reset for the next one. */
			hp_mbuf_free(pkts[got]);
			pkts[got] = hp_mbuf_alloc(pq->pool);
			lost++;
			if (!pkts[got])
				break;
			continue;
		}
		bytes += h->caplen;
		got++;
	}
	hp_mbuf_free_bulk(pkts + got, n - got);
	pq->off = (uint64_t)ftello(pq->f);
	__atomic_store_n(&sh->rx_off, pq->off, __ATOMIC_RELEASE);
	hp_port_qstats_burst(pq->q.stats, got, bytes, lost);
	return got;
}

/* ---- tx ---- */

/* Most a tx burst waits for a FIFO's reader to make room (ms). */
#define PCAP_PIPE_WAIT_MS 10

void pcap_file_tx_local(struct pcap_queue *pq)
{
	struct sigaction sa;
	struct stat st;

	pq->pipe = fstat(pq->fd, &st) == 0 && S_ISFIFO(st.st_mode);
	/* A reader that goes away must give EPIPE, not kill the process. */
	if (pq->pipe && sigaction(SIGPIPE, NULL, &sa) == 0 &&
	    sa.sa_handler == SIG_DFL) {
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
		HP_NOTICE(PCAP_LOG, "port %u: tx_pcap is a FIFO: SIGPIPE now ignored",
			  pq->q.port_id);
	}
}

/* A FIFO with no room: waits up to PCAP_PIPE_WAIT_MS for its reader; 0 or
 * -EAGAIN. */
static int pcap_file_pipe_wait(struct pcap_queue *pq)
{
	struct pollfd p = { .fd = pq->fd, .events = POLLOUT };

	return poll(&p, 1, PCAP_PIPE_WAIT_MS) > 0 && !(p.revents & POLLERR) ?
		       0 : -EAGAIN;
}

/* Writes the gathered records with as many writev calls as the kernel
 * needs (a short write continues where it stopped). A FIFO whose reader
 * left, or stays full, ends the output: the stream may end mid-record,
 * so nothing more is written to it (counted as errors). */
static int pcap_file_flush(struct pcap_queue *pq)
{
	struct iovec *iov = pq->iov;
	int cnt = (int)pq->nb_iov;
	int r = pq->broken ? -EPIPE : 0;

	while (cnt > 0 && r == 0) {
		ssize_t w = writev(pq->fd, iov, cnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && pq->pipe &&
			    pcap_file_pipe_wait(pq) == 0)
				continue;
			r = -errno;
			if (pq->pipe) {
				pq->broken = true;
				HP_WARN(PCAP_LOG,
					"port %u: tx_pcap FIFO: %s; nothing more is written to it",
					pq->q.port_id,
					r == -EAGAIN ? "its reader stalled" :
						       strerror(-r));
			}
			break;
		}
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	if (r < 0) {
		pq->nb_failed += pq->nb_rec;
		HP_DEBUG(PCAP_LOG, "port %u: tx file: %s", pq->q.port_id,
			 strerror(-r));
	}
	pq->nb_iov = 0;
	pq->nb_rec = 0;
	pq->lin_used = false;
	return r;
}

/* Adds one record: its header, then the packet's bytes in place (one
 * iovec per segment) or from a linear copy. */
static int pcap_file_add(struct pcap_queue *pq, const struct hp_mbuf *m,
			 const struct timespec *now)
{
	uint32_t caplen = m->pkt_len < PCAP_SNAPLEN ? m->pkt_len : PCAP_SNAPLEN;
	bool copy = pcap_pkt_needs_copy(m);
	struct pcap_rec *rec;

	/* Room for the header and one iovec per segment (nb_segs is at most
	 * PCAP_TX_SEGS_MAX here). */
	if (pq->nb_rec == PCAP_TX_RECS ||
	    pq->nb_iov + 1 + (copy ? 1 : m->nb_segs) > PCAP_TX_IOV ||
	    (copy && pq->lin_used))
		pcap_file_flush(pq);
	rec = &pq->rec[pq->nb_rec++];
	rec->ts_sec = (uint32_t)now->tv_sec;
	rec->ts_usec = (uint32_t)(now->tv_nsec / 1000);
	rec->caplen = caplen;
	rec->len = m->pkt_len;
	pq->iov[pq->nb_iov++] = (struct iovec){ rec, sizeof(*rec) };
	if (copy) {
		const uint8_t *lin = pcap_pkt_linear(pq, m);

		if (!lin) {
			pq->nb_rec--;
			pq->nb_iov--;
			return -ENOMEM;
		}
		pq->lin_used = true;
		pq->iov[pq->nb_iov++] = (struct iovec){ (void *)lin, caplen };
		return 0;
	}
	for (const struct hp_mbuf *s = m; s && caplen && pq->nb_iov < PCAP_TX_IOV;
	     s = s->next) {
		uint32_t k = s->data_len < caplen ? s->data_len : caplen;

		if (k)
			pq->iov[pq->nb_iov++] =
				(struct iovec){ hp_mbuf_data(s), k };
		caplen -= k;
	}
	/* A chain shorter than its pkt_len (or longer than its nb_segs): the
	 * record says what is there. */
	rec->caplen -= caplen;
	return 0;
}

uint16_t pcap_file_tx(void *queue, struct hp_mbuf **pkts, uint16_t n)
{
	struct pcap_queue *pq = queue;
	struct timespec now;
	uint64_t bytes = 0;
	unsigned bad = 0;

	if (HP_UNLIKELY(!pq->iov)) {
		pq->iov = malloc(PCAP_TX_IOV * sizeof(*pq->iov));
		pq->rec = malloc(PCAP_TX_RECS * sizeof(*pq->rec));
		if (!pq->iov || !pq->rec) {
			free(pq->iov);
			free(pq->rec);
			pq->iov = NULL;
			pq->rec = NULL;
			return 0;
		}
	}
	clock_gettime(CLOCK_REALTIME, &now);
	for (uint16_t i = 0; i < n; i++) {
		if (HP_UNLIKELY(pcap_file_add(pq, pkts[i], &now) < 0))
			bad++;
		else
			bytes += pkts[i]->pkt_len;
	}
	pcap_file_flush(pq);
	hp_mbuf_free_bulk(pkts, n);
	/* Records a write failed for count as errors, not as sent. */
	bad += pq->nb_failed;
	pq->nb_failed = 0;
	if (HP_LIKELY(bad < n)) {
		hp_port_qstats_add(&pq->q.stats->packets, n - bad);
		hp_port_qstats_add(&pq->q.stats->bytes, bytes);
	}
	if (HP_UNLIKELY(bad))
		hp_port_qstats_add(&pq->q.stats->errors, bad);
	return n;
}
