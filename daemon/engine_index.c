/* The engine's SA index (see engine_index.h). */
#include "daemon/engine_index.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/fnv.h"
#include "daemon/dos.h"
#include "daemon/ikesa.h"
#include "daemon/spi_table.h"

/* Key of the half-open table: the peer's SPIi and its address (RFC 7296 2.1 retransmits). */
static uint64_t half_open_key(uint64_t spi_i, const struct sockaddr_storage *remote)
{
	uint64_t h = spi_i ^ 0x9e3779b97f4a7c15ULL;
	const uint8_t *p = (const uint8_t *)remote;
	size_t n = remote->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	return fnv64(h, p, n);
}

/* FNV-1a of a conn name: the key of the by_conn table. */
static uint64_t conn_key(const char *name)
{
	return fnv64(FNV64_OFFSET, name, strlen(name));
}

static void peer_index_del(struct engine *e, struct ikesa *sa);

/* ---- by our SPI ---- */

struct ikesa *engine_find(struct engine *e, uint64_t local_spi)
{
	return spi_table_get(e->by_spi, local_spi);
}

int engine_index(struct engine *e, struct ikesa *sa)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t spi = engine_random_spi(e);
		if (sa->initiator)
			sa->spi_i = spi;
		else
			sa->spi_r = spi;
		if (spi_table_add(e->by_spi, spi, sa) == 0) {
			sa->local_spi_key = spi;
			sa->in_table = true;
			return 0;
		}
	}
	return -EEXIST;
}

void engine_index_remove(struct engine *e, struct ikesa *sa)
{
	if (sa->in_table)
		spi_table_del(e->by_spi, sa->local_spi_key);
	if (sa->in_half_open)
		dos_released(e->dos, sizeof(*sa) + sa->init_req_len + sa->init_resp_len);
	engine_half_open_end(e, sa);
	if (sa->dos_counted)
		dos_ike_sa_del(e->dos, &sa->half_open_from);
	sa->dos_counted = false;
	peer_index_del(e, sa);
	if (spi_table_get(e->by_conn, conn_key(sa->conn->name)) == sa)
		spi_table_del(e->by_conn, conn_key(sa->conn->name));
	sa->in_table = sa->in_half_open = false;
}

int engine_send(struct engine *e, const struct ikesa *sa, const uint8_t *buf, size_t len)
{
	e->stats.tx++;
	return e->env.send(e->env.send_ctx, &sa->local, &sa->remote, buf, len);
}

static void collect(uint64_t key, void *val, void *ctx)
{
	(void)key;
	struct engine_sa_list *l = ctx;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct ikesa **nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = val;
}

struct engine_sa_list engine_all_sas(struct engine *e)
{
	struct engine_sa_list l = {0};
	spi_table_each(e->by_spi, collect, &l);
	return l;
}

/* ---- half-open ---- */

struct ikesa *engine_half_open_find(struct engine *e, uint64_t spi_i,
				    const struct sockaddr_storage *remote)
{
	return spi_table_get(e->half_open, half_open_key(spi_i, remote));
}

/* The half-open list, oldest first: a full table replaces its head (dos.h). */
static void half_open_link(struct engine *e, struct ikesa *sa)
{
	sa->ho_next = NULL;
	sa->ho_prev = e->ho_last;
	if (e->ho_last)
		e->ho_last->ho_next = sa;
	else
		e->ho_first = sa;
	e->ho_last = sa;
}

void engine_half_open_add(struct engine *e, struct ikesa *sa, uint64_t spi_i,
			  const struct sockaddr_storage *remote)
{
	sa->half_open_key = half_open_key(spi_i, remote);
	sa->in_half_open = spi_table_add(e->half_open, sa->half_open_key, sa) == 0;
	sa->half_open_from = *remote;
	if (sa->in_half_open) {
		dos_half_open_add(e->dos, remote);
		half_open_link(e, sa);
	}
	dos_ike_sa_add(e->dos, remote);
	sa->dos_counted = true;
}

void engine_half_open_end(struct engine *e, struct ikesa *sa)
{
	if (!sa->in_half_open)
		return;
	spi_table_del(e->half_open, sa->half_open_key);
	dos_half_open_del(e->dos, &sa->half_open_from);
	if (sa->ho_prev)
		sa->ho_prev->ho_next = sa->ho_next;
	else
		e->ho_first = sa->ho_next;
	if (sa->ho_next)
		sa->ho_next->ho_prev = sa->ho_prev;
	else
		e->ho_last = sa->ho_prev;
	sa->ho_prev = sa->ho_next = NULL;
	sa->in_half_open = false;
}

/* ---- by peer identity ---- */

static uint64_t peer_key(const char *conn, uint8_t type, const uint8_t *id, size_t len)
{
	return fnv64(conn_key(conn) ^ ((uint64_t)type << 56), id, len);
}

struct ikesa *engine_peer_first(struct engine *e, const char *conn, uint8_t type,
				const uint8_t *id, size_t len)
{
	return spi_table_get(e->by_peer, peer_key(conn, type, id, len));
}

void engine_peer_index_add(struct engine *e, struct ikesa *sa)
{
	if (sa->in_peer_index || !sa->peer_id_type)
		return;
	sa->peer_key = peer_key(sa->conn->name, sa->peer_id_type, sa->peer_id, sa->peer_id_len);
	struct ikesa *head = spi_table_del(e->by_peer, sa->peer_key);
	sa->peer_next = head;
	sa->peer_prev = NULL;
	if (head)
		head->peer_prev = &sa->peer_next;
	if (spi_table_add(e->by_peer, sa->peer_key, sa) != 0) {
		/* out of memory: keep the old list reachable, leave sa out */
		if (head) {
			head->peer_prev = NULL;
			spi_table_add(e->by_peer, sa->peer_key, head);
		}
		return;
	}
	sa->in_peer_index = true;
}

void engine_set_established(struct ikesa *sa)
{
	if (sa->state == IKESA_ESTABLISHED)
		return;
	ikesa_set_state(sa, IKESA_ESTABLISHED);
	engine_peer_index_add(sa->e, sa);
}

static void peer_index_del(struct engine *e, struct ikesa *sa)
{
	if (!sa->in_peer_index)
		return;
	if (sa->peer_prev) {
		*sa->peer_prev = sa->peer_next;
	} else {
		spi_table_del(e->by_peer, sa->peer_key);
		if (sa->peer_next)
			spi_table_add(e->by_peer, sa->peer_key, sa->peer_next);
	}
	if (sa->peer_next)
		sa->peer_next->peer_prev = sa->peer_prev;
	sa->in_peer_index = false;
}

/* ---- by conn (the IKE SA we initiated) ---- */

struct ikesa *engine_conn_sa(struct engine *e, const char *conn)
{
	struct ikesa *sa = spi_table_get(e->by_conn, conn_key(conn));
	if (sa && strcmp(sa->conn->name, conn) == 0 && sa->state <= IKESA_ESTABLISHED)
		return sa;
	return NULL;
}

void engine_set_conn_sa(struct engine *e, struct ikesa *sa)
{
	spi_table_del(e->by_conn, conn_key(sa->conn->name));
	spi_table_add(e->by_conn, conn_key(sa->conn->name), sa);
}

void engine_take_conn_role(struct engine *e, struct ikesa *old, struct ikesa *n)
{
	uint64_t k = conn_key(old->conn->name);
	if (spi_table_get(e->by_conn, k) == old) {
		spi_table_del(e->by_conn, k);
		spi_table_add(e->by_conn, k, n);
	}
}
