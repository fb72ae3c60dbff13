/*
 * ML-KEM (FIPS 203); see mlkem.h. Written from the standard's algorithms,
 * whose numbers the comments cite.
 *
 * Arithmetic: coefficients are kept fully reduced in [0, q) as uint16_t.
 * Products (below 2^26) are reduced by Barrett reduction with
 * m = floor(2^32 / q) and one masked subtraction; divisions by q in
 * Compress are a multiplication and a shift (exact for every numerator
 * below 2^23), so no secret value reaches a division instruction, a branch
 * or a table index. Only public data (the matrix seed rho, ek, lengths)
 * decides branches: rejection sampling of the matrix (SampleNTT) and the
 * modulus check.
 */
#include "crypto/mlkem.h"

#include <errno.h>
#include <string.h>

#include <gcrypt.h>

#include "daemon/ikev2.h"

#define Q 3329
#define N 256
#define K_MAX 4
#define POLY_BYTES 384 /* ByteEncode_12 of one polynomial */
#define SYM 32         /* seed, hash and message octets */
#define ETA_MAX 3
#define N_INV 3303     /* 128^-1 mod q, the last step of NTT^-1 (Algorithm 10) */

struct mlkem_params {
	uint16_t id;
	unsigned k, eta1, eta2, du, dv;
};

/* FIPS 203 section 8, Table 2. */
static const struct mlkem_params mlkem_params[] = {
	{ DH_MLKEM512, 2, 3, 2, 10, 4 },
	{ DH_MLKEM768, 3, 2, 2, 10, 4 },
	{ DH_MLKEM1024, 4, 2, 2, 11, 5 },
};

struct poly {
	uint16_t c[N];
};

/* zeta^BitRev7(i) mod q for zeta = 17 (the NTT's twiddle factors, FIPS 203 Appendix A). */
static const uint16_t zetas[128] = {
	1, 1729, 2580, 3289, 2642, 630, 1897, 848, 1062, 1919, 193, 797, 2786, 3260, 569, 1746,
	296, 2447, 1339, 1476, 3046, 56, 2240, 1333, 1426, 2094, 535, 2882, 2393, 2879, 1974, 821,
	289, 331, 3253, 1756, 1197, 2304, 2277, 2055, 650, 1977, 2513, 632, 2865, 33, 1320, 1915,
	2319, 1435, 807, 452, 1438, 2868, 1534, 2402, 2647, 2617, 1481, 648, 2474, 3110, 1227, 910,
	17, 2761, 583, 2649, 1637, 723, 2288, 1100, 1409, 2662, 3281, 233, 756, 2156, 3015, 3050,
	1703, 1651, 2789, 1789, 1847, 952, 1461, 2687, 939, 2308, 2437, 2388, 733, 2337, 268, 641,
	1584, 2298, 2037, 3220, 375, 2549, 2090, 1645, 1063, 319, 2773, 757, 2099, 561, 2466, 2594,
	2804, 1092, 403, 1026, 1143, 2150, 2775, 886, 1722, 1212, 1874, 1029, 2110, 2935, 885, 2154,
};

/* zeta^(2 BitRev7(i) + 1) mod q: the gammas of BaseCaseMultiply (Appendix A). */
static const uint16_t gammas[128] = {
	17, 3312, 2761, 568, 583, 2746, 2649, 680, 1637, 1692, 723, 2606, 2288, 1041, 1100, 2229,
	1409, 1920, 2662, 667, 3281, 48, 233, 3096, 756, 2573, 2156, 1173, 3015, 314, 3050, 279,
	1703, 1626, 1651, 1678, 2789, 540, 1789, 1540, 1847, 1482, 952, 2377, 1461, 1868, 2687, 642,
	939, 2390, 2308, 1021, 2437, 892, 2388, 941, 733, 2596, 2337, 992, 268, 3061, 641, 2688,
	1584, 1745, 2298, 1031, 2037, 1292, 3220, 109, 375, 2954, 2549, 780, 2090, 1239, 1645, 1684,
	1063, 2266, 319, 3010, 2773, 556, 757, 2572, 2099, 1230, 561, 2768, 2466, 863, 2594, 735,
	2804, 525, 1092, 2237, 403, 2926, 1026, 2303, 1143, 2186, 2150, 1179, 2775, 554, 886, 2443,
	1722, 1607, 1212, 2117, 1874, 1455, 1029, 2300, 2110, 1219, 2935, 394, 885, 2444, 2154, 1175,
};

