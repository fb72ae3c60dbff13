/*
 * Names of IKEv2 protocol values. Contract and spelling rules: daemon/names.h.
 *
 * The case labels are the enum constants of daemon/ikev2.h, and the
 * strings are derived from the same tokens by the preprocessor where the
 * IANA spelling equals the constant's name minus its prefix, so a name
 * cannot drift from its number.
 */
#include <stdio.h>

#include "daemon/ikev2.h"
#include "daemon/names.h"

static const char *unknown(struct names_buf *b, const char *kind, unsigned v)
{
	snprintf(b->s, sizeof(b->s), "UNKNOWN_%s(%u)", kind, v);
	return b->s;
}

/* Case whose string is the constant's own name. */
#define SAME(c) \
	case c: \
		return #c
/* Case whose string is the constant's name without prefix p. */
#define STRIP(p, x) \
	case p##x: \
		return #x

const char *names_exchange(uint8_t exchange, struct names_buf *b)
{
	switch (exchange) {
		SAME(IKE_SA_INIT);
		SAME(IKE_AUTH);
		SAME(CREATE_CHILD_SA);
		SAME(INFORMATIONAL);
		SAME(IKE_SESSION_RESUME);
		SAME(IKE_INTERMEDIATE);
	}
	return unknown(b, "EXCHANGE", exchange);
}

/* RFC 7296 3.2 notation, as the IANA registry abbreviates. */
const char *names_payload(uint8_t type, struct names_buf *b)
{
	switch (type) {
	case PL_NONE: return "NONE";
	case PL_SA: return "SA";
	case PL_KE: return "KE";
	case PL_IDI: return "IDi";
	case PL_IDR: return "IDr";
	case PL_CERT: return "CERT";
	case PL_CERTREQ: return "CERTREQ";
	case PL_AUTH: return "AUTH";
	case PL_NONCE: return "Nonce";
	case PL_NOTIFY: return "N";
	case PL_DELETE: return "D";
	case PL_VENDOR: return "V";
	case PL_TSI: return "TSi";
	case PL_TSR: return "TSr";
	case PL_SK: return "SK";
	case PL_CP: return "CP";
	case PL_EAP: return "EAP";
	case PL_GSPM: return "GSPM";
	case PL_IDG: return "IDg";
	case PL_GSA: return "GSA";
	case PL_KD: return "KD";
	case PL_SKF: return "SKF";
	case PL_PS: return "PS";
	}
	return unknown(b, "PAYLOAD", type);
}

