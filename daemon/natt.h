/*
 * NAT traversal (RFC 7296 2.23, RFC 3948): floating the IKE SA to the
 * NAT-T port after IKE_SA_INIT, UDP encapsulation of the Child SAs,
 * following a NATed peer whose address or port changes, and the kernel's
 * XFRM_MSG_MAPPING events. NAT keepalives are a timer rule (timers.h).
 */
#ifndef XIKED_NATT_H
#define XIKED_NATT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netlink/kernel_ops.h"

struct ikesa;
struct engine;

/* RFC 7296 2.23 NAT_DETECTION hash: SHA-1(SPIi | SPIr | IP | Port) of ss (IKE_SA_INIT,
 * and RFC 4555 UPDATE_SA_ADDRESSES). */
void natt_hash(uint64_t spi_i, uint64_t spi_r, const struct sockaddr_storage *ss, uint8_t out[20]);
struct ike_builder;
struct ike_msg;
/*
 * NAT_DETECTION_SOURCE_IP / _DESTINATION_IP for sa's endpoints (RFC 7296
 * 2.23; RFC 4555 3.5 in UPDATE_SA_ADDRESSES), hashed with the SPIs of the
 * header that carries them. encap = yes sends a source hash that cannot
 * match, so that the peer sees us behind a NAT and both encapsulate.
 */
void natt_build_natd(struct ikesa *sa, struct ike_builder *b, uint64_t spi_i, uint64_t spi_r);
/*
 * m's NAT_DETECTION hashes (spi_i/spi_r: its header's) against sa's
 * endpoints: *src_match whether the peer's source is what we see, *dst_match
 * whether we are where it sent to. false if m carries no source hash.
 */
bool natt_match_natd(const struct ikesa *sa, const struct ike_msg *m, uint64_t spi_i,
		     uint64_t spi_r, bool *src_match, bool *dst_match);
/* Whether sa's Child SAs are UDP-encapsulated: a NAT was detected, or encap = yes. */
bool natt_encap(const struct ikesa *sa);
/*
 * The initiator after IKE_SA_INIT (RFC 7296 2.23): with a NAT (or encap =
 * yes), move sa->local and sa->remote to the NAT-T port; the following
 * requests leave from there with the non-ESP marker.
 */
void natt_float(struct ikesa *sa);
/*
 * An authenticated message came from remote to local (RFC 7296 2.11,
 * 2.23): sa follows; when the peer is behind a NAT and its address or port
 * changed, the Child SAs follow too (child_kernel_refresh).
 */
void natt_follow(struct ikesa *sa, const struct sockaddr_storage *local,
		 const struct sockaddr_storage *remote);
/*
 * struct kernel_events.mapping (ctx = the engine): the kernel saw ESP in
 * UDP for inbound SPI spi from a new address/port of the NATed peer.
 */
void natt_on_mapping(void *ctx, uint32_t spi, const struct kaddr *old_addr, uint16_t old_port,
		     const struct kaddr *new_addr, uint16_t new_port);

#endif