static const struct mlkem_params *params_of(uint16_t id)
{
	for (size_t i = 0; i < sizeof(mlkem_params) / sizeof(mlkem_params[0]); i++)
		if (mlkem_params[i].id == id)
			return &mlkem_params[i];
	return NULL;
}

bool mlkem_supported(uint16_t id)
{
	return params_of(id) != NULL;
}

size_t mlkem_ek_len(uint16_t id)
{
	const struct mlkem_params *p = params_of(id);

	return p ? POLY_BYTES * p->k + SYM : 0;
}

size_t mlkem_dk_len(uint16_t id)
{
	const struct mlkem_params *p = params_of(id);

	return p ? 2 * POLY_BYTES * p->k + 3 * SYM : 0;
}

size_t mlkem_ct_len(uint16_t id)
{
	const struct mlkem_params *p = params_of(id);

	return p ? SYM * (p->du * p->k + p->dv) : 0;
}

/* ---- arithmetic mod q, constant time ---- */

/* Keeps the compiler from turning mask arithmetic back into a branch. */
static inline uint32_t value_barrier(uint32_t x)
{
	__asm__("" : "+r"(x));
	return x;
}

/* r mod q for r < 2q: subtract q, add it back under a mask when that wrapped. */
static inline uint16_t csub_q(uint32_t r)
{
	uint32_t t = r - Q;
	uint32_t mask = value_barrier(0u - (t >> 31));

	return (uint16_t)(t + (mask & Q));
}

/* a mod q for any a < 2^32: Barrett, the estimate is off by at most one q. */
static inline uint16_t mod_q(uint32_t a)
{
	uint32_t t = (uint32_t)(((uint64_t)a * 1290167u) >> 32); /* floor(2^32 / q) */

	return csub_q(a - t * Q);
}

static inline uint16_t fq_mul(uint16_t a, uint16_t b)
{
	return mod_q((uint32_t)a * b);
}

static inline uint16_t fq_add(uint16_t a, uint16_t b)
{
	return csub_q((uint32_t)a + b);
}

static inline uint16_t fq_sub(uint16_t a, uint16_t b)
{
	return csub_q((uint32_t)a + Q - b);
}

/* Compress_d (4.7): round(2^d x / q) mod 2^d; floor(n / q) = (n * 2580335) >> 33 for n < 2^23. */
static inline uint16_t compress(uint16_t x, unsigned d)
{
	uint64_t n = ((uint32_t)x << d) + Q / 2;

	return (uint16_t)((n * 2580335u) >> 33) & (uint16_t)((1u << d) - 1);
}

/* Decompress_d (4.8): round(q y / 2^d). */
static inline uint16_t decompress(uint16_t y, unsigned d)
{
	return (uint16_t)(((uint32_t)y * Q + (1u << (d - 1))) >> d);
}

/* ---- NTT (4.3) ---- */

/* Algorithm 9. */
static void ntt(struct poly *f)
{
	unsigned i = 1;

	for (unsigned len = 128; len >= 2; len >>= 1)
		for (unsigned start = 0; start < N; start += 2 * len) {
			uint16_t zeta = zetas[i++];

			for (unsigned j = start; j < start + len; j++) {
				uint16_t t = fq_mul(zeta, f->c[j + len]);

				f->c[j + len] = fq_sub(f->c[j], t);
				f->c[j] = fq_add(f->c[j], t);
			}
		}
}

/* Algorithm 10. */
static void ntt_inv(struct poly *f)
{
	unsigned i = 127;

	for (unsigned len = 2; len <= 128; len <<= 1)
		for (unsigned start = 0; start < N; start += 2 * len) {
			uint16_t zeta = zetas[i--];

			for (unsigned j = start; j < start + len; j++) {
				uint16_t t = f->c[j];

				f->c[j] = fq_add(t, f->c[j + len]);
				f->c[j + len] = fq_mul(zeta, fq_sub(f->c[j + len], t));
			}
		}
	for (unsigned j = 0; j < N; j++)
		f->c[j] = fq_mul(f->c[j], N_INV);
}

