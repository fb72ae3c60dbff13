/*
 * EAP-MSCHAPv2 packets (draft-kamath-pppext-eap-mschapv2-02, what Windows,
 * macOS, iOS, Android and strongSwan speak): the Type-Data of EAP type 26
 * inside IKEv2's EAP payload (RFC 7296 2.16, 3.16; the EAP header itself
 * is the codec's struct ike_eap). Parsing only checks and points: values
 * are borrowed from the buffer. Every failure says what was got and what
 * was needed. The computations are crypto/mschapv2.h's.
 */
#ifndef XIKED_EAP_MSCHAPV2_H
#define XIKED_EAP_MSCHAPV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/payload.h"

enum mschapv2_op {
	MSCHAPV2_OP_CHALLENGE = 1,
	MSCHAPV2_OP_RESPONSE = 2,
	MSCHAPV2_OP_SUCCESS = 3,
	MSCHAPV2_OP_FAILURE = 4,
	MSCHAPV2_OP_CHANGE_PASSWORD = 7,
};

/* Response Value (49 octets): Peer-Challenge, 8 reserved (zero), NT-Response, Flags. */
#define MSCHAPV2_RESPONSE_VALUE_LEN 49

struct eap_mschapv2 {
	uint8_t op;              /* enum mschapv2_op */
	uint8_t id;              /* MS-CHAPv2-ID; 0 for the one-octet Success/Failure responses */
	struct ike_bytes value;  /* Challenge: 16 octets; Response: 49; else empty */
	struct ike_bytes text;   /* Challenge/Response: Name; Success/Failure request: Message */
};

/* The largest EAP packet (its 16-bit Length) less the EAP header and Type. */
#define EAP_MSCHAPV2_MAX (65535 - 5)

/*
 * The Type-Data of an EAP-MSCHAPv2 Request (request = true) or Response.
 * Requests: Challenge (Value-Size 16), Success and Failure (a message).
 * Responses: Response (Value-Size 49), and the one-octet Success and
 * Failure acknowledgements. MS-Length must equal the Type-Data's length.
 * 0, or -1 with why.
 */
int eap_mschapv2_parse(const struct ike_bytes *data, bool request, struct eap_mschapv2 *out,
		       char *why, size_t whylen);

/* Writes m's Type-Data into out[0..cap) (request as for parsing): its length, 0 if it does not fit. */
size_t eap_mschapv2_build(const struct eap_mschapv2 *m, bool request, uint8_t *out, size_t cap);

#endif
