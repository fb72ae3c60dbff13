/* IKE UDP sockets; see udp.h. */
#include "daemon/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/xfrm.h>

#include "daemon/endpoint.h"
#include "daemon/ikev2.h"
#include "daemon/log.h"
#include "daemon/loop.h"

/* Datagrams read per wakeup per socket: bounded so one busy socket cannot
 * starve the others (epoll is level-triggered: the rest comes next round). */
#define UDP_RECV_BATCH 64
/* Largest UDP payload over IPv4/IPv6 without jumbograms is 65527; round up. */
#define UDP_BUF_LEN 65536
/* Sockets: (listen addresses or the two wildcards) x (IKE, NAT-T). */
#define UDP_LISTEN_MAX 32

struct udp_sock {
	int fd;
	bool natt;
	bool wildcard; /* bound to the any address: source chosen per datagram */
	struct sockaddr_storage bound; /* address and port actually bound */
	struct udp *u;
};

struct udp {
	struct loop *loop;
	udp_recv_fn fn;
	void *ctx;
	uint16_t port, natt_port;
	struct udp_sock socks[2 * UDP_LISTEN_MAX];
	size_t n_socks;
	uint8_t buf[UDP_BUF_LEN];
};

static const uint8_t non_esp_marker[IKE_NON_ESP_MARKER_LEN];

static uint16_t ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static bool ss_is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return true;
}

/* "192.0.2.1[500]" / "2001:db8::1[4500]" for log lines. */
static const char *ss_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
	snprintf(buf, len, "%s[%u]", a, ss_port(ss));
	return buf;
}

/* Fills local from the packet-info control message, falling back to the bound address. */
static void local_from_cmsg(const struct udp_sock *s, struct msghdr *mh,
			    struct sockaddr_storage *local)
{
	*local = s->bound;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    s->bound.ss_family == AF_INET) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/* ipi_addr: the destination address in the IP header. */
			((struct sockaddr_in *)local)->sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   s->bound.ss_family == AF_INET6) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			l6->sin6_addr = pi.ipi6_addr;
			/* Link-local addresses are meaningless without their interface. */
			l6->sin6_scope_id = IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) ? pi.ipi6_ifindex : 0;
		}
	}
}

static void deliver(struct udp_sock *s, const struct sockaddr_storage *local,
		    const struct sockaddr_storage *remote, const uint8_t *buf, size_t len)
{
	struct udp *u = s->u;
	char r[INET6_ADDRSTRLEN + 8];

	if (s->natt) {
		/* RFC 3948 2.3: NAT-keepalive, one octet 0xFF. */
		if (len == 1 && buf[0] == 0xff) {
			if (log_enabled(LOG_NET, LOG_LVL_DEBUG))
				log_msg(LOG_NET, LOG_LVL_DEBUG, "NAT keepalive from %s",
					ss_str(remote, r, sizeof(r)));
			return;
		}
		if (len < IKE_NON_ESP_MARKER_LEN) {
			if (log_enabled(LOG_NET, LOG_LVL_DEBUG))
				log_msg(LOG_NET, LOG_LVL_DEBUG,
					"dropping %zu-octet datagram from %s: needs >= %d", len,
					ss_str(remote, r, sizeof(r)), IKE_NON_ESP_MARKER_LEN);
			return;
		}
		/* RFC 3948 2.2: a non-zero first word is an ESP SPI; the kernel's. */
		if (memcmp(buf, non_esp_marker, IKE_NON_ESP_MARKER_LEN) != 0) {
			if (log_enabled(LOG_NET, LOG_LVL_DEBUG))
				log_msg(LOG_NET, LOG_LVL_DEBUG, "dropping ESP-in-UDP from %s",
					ss_str(remote, r, sizeof(r)));
			return;
		}
		buf += IKE_NON_ESP_MARKER_LEN;
		len -= IKE_NON_ESP_MARKER_LEN;
	}
	u->fn(u->ctx, local, remote, buf, len);
}

static void sock_readable(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct udp_sock *s = ctx;
	struct udp *u = s->u;

	(void)loop;
	(void)events;
	for (int i = 0; i < UDP_RECV_BATCH; i++) {
		struct sockaddr_storage remote, local;
		union {
			struct cmsghdr align;
			uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				    CMSG_SPACE(sizeof(struct in_pktinfo))];
		} cbuf;
		struct iovec iov = { .iov_base = u->buf, .iov_len = sizeof(u->buf) };
		struct msghdr mh = {
			.msg_name = &remote,
			.msg_namelen = sizeof(remote),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		ssize_t n;

		memset(&remote, 0, sizeof(remote));
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_msg(LOG_NET, LOG_LVL_WARN, "recvmsg: %s", strerror(errno));
			return;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			log_msg(LOG_NET, LOG_LVL_WARN, "dropping datagram larger than %d octets",
				UDP_BUF_LEN);
			continue;
		}
		if (remote.ss_family != s->bound.ss_family)
			continue;
		local_from_cmsg(s, &mh, &local);
		deliver(s, &local, &remote, u->buf, (size_t)n);
	}
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) < 0 ? -errno : 0;
}

