/* IKE SA and Child SA life cycle (see ikesa.h). */
#include "daemon/ikesa.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine_ctx.h"
#include "daemon/log.h"
#include "daemon/spi_table.h"

static const char *const ikesa_names[] = {
	[IKESA_CREATED] = "CREATED",
	[IKESA_CONNECTING] = "CONNECTING",
	[IKESA_ESTABLISHED] = "ESTABLISHED",
	[IKESA_DELETING] = "DELETING",
	[IKESA_DESTROYING] = "DESTROYING",
};

static const char *const child_names[] = {
	[CHILD_CREATED] = "CREATED",
	[CHILD_INSTALLED] = "INSTALLED",
	[CHILD_DELETING] = "DELETING",
	[CHILD_FAILED] = "FAILED",
};

const char *ikesa_state_name(enum ikesa_state st)
{
	return st < IKESA_STATE_COUNT ? ikesa_names[st] : "?";
}

const char *child_state_name(enum child_state st)
{
	return st < CHILD_STATE_COUNT ? child_names[st] : "?";
}

const char *ikesa_tag(const struct ikesa *sa)
{
	static char buf[CONFIG_NAME_MAX + 32];
	snprintf(buf, sizeof(buf), "%s[%016" PRIx64 "]", sa->conn ? sa->conn->name : "?",
		 ikesa_local_spi(sa));
	return buf;
}

void ikesa_set_state(struct ikesa *sa, enum ikesa_state st)
{
	if (sa->state == st)
		return;
	log_msg(LOG_IKE, st == IKESA_ESTABLISHED ? LOG_LVL_INFO : LOG_LVL_DEBUG,
		"%s: IKE SA %s -> %s", ikesa_tag(sa), ikesa_state_name(sa->state),
		ikesa_state_name(st));
	sa->state = st;
	sa->e->stats.ikesa_state_changes++;
}

void child_set_state(struct ikesa *sa, struct child_sa *c, enum child_state st)
{
	if (c->state == st)
		return;
	log_msg(LOG_CHD, LOG_LVL_DEBUG, "%s: Child SA %s %s -> %s", ikesa_tag(sa),
		c->cfg ? c->cfg->name : "?", child_state_name(c->state), child_state_name(st));
	c->state = st;
	sa->e->stats.child_state_changes++;
}

struct ikesa *ikesa_new(struct engine *e, struct cfg_ref *ref, const struct conn_cfg *conn,
			bool initiator)
{
	struct ikesa *sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->e = e;
	sa->cfgref = cfg_ref_get(ref);
	sa->conn = conn;
	sa->initiator = initiator;
	sa->state = IKESA_CREATED;
	sa->created_ms = engine_now(e);
	sa->uid = ++e->next_uid ? e->next_uid : ++e->next_uid;
	timer_init(&sa->tm.retransmit_timer, NULL, sa);
	timer_init(&sa->life_timer, NULL, sa);
	timer_init(&sa->rekey_timer, NULL, sa);
	timer_init(&sa->keepalive_timer, NULL, sa);
	timer_init(&sa->dpd_timer, NULL, sa);
	timer_init(&sa->reap_timer, NULL, sa);
	return sa;
}

/* child_by_spi keys: our inbound SPIs as they are, outbound ones with bit 32 set. */
#define OUT_KEY(spi) ((uint64_t)(spi) | (1ULL << 32))

void ikesa_link_child(struct ikesa *sa, struct child_sa *c)
{
	bool linked = false;
	for (struct child_sa *x = sa->children; x; x = x->next)
		linked |= x == c;
	if (!linked) {
		c->next = sa->children;
		sa->children = c;
	}
	c->ike = sa;
	if (c->spi_in && !c->indexed && spi_table_add(sa->e->child_by_spi, c->spi_in, sa) == 0) {
		c->indexed = true;
		sa->e->child_sa_count++;
	}
	if (c->spi_out && !c->indexed_out &&
	    spi_table_add(sa->e->child_by_spi, OUT_KEY(c->spi_out), sa) == 0)
		c->indexed_out = true;
}