/* h += f x g in the NTT domain: MultiplyNTTs (Algorithm 11) with BaseCaseMultiply (12). */
static void basemul_acc(struct poly *h, const struct poly *f, const struct poly *g)
{
	for (unsigned i = 0; i < 128; i++) {
		uint32_t a0 = f->c[2 * i], a1 = f->c[2 * i + 1];
		uint32_t b0 = g->c[2 * i], b1 = g->c[2 * i + 1];
		uint16_t c0 = mod_q(a0 * b0 + (uint32_t)mod_q(a1 * b1) * gammas[i]);
		uint16_t c1 = mod_q(a0 * b1 + a1 * b0);

		h->c[2 * i] = fq_add(h->c[2 * i], c0);
		h->c[2 * i + 1] = fq_add(h->c[2 * i + 1], c1);
	}
}

static void poly_add(struct poly *h, const struct poly *f)
{
	for (unsigned i = 0; i < N; i++)
		h->c[i] = fq_add(h->c[i], f->c[i]);
}

/* ---- encodings (4.2.1) ---- */

/* ByteEncode_d (Algorithm 5) for d <= 12: little-endian bit packing of 256 d-bit values. */
static void byte_encode(uint8_t *out, const struct poly *f, unsigned d)
{
	uint32_t acc = 0;
	unsigned bits = 0;

	for (unsigned i = 0; i < N; i++) {
		acc |= (uint32_t)f->c[i] << bits;
		bits += d;
		while (bits >= 8) {
			*out++ = (uint8_t)acc;
			acc >>= 8;
			bits -= 8;
		}
	}
}

/* ByteDecode_d (Algorithm 6) without the final reduction (values < 2^d). */
static void byte_decode(struct poly *f, const uint8_t *in, unsigned d)
{
	uint32_t acc = 0;
	unsigned bits = 0;

	for (unsigned i = 0; i < N; i++) {
		while (bits < d) {
			acc |= (uint32_t)*in++ << bits;
			bits += 8;
		}
		f->c[i] = (uint16_t)(acc & ((1u << d) - 1));
		acc >>= d;
		bits -= d;
	}
}

/* ByteDecode_12 with its mod q (values < 4096 < 2q: one masked subtraction). */
static void byte_decode12(struct poly *f, const uint8_t *in)
{
	byte_decode(f, in, 12);
	for (unsigned i = 0; i < N; i++)
		f->c[i] = csub_q(f->c[i]);
}

static void compress_encode(uint8_t *out, const struct poly *f, unsigned d)
{
	struct poly t;

	for (unsigned i = 0; i < N; i++)
		t.c[i] = compress(f->c[i], d);
	byte_encode(out, &t, d);
	crypto_wipe(&t, sizeof(t));
}

static void decode_decompress(struct poly *f, const uint8_t *in, unsigned d)
{
	byte_decode(f, in, d);
	for (unsigned i = 0; i < N; i++)
		f->c[i] = decompress(f->c[i], d);
}

/* ---- hashes (4.1) ---- */

/* H: SHA3-256. */
static void hash_h(uint8_t out[SYM], const uint8_t *in, size_t len)
{
	gcry_md_hash_buffer(GCRY_MD_SHA3_256, out, in, len);
}

/* G: SHA3-512 of a || b, split into two 32-octet halves (out holds both). */
static int hash_g(uint8_t out[2 * SYM], const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen)
{
	gcry_buffer_t iov[2] = {
		{ .size = alen, .len = alen, .data = (void *)a },
		{ .size = blen, .len = blen, .data = (void *)b },
	};

	return gcry_md_hash_buffers(GCRY_MD_SHA3_512, 0, out, iov, 2) ? -ENOMEM : 0;
}