/*
 * Per-socket bypass policies, both directions (Linux IP_XFRM_POLICY /
 * IPV6_XFRM_POLICY): RFC 4301 5 has the SPD apply to IPsec management
 * traffic too, so IKE needs BYPASS entries of its own. Without
 * them a Child SA whose selectors cover the IKE endpoints (transport mode
 * between the two hosts, or a tunnel to 0.0.0.0/0) captures IKE itself:
 * our requests leave inside ESP and the peer's cleartext answers are
 * dropped by the inbound policy check, so such an SA could never be
 * deleted or rekeyed. A kernel without XFRM (ENOPROTOOPT) has no policies
 * to bypass.
 */
static void set_bypass(int fd, int family, const struct sockaddr_storage *bound)
{
	static const uint8_t dirs[] = { XFRM_POLICY_IN, XFRM_POLICY_OUT };
	int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int opt = family == AF_INET ? IP_XFRM_POLICY : IPV6_XFRM_POLICY;

	for (size_t i = 0; i < sizeof(dirs); i++) {
		struct xfrm_userpolicy_info p;
		char b[INET6_ADDRSTRLEN + 8];

		memset(&p, 0, sizeof(p));
		p.sel.family = (uint16_t)family;
		p.dir = dirs[i];
		p.action = XFRM_POLICY_ALLOW;
		p.lft.soft_byte_limit = p.lft.hard_byte_limit = XFRM_INF;
		p.lft.soft_packet_limit = p.lft.hard_packet_limit = XFRM_INF;
		if (setsockopt(fd, level, opt, &p, sizeof(p)) < 0 && errno != ENOPROTOOPT)
			log_msg(LOG_NET, LOG_LVL_WARN, "IPsec bypass policy on %s: %s (IKE may be "
				"caught by a Child SA covering this address)",
				ss_str(bound, b, sizeof(b)), strerror(errno));
	}
}

/* Opens one socket bound to addr:port. */
static int open_sock(struct udp *u, const struct sockaddr_storage *addr, uint16_t port, bool natt,
		     struct udp_sock *s)
{
	socklen_t blen = sizeof(s->bound);
	char b[INET6_ADDRSTRLEN + 8];
	int fd, err;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->u = u;
	s->natt = natt;
	s->bound = *addr;
	endpoint_set_port(&s->bound, port);
	s->wildcard = ss_is_any(&s->bound);

	fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (addr->ss_family == AF_INET) {
		err = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
		/*
		 * No DF bit: without RFC 7383 fragmentation, large IKE_AUTH
		 * messages (certificates) can only cross small-MTU paths as IP
		 * fragments, and IKE's own retransmission covers loss.
		 */
		if (!err)
			err = set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
	} else {
		/* Without V6ONLY the IPv6 wildcard socket would also take IPv4. */
		err = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
		if (!err)
			err = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
		/* Same reason as IPv4: let the stack fragment large messages. */
		if (!err)
			err = set_int(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 0);
	}
	if (err)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&s->bound, ss_len(&s->bound)) < 0) {
		err = -errno;
		goto fail;
	}
	if (getsockname(fd, (struct sockaddr *)&s->bound, &blen) < 0) {
		err = -errno;
		goto fail;
	}
	set_bypass(fd, addr->ss_family, &s->bound);
	if (natt) {
		/* RFC 3948: the kernel decapsulates ESP-in-UDP arriving here. */
		int e = set_int(fd, IPPROTO_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP);

		if (e)
			log_msg(LOG_NET, LOG_LVL_WARN,
				"UDP_ENCAP on %s: %s (ESP in UDP will not be decapsulated)",
				ss_str(&s->bound, b, sizeof(b)), strerror(-e));
	}
	err = loop_add_fd(u->loop, fd, EPOLLIN, sock_readable, s);
	if (err)
		goto fail;
	s->fd = fd;
	log_msg(LOG_NET, LOG_LVL_INFO, "listening on %s%s", ss_str(&s->bound, b, sizeof(b)),
		natt ? " (NAT-T)" : "");
	return 0;
fail:
	close(fd);
	return err;
}

/* Opens the IKE and NAT-T sockets for one address; learns kernel-picked ports. */
static int open_pair(struct udp *u, const struct sockaddr_storage *addr)
{
	for (int natt = 0; natt < 2; natt++) {
		uint16_t *port = natt ? &u->natt_port : &u->port;
		struct udp_sock *s = &u->socks[u->n_socks];
		int err = open_sock(u, addr, *port, natt, s);

		if (err)
			return err;
		u->n_socks++;
		/* Port 0 asked: every later socket reuses what the kernel gave this one. */
		if (*port == 0)
			*port = ss_port(&s->bound);
	}
	return 0;
}

int udp_new(struct loop *loop, const struct udp_config *cfg, udp_recv_fn fn, void *ctx,
	    struct udp **out)
{
	struct udp *u;
	int err = 0;

	*out = NULL;
	if (cfg->n_listen > UDP_LISTEN_MAX || !fn)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->loop = loop;
	u->fn = fn;
	u->ctx = ctx;
	u->port = cfg->port;
	u->natt_port = cfg->natt_port;

