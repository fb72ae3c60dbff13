/* Proposal offer, selection and checking (see proposal.h). */
#include "daemon/proposal.h"

#include <stdio.h>
#include <string.h>

#include "daemon/names.h"

#define OFFER_XF_MAX (IKE_TRANSFORMS_MAX + 1)

/* Our proposal as transforms, with DH filtered/reordered and an ESN default for ESP. */
static size_t offer_transforms(const struct proposal_cfg *p, bool with_dh, uint16_t first_dh,
			       struct ike_transform *xf)
{
	size_t n = 0;
	bool has_esn = false;
	bool has_first = false;
	for (size_t i = 0; i < p->n; i++)
		if (p->t[i].type == TRANS_DH && p->t[i].id == first_dh)
			has_first = true;
	if (with_dh && has_first)
		xf[n++] = (struct ike_transform){.type = TRANS_DH, .id = first_dh};
	for (size_t i = 0; i < p->n && n < OFFER_XF_MAX - 1; i++) {
		const struct transform_cfg *t = &p->t[i];
		if (t->type == TRANS_DH && (!with_dh || (has_first && t->id == first_dh)))
			continue;
		if (t->type == TRANS_ESN)
			has_esn = true;
		xf[n++] = (struct ike_transform){.type = t->type, .id = t->id, .key_len = t->keylen};
	}
	/* RFC 7296 3.3.3: ESP proposals always carry an ESN transform. */
	if (p->protocol == PROTO_ESP && !has_esn)
		xf[n++] = (struct ike_transform){.type = TRANS_ESN, .id = ESN_NO};
	return n;
}

void proposal_build_offer(struct ike_builder *b, const struct proposal_cfg_list *ours,
			  uint8_t protocol, const uint8_t *spi, size_t spi_len, bool with_dh,
			  uint16_t first_dh)
{
	struct ike_proposal props[IKE_PROPOSALS_MAX];
	static struct ike_transform xf[IKE_PROPOSALS_MAX][OFFER_XF_MAX];
	size_t n = 0;
	for (size_t i = 0; i < ours->n && n < IKE_PROPOSALS_MAX; i++) {
		size_t nx = offer_transforms(&ours->p[i], with_dh, first_dh, xf[n]);
		props[n] = (struct ike_proposal){
			.num = (uint8_t)(n + 1),
			.protocol = protocol,
			.spi = {spi, spi_len},
			.n_transforms = (uint16_t)nx,
			.transforms = xf[n],
		};
		n++;
	}
	struct ike_sa sa = {.n_proposals = (uint16_t)n, .proposals = props};
	payload_build_sa(b, &sa);
}

void proposal_build_answer(struct ike_builder *b, const struct proposal_sel *s)
{
	struct ike_transform xf[5];
	size_t n = 0;
	if (s->encr)
		xf[n++] = (struct ike_transform){.type = TRANS_ENCR, .id = s->encr, .key_len = s->keylen};
	if (s->prf)
		xf[n++] = (struct ike_transform){.type = TRANS_PRF, .id = s->prf};
	if (s->integ)
		xf[n++] = (struct ike_transform){.type = TRANS_INTEG, .id = s->integ};
	if (s->dh)
		xf[n++] = (struct ike_transform){.type = TRANS_DH, .id = s->dh};
	if (s->has_esn)
		xf[n++] = (struct ike_transform){.type = TRANS_ESN, .id = s->esn};
	struct ike_proposal p = {
		.num = s->num,
		.protocol = s->protocol,
		.spi = {s->spi, s->spi_len},
		.n_transforms = (uint16_t)n,
		.transforms = xf,
	};
	struct ike_sa sa = {.n_proposals = 1, .proposals = &p};
	payload_build_sa(b, &sa);
}

static bool cfg_has(const struct proposal_cfg *c, uint8_t type, uint16_t id, uint16_t keylen)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->t[i].type == type && c->t[i].id == id && c->t[i].keylen == keylen)
			return true;
	return false;
}

static bool cfg_has_type(const struct proposal_cfg *c, uint8_t type)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->t[i].type == type)
			return true;
	return false;
}

static bool peer_has(const struct ike_proposal *p, uint8_t type, uint16_t id, uint16_t keylen)
{
	for (size_t i = 0; i < p->n_transforms; i++) {
		const struct ike_transform *t = &p->transforms[i];
		if (t->type == type && t->id == id && t->key_len == keylen && !t->unknown_attrs)
			return true;
	}
	return false;
}

static bool peer_has_type(const struct ike_proposal *p, uint8_t type)
{
	for (size_t i = 0; i < p->n_transforms; i++)
		if (p->transforms[i].type == type)
			return true;
	return false;
}

/*
 * Pick, for one transform type, our most preferred transform the peer also
 * offers. *id stays 0 when the type is absent on both sides; false when
 * one side has it and there is no common one.
 */
static bool pick(const struct proposal_cfg *c, const struct ike_proposal *p, uint8_t type,
		 uint16_t hint, uint16_t *id, uint16_t *keylen)
{
	*id = 0;
	if (keylen)
		*keylen = 0;
	bool ours = cfg_has_type(c, type), theirs = peer_has_type(p, type);
	if (type == TRANS_ESN && !ours) {
		/* Our default is no ESN. */
		if (!theirs)
			return true;
		if (peer_has(p, TRANS_ESN, ESN_NO, 0)) {
			*id = ESN_NO;
			return true;
		}
		return false;
	}
	if (!ours && !theirs)
		return true;
	if (!ours || !theirs)
		return false;
	if (hint && cfg_has(c, type, hint, 0) && peer_has(p, type, hint, 0)) {
		*id = hint;
		return true;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct transform_cfg *t = &c->t[i];
		if (t->type == type && peer_has(p, type, t->id, t->keylen)) {
			*id = t->id;
			if (keylen)
				*keylen = t->keylen;
			return true;
		}
	}
	return false;
}