const char *names_notify(uint16_t type, struct names_buf *b)
{
	switch (type) {
		STRIP(N_, UNSUPPORTED_CRITICAL_PAYLOAD);
		STRIP(N_, INVALID_IKE_SPI);
		STRIP(N_, INVALID_MAJOR_VERSION);
		STRIP(N_, INVALID_SYNTAX);
		STRIP(N_, INVALID_MESSAGE_ID);
		STRIP(N_, INVALID_SPI);
		STRIP(N_, NO_PROPOSAL_CHOSEN);
		STRIP(N_, INVALID_KE_PAYLOAD);
		STRIP(N_, AUTHENTICATION_FAILED);
		STRIP(N_, SINGLE_PAIR_REQUIRED);
		STRIP(N_, NO_ADDITIONAL_SAS);
		STRIP(N_, INTERNAL_ADDRESS_FAILURE);
		STRIP(N_, FAILED_CP_REQUIRED);
		STRIP(N_, TS_UNACCEPTABLE);
		STRIP(N_, INVALID_SELECTORS);
		STRIP(N_, UNACCEPTABLE_ADDRESSES);
		STRIP(N_, UNEXPECTED_NAT_DETECTED);
		STRIP(N_, USE_ASSIGNED_HoA);
		STRIP(N_, TEMPORARY_FAILURE);
		STRIP(N_, CHILD_SA_NOT_FOUND);
		STRIP(N_, INVALID_GROUP_ID);
		STRIP(N_, AUTHORIZATION_FAILED);
		STRIP(N_, STATE_NOT_FOUND);
		STRIP(N_, INITIAL_CONTACT);
		STRIP(N_, SET_WINDOW_SIZE);
		STRIP(N_, ADDITIONAL_TS_POSSIBLE);
		STRIP(N_, IPCOMP_SUPPORTED);
		STRIP(N_, NAT_DETECTION_SOURCE_IP);
		STRIP(N_, NAT_DETECTION_DESTINATION_IP);
		STRIP(N_, COOKIE);
		STRIP(N_, USE_TRANSPORT_MODE);
		STRIP(N_, HTTP_CERT_LOOKUP_SUPPORTED);
		STRIP(N_, REKEY_SA);
		STRIP(N_, ESP_TFC_PADDING_NOT_SUPPORTED);
		STRIP(N_, NON_FIRST_FRAGMENTS_ALSO);
		STRIP(N_, MOBIKE_SUPPORTED);
		STRIP(N_, ADDITIONAL_IP4_ADDRESS);
		STRIP(N_, ADDITIONAL_IP6_ADDRESS);
		STRIP(N_, NO_ADDITIONAL_ADDRESSES);
		STRIP(N_, UPDATE_SA_ADDRESSES);
		STRIP(N_, COOKIE2);
		STRIP(N_, NO_NATS_ALLOWED);
		STRIP(N_, AUTH_LIFETIME);
		STRIP(N_, MULTIPLE_AUTH_SUPPORTED);
		STRIP(N_, ANOTHER_AUTH_FOLLOWS);
		STRIP(N_, REDIRECT_SUPPORTED);
		STRIP(N_, REDIRECT);
		STRIP(N_, REDIRECTED_FROM);
		STRIP(N_, TICKET_LT_OPAQUE);
		STRIP(N_, TICKET_REQUEST);
		STRIP(N_, TICKET_ACK);
		STRIP(N_, TICKET_NACK);
		STRIP(N_, TICKET_OPAQUE);
		STRIP(N_, LINK_ID);
		STRIP(N_, USE_WESP_MODE);
		STRIP(N_, ROHC_SUPPORTED);
		STRIP(N_, EAP_ONLY_AUTHENTICATION);
		STRIP(N_, CHILDLESS_IKEV2_SUPPORTED);
		STRIP(N_, QUICK_CRASH_DETECTION);
		STRIP(N_, IKEV2_MESSAGE_ID_SYNC_SUPPORTED);
		STRIP(N_, IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED);
		STRIP(N_, IKEV2_MESSAGE_ID_SYNC);
		STRIP(N_, IPSEC_REPLAY_COUNTER_SYNC);
		STRIP(N_, SECURE_PASSWORD_METHODS);
		STRIP(N_, PSK_PERSIST);
		STRIP(N_, PSK_CONFIRM);
		STRIP(N_, ERX_SUPPORTED);
		STRIP(N_, IFOM_CAPABILITY);
		STRIP(N_, SENDER_REQUEST_ID);
		STRIP(N_, IKEV2_FRAGMENTATION_SUPPORTED);
		STRIP(N_, SIGNATURE_HASH_ALGORITHMS);
		STRIP(N_, CLONE_IKE_SA_SUPPORTED);
		STRIP(N_, CLONE_IKE_SA);
		STRIP(N_, PUZZLE);
		STRIP(N_, USE_PPK);
		STRIP(N_, PPK_IDENTITY);
		STRIP(N_, NO_PPK_AUTH);
		STRIP(N_, INTERMEDIATE_EXCHANGE_SUPPORTED);
		STRIP(N_, IP4_ALLOWED);
		STRIP(N_, IP6_ALLOWED);
		STRIP(N_, ADDITIONAL_KEY_EXCHANGE);
		STRIP(N_, USE_AGGFRAG);
	}
	return unknown(b, "NOTIFY", type);
}

const char *names_protocol(uint8_t protocol, struct names_buf *b)
{
	switch (protocol) {
		STRIP(PROTO_, NONE);
		STRIP(PROTO_, IKE);
		STRIP(PROTO_, AH);
		STRIP(PROTO_, ESP);
	}
	return unknown(b, "PROTOCOL", protocol);
}

/* IANA abbreviations of the transform types (type 4 is now "KE"). */
const char *names_transform_type(uint8_t type, struct names_buf *b)
{
	switch (type) {
	case TRANS_ENCR: return "ENCR";
	case TRANS_PRF: return "PRF";
	case TRANS_INTEG: return "INTEG";
	case TRANS_DH: return "KE";
	case TRANS_ESN: return "ESN";
	case TRANS_ADDKE1: return "ADDKE1";
	case TRANS_ADDKE1 + 1: return "ADDKE2";
	case TRANS_ADDKE1 + 2: return "ADDKE3";
	case TRANS_ADDKE1 + 3: return "ADDKE4";
	case TRANS_ADDKE1 + 4: return "ADDKE5";
	case TRANS_ADDKE1 + 5: return "ADDKE6";
	case TRANS_ADDKE7: return "ADDKE7";
	}
	return unknown(b, "TRANSFORM_TYPE", type);
}