/* SHAKE256(a || b) to outlen octets: PRF_eta (4.3) and J (4.4). */
static int shake256(uint8_t *out, size_t outlen, const uint8_t *a, size_t alen,
		    const uint8_t *b, size_t blen)
{
	gcry_md_hd_t h;
	int rc = 0;

	if (gcry_md_open(&h, GCRY_MD_SHAKE256, 0))
		return -ENOMEM;
	gcry_md_write(h, a, alen);
	gcry_md_write(h, b, blen);
	if (gcry_md_extract(h, GCRY_MD_SHAKE256, out, outlen))
		rc = -ENOMEM;
	gcry_md_close(h); /* wipes the state */
	return rc;
}

/* PRF_eta(s, b): 64 eta octets of SHAKE256(s || b). */
static int prf(uint8_t *out, unsigned eta, const uint8_t s[SYM], uint8_t b)
{
	return shake256(out, 64 * eta, s, SYM, &b, 1);
}

/* ---- sampling (4.2.2) ---- */

/*
 * SampleNTT (Algorithm 7): rejection sampling of 12-bit values below q from
 * SHAKE128(rho || j || i). Public data only; h is reset here.
 */
static int sample_ntt(gcry_md_hd_t h, struct poly *a, const uint8_t rho[SYM], uint8_t j,
		      uint8_t i)
{
	uint8_t ji[2] = { j, i };
	uint8_t buf[168]; /* one SHAKE128 block: 56 triples */
	unsigned n = 0;

	gcry_md_reset(h);
	gcry_md_write(h, rho, SYM);
	gcry_md_write(h, ji, 2);
	while (n < N) {
		if (gcry_md_extract(h, GCRY_MD_SHAKE128, buf, sizeof(buf)))
			return -ENOMEM;
		for (unsigned p = 0; p < sizeof(buf) && n < N; p += 3) {
			uint16_t d1 = (uint16_t)(buf[p] | (buf[p + 1] & 0x0f) << 8);
			uint16_t d2 = (uint16_t)(buf[p + 1] >> 4 | buf[p + 2] << 4);

			if (d1 < Q)
				a->c[n++] = d1;
			if (d2 < Q && n < N)
				a->c[n++] = d2;
		}
	}
	return 0;
}

/* The matrix A-hat: a[i][j] = SampleNTT(rho || j || i) (Algorithm 13 lines 3-7, 14 lines 4-8). */
static int sample_matrix(struct poly a[K_MAX][K_MAX], const uint8_t rho[SYM], unsigned k)
{
	gcry_md_hd_t h;
	int rc = 0;

	if (gcry_md_open(&h, GCRY_MD_SHAKE128, 0))
		return -ENOMEM;
	for (unsigned i = 0; i < k && rc == 0; i++)
		for (unsigned j = 0; j < k && rc == 0; j++)
			rc = sample_ntt(h, &a[i][j], rho, (uint8_t)j, (uint8_t)i);
	gcry_md_close(h);
	return rc;
}

static inline uint32_t bit_at(const uint8_t *b, unsigned n)
{
	return (uint32_t)(b[n >> 3] >> (n & 7)) & 1u;
}

/* SamplePolyCBD_eta (Algorithm 8): centred binomial coefficients from 64 eta octets. */
static void sample_cbd(struct poly *f, const uint8_t *b, unsigned eta)
{
	for (unsigned i = 0; i < N; i++) {
		uint32_t x = 0, y = 0;

		for (unsigned j = 0; j < eta; j++) {
			x += bit_at(b, 2 * i * eta + j);
			y += bit_at(b, 2 * i * eta + eta + j);
		}
		f->c[i] = csub_q(x + Q - y);
	}
}

/* SamplePolyCBD_eta(PRF_eta(s, n)). */
static int sample_noise(struct poly *f, unsigned eta, const uint8_t s[SYM], uint8_t n)
{
	uint8_t buf[64 * ETA_MAX];
	int rc = prf(buf, eta, s, n);

	if (rc == 0)
		sample_cbd(f, buf, eta);
	crypto_wipe(buf, sizeof(buf));
	return rc;
}

/* ---- K-PKE (section 5) ---- */

