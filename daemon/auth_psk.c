/*
 * AUTH_SHARED_KEY_MIC (RFC 7296 2.15):
 *   AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 * where the initiator signs its IKE_SA_INIT request, Nr and prf(SK_pi,
 * IDi'), and the responder its IKE_SA_INIT response, Ni and prf(SK_pr,
 * IDr'). Compared in constant time by the caller.
 */
#include "crypto/keymat.h"
#include "daemon/auth.h"
#include "daemon/ikesa.h"

int auth_psk_mic(struct ikesa *sa, bool of_initiator, const uint8_t *id_body, size_t idlen,
		 uint8_t *mac)
{
	const uint8_t *msg = of_initiator ? sa->init_req : sa->init_resp;
	size_t msglen = of_initiator ? sa->init_req_len : sa->init_resp_len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nlen = of_initiator ? sa->nr_len : sa->ni_len;
	const struct secret *skp = of_initiator ? sa->keys.sk_pi : sa->keys.sk_pr;

	if (!sa->conn->psk || !msg || !nonce)
		return -1;
	return keymat_psk_auth(sa->suite.prf, sa->conn->psk->data, sa->conn->psk->len, msg, msglen,
			       nonce, nlen, skp, id_body, idlen, mac);
}