const char *names_encr(uint16_t id, struct names_buf *b)
{
	switch (id) {
		SAME(ENCR_3DES);
		SAME(ENCR_NULL);
		SAME(ENCR_AES_CBC);
		SAME(ENCR_AES_CTR);
		SAME(ENCR_AES_CCM_8);
		SAME(ENCR_AES_CCM_12);
		SAME(ENCR_AES_CCM_16);
		SAME(ENCR_AES_GCM_8);
		SAME(ENCR_AES_GCM_12);
		SAME(ENCR_AES_GCM_16);
		SAME(ENCR_NULL_AUTH_AES_GMAC);
		SAME(ENCR_CAMELLIA_CBC);
		SAME(ENCR_CHACHA20_POLY1305);
	}
	return unknown(b, "ENCR", id);
}

const char *names_prf(uint16_t id, struct names_buf *b)
{
	switch (id) {
		SAME(PRF_HMAC_MD5);
		SAME(PRF_HMAC_SHA1);
		SAME(PRF_AES128_XCBC);
		SAME(PRF_HMAC_SHA2_256);
		SAME(PRF_HMAC_SHA2_384);
		SAME(PRF_HMAC_SHA2_512);
		SAME(PRF_AES128_CMAC);
	}
	return unknown(b, "PRF", id);
}

const char *names_integ(uint16_t id, struct names_buf *b)
{
	switch (id) {
	case AUTH_NONE: return "NONE";
		SAME(AUTH_HMAC_MD5_96);
		SAME(AUTH_HMAC_SHA1_96);
		SAME(AUTH_AES_XCBC_96);
		SAME(AUTH_HMAC_SHA1_160);
		SAME(AUTH_AES_CMAC_96);
		SAME(AUTH_HMAC_SHA2_256_128);
		SAME(AUTH_HMAC_SHA2_384_192);
		SAME(AUTH_HMAC_SHA2_512_256);
	}
	return unknown(b, "INTEG", id);
}

/* IANA "Transform Type 4" names: MODP_*, ECP_*, Curve25519, Curve448, ML-KEM-*. */
const char *names_dh(uint16_t group, struct names_buf *b)
{
	switch (group) {
		STRIP(DH_, NONE);
		STRIP(DH_, MODP_768);
		STRIP(DH_, MODP_1024);
		STRIP(DH_, MODP_1536);
		STRIP(DH_, MODP_2048);
		STRIP(DH_, MODP_3072);
		STRIP(DH_, MODP_4096);
		STRIP(DH_, MODP_6144);
		STRIP(DH_, MODP_8192);
		STRIP(DH_, ECP_256);
		STRIP(DH_, ECP_384);
		STRIP(DH_, ECP_521);
	case DH_CURVE25519: return "Curve25519";
	case DH_CURVE448: return "Curve448";
	case DH_MLKEM512: return "ML-KEM-512";
	case DH_MLKEM768: return "ML-KEM-768";
	case DH_MLKEM1024: return "ML-KEM-1024";
	}
	return unknown(b, "KE", group);
}

const char *names_esn(uint16_t id, struct names_buf *b)
{
	switch (id) {
	case ESN_NO: return "NO_ESN";
	case ESN_YES: return "ESN";
	}
	return unknown(b, "ESN", id);
}

const char *names_transform(uint8_t type, uint16_t id, struct names_buf *b)
{
	switch (type) {
	case TRANS_ENCR: return names_encr(id, b);
	case TRANS_PRF: return names_prf(id, b);
	case TRANS_INTEG: return names_integ(id, b);
	case TRANS_DH: return names_dh(id, b);
	case TRANS_ESN: return names_esn(id, b);
	}
	if (TRANS_IS_ADDKE(type)) /* RFC 9370 2.2.1: type 4's IDs, NONE making the slot optional */
		return names_dh(id, b);
	return unknown(b, "TRANSFORM", id);
}

const char *names_id_type(uint8_t type, struct names_buf *b)
{
	switch (type) {
		SAME(ID_IPV4_ADDR);
		SAME(ID_FQDN);
		SAME(ID_RFC822_ADDR);
		SAME(ID_IPV6_ADDR);
		SAME(ID_DER_ASN1_DN);
		SAME(ID_DER_ASN1_GN);
		SAME(ID_KEY_ID);
		SAME(ID_FC_NAME);
		SAME(ID_NULL);
	}
	return unknown(b, "ID", type);
}