/* K-PKE.KeyGen (Algorithm 13): ek_pke (384 k + 32 octets) and dk_pke (384 k octets). */
static int kpke_keygen(const struct mlkem_params *p, const uint8_t d[SYM], uint8_t *ek,
		       uint8_t *dk)
{
	struct poly a[K_MAX][K_MAX], s[K_MAX], e[K_MAX], t;
	uint8_t rho_sigma[2 * SYM];
	uint8_t kbyte = (uint8_t)p->k;
	const uint8_t *rho = rho_sigma, *sigma = rho_sigma + SYM;
	uint8_t nonce = 0;
	int rc;

	/* (rho, sigma) = G(d || k): the parameter set's k as domain separator. */
	rc = hash_g(rho_sigma, d, SYM, &kbyte, 1);
	if (rc == 0)
		rc = sample_matrix(a, rho, p->k);
	for (unsigned i = 0; i < p->k && rc == 0; i++)
		rc = sample_noise(&s[i], p->eta1, sigma, nonce++);
	for (unsigned i = 0; i < p->k && rc == 0; i++)
		rc = sample_noise(&e[i], p->eta1, sigma, nonce++);
	if (rc)
		goto out;
	for (unsigned i = 0; i < p->k; i++) {
		ntt(&s[i]);
		ntt(&e[i]);
	}
	/* t-hat = A-hat s-hat + e-hat */
	for (unsigned i = 0; i < p->k; i++) {
		t = e[i];
		for (unsigned j = 0; j < p->k; j++)
			basemul_acc(&t, &a[i][j], &s[j]);
		byte_encode(ek + POLY_BYTES * i, &t, 12);
		byte_encode(dk + POLY_BYTES * i, &s[i], 12);
	}
	memcpy(ek + POLY_BYTES * p->k, rho, SYM);
out:
	crypto_wipe(s, sizeof(s));
	crypto_wipe(e, sizeof(e));
	crypto_wipe(&t, sizeof(t));
	crypto_wipe(rho_sigma, sizeof(rho_sigma));
	return rc;
}

/* K-PKE.Encrypt (Algorithm 14): c from ek_pke, the message m and the randomness r. */
static int kpke_encrypt(const struct mlkem_params *p, const uint8_t *ek, const uint8_t m[SYM],
			const uint8_t r[SYM], uint8_t *ct)
{
	struct poly a[K_MAX][K_MAX], t[K_MAX], y[K_MAX], e1[K_MAX], e2, u, v, mu;
	const uint8_t *rho = ek + POLY_BYTES * p->k;
	uint8_t nonce = 0;
	int rc;

	for (unsigned i = 0; i < p->k; i++)
		byte_decode12(&t[i], ek + POLY_BYTES * i);
	rc = sample_matrix(a, rho, p->k);
	for (unsigned i = 0; i < p->k && rc == 0; i++)
		rc = sample_noise(&y[i], p->eta1, r, nonce++);
	for (unsigned i = 0; i < p->k && rc == 0; i++)
		rc = sample_noise(&e1[i], p->eta2, r, nonce++);
	if (rc == 0)
		rc = sample_noise(&e2, p->eta2, r, nonce);
	if (rc)
		goto out;
	for (unsigned i = 0; i < p->k; i++)
		ntt(&y[i]);
	/* u = NTT^-1(A-hat^T y-hat) + e1 */
	for (unsigned i = 0; i < p->k; i++) {
		memset(&u, 0, sizeof(u));
		for (unsigned j = 0; j < p->k; j++)
			basemul_acc(&u, &a[j][i], &y[j]);
		ntt_inv(&u);
		poly_add(&u, &e1[i]);
		compress_encode(ct + SYM * p->du * i, &u, p->du);
	}
	/* v = NTT^-1(t-hat^T y-hat) + e2 + Decompress_1(ByteDecode_1(m)) */
	memset(&v, 0, sizeof(v));
	for (unsigned j = 0; j < p->k; j++)
		basemul_acc(&v, &t[j], &y[j]);
	ntt_inv(&v);
	poly_add(&v, &e2);
	decode_decompress(&mu, m, 1);
	poly_add(&v, &mu);
	compress_encode(ct + SYM * p->du * p->k, &v, p->dv);
out:
	crypto_wipe(y, sizeof(y));
	crypto_wipe(e1, sizeof(e1));
	crypto_wipe(&e2, sizeof(e2));
	crypto_wipe(&u, sizeof(u));
	crypto_wipe(&v, sizeof(v));
	crypto_wipe(&mu, sizeof(mu));
	return rc;
}

