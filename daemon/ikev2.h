/*
 * IKEv2 protocol constants and limits: the one header that holds them
 * (design.md rule 8). Numbers are IANA "Internet Key Exchange
 * Version 2 (IKEv2) Parameters" values; RFC sections are cited per block.
 */
#ifndef XIKED_IKEV2_H
#define XIKED_IKEV2_H

#include <stdint.h>

/* RFC 7296 3.1: the fixed header is 28 octets. */
#define IKE_HDR_LEN 28
#define IKE_GENERIC_HDR_LEN 4
#define IKE_VERSION_MAJOR 2
#define IKE_VERSION_MINOR 0
#define IKE_SPI_LEN 8
/* RFC 3948 2.2: non-ESP marker on port 4500 (four zero octets). */
#define IKE_NON_ESP_MARKER_LEN 4
#define IKE_PORT 500
#define IKE_NATT_PORT 4500

/* RFC 7296 3.1 header flags. */
#define IKE_FLAG_INITIATOR 0x08
#define IKE_FLAG_VERSION 0x10
#define IKE_FLAG_RESPONSE 0x20

/* Exchange types (RFC 7296 3.1; RFC 5723; RFC 9242). */
enum ike_exchange {
	IKE_SA_INIT = 34,
	IKE_AUTH = 35,
	CREATE_CHILD_SA = 36,
	INFORMATIONAL = 37,
	IKE_SESSION_RESUME = 38,
	IKE_INTERMEDIATE = 43,
};

/* Payload types (RFC 7296 3.2; RFC 7383 2.5 for SKF). */
enum ike_payload_type {
	PL_NONE = 0,
	PL_SA = 33,
	PL_KE = 34,
	PL_IDI = 35,
	PL_IDR = 36,
	PL_CERT = 37,
	PL_CERTREQ = 38,
	PL_AUTH = 39,
	PL_NONCE = 40,
	PL_NOTIFY = 41,
	PL_DELETE = 42,
	PL_VENDOR = 43,
	PL_TSI = 44,
	PL_TSR = 45,
	PL_SK = 46,
	PL_CP = 47,
	PL_EAP = 48,
	PL_GSPM = 49,
	PL_IDG = 50, /* G-IKEv2; xiked does not parse these (treated as unrecognised) */
	PL_GSA = 51,
	PL_KD = 52,
	PL_SKF = 53,
	PL_PS = 54, /* RFC 8019 puzzle solution; not parsed (unrecognised) */
};
/* RFC 7296 3.2: the critical bit of the generic payload header. */
#define IKE_PAYLOAD_CRITICAL 0x80

/* Protocol IDs (RFC 7296 3.3.1). */
enum ike_protocol {
	PROTO_NONE = 0,
	PROTO_IKE = 1,
	PROTO_AH = 2,
	PROTO_ESP = 3,
};

/* Transform types (RFC 7296 3.3.2; RFC 9370 2.2.1: additional key exchanges 1-7). */
enum ike_transform_type {
	TRANS_ENCR = 1,
	TRANS_PRF = 2,
	TRANS_INTEG = 3,
	TRANS_DH = 4,
	TRANS_ESN = 5,
	TRANS_ADDKE1 = 6,
	TRANS_ADDKE7 = 12, /* ADDKEn is TRANS_ADDKE1 + n - 1; IDs as transform type 4's */
};
#define TRANS_IS_ADDKE(type) ((type) >= TRANS_ADDKE1 && (type) <= TRANS_ADDKE7)

/* Transform type 1, encryption (RFC 7296 3.3.2, RFC 5282, RFC 7634). */
enum ike_encr {
	ENCR_3DES = 3,
	ENCR_NULL = 11,
	ENCR_AES_CBC = 12,
	ENCR_AES_CTR = 13,
	ENCR_AES_CCM_8 = 14,
	ENCR_AES_CCM_12 = 15,
	ENCR_AES_CCM_16 = 16,
	ENCR_AES_GCM_8 = 18,
	ENCR_AES_GCM_12 = 19,
	ENCR_AES_GCM_16 = 20,
	ENCR_NULL_AUTH_AES_GMAC = 21,
	ENCR_CAMELLIA_CBC = 23,
	ENCR_CHACHA20_POLY1305 = 28,
};

/* Transform type 2, PRF (RFC 7296 3.3.2, RFC 4868). */
enum ike_prf {
	PRF_HMAC_MD5 = 1,
	PRF_HMAC_SHA1 = 2,
	PRF_AES128_XCBC = 4,
	PRF_HMAC_SHA2_256 = 5,
	PRF_HMAC_SHA2_384 = 6,
	PRF_HMAC_SHA2_512 = 7,
	PRF_AES128_CMAC = 8,
};

