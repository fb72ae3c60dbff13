/* MS-CHAPv2 (RFC 2759) and MPPE master keys (RFC 3079) over libgcrypt; see mschapv2.h. */
#include "crypto/mschapv2.h"

#include <errno.h>
#include <string.h>

#include <gcrypt.h>
#include <sodium.h>

#include "crypto/secret.h"

/* RFC 2759 8.7 */
static const char magic_sign[] = "Magic server to client signing constant";
static const char magic_pad[] = "Pad to make it do more than one iteration";
/* RFC 3079 3.4 */
static const char magic_master[] = "This is the MPPE Master Key";
static const char magic_client_send[] =
	"On the client side, this is the send key; on the server side, it is the receive key.";
static const char magic_client_recv[] =
	"On the client side, this is the receive key; on the server side, it is the send key.";

/* out = hash(parts...) with libgcrypt; 0 or -EIO. */
static int digest(int algo, const void *const *parts, const size_t *lens, size_t n, uint8_t *out)
{
	gcry_md_hd_t h;
	if (gcry_md_open(&h, algo, GCRY_MD_FLAG_SECURE) != 0)
		return -EIO;
	for (size_t i = 0; i < n; i++)
		gcry_md_write(h, parts[i], lens[i]);
	const uint8_t *d = gcry_md_read(h, algo);
	if (!d) {
		gcry_md_close(h);
		return -EIO;
	}
	memcpy(out, d, gcry_md_get_algo_dlen(algo));
	gcry_md_close(h);
	return 0;
}

/* UTF-8 to UTF-16LE, at most max code units; the count, or -1 for bad input. */
static long utf16le(const uint8_t *s, size_t len, uint8_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		uint32_t c = s[i], need = c < 0x80 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 9;
		if (need == 9 || c > 0xf4 || i + need >= len)
			return -1;
		c &= need == 0 ? 0x7f : 0x3f >> need;
		for (uint32_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
		if (c < min[need] || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
			return -1;
		i += need + 1;
		uint16_t units[2] = {(uint16_t)c, 0};
		size_t nu = 1;
		if (c >= 0x10000) {
			units[0] = (uint16_t)(0xd800 | ((c - 0x10000) >> 10));
			units[1] = (uint16_t)(0xdc00 | ((c - 0x10000) & 0x3ff));
			nu = 2;
		}
		if (n + nu > max)
			return -1;
		for (size_t u = 0; u < nu; u++, n++) {
			out[2 * n] = (uint8_t)units[u];
			out[2 * n + 1] = (uint8_t)(units[u] >> 8);
		}
	}
	return (long)n;
}

int mschapv2_password_hash(const uint8_t *password, size_t len, uint8_t hash[MSCHAPV2_HASH_LEN])
{
	/* RFC 2759 8.1: at most 256 Unicode characters (UTF-16 code units here). */
	uint8_t u[2 * MSCHAPV2_PASSWORD_MAX];
	long n = utf16le(password, len, u, MSCHAPV2_PASSWORD_MAX);
	int rc = -EINVAL;
	if (n > 0) {
		const void *p[] = {u};
		size_t l[] = {(size_t)n * 2};
		rc = digest(GCRY_MD_MD4, p, l, 1, hash);
	}
	crypto_wipe(u, sizeof(u));
	return rc;
}

/* RFC 2759 8.2 ChallengeHash: the first 8 octets of SHA1(PeerChallenge | AuthChallenge | UserName). */
static int challenge_hash(const uint8_t *peer, const uint8_t *auth, const uint8_t *user,
			  size_t ulen, uint8_t out[8])
{
	uint8_t d[20];
	const void *p[] = {peer, auth, user};
	size_t l[] = {MSCHAPV2_CHALLENGE_LEN, MSCHAPV2_CHALLENGE_LEN, ulen};
	int rc = digest(GCRY_MD_SHA1, p, l, 3, d);
	memcpy(out, d, 8);
	return rc;
}

/* RFC 2759 8.6 DesEncrypt: 7 key octets spread over 8 (parity bits unused by DES). */
static int des_encrypt(const uint8_t clear[8], const uint8_t k7[7], uint8_t out[8])
{
	uint8_t k[8];
	k[0] = k7[0];
	for (int i = 1; i < 7; i++)
		k[i] = (uint8_t)(k7[i - 1] << (8 - i) | k7[i] >> i);
	k[7] = (uint8_t)(k7[6] << 1);
	gcry_cipher_hd_t h;
	int rc = -EIO;
	if (gcry_cipher_open(&h, GCRY_CIPHER_DES, GCRY_CIPHER_MODE_ECB, GCRY_CIPHER_SECURE) == 0) {
		/* A weak DES key is still set (GPG_ERR_WEAK_KEY): the protocol has no choice. */
		gcry_error_t e = gcry_cipher_setkey(h, k, 8);
		if ((e == 0 || gcry_err_code(e) == GPG_ERR_WEAK_KEY) &&
		    gcry_cipher_encrypt(h, out, 8, clear, 8) == 0)
			rc = 0;
		gcry_cipher_close(h);
	}
	crypto_wipe(k, sizeof(k));
	return rc;
}

/* RFC 2759 8.5 ChallengeResponse: three DES blocks keyed by the zero-padded hash. */
static int challenge_response(const uint8_t challenge[8], const uint8_t hash[16], uint8_t out[24])
{
	uint8_t z[21] = {0};
	memcpy(z, hash, 16);
	int rc = 0;
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = des_encrypt(challenge, z + 7 * i, out + 8 * i);
	crypto_wipe(z, sizeof(z));
	return rc;
}

int mschapv2_nt_response(const uint8_t auth_challenge[MSCHAPV2_CHALLENGE_LEN],
			 const uint8_t peer_challenge[MSCHAPV2_CHALLENGE_LEN],
			 const uint8_t *user, size_t ulen,
			 const uint8_t pw_hash[MSCHAPV2_HASH_LEN],
			 uint8_t out[MSCHAPV2_NT_RESPONSE_LEN])
{
	uint8_t ch[8];
	if (challenge_hash(peer_challenge, auth_challenge, user, ulen, ch) != 0)
		return -EIO;
	return challenge_response(ch, pw_hash, out);
}

int mschapv2_authenticator_response(const uint8_t pw_hash[MSCHAPV2_HASH_LEN],
				    const uint8_t nt_response[MSCHAPV2_NT_RESPONSE_LEN],
				    const uint8_t peer_challenge[MSCHAPV2_CHALLENGE_LEN],
				    const uint8_t auth_challenge[MSCHAPV2_CHALLENGE_LEN],
				    const uint8_t *user, size_t ulen,
				    char out[MSCHAPV2_AUTH_RESPONSE_LEN])
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t hh[16], d[20], ch[8];
	const void *p1[] = {pw_hash};
	size_t l1[] = {MSCHAPV2_HASH_LEN};
	int rc = digest(GCRY_MD_MD4, p1, l1, 1, hh);
	if (rc == 0) {
		const void *p2[] = {hh, nt_response, magic_sign};
		size_t l2[] = {16, MSCHAPV2_NT_RESPONSE_LEN, sizeof(magic_sign) - 1};
		rc = digest(GCRY_MD_SHA1, p2, l2, 3, d);
	}
	if (rc == 0)
		rc = challenge_hash(peer_challenge, auth_challenge, user, ulen, ch);
	if (rc == 0) {
		const void *p3[] = {d, ch, magic_pad};
		size_t l3[] = {20, 8, sizeof(magic_pad) - 1};
		rc = digest(GCRY_MD_SHA1, p3, l3, 3, d);
	}
	if (rc == 0) {
		out[0] = 'S';
		out[1] = '=';
		for (int i = 0; i < 20; i++) {
			out[2 + 2 * i] = hex[d[i] >> 4];
			out[3 + 2 * i] = hex[d[i] & 15];
		}
	}
	crypto_wipe(hh, sizeof(hh));
	crypto_wipe(d, sizeof(d));
	return rc;
}

