/*
 * The IKE UDP sockets: the IKE port (500) and the NAT-T port (4500, RFC 3948
 * and RFC 7296 2.23), for IPv4 and IPv6, non-blocking, in the loop.
 *
 * Replies must leave from the address the request came to (RFC 7296 2.11:
 * the responder answers from the address and port the request was sent
 * to), so sockets bound to the wildcard address use IP_PKTINFO /
 * IPV6_RECVPKTINFO: the receive callback learns the local address of each
 * datagram, and udp_send() sets the source address the same way.
 *
 * On the NAT-T port every IKE message carries the 4-octet non-ESP marker
 * (RFC 3948 2.2): udp_send() prepends it and the receive path strips it.
 * UDP_ENCAP_ESPINUDP is set on those sockets so the kernel takes ESP-in-UDP
 * packets itself (and drops NAT keepalives); any that still reach us
 * (non-zero first octets) are dropped, as are 1-octet 0xFF keepalives
 * (RFC 3948 2.3).
 *
 * Every socket carries per-socket IPsec bypass policies (in and out), so
 * IKE stays in the clear even where a Child SA's policies cover the IKE
 * addresses themselves (transport mode between the peers).
 */
#ifndef XIKED_UDP_H
#define XIKED_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct loop;
struct udp;

struct udp_config {
	/* Addresses to bind (borrowed for the call; their ports are ignored).
	 * None: the IPv4 and IPv6 wildcard addresses (IPv6 skipped if the host
	 * has no IPv6). */
	const struct sockaddr_storage *listen;
	size_t n_listen;
	uint16_t port; /* IKE port (IKE_PORT); 0: the kernel picks one */
	uint16_t natt_port; /* NAT-T port (IKE_NATT_PORT); 0: the kernel picks one */
};

/*
 * Called for each IKE message received. local: the address and port it was
 * sent to; remote: where it came from; buf: the message without the
 * non-ESP marker. All borrowed for the call. The callback must not free
 * the struct udp.
 */
typedef void (*udp_recv_fn)(void *ctx, const struct sockaddr_storage *local,
			    const struct sockaddr_storage *remote, const uint8_t *buf, size_t len);

/*
 * Opens and binds the sockets and registers them with loop (borrowed; must
 * outlive the udp). fn/ctx receive the messages. 0 and *out (caller frees
 * with udp_free), or -errno.
 */
int udp_new(struct loop *loop, const struct udp_config *cfg, udp_recv_fn fn, void *ctx,
	    struct udp **out);
/* Unregisters and closes the sockets. NULL-safe. */
void udp_free(struct udp *u);

/* The bound IKE port (natt false) or NAT-T port (natt true). */
uint16_t udp_port(const struct udp *u, bool natt);

/*
 * Sends buf[0..len) (borrowed) to `to`. from_local (borrowed, may be NULL)
 * selects the socket by its port (the NAT-T port sends with the non-ESP
 * marker, anything else from the IKE port) and, unless its address is the
 * wildcard, the source address. NULL: the IKE port, source chosen by the
 * routing table. 0 or -errno (-EAGAIN when the socket buffer is full: the
 * datagram is dropped, retransmission covers it).
 */
int udp_send(struct udp *u, const struct sockaddr_storage *from_local,
	     const struct sockaddr_storage *to, const uint8_t *buf, size_t len);

/*
 * Sends a NAT keepalive (RFC 3948 2.3: one octet 0xFF, no non-ESP marker)
 * from the NAT-T socket to `to`; from_local as for udp_send (its port is
 * ignored). 0 or -errno.
 */
int udp_send_keepalive(struct udp *u, const struct sockaddr_storage *from_local,
		       const struct sockaddr_storage *to);

#endif