/* Transform type 3, integrity (RFC 7296 3.3.2, RFC 4868). */
enum ike_integ {
	AUTH_NONE = 0,
	AUTH_HMAC_MD5_96 = 1,
	AUTH_HMAC_SHA1_96 = 2,
	AUTH_AES_XCBC_96 = 5,
	AUTH_HMAC_SHA1_160 = 7,
	AUTH_AES_CMAC_96 = 8,
	AUTH_HMAC_SHA2_256_128 = 12,
	AUTH_HMAC_SHA2_384_192 = 13,
	AUTH_HMAC_SHA2_512_256 = 14,
};

/*
 * Transform type 4, key exchange method (RFC 7296 3.3.2, RFC 3526, RFC 5903, RFC 8031); the
 * ML-KEM IDs are IANA's (draft-ietf-ipsecme-ikev2-mlkem), for RFC 9370's additional exchanges.
 */
enum ike_dh_group {
	DH_NONE = 0,
	DH_MODP_768 = 1,
	DH_MODP_1024 = 2,
	DH_MODP_1536 = 5,
	DH_MODP_2048 = 14,
	DH_MODP_3072 = 15,
	DH_MODP_4096 = 16,
	DH_MODP_6144 = 17,
	DH_MODP_8192 = 18,
	DH_ECP_256 = 19,
	DH_ECP_384 = 20,
	DH_ECP_521 = 21,
	DH_CURVE25519 = 31,
	DH_CURVE448 = 32,
	DH_MLKEM512 = 35,
	DH_MLKEM768 = 36,
	DH_MLKEM1024 = 37,
};

/* Transform type 5, extended sequence numbers. */
enum ike_esn {
	ESN_NO = 0,
	ESN_YES = 1,
};

/* RFC 7296 3.3.5: the only defined transform attribute, Key Length (TV format). */
#define TRANS_ATTR_KEY_LENGTH 14
#define TRANS_ATTR_TV 0x8000

/* ID types (RFC 7296 3.5). */
enum ike_id_type {
	ID_IPV4_ADDR = 1,
	ID_FQDN = 2,
	ID_RFC822_ADDR = 3,
	ID_IPV6_ADDR = 5,
	ID_DER_ASN1_DN = 9,
	ID_DER_ASN1_GN = 10,
	ID_KEY_ID = 11,
	ID_FC_NAME = 12,
	ID_NULL = 13, /* RFC 7619 */
};

/* Certificate encodings (RFC 7296 3.6; RFC 7670 for raw public keys). */
enum ike_cert_encoding {
	CERT_PKCS7_X509 = 1,
	CERT_PGP = 2,
	CERT_DNS_SIGNED_KEY = 3,
	CERT_X509_SIGNATURE = 4,
	CERT_KERBEROS_TOKEN = 6,
	CERT_CRL = 7,
	CERT_ARL = 8,
	CERT_SPKI = 9,
	CERT_X509_ATTRIBUTE = 10,
	CERT_RAW_RSA_KEY = 11,
	CERT_HASH_URL_X509 = 12,
	CERT_HASH_URL_X509_BUNDLE = 13,
	CERT_OCSP_CONTENT = 14,
	CERT_RAW_PUBLIC_KEY = 15,
};

/* Authentication methods (RFC 7296 3.8, RFC 4754, RFC 7427, RFC 7619). */
enum ike_auth_method {
	AUTH_RSA_SIG = 1,
	AUTH_SHARED_KEY_MIC = 2,
	AUTH_DSS_SIG = 3,
	AUTH_ECDSA_256 = 9,
	AUTH_ECDSA_384 = 10,
	AUTH_ECDSA_521 = 11,
	AUTH_GSPAM = 12,
	AUTH_NULL = 13,
	AUTH_DIGITAL_SIGNATURE = 14,
};

/* Hash algorithms for SIGNATURE_HASH_ALGORITHMS (RFC 7427 section 7, RFC 8420). */
enum ike_hash_alg {
	HASH_SHA1 = 1,
	HASH_SHA2_256 = 2,
	HASH_SHA2_384 = 3,
	HASH_SHA2_512 = 4,
	HASH_IDENTITY = 5,
};

/*
 * Notify message types (RFC 7296 3.10.1; RFC 4555 MOBIKE; RFC 5685
 * redirect; RFC 6023 childless; RFC 7383 fragmentation; RFC 7427
 * signature hashes; RFC 5723, RFC 4478, RFC 5739, RFC 6311, RFC 7651...).
 * Errors are below 16384, status types from 16384.
 */