	if (cfg->n_listen > 0) {
		for (size_t i = 0; i < cfg->n_listen && !err; i++)
			err = open_pair(u, &cfg->listen[i]);
	} else {
		struct sockaddr_storage any4 = { .ss_family = AF_INET };
		struct sockaddr_storage any6 = { .ss_family = AF_INET6 };

		err = open_pair(u, &any4);
		if (!err) {
			int e6 = open_pair(u, &any6);

			/* A host without IPv6 still runs IKE over IPv4. */
			if (e6 == -EAFNOSUPPORT || e6 == -EADDRNOTAVAIL)
				log_msg(LOG_NET, LOG_LVL_INFO, "no IPv6: %s", strerror(-e6));
			else
				err = e6;
		}
	}
	if (err) {
		log_msg(LOG_NET, LOG_LVL_ERROR, "opening IKE sockets: %s", strerror(-err));
		udp_free(u);
		return err;
	}
	*out = u;
	return 0;
}

void udp_free(struct udp *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n_socks; i++) {
		if (u->socks[i].fd >= 0) {
			loop_del_fd(u->loop, u->socks[i].fd);
			close(u->socks[i].fd);
		}
	}
	free(u);
}

uint16_t udp_port(const struct udp *u, bool natt)
{
	return natt ? u->natt_port : u->port;
}

/* The socket for sending from `from` to a peer of this family. */
static struct udp_sock *pick_sock(struct udp *u, sa_family_t family,
				  const struct sockaddr_storage *from, bool natt)
{
	struct udp_sock *wild = NULL, *any = NULL;

	for (size_t i = 0; i < u->n_socks; i++) {
		struct udp_sock *s = &u->socks[i];

		if (s->natt != natt || s->bound.ss_family != family)
			continue;
		if (from && !ss_is_any(from) && endpoint_same_addr(&s->bound, from))
			return s;
		if (s->wildcard && !wild)
			wild = s;
		if (!any)
			any = s;
	}
	if (wild)
		return wild;
	/* Sockets bound to specific addresses only: any will do when the
	 * caller let the routing table choose the source. */
	if (!from || ss_is_any(from))
		return any;
	return NULL;
}

static int send_on(struct udp *u, const struct sockaddr_storage *from_local,
		   const struct sockaddr_storage *to, const uint8_t *buf, size_t len, bool natt,
		   bool marker);

int udp_send(struct udp *u, const struct sockaddr_storage *from_local,
	     const struct sockaddr_storage *to, const uint8_t *buf, size_t len)
{
	bool natt = from_local && ss_port(from_local) == u->natt_port;
	return send_on(u, from_local, to, buf, len, natt, natt);
}

int udp_send_keepalive(struct udp *u, const struct sockaddr_storage *from_local,
		       const struct sockaddr_storage *to)
{
	/* RFC 3948 2.3: the single 0xFF octet; the receiver's UDP_ENCAP socket drops it. */
	static const uint8_t ka = 0xff;
	return send_on(u, from_local, to, &ka, 1, true, false);
}

/* Sends from the IKE or the NAT-T socket (natt), with the non-ESP marker or not. */
static int send_on(struct udp *u, const struct sockaddr_storage *from_local,
		   const struct sockaddr_storage *to, const uint8_t *buf, size_t len, bool natt,
		   bool marker)
{
	struct udp_sock *s;
	struct iovec iov[2];
	size_t n_iov = 0;
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cbuf;
	struct msghdr mh = { 0 };
	struct sockaddr_storage dst = *to;
	char b[INET6_ADDRSTRLEN + 8];

	if (to->ss_family != AF_INET && to->ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (from_local && from_local->ss_family != to->ss_family)
		return -EINVAL;
	s = pick_sock(u, to->ss_family, from_local, natt);
	if (!s)
		return -EADDRNOTAVAIL;

	if (marker) {
		iov[n_iov].iov_base = (void *)non_esp_marker;
		iov[n_iov++].iov_len = sizeof(non_esp_marker);
	}
	iov[n_iov].iov_base = (void *)buf;
	iov[n_iov++].iov_len = len;
	mh.msg_name = &dst;
	mh.msg_namelen = ss_len(&dst);
	mh.msg_iov = iov;
	mh.msg_iovlen = n_iov;

	/* A wildcard socket sends from the address the exchange uses. */
	if (s->wildcard && from_local && !ss_is_any(from_local)) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		if (to->ss_family == AF_INET) {
			struct in_pktinfo pi = { 0 };

			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			pi.ipi_spec_dst = ((const struct sockaddr_in *)from_local)->sin_addr;
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		} else {
			struct in6_pktinfo pi = { 0 };
			const struct sockaddr_in6 *f6 = (const struct sockaddr_in6 *)from_local;

			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			pi.ipi6_addr = f6->sin6_addr;
			pi.ipi6_ifindex = f6->sin6_scope_id;
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	}
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0) {
		int err = -errno;

		log_msg(LOG_NET, LOG_LVL_DEBUG, "sendmsg to %s: %s", ss_str(to, b, sizeof(b)),
			strerror(errno));
		return err;
	}
	return 0;
}
