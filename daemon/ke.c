/* Key exchange negotiation shared by the KE-carrying tasks (see ke.h). */
#include "daemon/ke.h"

#include "crypto/dh.h"

uint16_t ke_first_group(const struct proposal_cfg_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = 0; j < l->p[i].n; j++)
			if (l->p[i].t[j].type == TRANS_DH && dh_supported(l->p[i].t[j].id))
				return l->p[i].t[j].id;
	return 0;
}

bool ke_group_offered(const struct proposal_cfg_list *l, uint16_t g)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = 0; j < l->p[i].n; j++)
			if (l->p[i].t[j].type == TRANS_DH && l->p[i].t[j].id == g)
				return true;
	return false;
}

uint16_t ke_invalid_group(const struct ike_notify *n)
{
	return n->data.len == 2 ? (uint16_t)(n->data.ptr[0] << 8 | n->data.ptr[1]) : 0;
}

void ke_build(struct ike_builder *b, const struct dh *dh)
{
	uint8_t pub[DH_PUBLIC_MAX];
	size_t len = dh_public_len(dh_group(dh));
	dh_public(dh, pub, len);
	struct ike_ke ke = {.group = dh_group(dh), .data = {pub, len}};
	payload_build_ke(b, &ke);
}

void ke_build_invalid(struct ike_builder *b, uint16_t group)
{
	uint8_t g[2] = {(uint8_t)(group >> 8), (uint8_t)group};
	payload_build_notify_simple(b, PROTO_NONE, N_INVALID_KE_PAYLOAD, NULL, 0, g, 2);
}