enum ike_notify_type {
	N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	N_INVALID_IKE_SPI = 4,
	N_INVALID_MAJOR_VERSION = 5,
	N_INVALID_SYNTAX = 7,
	N_INVALID_MESSAGE_ID = 9,
	N_INVALID_SPI = 11,
	N_NO_PROPOSAL_CHOSEN = 14,
	N_INVALID_KE_PAYLOAD = 17,
	N_AUTHENTICATION_FAILED = 24,
	N_SINGLE_PAIR_REQUIRED = 34,
	N_NO_ADDITIONAL_SAS = 35,
	N_INTERNAL_ADDRESS_FAILURE = 36,
	N_FAILED_CP_REQUIRED = 37,
	N_TS_UNACCEPTABLE = 38,
	N_INVALID_SELECTORS = 39,
	N_UNACCEPTABLE_ADDRESSES = 40,
	N_UNEXPECTED_NAT_DETECTED = 41,
	N_USE_ASSIGNED_HoA = 42,
	N_TEMPORARY_FAILURE = 43,
	N_CHILD_SA_NOT_FOUND = 44,
	N_INVALID_GROUP_ID = 45,
	N_AUTHORIZATION_FAILED = 46,
	N_STATE_NOT_FOUND = 47,

	N_INITIAL_CONTACT = 16384,
	N_SET_WINDOW_SIZE = 16385,
	N_ADDITIONAL_TS_POSSIBLE = 16386,
	N_IPCOMP_SUPPORTED = 16387,
	N_NAT_DETECTION_SOURCE_IP = 16388,
	N_NAT_DETECTION_DESTINATION_IP = 16389,
	N_COOKIE = 16390,
	N_USE_TRANSPORT_MODE = 16391,
	N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
	N_REKEY_SA = 16393,
	N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	N_MOBIKE_SUPPORTED = 16396,
	N_ADDITIONAL_IP4_ADDRESS = 16397,
	N_ADDITIONAL_IP6_ADDRESS = 16398,
	N_NO_ADDITIONAL_ADDRESSES = 16399,
	N_UPDATE_SA_ADDRESSES = 16400,
	N_COOKIE2 = 16401,
	N_NO_NATS_ALLOWED = 16402,
	N_AUTH_LIFETIME = 16403,
	N_MULTIPLE_AUTH_SUPPORTED = 16404,
	N_ANOTHER_AUTH_FOLLOWS = 16405,
	N_REDIRECT_SUPPORTED = 16406,
	N_REDIRECT = 16407,
	N_REDIRECTED_FROM = 16408,
	N_TICKET_LT_OPAQUE = 16409,
	N_TICKET_REQUEST = 16410,
	N_TICKET_ACK = 16411,
	N_TICKET_NACK = 16412,
	N_TICKET_OPAQUE = 16413,
	N_LINK_ID = 16414,
	N_USE_WESP_MODE = 16415,
	N_ROHC_SUPPORTED = 16416,
	N_EAP_ONLY_AUTHENTICATION = 16417,
	N_CHILDLESS_IKEV2_SUPPORTED = 16418,
	N_QUICK_CRASH_DETECTION = 16419,
	N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420,
	N_IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED = 16421,
	N_IKEV2_MESSAGE_ID_SYNC = 16422,
	N_IPSEC_REPLAY_COUNTER_SYNC = 16423,
	N_SECURE_PASSWORD_METHODS = 16424,
	N_PSK_PERSIST = 16425,
	N_PSK_CONFIRM = 16426,
	N_ERX_SUPPORTED = 16427,
	N_IFOM_CAPABILITY = 16428,
	N_SENDER_REQUEST_ID = 16429,
	N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,
	N_SIGNATURE_HASH_ALGORITHMS = 16431,
	N_CLONE_IKE_SA_SUPPORTED = 16432,
	N_CLONE_IKE_SA = 16433,
	N_PUZZLE = 16434,
	N_USE_PPK = 16435,
	N_PPK_IDENTITY = 16436,
	N_NO_PPK_AUTH = 16437,
	N_INTERMEDIATE_EXCHANGE_SUPPORTED = 16438,
	N_IP4_ALLOWED = 16439,
	N_IP6_ALLOWED = 16440,
	N_ADDITIONAL_KEY_EXCHANGE = 16441,
	N_USE_AGGFRAG = 16442,
};
#define N_ERROR_MAX 16383

/* RFC 4555 3.5: retransmits of a request before a MOBIKE initiator tries another path. */
#define MOBIKE_PATH_RETRANSMITS 2

/* Traffic selector types (RFC 7296 3.13.1). */
enum ike_ts_type {
	TS_IPV4_ADDR_RANGE = 7,
	TS_IPV6_ADDR_RANGE = 8,
};