/* K-PKE.Decrypt (Algorithm 15): m from dk_pke and c. */
static void kpke_decrypt(const struct mlkem_params *p, const uint8_t *dk, const uint8_t *ct,
			 uint8_t m[SYM])
{
	struct poly u, s, w, v;

	memset(&w, 0, sizeof(w));
	for (unsigned i = 0; i < p->k; i++) {
		decode_decompress(&u, ct + SYM * p->du * i, p->du);
		ntt(&u);
		byte_decode12(&s, dk + POLY_BYTES * i);
		basemul_acc(&w, &s, &u);
	}
	ntt_inv(&w);
	decode_decompress(&v, ct + SYM * p->du * p->k, p->dv);
	/* w = v - NTT^-1(s-hat^T NTT(u)) */
	for (unsigned i = 0; i < N; i++)
		w.c[i] = fq_sub(v.c[i], w.c[i]);
	compress_encode(m, &w, 1);
	crypto_wipe(&s, sizeof(s));
	crypto_wipe(&w, sizeof(w));
	crypto_wipe(&u, sizeof(u));
	crypto_wipe(&v, sizeof(v));
}

/* ---- ML-KEM (sections 6 and 7) ---- */

int mlkem_keygen_seed(uint16_t id, const uint8_t *seed, size_t seed_len, uint8_t *ek,
		      size_t ek_len, struct secret **dk)
{
	const struct mlkem_params *p = params_of(id);
	struct secret *s;
	int rc;

	*dk = NULL;
	if (!p || seed_len != MLKEM_SEED_LEN || ek_len != mlkem_ek_len(id))
		return -EINVAL;
	s = secret_new(mlkem_dk_len(id));
	if (!s)
		return -ENOMEM;
	/* Algorithm 16: dk = dk_pke || ek || H(ek) || z. */
	rc = kpke_keygen(p, seed, ek, s->data);
	if (rc) {
		secret_free(s);
		return rc;
	}
	memcpy(s->data + POLY_BYTES * p->k, ek, ek_len);
	hash_h(s->data + POLY_BYTES * p->k + ek_len, ek, ek_len);
	memcpy(s->data + POLY_BYTES * p->k + ek_len + SYM, seed + SYM, SYM);
	*dk = s;
	return 0;
}

int mlkem_keygen(uint16_t id, const struct rng *rng, uint8_t *ek, size_t ek_len,
		 struct secret **dk)
{
	uint8_t seed[MLKEM_SEED_LEN];
	int rc;

	*dk = NULL;
	if (!mlkem_supported(id))
		return -EINVAL;
	rng_fill(rng, seed, sizeof(seed));
	rc = mlkem_keygen_seed(id, seed, sizeof(seed), ek, ek_len, dk);
	crypto_wipe(seed, sizeof(seed));
	return rc;
}

int mlkem_check_ek(uint16_t id, const uint8_t *ek, size_t ek_len)
{
	const struct mlkem_params *p = params_of(id);
	struct poly t;

	if (!p || ek_len != mlkem_ek_len(id))
		return -EINVAL;
	/* 7.2 modulus check: ByteEncode_12(ByteDecode_12(ek)) == ek, i.e. no value >= q. */
	for (unsigned i = 0; i < p->k; i++) {
		byte_decode(&t, ek + POLY_BYTES * i, 12);
		for (unsigned j = 0; j < N; j++)
			if (t.c[j] >= Q)
				return -EINVAL;
	}
	return 0;
}