int mschapv2_master_keys(const uint8_t pw_hash[MSCHAPV2_HASH_LEN],
			 const uint8_t nt_response[MSCHAPV2_NT_RESPONSE_LEN], bool server,
			 uint8_t send_key[MSCHAPV2_HASH_LEN], uint8_t recv_key[MSCHAPV2_HASH_LEN])
{
	static const uint8_t pad1[40] = {0};
	static const uint8_t pad2[40] = {
		0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
		0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
		0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2};
	uint8_t hh[16], d[20], master[16];
	const void *p1[] = {pw_hash};
	size_t l1[] = {MSCHAPV2_HASH_LEN};
	int rc = digest(GCRY_MD_MD4, p1, l1, 1, hh);
	if (rc == 0) {
		/* GetMasterKey: SHA1(PasswordHashHash | NTResponse | Magic1), 16 octets. */
		const void *p2[] = {hh, nt_response, magic_master};
		size_t l2[] = {16, MSCHAPV2_NT_RESPONSE_LEN, sizeof(magic_master) - 1};
		rc = digest(GCRY_MD_SHA1, p2, l2, 3, d);
		memcpy(master, d, 16);
	}
	/* GetAsymmetricStartKey: the client's send key is the server's receive key. */
	for (int k = 0; k < 2 && rc == 0; k++) {
		bool send = k == 0;
		const char *m = send == server ? magic_client_recv : magic_client_send;
		const void *p3[] = {master, pad1, m, pad2};
		size_t l3[] = {16, sizeof(pad1), strlen(m), sizeof(pad2)};
		rc = digest(GCRY_MD_SHA1, p3, l3, 4, d);
		memcpy(send ? send_key : recv_key, d, 16);
	}
	crypto_wipe(hh, sizeof(hh));
	crypto_wipe(d, sizeof(d));
	crypto_wipe(master, sizeof(master));
	return rc;
}

bool mschapv2_equal_ct(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}
