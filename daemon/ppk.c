/* RFC 8784 3 post-quantum preshared keys: the key mixing and PPK_IDENTITY; see ppk.h. */
#include <stdio.h>
#include <string.h>

#include "crypto/keymat.h"
#include "crypto/secret.h"
#include "daemon/ikesa.h"
#include "daemon/payload.h"
#include "daemon/ppk.h"
#include "daemon/text.h"

int ppk_mix(struct ikesa *sa, struct ppk_saved *saved)
{
	struct secret **keys[] = {&sa->keys.sk_d, &sa->keys.sk_pi, &sa->keys.sk_pr};
	struct secret *mixed[3] = {0};
	int rc = 0;
	for (size_t i = 0; i < 3 && rc == 0; i++)
		rc = keymat_ppk_mix(sa->suite.prf, sa->conn->ppk, *keys[i], &mixed[i]);
	if (rc != 0) {
		for (size_t i = 0; i < 3; i++)
			secret_free(mixed[i]);
		return rc;
	}
	*saved = (struct ppk_saved){sa->keys.sk_d, sa->keys.sk_pi, sa->keys.sk_pr};
	sa->keys.sk_d = mixed[0];
	sa->keys.sk_pi = mixed[1];
	sa->keys.sk_pr = mixed[2];
	return 0;
}

void ppk_unmix(struct ikesa *sa, struct ppk_saved *saved)
{
	if (!saved->sk_d)
		return;
	secret_free(sa->keys.sk_d);
	secret_free(sa->keys.sk_pi);
	secret_free(sa->keys.sk_pr);
	sa->keys.sk_d = saved->sk_d;
	sa->keys.sk_pi = saved->sk_pi;
	sa->keys.sk_pr = saved->sk_pr;
	*saved = (struct ppk_saved){0};
}

void ppk_saved_free(struct ppk_saved *saved)
{
	secret_free(saved->sk_d);
	secret_free(saved->sk_pi);
	secret_free(saved->sk_pr);
	*saved = (struct ppk_saved){0};
}

void ppk_build_identity(struct ike_builder *b, const struct conn_cfg *conn)
{
	uint8_t data[1 + CONFIG_ID_MAX];
	data[0] = PPK_ID_FIXED;
	memcpy(data + 1, conn->ppk_id, conn->ppk_id_len);
	payload_build_notify_simple(b, PROTO_NONE, N_PPK_IDENTITY, NULL, 0, data,
				    1 + (size_t)conn->ppk_id_len);
}

bool ppk_identity_is(const struct ike_notify *n, const struct conn_cfg *conn)
{
	/* RFC 8784 5.1: a type octet, then the PPK_ID; the ID is not secret. */
	if (!n || n->data.len < 2 || !conn->ppk_id_len ||
	    (n->data.ptr[0] != PPK_ID_OPAQUE && n->data.ptr[0] != PPK_ID_FIXED))
		return false;
	return n->data.len - 1 == conn->ppk_id_len &&
	       memcmp(n->data.ptr + 1, conn->ppk_id, conn->ppk_id_len) == 0;
}

void ppk_identity_text(const struct ike_notify *n, char *buf, size_t len)
{
	if (!n || n->data.len < 2) {
		snprintf(buf, len, "(none)");
		return;
	}
	text_escape((const char *)n->data.ptr + 1, n->data.len - 1, buf, len);
}
