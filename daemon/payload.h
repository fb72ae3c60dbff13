/*
 * IKEv2 payloads: host structs, body parsers and builders (RFC 7296 section 3,
 * RFC 7383 SKF, RFC 7427 signature AUTH).
 *
 * Parsing copies fixed fields into host structs and BORROWS variable data:
 * every struct ike_bytes points into the buffer that was parsed. That buffer
 * (the received datagram, or the decrypted plaintext for payloads inside SK)
 * must outlive the parsed structs. Parsers never allocate: repeated
 * sub-structures (proposals, transforms, traffic selectors, CP attributes)
 * are taken from a struct payload_pool the caller provides (normally the one
 * inside struct ike_msg, daemon/message.h), and running out of pool is an
 * explicit PAYLOAD_TOO_MANY error. Parsers only validate the syntax of one
 * payload; whether a payload may appear, or how often, is the acceptance
 * table's business (daemon/acceptance.h).
 *
 * Building writes into a caller buffer through struct ike_builder: each
 * payload_build_* appends one payload, chaining the previous Next Payload
 * field to it and back-filling its Payload Length. Errors (overflow, a field
 * that does not fit on the wire) are sticky in the builder; check once with
 * message_build_finish() (daemon/message.h).
 *
 * The same structs serve both directions, so parse(build(x)) == x.
 */
#ifndef XIKED_PAYLOAD_H
#define XIKED_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/cursor.h"
#include "daemon/ikev2.h"

/* ---- errors ---- */

enum payload_status {
	PAYLOAD_OK = 0,
	PAYLOAD_TRUNCATED,   /* fewer octets than a header or length field needs */
	PAYLOAD_BAD_LENGTH,  /* a length field is inconsistent (too small, overruns, mismatch) */
	PAYLOAD_BAD_VALUE,   /* a field holds a value the RFC forbids (start > end, bad SPI size) */
	PAYLOAD_TOO_MANY,    /* a pool or limit of daemon/ikev2.h is exhausted */
	PAYLOAD_BAD_MAJOR,   /* IKE header major version != 2: answer INVALID_MAJOR_VERSION */
	PAYLOAD_BAD_CHAIN,   /* payload chain structure: SK nested in SK, trailing octets */
};

/*
 * Why a parse failed, for the log (design.md rule 7: got vs. needed).
 * `why` is always NUL-terminated, e.g. "Nonce: data length 8, needs 16..256".
 */
#define PAYLOAD_WHY_LEN 160
struct payload_err {
	enum payload_status status;
	uint8_t payload;  /* payload type being parsed, PL_NONE for the IKE header */
	uint32_t offset;  /* offset of that payload's generic header in the parsed buffer */
	char why[PAYLOAD_WHY_LEN];
};

/* Stable name of a status ("TRUNCATED", ...); never NULL. */
const char *payload_status_name(enum payload_status s);

/*
 * Fill *err (if not NULL) with status, payload type and a printf-formatted
 * reason, and return status. Shared by the codec's parsers.
 */