int mlkem_encaps_m(uint16_t id, const uint8_t *ek, size_t ek_len,
		   const uint8_t m[MLKEM_MSG_LEN], uint8_t *ct, size_t ct_len, struct secret **ss)
{
	const struct mlkem_params *p = params_of(id);
	uint8_t h[SYM], kr[2 * SYM];
	struct secret *s;
	int rc;

	*ss = NULL;
	if (!p || ct_len != mlkem_ct_len(id) || mlkem_check_ek(id, ek, ek_len))
		return -EINVAL;
	s = secret_new(MLKEM_SS_LEN);
	if (!s)
		return -ENOMEM;
	/* Algorithm 17: (K, r) = G(m || H(ek)); c = K-PKE.Encrypt(ek, m, r). */
	hash_h(h, ek, ek_len);
	rc = hash_g(kr, m, MLKEM_MSG_LEN, h, SYM);
	if (rc == 0)
		rc = kpke_encrypt(p, ek, m, kr + SYM, ct);
	if (rc == 0)
		memcpy(s->data, kr, MLKEM_SS_LEN);
	crypto_wipe(kr, sizeof(kr));
	if (rc) {
		secret_free(s);
		return rc;
	}
	*ss = s;
	return 0;
}

int mlkem_encaps(uint16_t id, const uint8_t *ek, size_t ek_len, const struct rng *rng,
		 uint8_t *ct, size_t ct_len, struct secret **ss)
{
	uint8_t m[MLKEM_MSG_LEN];
	int rc;

	*ss = NULL;
	if (!mlkem_supported(id))
		return -EINVAL;
	rng_fill(rng, m, sizeof(m));
	rc = mlkem_encaps_m(id, ek, ek_len, m, ct, ct_len, ss);
	crypto_wipe(m, sizeof(m));
	return rc;
}

int mlkem_decaps(uint16_t id, const struct secret *dk, const uint8_t *ct, size_t ct_len,
		 struct secret **ss)
{
	const struct mlkem_params *p = params_of(id);
	uint8_t m[SYM], kr[2 * SYM], kbar[SYM], h[SYM], ct2[MLKEM_CT_MAX];
	const uint8_t *dk_pke, *ek, *hash, *z;
	size_t ek_len;
	struct secret *s;
	uint32_t diff = 0, eq;
	int rc;

	*ss = NULL;
	/* 7.3: ciphertext and decapsulation key type checks, hash check. */
	if (!p || !dk || dk->len != mlkem_dk_len(id) || ct_len != mlkem_ct_len(id))
		return -EINVAL;
	ek_len = mlkem_ek_len(id);
	dk_pke = dk->data;
	ek = dk_pke + POLY_BYTES * p->k;
	hash = ek + ek_len;
	z = hash + SYM;
	hash_h(h, ek, ek_len);
	if (memcmp(h, hash, SYM) != 0) /* ek and H(ek) are public: no constant time needed */
		return -EINVAL;
	s = secret_new(MLKEM_SS_LEN);
	if (!s)
		return -ENOMEM;
	/* Algorithm 18. */
	kpke_decrypt(p, dk_pke, ct, m);
	rc = hash_g(kr, m, SYM, hash, SYM);          /* (K', r') = G(m' || h) */
	if (rc == 0)
		rc = shake256(kbar, SYM, z, SYM, ct, ct_len); /* K-bar = J(z || c) */
	if (rc == 0)
		rc = kpke_encrypt(p, ek, m, kr + SYM, ct2);  /* c' */
	if (rc == 0) {
		/* c != c' selects K-bar: the compare and the select are mask arithmetic. */
		for (size_t i = 0; i < ct_len; i++)
			diff |= (uint32_t)(ct[i] ^ ct2[i]);
		eq = value_barrier((diff - 1u) >> 8) & 0xff; /* 0xff when equal, else 0 */
		for (size_t i = 0; i < MLKEM_SS_LEN; i++)
			s->data[i] = (uint8_t)(kbar[i] ^ (eq & (kr[i] ^ kbar[i])));
	}
	crypto_wipe(m, sizeof(m));
	crypto_wipe(kr, sizeof(kr));
	crypto_wipe(kbar, sizeof(kbar));
	crypto_wipe(ct2, sizeof(ct2));
	if (rc) {
		secret_free(s);
		return rc;
	}
	*ss = s;
	return 0;
}