const char *names_auth_method(uint8_t method, struct names_buf *b)
{
	switch (method) {
		STRIP(AUTH_, RSA_SIG);
		STRIP(AUTH_, SHARED_KEY_MIC);
		STRIP(AUTH_, DSS_SIG);
		STRIP(AUTH_, ECDSA_256);
		STRIP(AUTH_, ECDSA_384);
		STRIP(AUTH_, ECDSA_521);
		STRIP(AUTH_, GSPAM);
		STRIP(AUTH_, NULL);
		STRIP(AUTH_, DIGITAL_SIGNATURE);
	}
	return unknown(b, "AUTH", method);
}

const char *names_cert_encoding(uint8_t encoding, struct names_buf *b)
{
	switch (encoding) {
		STRIP(CERT_, PKCS7_X509);
		STRIP(CERT_, PGP);
		STRIP(CERT_, DNS_SIGNED_KEY);
		STRIP(CERT_, X509_SIGNATURE);
		STRIP(CERT_, KERBEROS_TOKEN);
		STRIP(CERT_, CRL);
		STRIP(CERT_, ARL);
		STRIP(CERT_, SPKI);
		STRIP(CERT_, X509_ATTRIBUTE);
		STRIP(CERT_, RAW_RSA_KEY);
		STRIP(CERT_, HASH_URL_X509);
		STRIP(CERT_, HASH_URL_X509_BUNDLE);
		STRIP(CERT_, OCSP_CONTENT);
		STRIP(CERT_, RAW_PUBLIC_KEY);
	}
	return unknown(b, "CERT", encoding);
}

/* RFC 7427 7 / IANA "Hash Algorithms": SHA1, SHA2-256, ..., Identity. */
const char *names_hash_alg(uint16_t alg, struct names_buf *b)
{
	switch (alg) {
	case HASH_SHA1: return "SHA1";
	case HASH_SHA2_256: return "SHA2_256";
	case HASH_SHA2_384: return "SHA2_384";
	case HASH_SHA2_512: return "SHA2_512";
	case HASH_IDENTITY: return "Identity";
	}
	return unknown(b, "HASH", alg);
}

const char *names_ts_type(uint8_t type, struct names_buf *b)
{
	switch (type) {
		SAME(TS_IPV4_ADDR_RANGE);
		SAME(TS_IPV6_ADDR_RANGE);
	}
	return unknown(b, "TS", type);
}

const char *names_cfg_type(uint8_t type, struct names_buf *b)
{
	switch (type) {
		SAME(CFG_REQUEST);
		SAME(CFG_REPLY);
		SAME(CFG_SET);
		SAME(CFG_ACK);
	}
	return unknown(b, "CFG", type);
}

const char *names_cfg_attr(uint16_t type, struct names_buf *b)
{
	switch (type) {
		STRIP(CFG_, INTERNAL_IP4_ADDRESS);
		STRIP(CFG_, INTERNAL_IP4_NETMASK);
		STRIP(CFG_, INTERNAL_IP4_DNS);
		STRIP(CFG_, INTERNAL_IP4_NBNS);
		STRIP(CFG_, INTERNAL_IP4_DHCP);
		STRIP(CFG_, APPLICATION_VERSION);
		STRIP(CFG_, INTERNAL_IP6_ADDRESS);
		STRIP(CFG_, INTERNAL_IP6_DNS);
		STRIP(CFG_, INTERNAL_IP6_DHCP);
		STRIP(CFG_, INTERNAL_IP4_SUBNET);
		STRIP(CFG_, SUPPORTED_ATTRIBUTES);
		STRIP(CFG_, INTERNAL_IP6_SUBNET);
		STRIP(CFG_, P_CSCF_IP4_ADDRESS);
		STRIP(CFG_, P_CSCF_IP6_ADDRESS);
		STRIP(CFG_, INTERNAL_DNS_DOMAIN);
		STRIP(CFG_, INTERNAL_DNSSEC_TA);
	}
	return unknown(b, "CFG_ATTR", type);
}

/* RFC 3748 4 code names. */
const char *names_eap_code(uint8_t code, struct names_buf *b)
{
	switch (code) {
	case EAP_CODE_REQUEST: return "Request";
	case EAP_CODE_RESPONSE: return "Response";
	case EAP_CODE_SUCCESS: return "Success";
	case EAP_CODE_FAILURE: return "Failure";
	}
	return unknown(b, "EAP_CODE", code);
}
