/*
 * The engine's SA index: the tables of IKE SAs (by our SPI, half-open by
 * the peer's SPIi and address, by conn we initiated, by peer identity) and
 * sending from an SA's addresses. Below the tasks and the kernel modules,
 * above the data model (ikesa.h) and the context (engine_ctx.h); it only
 * files SAs, it never creates, tears down or talks to the kernel. All O(1)
 * except engine_all_sas (control operations only).
 */
#ifndef XIKED_ENGINE_INDEX_H
#define XIKED_ENGINE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/engine_ctx.h"

struct ikesa;

/* Find an IKE SA by our SPI. */
struct ikesa *engine_find(struct engine *e, uint64_t local_spi);
/* Insert sa under a new random local SPI (setting spi_i or spi_r); 0 or -EEXIST. */
int engine_index(struct engine *e, struct ikesa *sa);
/*
 * Takes sa out of every table (by SPI, half-open and its DoS counts, peer
 * identity, conn role); the SA itself is untouched otherwise.
 */
void engine_index_remove(struct engine *e, struct ikesa *sa);
/* Sends buf from sa's local to remote address. */
int engine_send(struct engine *e, const struct ikesa *sa, const uint8_t *buf, size_t len);

/*
 * Half-open SAs (RFC 7296 2.1, 2.6): a responder's SA before it is
 * established, found again by (peer SPIi, peer address) when the
 * IKE_SA_INIT request is retransmitted, listed oldest first (e->ho_first
 * is the one a full table replaces, dos.h) and counted per source.
 */
struct ikesa *engine_half_open_find(struct engine *e, uint64_t spi_i,
				    const struct sockaddr_storage *remote);
/* Files sa (a new responder's SA from remote) as half-open and counts it against remote. */
void engine_half_open_add(struct engine *e, struct ikesa *sa, uint64_t spi_i,
			  const struct sockaddr_storage *remote);
/* sa is no longer half-open: out of the table, the list and the counts. */
void engine_half_open_end(struct engine *e, struct ikesa *sa);

/*
 * The established IKE SAs of conn with an authenticated peer identity
 * (type, id[0..len)), as a list linked by peer_next (INITIAL_CONTACT,
 * RFC 7296 2.4); O(1). Added when an SA becomes ESTABLISHED, removed when it goes.
 */
struct ikesa *engine_peer_first(struct engine *e, const char *conn, uint8_t type,
				const uint8_t *id, size_t len);
void engine_peer_index_add(struct engine *e, struct ikesa *sa);
/* sa becomes ESTABLISHED (ikesa_set_state) and, on that change, joins the peer index. */
void engine_set_established(struct ikesa *sa);

/* The IKE SA we initiated for conn (up or connecting), or NULL. */
struct ikesa *engine_conn_sa(struct engine *e, const char *conn);
/* sa is now the IKE SA we initiated for its conn. */
void engine_set_conn_sa(struct engine *e, struct ikesa *sa);
/* If old is the IKE SA we initiated for its conn, n takes that role (IKE rekey). */
void engine_take_conn_role(struct engine *e, struct ikesa *old, struct ikesa *n);

/* A snapshot of all IKE SAs (control operations only, never per packet); free v. */
struct engine_sa_list {
	struct ikesa **v;
	size_t n, cap;
};
struct engine_sa_list engine_all_sas(struct engine *e);

#endif
