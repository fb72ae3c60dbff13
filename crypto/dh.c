/*
 * Diffie-Hellman groups for IKEv2; see dh.h.
 *
 * MODP and ECP arithmetic is libgcrypt's MPI/EC API (private values carry
 * GCRYMPI_FLAG_SECURE so libgcrypt takes its side-channel-hardened paths
 * and wipes the limbs on release); X25519 is libsodium; X448 is
 * gcry_ecc_mul_point (libgcrypt >= 1.9).
 *
 * Private values are drawn from the caller's struct rng, never from
 * libgcrypt's internal RNG, so tests can run deterministically.
 */
#include "crypto/dh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>
#include <sodium.h>

#include "daemon/ikev2.h"

#define X25519_LEN 32
#define X448_LEN 56
#define ECP_FIELD_MAX 66 /* P-521: ceil(521 / 8) */

enum dh_kind { DH_KIND_MODP, DH_KIND_ECP, DH_KIND_X25519, DH_KIND_X448 };

/* RFC 3526 section 3: 2048-bit MODP group, generator 2. */
static const char modp_2048_hex[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

/* RFC 3526 section 4: 3072-bit MODP group, generator 2. */
static const char modp_3072_hex[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
	"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
	"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
	"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";

/* RFC 3526 section 5: 4096-bit MODP group, generator 2. */
static const char modp_4096_hex[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
	"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
	"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
	"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
	"88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
	"DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
	"233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
	"93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF";

/* RFC 3526 section 6: 6144-bit MODP group, generator 2. */
static const char modp_6144_hex[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
	"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
	"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
	"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
	"88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
	"DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
	"233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
	"93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026"
	"C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE"
	"B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B"
	"DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC"
	"F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E"
	"59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA"
	"CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76"
	"F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468"
	"043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DCC4024FFFFFFFFFFFFFFFF";

/* RFC 3526 section 7: 8192-bit MODP group, generator 2. */
static const char modp_8192_hex[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
	"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
	"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
	"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
	"88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
	"DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
	"233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
	"93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026"
	"C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE"
	"B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B"
	"DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC"
	"F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E"
	"59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA"
	"CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76"
	"F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468"
	"043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DBE115974A3926F12FEE5E4"
	"38777CB6A932DF8CD8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED"
	"2576F6936BA424663AAB639C5AE4F5683423B4742BF1C978238F16CBE39D652D"
	"E3FDB8BEFC848AD922222E04A4037C0713EB57A81A23F0C73473FC646CEA306B"
	"4BCBC8862F8385DDFA9D4B7FA2C087E879683303ED5BDD3A062B3CF5B3A278A6"
	"6D2A13F83F44F82DDF310EE074AB6A364597E899A0255DC164F31CC50846851D"
	"F9AB48195DED7EA1B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F92"
	"4009438B481C6CD7889A002ED5EE382BC9190DA6FC026E479558E4475677E9AA"
	"9E3050E2765694DFC81F56E880B96E7160C980DD98EDD3DFFFFFFFFFFFFFFFFF";

struct dh_group_info {
	uint16_t id;
	enum dh_kind kind;
	size_t len;          /* MODP: prime octets; ECP: field octets; X: u-coordinate octets */
	unsigned exp_bits;   /* MODP private exponent bits */
	const char *param;   /* MODP: prime in hex; ECP: libgcrypt curve name */
};

/*
 * MODP exponent sizes: RFC 3526 section 8, "Strength Estimate 2"
 * exponent-size column (the larger, more conservative of the two):
 * twice the estimated symmetric strength of the group.
 */
static const struct dh_group_info dh_groups[] = {
	{ DH_MODP_2048, DH_KIND_MODP, 256, 320, modp_2048_hex },
	{ DH_MODP_3072, DH_KIND_MODP, 384, 420, modp_3072_hex },
	{ DH_MODP_4096, DH_KIND_MODP, 512, 480, modp_4096_hex },
	{ DH_MODP_6144, DH_KIND_MODP, 768, 540, modp_6144_hex },
	{ DH_MODP_8192, DH_KIND_MODP, 1024, 620, modp_8192_hex },
	{ DH_ECP_256, DH_KIND_ECP, 32, 0, "NIST P-256" },
	{ DH_ECP_384, DH_KIND_ECP, 48, 0, "NIST P-384" },
	{ DH_ECP_521, DH_KIND_ECP, 66, 0, "NIST P-521" },
	{ DH_CURVE25519, DH_KIND_X25519, X25519_LEN, 0, NULL },
	{ DH_CURVE448, DH_KIND_X448, X448_LEN, 0, NULL },
};
#define DH_NGROUPS (sizeof(dh_groups) / sizeof(dh_groups[0]))

/*
 * Per-group parameters parsed once and kept for the life of the process
 * (xiked is single-threaded): MODP p and p-1; ECP context and order n.
 */
struct dh_params {
	bool ready;
	gcry_mpi_t p, pm1;   /* MODP */
	gcry_ctx_t ec;       /* ECP */
	gcry_mpi_t n, fp;    /* ECP order and field prime */
};
static struct dh_params dh_params[DH_NGROUPS];

struct dh {
	const struct dh_group_info *g;
	struct dh_params *params;
	gcry_mpi_t priv;              /* MODP exponent / ECP scalar (secure flag) */
	uint8_t xpriv[X448_LEN];      /* X25519 / X448 scalar */
	uint8_t *pub;                 /* dh_public_len() octets, computed once */
};

static const struct dh_group_info *dh_info(uint16_t group, size_t *idx)
{
	size_t i;

	for (i = 0; i < DH_NGROUPS; i++)
		if (dh_groups[i].id == group) {
			if (idx)
				*idx = i;
			return &dh_groups[i];
		}
	return NULL;
}

static struct dh_params *dh_params_get(size_t idx)
{
	const struct dh_group_info *g = &dh_groups[idx];
	struct dh_params *pr = &dh_params[idx];

	if (pr->ready)
		return pr;
	if (g->kind == DH_KIND_MODP) {
		if (gcry_mpi_scan(&pr->p, GCRYMPI_FMT_HEX, g->param, 0, NULL))
			return NULL;
		pr->pm1 = gcry_mpi_new(0);
		gcry_mpi_sub_ui(pr->pm1, pr->p, 1);
	} else if (g->kind == DH_KIND_ECP) {
		if (gcry_mpi_ec_new(&pr->ec, NULL, g->param))
			return NULL;
		pr->n = gcry_mpi_ec_get_mpi("n", pr->ec, 1);
		pr->fp = gcry_mpi_ec_get_mpi("p", pr->ec, 1);
		if (!pr->n || !pr->fp)
			return NULL;
	}
	pr->ready = true;
	return pr;
}

bool dh_supported(uint16_t group)
{
	return dh_info(group, NULL) != NULL;
}

size_t dh_public_len(uint16_t group)
{
	const struct dh_group_info *g = dh_info(group, NULL);

	if (!g)
		return 0;
	return g->kind == DH_KIND_ECP ? 2 * g->len : g->len;
}

size_t dh_shared_len(uint16_t group)
{
	const struct dh_group_info *g = dh_info(group, NULL);

	return g ? g->len : 0;
}

uint16_t dh_group(const struct dh *dh)
{
	return dh->g->id;
}

/* Writes a non-negative MPI big-endian, left-padded to exactly len octets. */
static int mpi_to_fixed(gcry_mpi_t a, uint8_t *out, size_t len)
{
	size_t n = 0;

	if (gcry_mpi_get_nbits(a) > len * 8)
		return -EINVAL;
	if (gcry_mpi_print(GCRYMPI_FMT_USG, out, len, &n, a))
		return -EIO;
	if (n < len) {
		memmove(out + (len - n), out, n);
		memset(out, 0, len - n);
	}
	return 0;
}

/* Big-endian octets to a secure MPI (so libgcrypt wipes it and uses constant-time paths). */
static gcry_mpi_t mpi_from_secret(const uint8_t *p, size_t len)
{
	gcry_mpi_t a = NULL;

	if (gcry_mpi_scan(&a, GCRYMPI_FMT_USG, p, len, NULL))
		return NULL;
	/*
	 * libgcrypt asserts when converting a zero MPI (no limbs) to secure
	 * memory; zero is an invalid private value that every caller refuses.
	 */
	if (gcry_mpi_cmp_ui(a, 0) != 0)
		gcry_mpi_set_flag(a, GCRYMPI_FLAG_SECURE);
	return a;
}

static struct dh *dh_alloc(uint16_t group)
{
	size_t idx;
	const struct dh_group_info *g = dh_info(group, &idx);
	struct dh *dh;

	if (!g)
		return NULL;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return NULL;
	dh->g = g;
	dh->params = dh_params_get(idx);
	dh->pub = malloc(dh_public_len(group));
	if (!dh->params || !dh->pub) {
		dh_free(dh);
		return NULL;
	}
	return dh;
}

/* Computes dh->pub from the private value; 0 or -errno. */
static int dh_make_public(struct dh *dh)
{
	const struct dh_group_info *g = dh->g;
	int rc = -EINVAL;

	switch (g->kind) {
	case DH_KIND_MODP: {
		gcry_mpi_t y = gcry_mpi_new(0), two = gcry_mpi_set_ui(NULL, 2);

		gcry_mpi_powm(y, two, dh->priv, dh->params->p);
		rc = mpi_to_fixed(y, dh->pub, g->len);
		gcry_mpi_release(y);
		gcry_mpi_release(two);
		break;
	}
	case DH_KIND_ECP: {
		gcry_mpi_point_t G = gcry_mpi_ec_get_point("g", dh->params->ec, 0);
		gcry_mpi_point_t Q = gcry_mpi_point_new(0);
		gcry_mpi_t x = gcry_mpi_new(0), y = gcry_mpi_new(0);

		gcry_mpi_ec_mul(Q, dh->priv, G, dh->params->ec);
		if (gcry_mpi_ec_get_affine(x, y, Q, dh->params->ec) == 0 &&
		    mpi_to_fixed(x, dh->pub, g->len) == 0 &&
		    mpi_to_fixed(y, dh->pub + g->len, g->len) == 0)
			rc = 0;
		gcry_mpi_release(x);
		gcry_mpi_release(y);
		gcry_mpi_point_release(Q);
		gcry_mpi_point_release(G); /* libgcrypt always returns a copy */
		break;
	}
	case DH_KIND_X25519:
		rc = crypto_scalarmult_base(dh->pub, dh->xpriv) == 0 ? 0 : -EINVAL;
		break;
	case DH_KIND_X448:
		/* NULL point: the curve's base point (u = 5, RFC 7748 4.2). */
		rc = gcry_ecc_mul_point(GCRY_ECC_CURVE448, dh->pub, dh->xpriv, NULL) ? -EIO : 0;
		break;
	}
	return rc;
}

/* ECP scalar check: 1 <= d < n (SEC 1 3.2.1). */
static bool ecp_scalar_ok(const struct dh *dh, gcry_mpi_t d)
{
	return gcry_mpi_cmp_ui(d, 0) > 0 && gcry_mpi_cmp(d, dh->params->n) < 0;
}

struct dh *dh_new(uint16_t group, const struct rng *rng)
{
	struct dh *dh = dh_alloc(group);
	uint8_t buf[ECP_FIELD_MAX + 80];
	size_t len;

	if (!dh)
		return NULL;
	switch (dh->g->kind) {
	case DH_KIND_MODP:
		/* exp_bits random bits with the top one set: exactly exp_bits long. */
		len = (dh->g->exp_bits + 7) / 8;
		rng_fill(rng, buf, len);
		buf[0] &= (uint8_t)(0xff >> (len * 8 - dh->g->exp_bits));
		buf[0] |= (uint8_t)(0x80 >> (len * 8 - dh->g->exp_bits));
		dh->priv = mpi_from_secret(buf, len);
		break;
	case DH_KIND_ECP: {
		unsigned nbits = gcry_mpi_get_nbits(dh->params->n);

		/* Rejection sampling: uniform in [1, n-1] (FIPS 186-4 B.4.2). */
		len = (nbits + 7) / 8;
		for (;;) {
			rng_fill(rng, buf, len);
			buf[0] &= (uint8_t)(0xff >> (len * 8 - nbits));
			dh->priv = mpi_from_secret(buf, len);
			if (!dh->priv || ecp_scalar_ok(dh, dh->priv))
				break;
			gcry_mpi_release(dh->priv);
			dh->priv = NULL;
		}
		break;
	}
	case DH_KIND_X25519:
	case DH_KIND_X448:
		/* Full-size scalar; clamping happens inside the scalar multiplication (RFC 7748 5). */
		rng_fill(rng, dh->xpriv, dh->g->len);
		break;
	}
	crypto_wipe(buf, sizeof(buf));
	if ((dh->g->kind == DH_KIND_MODP || dh->g->kind == DH_KIND_ECP) && !dh->priv)
		goto fail;
	if (dh_make_public(dh))
		goto fail;
	return dh;
fail:
	dh_free(dh);
	return NULL;
}

struct dh *dh_new_from_private(uint16_t group, const uint8_t *priv, size_t len)
{
	struct dh *dh = dh_alloc(group);

	if (!dh)
		return NULL;
	switch (dh->g->kind) {
	case DH_KIND_MODP:
		if (len == 0 || len > dh->g->len)
			goto fail;
		dh->priv = mpi_from_secret(priv, len);
		if (!dh->priv || gcry_mpi_cmp_ui(dh->priv, 1) <= 0)
			goto fail;
		break;
	case DH_KIND_ECP:
		if (len != (gcry_mpi_get_nbits(dh->params->n) + 7) / 8)
			goto fail;
		dh->priv = mpi_from_secret(priv, len);
		if (!dh->priv || !ecp_scalar_ok(dh, dh->priv))
			goto fail;
		break;
	case DH_KIND_X25519:
	case DH_KIND_X448:
		if (len != dh->g->len)
			goto fail;
		memcpy(dh->xpriv, priv, len);
		break;
	}
	if (dh_make_public(dh))
		goto fail;
	return dh;
fail:
	dh_free(dh);
	return NULL;
}

int dh_public(const struct dh *dh, uint8_t *out, size_t len)
{
	if (len != dh_public_len(dh->g->id))
		return -EINVAL;
	memcpy(out, dh->pub, len);
	return 0;
}

/* RFC 6989 2.1 / RFC 7296 2.14: 1 < y < p-1, then g^xy mod p padded to the prime's length. */
static int dh_shared_modp(struct dh *dh, const uint8_t *peer, struct secret *s)
{
	gcry_mpi_t y = NULL, z = NULL;
	int rc = -EINVAL;

	if (gcry_mpi_scan(&y, GCRYMPI_FMT_USG, peer, dh->g->len, NULL))
		return -EINVAL;
	if (gcry_mpi_cmp_ui(y, 1) <= 0 || gcry_mpi_cmp(y, dh->params->pm1) >= 0)
		goto out;
	z = gcry_mpi_snew(0);
	gcry_mpi_powm(z, y, dh->priv, dh->params->p);
	/* Unreachable for a safe prime with 1 < y < p-1, but never hand out a trivial secret. */
	if (gcry_mpi_cmp_ui(z, 1) <= 0)
		goto out;
	rc = mpi_to_fixed(z, s->data, s->len);
out:
	gcry_mpi_release(y);
	gcry_mpi_release(z);
	return rc;
}

/*
 * RFC 6989 2.3 / RFC 5903 7: coordinates below the field prime, the point
 * on the curve (the NIST curves have cofactor 1, so an on-curve point
 * other than infinity has full order); the secret is x of d*Q.
 */
static int dh_shared_ecp(struct dh *dh, const uint8_t *peer, struct secret *s)
{
	size_t fl = dh->g->len;
	gcry_ctx_t ec = dh->params->ec;
	gcry_mpi_t x = NULL, y = NULL, one = NULL, zx = NULL;
	gcry_mpi_point_t Q = NULL, Z = NULL;
	int rc = -EINVAL;

	if (gcry_mpi_scan(&x, GCRYMPI_FMT_USG, peer, fl, NULL) ||
	    gcry_mpi_scan(&y, GCRYMPI_FMT_USG, peer + fl, fl, NULL))
		goto out;
	if (gcry_mpi_cmp(x, dh->params->fp) >= 0 || gcry_mpi_cmp(y, dh->params->fp) >= 0)
		goto out;
	one = gcry_mpi_set_ui(NULL, 1);
	Q = gcry_mpi_point_set(NULL, x, y, one);
	if (!gcry_mpi_ec_curve_point(Q, ec))
		goto out;
	Z = gcry_mpi_point_new(0);
	gcry_mpi_ec_mul(Z, dh->priv, Q, ec);
	zx = gcry_mpi_snew(0);
	if (gcry_mpi_ec_get_affine(zx, NULL, Z, ec))
		goto out; /* point at infinity */
	rc = mpi_to_fixed(zx, s->data, s->len);
out:
	gcry_mpi_release(x);
	gcry_mpi_release(y);
	gcry_mpi_release(one);
	gcry_mpi_release(zx);
	gcry_mpi_point_release(Q);
	gcry_mpi_point_release(Z);
	return rc;
}

int dh_shared(struct dh *dh, const uint8_t *peer, size_t len, struct secret **out)
{
	struct secret *s;
	int rc = -EINVAL;

	*out = NULL;
	if (len != dh_public_len(dh->g->id))
		return -EINVAL;
	s = secret_new(dh->g->len);
	if (!s)
		return -ENOMEM;
	switch (dh->g->kind) {
	case DH_KIND_MODP:
		rc = dh_shared_modp(dh, peer, s);
		break;
	case DH_KIND_ECP:
		rc = dh_shared_ecp(dh, peer, s);
		break;
	case DH_KIND_X25519:
		/* libsodium returns -1 for an all-zero result (low-order point, RFC 7748 6.1). */
		rc = crypto_scalarmult(s->data, dh->xpriv, peer) == 0 ? 0 : -EINVAL;
		break;
	case DH_KIND_X448:
		if (gcry_ecc_mul_point(GCRY_ECC_CURVE448, s->data, dh->xpriv, peer))
			rc = -EINVAL;
		else /* RFC 7748 6.2: reject the all-zero output of a low-order point. */
			rc = sodium_is_zero(s->data, s->len) ? -EINVAL : 0;
		break;
	}
	if (rc) {
		secret_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void dh_free(struct dh *dh)
{
	if (!dh)
		return;
	gcry_mpi_release(dh->priv); /* libgcrypt wipes the limbs */
	sodium_memzero(dh->xpriv, sizeof(dh->xpriv));
	free(dh->pub);
	free(dh);
}