enum payload_status payload_fail(struct payload_err *err, enum payload_status st, uint8_t type,
				 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- host structs ---- */

/* Borrowed octets: ptr points into the parsed buffer (or the builder's input). */
struct ike_bytes {
	const uint8_t *ptr;
	size_t len;
};

/*
 * RFC 7296 3.3.2 Transform Substructure:
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * +---------------+---------------+---------------+---------------+
 * |Transform Type |   RESERVED    |          Transform ID         |
 * +---------------+---------------+---------------+---------------+
 * ~                      Transform Attributes                     ~
 * +---------------------------------------------------------------+
 *
 * RFC 7296 3.3.5 Transform Attributes (AF=1: TV, value in the 2nd half):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |A|       Attribute Type        |    AF=0  Attribute Length     |
 * |F|                             |    AF=1  Attribute Value      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   AF=0  Attribute Value                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Key Length (type 14, TV) is the only attribute RFC 7296 defines. Others
 * are counted in unknown_attrs and not rebuilt: RFC 7296 3.3.6 says a
 * transform with an unrecognised attribute cannot be selected, so the
 * engine skips transforms with unknown_attrs != 0.
 */
struct ike_transform {
	uint8_t type;          /* enum ike_transform_type */
	uint16_t id;           /* Transform ID; meaning per type (enum ike_encr, ...) */
	uint16_t key_len;      /* Key Length attribute in bits; 0 = attribute absent */
	uint8_t unknown_attrs; /* unrecognised or repeated attributes (saturates at 255) */
};

/*
 * RFC 7296 3.3.1 Proposal Substructure:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * +---------------+---------------+---------------+---------------+
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * +---------------+---------------+---------------+---------------+
 * ~                        SPI (variable)                         ~
 * +---------------------------------------------------------------+
 * ~                        <Transforms>                           ~
 * +---------------------------------------------------------------+
 *
 * Parsing checks: Last Substruc is 0 on the last proposal and 2 before it;
 * Proposal Length covers exactly the transforms; Num Transforms matches;
 * SPI size is 0 or 8 for IKE, 4 for AH/ESP (3.3.1); unknown protocols are
 * kept for the engine to ignore.
 */
struct ike_proposal {
	uint8_t num;      /* Proposal Num, written as given when building */
	uint8_t protocol; /* enum ike_protocol */
	struct ike_bytes spi;
	uint16_t n_transforms;
	const struct ike_transform *transforms; /* pool (parse) or caller array (build) */
};

/* RFC 7296 3.3 Security Association payload: a list of proposals. */
struct ike_sa {
	uint16_t n_proposals;
	const struct ike_proposal *proposals;
};

/*
 * RFC 7296 3.4 Key Exchange payload body:
 * +---------------+---------------+---------------+---------------+
 * |   Diffie-Hellman Group Num    |           RESERVED            |
 * +---------------+---------------+---------------+---------------+
 * ~                       Key Exchange Data                       ~
 */
struct ike_ke {
	uint16_t group; /* enum ike_dh_group */
	struct ike_bytes data;
};

/*
 * RFC 7296 3.5 Identification payloads (IDi, IDr) body:
 * +---------------+-----------------------------------------------+
 * |   ID Type     |                 RESERVED                      |
 * +---------------+-----------------------------------------------+
 * ~                   Identification Data                         ~
 *
 * ID_IPV4_ADDR must carry 4 octets and ID_IPV6_ADDR 16; the AUTH
 * computation (RFC 7296 2.15) uses the whole body, which the engine gets
 * from struct ike_payload.body.
 */
struct ike_id {
	uint8_t type; /* enum ike_id_type */
	struct ike_bytes data;
};

/*
 * RFC 7296 3.6 Certificate and 3.7 Certificate Request payloads body:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Cert Encoding |                                               |
 * +-+-+-+-+-+-+-+-+                                               |
 * ~       Certificate Data / Certification Authority              ~
 *
 * For CERTREQ with X.509 encodings, data is a concatenation of 20-octet
 * SHA-1 hashes of CA public keys (3.7); the parser does not split it.
 */
struct ike_cert {
	uint8_t encoding; /* enum ike_cert_encoding */
	struct ike_bytes data;
};

/*
 * RFC 7296 3.8 Authentication payload body:
 * +---------------+-----------------------------------------------+
 * | Auth Method   |                RESERVED                       |
 * +---------------+-----------------------------------------------+
 * ~                      Authentication Data                      ~
 *
 * RFC 7427 3: with AUTH_DIGITAL_SIGNATURE the data starts with a one-octet
 * ASN.1 length and that many octets of DER AlgorithmIdentifier, then the
 * signature. The parser splits them into sig_alg and sig (and rejects a
 * length that overruns); for other methods both are empty. Building uses
 * only method and data.
 */
struct ike_auth {
	uint8_t method; /* enum ike_auth_method */
	struct ike_bytes data;
	struct ike_bytes sig_alg; /* RFC 7427 AlgorithmIdentifier (DER) */
	struct ike_bytes sig;     /* RFC 7427 signature value */
};

/* RFC 7296 3.9 Nonce payload: IKE_NONCE_MIN..IKE_NONCE_MAX octets. */
struct ike_nonce {
	struct ike_bytes data;
};

/*
 * RFC 7296 3.10 Notify payload body:
 * +---------------+---------------+-------------------------------+
 * |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 * +---------------+---------------+-------------------------------+
 * ~                Security Parameter Index (SPI)                 ~
 * ~                       Notification Data                       ~
 *
 * The SPI is borrowed with whatever size the peer sent (0 for the IKE SA,
 * 4 for AH/ESP; some old peers send 8 or 16 for IKE): the notify's handler
 * judges it.
 */
struct ike_notify {
	uint8_t protocol; /* enum ike_protocol, 0 when not about an SA */
	uint16_t type;    /* enum ike_notify_type */
	struct ike_bytes spi;
	struct ike_bytes data;
};

/*
 * RFC 7296 3.11 Delete payload body:
 * +---------------+---------------+-------------------------------+
 * | Protocol ID   |   SPI Size    |          Num of SPIs          |
 * +---------------+---------------+-------------------------------+
 * ~               Security Parameter Index(es) (SPI)              ~
 *
 * IKE: SPI size 0 and no SPIs; AH/ESP: SPI size 4. The SPIs stay borrowed
 * as one contiguous array (n_spis * spi_len octets, wire order); at most
 * IKE_DELETE_SPIS_MAX of them. Use payload_delete_spi32() to read one.
 */
struct ike_delete {
	uint8_t protocol;
	uint8_t spi_len;
	uint16_t n_spis;
	struct ike_bytes spis;
};

/* RFC 7296 3.12 Vendor ID payload: opaque. */
struct ike_vendor {
	struct ike_bytes data;
};

/*
 * RFC 7296 3.13.1 Traffic Selector:
 * +---------------+---------------+-------------------------------+
 * |   TS Type     |IP Protocol ID*|       Selector Length         |
 * +---------------+---------------+-------------------------------+
 * |           Start Port*         |           End Port*           |
 * +-------------------------------+-------------------------------+
 * ~                         Starting Address*                     ~
 * ~                         Ending Address*                       ~
 *
 * Selector Length is 16 for TS_IPV4_ADDR_RANGE and 40 for
 * TS_IPV6_ADDR_RANGE. Start must not exceed end, for addresses and ports,
 * except the OPAQUE ports marker (start 65535, end 0). Selectors of other
 * types (RFC 4595 FC, RFC 9478 security labels) are kept with their type
 * only (ports and addresses zero) so the engine can narrow them away.
 */
struct ike_ts {
	uint8_t type;     /* enum ike_ts_type */
	uint8_t ip_proto; /* 0 = any */
	uint16_t start_port, end_port;
	uint8_t start[16], end[16]; /* 4 octets used for IPv4 */
};

/*
 * RFC 7296 3.13 Traffic Selector payloads (TSi, TSr) body:
 * +---------------+-----------------------------------------------+
 * | Number of TSs |                 RESERVED                      |
 * +---------------+-----------------------------------------------+
 * ~                       <Traffic Selectors>                     ~
 * At most IKE_TS_MAX selectors per payload.
 */
struct ike_ts_list {
	uint8_t n;
	const struct ike_ts *ts; /* pool (parse) or caller array (build) */
};

/*
 * RFC 7296 3.14 Encrypted payload:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Initialization Vector                     |
 * ~                    Encrypted IKE Payloads                     ~
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               |             Padding (0-255 octets)            |
 * +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
 * |                                               |  Pad Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Integrity Checksum Data                    ~
 *
 * Offsets are into the raw message. For AEAD (RFC 5282) the associated
 * data is raw[0 .. body_off): the IKE header and this generic header.
 * The Next Payload field names the first inner payload.
 */
struct ike_sk {
	uint8_t first_inner;
	uint32_t hdr_off;  /* offset of the SK generic header */
	uint32_t body_off; /* offset of the IV (= hdr_off + 4) */
	uint32_t body_len; /* IV + ciphertext + padding + ICV */
};

/*
 * RFC 7383 2.5 Encrypted Fragment payload:
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * |        Fragment Number        |        Total Fragments        |
 * |                     Initialization Vector                     |
 * ~                      Encrypted content                        ~
 * ~                    Integrity Checksum Data                    ~
 *
 * Fragment Number is 1-based and must not exceed Total Fragments (both
 * non-zero). Next Payload is the first inner type in fragment 1 and 0 in
 * the others (the reassembler checks). AAD is raw[0 .. body_off), which
 * includes the fragment numbers.
 */
struct ike_skf {
	uint8_t first_inner;
	uint16_t frag_num;
	uint16_t total;
	uint32_t hdr_off;
	uint32_t body_off; /* hdr_off + 8 */
	uint32_t body_len;
};

/*
 * RFC 7296 3.15 Configuration payload body and 3.15.1 attributes:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   CFG Type    |                    RESERVED                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                   Configuration Attributes                    ~
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|         Attribute Type      |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                             Value                             ~
 *
 * Lengths of the attributes RFC 7296, RFC 7651 and RFC 8598 define are
 * checked (e.g. INTERNAL_IP4_ADDRESS 0 or 4, INTERNAL_IP6_ADDRESS 0 or 17,
 * SUPPORTED_ATTRIBUTES even); other types are kept as opaque values.
 */
struct ike_cp_attr {
	uint16_t type; /* enum ike_cfg_attr, R bit stripped */
	struct ike_bytes value;
};

struct ike_cp {
	uint8_t type; /* enum ike_cfg_type */
	uint16_t n_attrs;
	const struct ike_cp_attr *attrs; /* pool (parse) or caller array (build) */
};

/*
 * RFC 7296 3.16 EAP payload body is one EAP message (RFC 3748 4):
 * +---------------+---------------+-------------------------------+
 * |     Code      | Identifier    |           Length              |
 * +---------------+---------------+-------------------------------+
 * |     Type      | Type_Data...
 *
 * The EAP Length must equal the payload body length. Type and data are
 * present for Request/Response only (type 0 and empty data otherwise);
 * data is the Type_Data after the Type octet.
 */
struct ike_eap {
	uint8_t code; /* enum ike_eap_code */
	uint8_t id;
	uint8_t type;
	struct ike_bytes data;
};

/*
 * One payload of a parsed message. `known` is false for payload types
 * xiked does not parse (their body is skipped, as RFC 7296 2.5 wants for
 * non-critical ones); u is then unused.
 */
struct ike_payload {
	uint8_t type;   /* enum ike_payload_type */
	bool critical;  /* C bit as received */
	bool in_sk;     /* came from the decrypted inner chain */
	bool known;     /* body parsed into u */
	uint32_t off;   /* generic header offset in the raw message, or in the plaintext if in_sk */
	struct ike_bytes body; /* everything after the 4-octet generic header */
	union {
		struct ike_sa sa;
		struct ike_ke ke;
		struct ike_id id;     /* IDi, IDr */
		struct ike_cert cert; /* CERT, CERTREQ */
		struct ike_auth auth;
		struct ike_nonce nonce;
		struct ike_notify notify;
		struct ike_delete del;
		struct ike_vendor vendor;
		struct ike_ts_list ts; /* TSi, TSr */
		struct ike_sk sk;
		struct ike_skf skf;
		struct ike_cp cp;
		struct ike_eap eap;
	} u;
};

/*
 * Fixed per-message storage for repeated sub-structures. Zero n_* to reuse.
 * Parsed structs point into it, so keep it alive (and in place) with them.
 */
struct payload_pool {
	uint16_t n_proposals, n_transforms, n_ts, n_cp_attrs;
	struct ike_proposal proposals[IKE_MSG_PROPOSALS_MAX];
	struct ike_transform transforms[IKE_MSG_TRANSFORMS_MAX];
	struct ike_ts ts[IKE_MSG_TS_MAX];
	struct ike_cp_attr cp_attrs[IKE_MSG_CP_ATTRS_MAX];
};

/* ---- parsing ---- */

/*
 * Parse the body of one payload of the given type into p->u and set
 * p->known. `body` covers exactly the payload body (after the generic
 * header); next_payload is the generic header's Next Payload (for SK/SKF it
 * names the first inner payload); `base` is the start of the buffer the body
 * lies in (used only to compute SK/SKF offsets; may be NULL for other
 * types). Borrows body's buffer. Types xiked does not parse leave p->known
 * false and return PAYLOAD_OK. On error fills *err (payload type and why;
 * err->offset is left to the caller) and returns its status. err may be NULL.
 */
enum payload_status payload_parse_body(uint8_t type, uint8_t next_payload, struct rd body,
				       const uint8_t *base, struct payload_pool *pool,
				       struct ike_payload *p, struct payload_err *err);

/* The per-type parsers payload_parse_body dispatches to. Same contract. */
enum payload_status payload_parse_sa(struct rd body, struct payload_pool *pool, struct ike_sa *out,
				     struct payload_err *err);
enum payload_status payload_parse_ke(struct rd body, struct ike_ke *out, struct payload_err *err);
enum payload_status payload_parse_id(struct rd body, struct ike_id *out, struct payload_err *err);
enum payload_status payload_parse_cert(struct rd body, struct ike_cert *out,
				       struct payload_err *err);
enum payload_status payload_parse_auth(struct rd body, struct ike_auth *out,
				       struct payload_err *err);
enum payload_status payload_parse_nonce(struct rd body, struct ike_nonce *out,
					struct payload_err *err);
enum payload_status payload_parse_notify(struct rd body, struct ike_notify *out,
					 struct payload_err *err);
enum payload_status payload_parse_delete(struct rd body, struct ike_delete *out,
					 struct payload_err *err);
enum payload_status payload_parse_ts(struct rd body, struct payload_pool *pool,
				     struct ike_ts_list *out, struct payload_err *err);
enum payload_status payload_parse_cp(struct rd body, struct payload_pool *pool, struct ike_cp *out,
				     struct payload_err *err);
enum payload_status payload_parse_eap(struct rd body, struct ike_eap *out,
				      struct payload_err *err);
/* SK/SKF: body_start_off is the offset of the body within the parsed buffer. */
enum payload_status payload_parse_sk(struct rd body, uint32_t body_start_off, uint8_t first_inner,
				     struct ike_sk *out, struct payload_err *err);
enum payload_status payload_parse_skf(struct rd body, uint32_t body_start_off,
				      uint8_t first_inner, struct ike_skf *out,
				      struct payload_err *err);

/* SPI number i (0-based, < n_spis) of a Delete with spi_len 4, host order. */
uint32_t payload_delete_spi32(const struct ike_delete *d, uint16_t i);

/* Address length in octets for a TS type: 4, 16, or 0 for other types. */
size_t payload_ts_addr_len(uint8_t ts_type);

/* Whether xiked parses this payload type (unknown ones are skipped/recorded). */
bool payload_type_known(uint8_t type);

/* ---- building ---- */

/*
 * Builder of a payload chain in a caller buffer (see message_build_init and
 * message_build_inner_init in daemon/message.h, which set it up).
 */
struct ike_builder {
	struct wr w;
	size_t np_off; /* offset of the Next Payload octet to patch next; SIZE_MAX = none yet */
	uint8_t first; /* type of the first payload added (the SK Next Payload for inner chains) */
	bool has_hdr;  /* started with an IKE header whose length finish patches */
	bool closed;   /* SK/SKF written: nothing may follow (RFC 7296 3.14) */
	bool err;      /* sticky: a value did not fit its wire field, or misuse */
};

/*
 * Low-level: open a payload of `type` (generic header with Next Payload 0,
 * chained from the previous payload or the IKE header) and return the
 * offset of its generic header; payload_end() back-fills Payload Length
 * (error if over 65535). The typed builders below use these; use them
 * directly for payloads without a typed builder.
 */
size_t payload_begin(struct ike_builder *b, uint8_t type, bool critical);
void payload_end(struct ike_builder *b, size_t hdr_off);

/* One call, one payload. All inputs are borrowed for the call only. */
void payload_build_sa(struct ike_builder *b, const struct ike_sa *sa);
void payload_build_ke(struct ike_builder *b, const struct ike_ke *ke);
/* type: PL_IDI or PL_IDR */
void payload_build_id(struct ike_builder *b, uint8_t type, const struct ike_id *id);
/* type: PL_CERT or PL_CERTREQ */
void payload_build_cert(struct ike_builder *b, uint8_t type, const struct ike_cert *c);
void payload_build_auth(struct ike_builder *b, const struct ike_auth *a);
void payload_build_nonce(struct ike_builder *b, const struct ike_nonce *n);
void payload_build_notify(struct ike_builder *b, const struct ike_notify *n);
/* Shorthand for a notify; spi/data may be NULL with length 0. */
void payload_build_notify_simple(struct ike_builder *b, uint8_t protocol, uint16_t type,
				 const void *spi, size_t spi_len, const void *data, size_t data_len);
void payload_build_delete(struct ike_builder *b, const struct ike_delete *d);
void payload_build_vendor(struct ike_builder *b, const struct ike_vendor *v);
/* type: PL_TSI or PL_TSR; only TS_IPV4_ADDR_RANGE / TS_IPV6_ADDR_RANGE selectors */
void payload_build_ts(struct ike_builder *b, uint8_t type, const struct ike_ts_list *ts);
void payload_build_cp(struct ike_builder *b, const struct ike_cp *cp);
void payload_build_eap(struct ike_builder *b, const struct ike_eap *e);
/* Any payload with an opaque body (unknown types, tests). */
void payload_build_raw(struct ike_builder *b, uint8_t type, bool critical, const void *body,
		       size_t len);
/*
 * Rebuild a parsed payload (dispatch on p->type; unknown types and p->known
 * false are copied from p->body with p->critical). SK/SKF are refused
 * (b->err): use message_build_sk/_skf.
 */
void payload_build(struct ike_builder *b, const struct ike_payload *p);

#endif
