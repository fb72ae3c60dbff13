/* NAT traversal (see natt.h). */
#include "daemon/natt.h"

#include <arpa/inet.h>
#include <gcrypt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/endpoint.h"
#include "daemon/engine_ctx.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/message.h"
#include "daemon/payload.h"
#include "daemon/sa_event.h"

static void spi_bytes(uint64_t v, uint8_t out[8])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

void natt_hash(uint64_t spi_i, uint64_t spi_r, const struct sockaddr_storage *ss, uint8_t out[20])
{
	uint8_t buf[8 + 8 + 16 + 2];
	size_t n = 16;
	spi_bytes(spi_i, buf);
	spi_bytes(spi_r, buf + 8);
	uint16_t port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		memcpy(buf + 16, &s4->sin_addr, 4);
		port = s4->sin_port;
		n += 4;
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		memcpy(buf + 16, &s6->sin6_addr, 16);
		port = s6->sin6_port;
		n += 16;
	}
	memcpy(buf + n, &port, 2); /* already network order */
	n += 2;
	gcry_md_hash_buffer(GCRY_MD_SHA1, out, buf, n);
}

void natt_build_natd(struct ikesa *sa, struct ike_builder *b, uint64_t spi_i, uint64_t spi_r)
{
	uint8_t h[20];
	natt_hash(spi_i, spi_r, &sa->local, h);
	if (sa->conn && sa->conn->live.encap)
		rng_fill(sa->e->env.rng, h, sizeof(h));
	payload_build_notify_simple(b, PROTO_NONE, N_NAT_DETECTION_SOURCE_IP, NULL, 0, h, 20);
	natt_hash(spi_i, spi_r, &sa->remote, h);
	payload_build_notify_simple(b, PROTO_NONE, N_NAT_DETECTION_DESTINATION_IP, NULL, 0, h, 20);
}

bool natt_match_natd(const struct ikesa *sa, const struct ike_msg *m, uint64_t spi_i,
		     uint64_t spi_r, bool *src_match, bool *dst_match)
{
	uint8_t h_src[20], h_dst[20];
	bool have_src = false;
	*src_match = *dst_match = false;
	natt_hash(spi_i, spi_r, &sa->remote, h_src);
	natt_hash(spi_i, spi_r, &sa->local, h_dst);
	for (const struct ike_payload *p = message_find(m, PL_NOTIFY, NULL); p;
	     p = message_find(m, PL_NOTIFY, p)) {
		const struct ike_notify *n = &p->u.notify;
		if (n->data.len != 20)
			continue;
		if (n->type == N_NAT_DETECTION_SOURCE_IP) {
			have_src = true;
			*src_match |= memcmp(n->data.ptr, h_src, 20) == 0;
		} else if (n->type == N_NAT_DETECTION_DESTINATION_IP) {
			*dst_match |= memcmp(n->data.ptr, h_dst, 20) == 0;
		}
	}
	return have_src;
}

bool natt_encap(const struct ikesa *sa)
{
	return (sa->ext & (EXT_NAT_LOCAL | EXT_NAT_REMOTE)) || (sa->conn && sa->conn->live.encap);
}

void natt_float(struct ikesa *sa)
{
	uint16_t p = sa->e->env.natt_port;
	/* RFC 4555 3.3: offering MOBIKE, move to the NAT-T port even without a NAT. */
	bool mobike = sa->conn && sa->conn->live.mobike;
	if ((!natt_encap(sa) && !mobike) || !p)
		return;
	endpoint_set_port(&sa->local, p);
	endpoint_set_port(&sa->remote, p);
	char ra[64];
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: %s: floating to %s", ikesa_tag(sa),
		sa->ext & (EXT_NAT_LOCAL | EXT_NAT_REMOTE) ? "NAT detected" :
		natt_encap(sa) ? "encap = yes" : "MOBIKE offered",
		endpoint_str(&sa->remote, ra, sizeof(ra)));
}

/* sa's endpoints moved from old_local/old_remote: its installed Child SAs follow. */
static void children_follow(struct ikesa *sa, const struct sockaddr_storage *old_local,
			    const struct sockaddr_storage *old_remote)
{
	/* A NATed peer's states stay encapsulated (natt_encap) whatever its address. */
	child_kernel_migrate(sa, old_local, old_remote, natt_encap(sa));
}

void natt_follow(struct ikesa *sa, const struct sockaddr_storage *local,
		 const struct sockaddr_storage *remote)
{
	/*
	 * RFC 4555 3.5: under MOBIKE the addresses change by UPDATE_SA_ADDRESSES
	 * (task_mobike.c); only a NATed peer's new mapping is still followed.
	 */
	if ((sa->ext & EXT_MOBIKE) && !(sa->ext & EXT_NAT_REMOTE))
		return;
	struct sockaddr_storage old_local = sa->local, old_remote = sa->remote;
	sa->remote = *remote;
	if (local->ss_family)
		sa->local = *local;
	if (endpoint_same(&old_remote, &sa->remote) &&
	    (!local->ss_family || endpoint_same(&old_local, &sa->local)))
		return;
	/*
	 * RFC 7296 2.23: without MOBIKE, only a peer behind a NAT is followed
	 * to a new address or port; the IKE SA already was (2.11).
	 */
	if (sa->state != IKESA_ESTABLISHED || !(sa->ext & EXT_NAT_REMOTE) || !sa->children)
		return;
	char o[64], n[64];
	sa->moves++;
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: NATed peer moved from %s to %s: Child SAs follow",
		ikesa_tag(sa), endpoint_str(&old_remote, o, sizeof(o)), endpoint_str(&sa->remote, n, sizeof(n)));
	sa->e->stats.nat_peer_moves++;
	sa_event(sa, EV_MOBIKE_MOVE, "NAT: the peer moved from %s", o);
	children_follow(sa, &old_local, &old_remote);
}

void natt_on_mapping(void *ctx, uint32_t spi, const struct kaddr *old_addr, uint16_t old_port,
		     const struct kaddr *new_addr, uint16_t new_port)
{
	(void)old_addr;
	(void)old_port;
	struct engine *e = ctx;
	struct ikesa *sa = NULL;
	struct child_sa *c = ikesa_find_child_any(e, spi, &sa);
	char o[64], n[64];
	if (!c || !sa || sa->state != IKESA_ESTABLISHED) {
		log_msg(LOG_KNL, LOG_LVL_DEBUG, "XFRM mapping for unknown SPI %08x ignored", ntohl(spi));
		return;
	}
	if (!natt_encap(sa))
		return; /* nothing of ours is encapsulated: not our mapping */
	struct sockaddr_storage now;
	kaddr_to_sockaddr(new_addr, new_port, &now);
	if (now.ss_family != sa->remote.ss_family || endpoint_same(&now, &sa->remote))
		return;
	struct sockaddr_storage old_local = sa->local, old_remote = sa->remote;
	sa->remote = now;
	sa->moves++;
	/* RFC 3948 / RFC 7296 2.23: the NAT in front of the peer remapped it. */
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: NAT mapping changed: peer %s is now %s (Child SA %08x)",
		ikesa_tag(sa), endpoint_str(&old_remote, o, sizeof(o)), endpoint_str(&now, n, sizeof(n)),
		ntohl(spi));
	sa_event(sa, EV_MOBIKE_MOVE, "NAT: mapping changed, the peer was %s", o);
	e->stats.nat_mapping_events++;
	children_follow(sa, &old_local, &old_remote);
}