void ikesa_move_child(struct ikesa *sa, struct ikesa *n, struct child_sa *c)
{
	struct child_sa **pp = &sa->children;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	c->next = NULL;
	if (c->indexed) {
		spi_table_del(sa->e->child_by_spi, c->spi_in);
		sa->e->child_sa_count--;
	}
	if (c->indexed_out)
		spi_table_del(sa->e->child_by_spi, OUT_KEY(c->spi_out));
	c->indexed = c->indexed_out = false;
	ikesa_link_child(n, c);
}

struct child_sa *ikesa_find_child_any(struct engine *e, uint32_t spi, struct ikesa **sa_out)
{
	struct ikesa *sa = spi_table_get(e->child_by_spi, spi);
	struct child_sa *c = sa ? ikesa_find_child(sa, spi, true) : NULL;
	if (!c) {
		sa = spi_table_get(e->child_by_spi, OUT_KEY(spi));
		c = sa ? ikesa_find_child(sa, spi, false) : NULL;
	}
	*sa_out = c ? sa : NULL;
	return c;
}

void ikesa_unlink_child(struct ikesa *sa, struct child_sa *c)
{
	if (c->indexed) {
		spi_table_del(sa->e->child_by_spi, c->spi_in);
		sa->e->child_sa_count--;
	}
	if (c->indexed_out)
		spi_table_del(sa->e->child_by_spi, OUT_KEY(c->spi_out));
	c->indexed = c->indexed_out = false;
	struct child_sa **pp = &sa->children;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
}

void ikesa_stop_timers(struct ikesa *sa)
{
	timer_cancel(sa->e->env.loop, &sa->life_timer);
	timer_cancel(sa->e->env.loop, &sa->rekey_timer);
	timer_cancel(sa->e->env.loop, &sa->keepalive_timer);
	timer_cancel(sa->e->env.loop, &sa->dpd_timer);
	timer_cancel(sa->e->env.loop, &sa->reap_timer);
}

void ikesa_free(struct ikesa *sa)
{
	if (!sa)
		return;
	ikesa_stop_timers(sa);
	dh_free(sa->dh);
	ike_keys_free(&sa->keys);
	sk_cipher_free(sa->c_in);
	sk_cipher_free(sa->c_out);
	free(sa->ni);
	free(sa->nr);
	free(sa->init_req);
	free(sa->init_resp);
	free(sa->cookie);
	cfg_ref_put(sa->cfgref);
	free(sa->end_reason);
	crypto_wipe(sa, sizeof(*sa));
	free(sa);
}

int ikesa_derive_keys(struct ikesa *sa, const struct secret *shared, const struct secret *old_sk_d,
		      uint16_t old_prf)
{
	uint8_t spi_i[8], spi_r[8];
	for (int i = 0; i < 8; i++) {
		spi_i[i] = (uint8_t)(sa->spi_i >> (56 - 8 * i));
		spi_r[i] = (uint8_t)(sa->spi_r >> (56 - 8 * i));
	}
	ike_keys_free(&sa->keys);
	int rc = keymat_derive_ike(&sa->suite, shared, sa->ni, sa->ni_len, sa->nr, sa->nr_len, spi_i,
				   spi_r, old_sk_d, old_prf, &sa->keys, NULL);
	if (rc != 0)
		return rc;
	sk_cipher_free(sa->c_in);
	sk_cipher_free(sa->c_out);
	/* RFC 7296 2.14: SK_ei/SK_ai protect what the original initiator sends. */
	struct sk_cipher *ci = sk_cipher_new(sa->suite.encr, sa->suite.encr_keylen, sa->suite.integ,
					     sa->keys.sk_ei, sa->keys.sk_ai);
	struct sk_cipher *cr = sk_cipher_new(sa->suite.encr, sa->suite.encr_keylen, sa->suite.integ,
					     sa->keys.sk_er, sa->keys.sk_ar);
	if (!ci || !cr) {
		sk_cipher_free(ci);
		sk_cipher_free(cr);
		sa->c_in = sa->c_out = NULL;
		return -ENOTSUP;
	}
	sa->c_out = sa->initiator ? ci : cr;
	sa->c_in = sa->initiator ? cr : ci;
	return 0;
}

struct child_sa *ikesa_find_child(struct ikesa *sa, uint32_t spi, bool inbound)
{
	for (struct child_sa *c = sa->children; c; c = c->next)
		if ((inbound ? c->spi_in : c->spi_out) == spi)
			return c;
	return NULL;
}
