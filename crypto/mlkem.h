/*
 * ML-KEM (FIPS 203): the module-lattice key-encapsulation mechanism, for
 * IKEv2's additional key exchanges (RFC 9370) with the transform IDs of
 * IANA's "Transform Type 4" registry: 35 ML-KEM-512, 36 ML-KEM-768,
 * 37 ML-KEM-1024 (enum ike_dh_group, daemon/ikev2.h).
 *
 * The initiator generates a key pair and sends the encapsulation key ek;
 * the responder encapsulates to ek (a random message m) and sends the
 * ciphertext c, keeping the 32-octet shared secret K; the initiator
 * decapsulates c with its decapsulation key dk to the same K.
 *
 * Input checks (FIPS 203 section 7): ek must have the parameter set's length
 * and pass the modulus check (7.2: every 12-bit coefficient below q); dk the
 * length and the hash check (7.3: H(ek) stored in dk matches); c the length.
 * A ciphertext that does not re-encrypt to itself is not an error: it yields
 * the implicit-rejection secret J(z || c) (6.3), chosen in constant time.
 *
 * Constant time: no branch and no table index depends on dk, K, m or the
 * sampled secrets; the re-encryption compare and the rejection select are
 * mask arithmetic. SHA3-256/512 and SHAKE128/256 are libgcrypt's.
 * dk and K are returned in struct secret (wiped on free); intermediate
 * secrets on the stack are wiped before return.
 */
#ifndef XIKED_CRYPTO_MLKEM_H
#define XIKED_CRYPTO_MLKEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/rng.h"
#include "crypto/secret.h"

#define MLKEM_SEED_LEN 64 /* d || z, FIPS 203 ML-KEM.KeyGen_internal */
#define MLKEM_MSG_LEN 32  /* m, ML-KEM.Encaps_internal */
#define MLKEM_SS_LEN 32   /* the shared secret K */
#define MLKEM_EK_MAX 1568 /* ML-KEM-1024 */
#define MLKEM_DK_MAX 3168
#define MLKEM_CT_MAX 1568

/* True for 35, 36, 37 (ML-KEM-512/768/1024). */
bool mlkem_supported(uint16_t id);
/* Encapsulation key, decapsulation key and ciphertext octets; 0 if unsupported. */
size_t mlkem_ek_len(uint16_t id);
size_t mlkem_dk_len(uint16_t id);
size_t mlkem_ct_len(uint16_t id);

/*
 * ML-KEM.KeyGen (FIPS 203 7.1) with d || z drawn from rng (borrowed):
 * writes ek (ek_len must be mlkem_ek_len(id)) and a new *dk (caller owns).
 * 0, -EINVAL (unsupported id, wrong ek_len), -ENOMEM.
 */
int mlkem_keygen(uint16_t id, const struct rng *rng, uint8_t *ek, size_t ek_len,
		 struct secret **dk);

/*
 * ML-KEM.KeyGen_internal (Algorithm 16) from the seed d || z (tests, stored keys):
 * seed_len must be MLKEM_SEED_LEN, else -EINVAL.
 */
int mlkem_keygen_seed(uint16_t id, const uint8_t *seed, size_t seed_len, uint8_t *ek,
		      size_t ek_len, struct secret **dk);

/* FIPS 203 7.2 input checks on a peer's ek: length and modulus check. 0 or -EINVAL. */
int mlkem_check_ek(uint16_t id, const uint8_t *ek, size_t ek_len);

/*
 * ML-KEM.Encaps (7.2): checks ek (mlkem_check_ek), draws m from rng, writes
 * the ciphertext (ct_len must be mlkem_ct_len(id)) and a new *ss (K, caller
 * owns). 0, -EINVAL (bad ek or lengths; *ss left NULL), -ENOMEM.
 */
int mlkem_encaps(uint16_t id, const uint8_t *ek, size_t ek_len, const struct rng *rng,
		 uint8_t *ct, size_t ct_len, struct secret **ss);

/* The same with a given m (ML-KEM.Encaps_internal, Algorithm 17; tests). */
int mlkem_encaps_m(uint16_t id, const uint8_t *ek, size_t ek_len,
		   const uint8_t m[MLKEM_MSG_LEN], uint8_t *ct, size_t ct_len, struct secret **ss);

/*
 * ML-KEM.Decaps (7.3): checks c's and dk's length and dk's hash, then
 * decapsulates (Algorithm 18, implicit rejection) into a new *ss.
 * 0, -EINVAL (bad lengths or dk; *ss left NULL), -ENOMEM.
 */
int mlkem_decaps(uint16_t id, const struct secret *dk, const uint8_t *ct, size_t ct_len,
		 struct secret **ss);

#endif
