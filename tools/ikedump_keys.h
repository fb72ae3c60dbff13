/*
 * ikedump_keys: optional decryption of SK/SKF payloads for ikedump --keys.
 *
 * Key file format (one IKE SA per line; '#' starts a comment; fields
 * separated by blanks; hex may contain ':' separators):
 *
 *   ISPI RSPI ENCR SK_ei SK_er [SK_ai SK_ar]
 *
 * ISPI, RSPI: the 8-octet SPIs as 16 hex digits.  ENCR: the encryption
 * transform as ikedump prints it, with its key length for AES
 * ("ENCR_AES_GCM_16/256", "ENCR_AES_CBC/128", "ENCR_CHACHA20_POLY1305").
 * SK_ei, SK_er: the encryption keys in hex (for AEAD, key then 4-octet
 * salt, RFC 5282 7.1).  SK_ai, SK_ar: the integrity keys in hex, required
 * for non-AEAD ciphers; the integrity algorithm follows from their length
 * (20 octets: AUTH_HMAC_SHA1_96, 32: AUTH_HMAC_SHA2_256_128,
 * 48: AUTH_HMAC_SHA2_384_192, 64: AUTH_HMAC_SHA2_512_256), or may be given
 * explicitly as an 8th field.
 *
 * RFC 7296 2.14: the initiator's messages are protected with SK_ei/SK_ai,
 * the responder's with SK_er/SK_ar; the I flag of the header says which.
 * RFC 7383: each SKF fragment is opened alone; when every fragment of a
 * message (same SPIs, message ID and direction) has been seen, the
 * plaintexts are joined and parsed as the message's inner chain.
 */
#ifndef XIKED_TOOLS_IKEDUMP_KEYS_H
#define XIKED_TOOLS_IKEDUMP_KEYS_H

#include <stddef.h>

#include "daemon/message.h"

enum keys_state {
	KEYS_NONE,        /* no SK/SKF payload, or no --keys given */
	KEYS_NO_SA,       /* no key line for these SPIs */
	KEYS_OPENED,      /* inner payloads were appended to the message */
	KEYS_FAILED,      /* why[] says what failed (ICV, padding, inner parse) */
	KEYS_FRAG_STORED, /* SKF fragment opened and kept; more fragments are needed */
	KEYS_REASSEMBLED, /* this SKF fragment completed its message: inner payloads appended */
};

struct keys_result {
	enum keys_state state;
	unsigned frags_have, frags_total; /* KEYS_FRAG_STORED / KEYS_REASSEMBLED */
	char why[200];
};

struct keys_db;

/* Load the key file PATH.  NULL on error (message in err).  Caller owns the result. */
struct keys_db *keys_load(const char *path, char *err, size_t errlen);

/* Wipes every key and frees. NULL-safe. */
void keys_free(struct keys_db *db);

/*
 * Try to open the SK or SKF payload of the parsed message M (borrowed;
 * on success its inner chain is parsed into it with message_parse_inner).
 * The plaintext M then borrows lives in DB until the next call.
 * DB may be NULL (no --keys): the result is KEYS_NONE.
 */
void keys_open(struct keys_db *db, struct ike_msg *m, struct keys_result *res);

#endif