/* True when p carries a transform of an additional key exchange (RFC 9370 2.2.1). */
static bool has_addke(const struct ike_proposal *p)
{
	for (size_t i = 0; i < p->n_transforms; i++)
		if (TRANS_IS_ADDKE(p->transforms[i].type))
			return true;
	return false;
}

const char *proposal_addke_note(const struct ike_sa *peer, uint8_t protocol)
{
	for (size_t i = 0; i < peer->n_proposals; i++)
		if (peer->proposals[i].protocol == protocol && has_addke(&peer->proposals[i]))
			return " (proposals with additional key exchanges, RFC 9370, ignored: "
			       "IKE_INTERMEDIATE is not implemented yet)";
	return "";
}

static bool match(const struct proposal_cfg *c, const struct ike_proposal *p, uint8_t protocol,
		  uint16_t ke_group, bool with_dh, struct proposal_sel *out)
{
	struct proposal_sel s = {.num = p->num, .protocol = protocol};
	uint16_t esn = 0;
	if (p->protocol != protocol)
		return false;
	/*
	 * Additional key exchanges need IKE_INTERMEDIATE and IKE_FOLLOWUP_KE,
	 * which the engine does not have yet: such a proposal is not chosen, as
	 * by a responder without RFC 9370 (its 2.2.1), even when each ADDKE slot
	 * offers NONE, so that the answer never has to carry those types.
	 */
	if (has_addke(p))
		return false;
	if (!pick(c, p, TRANS_ENCR, 0, &s.encr, &s.keylen) || !s.encr)
		return false;
	if (!pick(c, p, TRANS_PRF, 0, &s.prf, NULL))
		return false;
	if (!pick(c, p, TRANS_INTEG, 0, &s.integ, NULL))
		return false;
	if (with_dh && !pick(c, p, TRANS_DH, ke_group, &s.dh, NULL))
		return false;
	if (protocol == PROTO_ESP) {
		if (!pick(c, p, TRANS_ESN, 0, &esn, NULL))
			return false;
		s.has_esn = peer_has_type(p, TRANS_ESN);
		s.esn = esn;
	}
	if (protocol == PROTO_IKE && (!s.prf || !s.dh))
		return false;
	if (p->spi.len > sizeof(s.spi))
		return false;
	memcpy(s.spi, p->spi.ptr, p->spi.len);
	s.spi_len = (uint8_t)p->spi.len;
	*out = s;
	return true;
}

bool proposal_select(const struct proposal_cfg_list *ours, const struct ike_sa *peer,
		     uint8_t protocol, uint16_t ke_group, bool with_dh, struct proposal_sel *out)
{
	for (size_t i = 0; i < ours->n; i++)
		for (size_t j = 0; j < peer->n_proposals; j++)
			if (match(&ours->p[i], &peer->proposals[j], protocol, ke_group, with_dh, out))
				return true;
	return false;
}

bool proposal_check_answer(const struct proposal_cfg_list *ours, const struct ike_sa *answer,
			   uint8_t protocol, bool with_dh, struct proposal_sel *out)
{
	if (answer->n_proposals != 1)
		return false;
	const struct ike_proposal *p = &answer->proposals[0];
	/* One transform per type (RFC 7296 3.3.6). */
	for (size_t i = 0; i < p->n_transforms; i++)
		for (size_t j = i + 1; j < p->n_transforms; j++)
			if (p->transforms[i].type == p->transforms[j].type)
				return false;
	for (size_t i = 0; i < ours->n; i++) {
		struct proposal_sel s;
		if (!match(&ours->p[i], p, protocol, 0, with_dh, &s))
			continue;
		/* Nothing the peer returned may be outside this proposal of ours. */
		bool all = true;
		for (size_t k = 0; k < p->n_transforms && all; k++) {
			const struct ike_transform *t = &p->transforms[k];
			if (t->type == TRANS_ESN && !cfg_has_type(&ours->p[i], TRANS_ESN))
				all = t->id == ESN_NO;
			else if (t->type == TRANS_DH && !with_dh)
				all = false;
			else
				all = cfg_has(&ours->p[i], t->type, t->id, t->key_len);
		}
		if (all) {
			*out = s;
			return true;
		}
	}
	return false;
}

void proposal_sel_format(const struct proposal_sel *s, char *buf, size_t len)
{
	struct names_buf nb;
	size_t off = 0;
	buf[0] = 0;
#define ADD(str)                                                                              \
	do {                                                                                  \
		int w = snprintf(buf + off, len - off, "%s%s", off ? "/" : "", (str));        \
		if (w > 0 && (size_t)w < len - off)                                           \
			off += (size_t)w;                                                     \
	} while (0)
	if (s->encr) {
		char e[64];
		if (s->keylen)
			snprintf(e, sizeof(e), "%s_%u", names_encr(s->encr, &nb), s->keylen);
		else
			snprintf(e, sizeof(e), "%s", names_encr(s->encr, &nb));
		ADD(e);
	}
	if (s->integ)
		ADD(names_integ(s->integ, &nb));
	if (s->prf)
		ADD(names_prf(s->prf, &nb));
	if (s->dh)
		ADD(names_dh(s->dh, &nb));
	if (s->has_esn && s->esn == ESN_YES)
		ADD("ESN");
#undef ADD
}