/* Configuration payload (RFC 7296 3.15). */
enum ike_cfg_type {
	CFG_REQUEST = 1,
	CFG_REPLY = 2,
	CFG_SET = 3,
	CFG_ACK = 4,
};
enum ike_cfg_attr {
	CFG_INTERNAL_IP4_ADDRESS = 1,
	CFG_INTERNAL_IP4_NETMASK = 2,
	CFG_INTERNAL_IP4_DNS = 3,
	CFG_INTERNAL_IP4_NBNS = 4,
	CFG_INTERNAL_IP4_DHCP = 6,
	CFG_APPLICATION_VERSION = 7,
	CFG_INTERNAL_IP6_ADDRESS = 8,
	CFG_INTERNAL_IP6_DNS = 10,
	CFG_INTERNAL_IP6_DHCP = 12,
	CFG_INTERNAL_IP4_SUBNET = 13,
	CFG_SUPPORTED_ATTRIBUTES = 14,
	CFG_INTERNAL_IP6_SUBNET = 15,
	CFG_P_CSCF_IP4_ADDRESS = 20, /* RFC 7651 */
	CFG_P_CSCF_IP6_ADDRESS = 21, /* RFC 7651 */
	CFG_INTERNAL_DNS_DOMAIN = 25, /* RFC 8598 */
	CFG_INTERNAL_DNSSEC_TA = 26,  /* RFC 8598 */
};
/* RFC 7296 3.15.1: the high bit of the attribute type is reserved. */
#define CFG_ATTR_TYPE_MASK 0x7fff

/* EAP codes carried in the EAP payload (RFC 7296 3.16, RFC 3748 4). */
enum ike_eap_code {
	EAP_CODE_REQUEST = 1,
	EAP_CODE_RESPONSE = 2,
	EAP_CODE_SUCCESS = 3,
	EAP_CODE_FAILURE = 4,
};

/* EAP method types (RFC 3748 5, IANA "Method Types") xiked names. */
enum ike_eap_type {
	EAP_TYPE_IDENTITY = 1,
	EAP_TYPE_NOTIFICATION = 2,
	EAP_TYPE_NAK = 3,
	EAP_TYPE_MD5 = 4,
	EAP_TYPE_TLS = 13,
	EAP_TYPE_MSCHAPV2 = 26,
	EAP_TYPE_EXPANDED = 254,
};

/* RFC 7296 3.3.1 / 3.3.2: "Last Substruc" values of proposals and transforms. */
#define IKE_LAST_SUBSTRUC_LAST 0
#define IKE_LAST_SUBSTRUC_PROPOSAL 2
#define IKE_LAST_SUBSTRUC_TRANSFORM 3
/* RFC 7296 3.13.1: start 65535, end 0 marks OPAQUE ports. */
#define IKE_TS_PORT_OPAQUE_START 65535
#define IKE_TS_PORT_OPAQUE_END 0

/* ---- Limits (units in the name or the comment) ---- */

/* Largest IKE message we accept or build, octets (RFC 7296 2 suggests 1280/3000 min). */
#define IKE_MSG_MAX 65535
/* Nonce length bounds, octets (RFC 7296 3.9: 16..256). */
#define IKE_NONCE_MIN 16
#define IKE_NONCE_MAX 256
/* Payloads per message we are willing to parse. */
#define IKE_PAYLOADS_MAX 64
/* Proposals per SA payload, transforms per proposal (RFC caps proposals at 255). */
#define IKE_PROPOSALS_MAX 32
#define IKE_TRANSFORMS_MAX 64
/* Traffic selectors per TS payload. */
#define IKE_TS_MAX 32
/* SPIs per Delete payload we keep. */
#define IKE_DELETE_SPIS_MAX 64
/* CP attributes per CP payload. */
#define IKE_CP_ATTRS_MAX 32
/*
 * Per-message pools of the parsed-message struct (daemon/message.h): the
 * totals over all payloads of one message, outer and inner chain together.
 * A message needing more is rejected with a "too many" error.
 */
#define IKE_MSG_PROPOSALS_MAX 32
#define IKE_MSG_TRANSFORMS_MAX 256
#define IKE_MSG_TS_MAX (2 * IKE_TS_MAX)
#define IKE_MSG_CP_ATTRS_MAX IKE_CP_ATTRS_MAX
/*
 * RFC 7383 fragmentation. Reassembly limits per message: fragments, total
 * plaintext octets (how long a partial message is kept is
 * IKE_FRAG_TIMEOUT_MS, daemon/timing.h). Default fragment sizes are whole IP datagrams, octets (2.5.1: 576
 * for IPv4, 1280 for IPv6); fragment_size below the minimum is refused.
 */
#define IKE_FRAG_MAX 64
#define IKE_FRAG_REASM_MAX 65535
#define IKE_FRAG_SIZE_V4 576
#define IKE_FRAG_SIZE_V6 1280
#define IKE_FRAG_SIZE_MIN 128
/* SKF generic header plus Fragment Number and Total Fragments, octets (2.5). */
#define IKE_SKF_HDR_LEN 8

#endif
