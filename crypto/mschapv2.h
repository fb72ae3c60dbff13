/*
 * MS-CHAPv2 (RFC 2759) and its MPPE keys (RFC 3079), the computations
 * behind EAP-MSCHAPv2, the EAP method built-in VPN clients use with IKEv2
 * (RFC 7296 2.16): the NT response the peer proves its password with,
 * the authenticator response the server proves it back with, and the
 * master send/receive keys the EAP MSK is made of. MD4, DES and SHA-1 come
 * from libgcrypt; they are what the protocol fixes, not a choice.
 */
#ifndef XIKED_CRYPTO_MSCHAPV2_H
#define XIKED_CRYPTO_MSCHAPV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSCHAPV2_CHALLENGE_LEN 16   /* authenticator and peer challenges */
#define MSCHAPV2_NT_RESPONSE_LEN 24
#define MSCHAPV2_HASH_LEN 16        /* NtPasswordHash, master keys */
#define MSCHAPV2_AUTH_RESPONSE_LEN 42 /* "S=" and 40 upper-case hex digits */
#define MSCHAPV2_PASSWORD_MAX 256   /* RFC 2759 8.1: Unicode characters */

/*
 * RFC 2759 8.3 NtPasswordHash: MD4 of the password in UTF-16LE, from the
 * UTF-8 password[0..len). 0, -EINVAL (not UTF-8, empty, over 256
 * characters), -EIO.
 */
int mschapv2_password_hash(const uint8_t *password, size_t len,
			   uint8_t hash[MSCHAPV2_HASH_LEN]);

/*
 * RFC 2759 8.1 GenerateNTResponse from the password hash: the 24 octets
 * the peer sends. user is the user name as sent (no domain stripping).
 * 0 or -EIO.
 */
int mschapv2_nt_response(const uint8_t auth_challenge[MSCHAPV2_CHALLENGE_LEN],
			 const uint8_t peer_challenge[MSCHAPV2_CHALLENGE_LEN],
			 const uint8_t *user, size_t ulen,
			 const uint8_t pw_hash[MSCHAPV2_HASH_LEN],
			 uint8_t out[MSCHAPV2_NT_RESPONSE_LEN]);

/*
 * RFC 2759 8.7 GenerateAuthenticatorResponse: "S=" and 40 hex digits into
 * out (not NUL-terminated). A peer compares it with
 * mschapv2_equal_ct. 0 or -EIO.
 */
int mschapv2_authenticator_response(const uint8_t pw_hash[MSCHAPV2_HASH_LEN],
				    const uint8_t nt_response[MSCHAPV2_NT_RESPONSE_LEN],
				    const uint8_t peer_challenge[MSCHAPV2_CHALLENGE_LEN],
				    const uint8_t auth_challenge[MSCHAPV2_CHALLENGE_LEN],
				    const uint8_t *user, size_t ulen,
				    char out[MSCHAPV2_AUTH_RESPONSE_LEN]);

/*
 * RFC 3079 3.4 (128-bit keys): MasterKey from the password hash and the NT
 * response, then the asymmetric start keys of one side (server: the
 * authenticator). 0 or -EIO.
 */
int mschapv2_master_keys(const uint8_t pw_hash[MSCHAPV2_HASH_LEN],
			 const uint8_t nt_response[MSCHAPV2_NT_RESPONSE_LEN], bool server,
			 uint8_t send_key[MSCHAPV2_HASH_LEN],
			 uint8_t recv_key[MSCHAPV2_HASH_LEN]);

/* Constant-time comparison of two n-octet values (responses and hashes are secrets). */
bool mschapv2_equal_ct(const void *a, const void *b, size_t n);

#endif
