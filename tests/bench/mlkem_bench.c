/*
 * mlkem_bench: ML-KEM (crypto/mlkem.c) key generations, encapsulations and
 * decapsulations per second for ML-KEM-512/768/1024 on this machine, next
 * to an X25519 key pair plus shared secret (crypto/dh.c) for scale.
 *   build/tests/bench/mlkem_bench [SECONDS_PER_ITEM]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto/dh.h"
#include "crypto/mlkem.h"
#include "crypto/rng.h"
#include "crypto/secret.h"
#include "daemon/ikev2.h"

static double secs = 1.0;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "mlkem_bench: %s failed\n", what);
	exit(1);
}

/* Runs expr (true on success) until secs of CPU time have passed; operations per CPU-second. */
#define RATE(expr)                                                   \
	({                                                           \
		double t0_ = now(), t1_;                             \
		unsigned long n_ = 0;                                \
		do {                                                 \
			for (int i_ = 0; i_ < 8; i_++, n_++)         \
				if (!(expr))                         \
					die(#expr);                  \
		} while ((t1_ = now()) - t0_ < secs);                \
		(double)n_ / (t1_ - t0_);                            \
	})

static bool keygen(uint16_t id, uint8_t *ek)
{
	struct secret *dk;
	bool ok = mlkem_keygen(id, rng_system(), ek, mlkem_ek_len(id), &dk) == 0;

	secret_free(dk);
	return ok;
}

static bool encaps(uint16_t id, const uint8_t *ek, uint8_t *ct)
{
	struct secret *ss;
	bool ok = mlkem_encaps(id, ek, mlkem_ek_len(id), rng_system(), ct, mlkem_ct_len(id),
			       &ss) == 0;

	secret_free(ss);
	return ok;
}

static bool decaps(uint16_t id, const struct secret *dk, const uint8_t *ct)
{
	struct secret *ss;
	bool ok = mlkem_decaps(id, dk, ct, mlkem_ct_len(id), &ss) == 0;

	secret_free(ss);
	return ok;
}

static bool x25519(const uint8_t *peer)
{
	struct dh *dh = dh_new(DH_CURVE25519, rng_system());
	struct secret *ss = NULL;
	bool ok = dh && dh_shared(dh, peer, 32, &ss) == 0;

	secret_free(ss);
	dh_free(dh);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct {
		uint16_t id;
		const char *name;
	} sets[] = { { DH_MLKEM512, "ML-KEM-512" }, { DH_MLKEM768, "ML-KEM-768" },
		     { DH_MLKEM1024, "ML-KEM-1024" } };
	uint8_t ek[MLKEM_EK_MAX], ct[MLKEM_CT_MAX], peer[32];
	struct dh *other;

	if (argc > 1)
		secs = atof(argv[1]);
	if (crypto_init() != 0)
		return 1;
	printf("%-12s %12s %12s %12s %14s\n", "per CPU-s", "keygen", "encaps", "decaps",
	       "enc+dec (us)");
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		uint16_t id = sets[i].id;
		struct secret *dk;
		double kg, en, de;

		if (mlkem_keygen(id, rng_system(), ek, mlkem_ek_len(id), &dk) != 0 ||
		    !encaps(id, ek, ct))
			die("setup");
		kg = RATE(keygen(id, ek));
		if (mlkem_keygen(id, rng_system(), ek, mlkem_ek_len(id), &dk) != 0)
			die("keygen");
		en = RATE(encaps(id, ek, ct));
		de = RATE(decaps(id, dk, ct));
		secret_free(dk);
		printf("%-12s %12.0f %12.0f %12.0f %14.1f\n", sets[i].name, kg, en, de,
		       1e6 / en + 1e6 / de);
	}
	other = dh_new(DH_CURVE25519, rng_system());
	if (!other || dh_public(other, peer, sizeof(peer)) != 0)
		die("x25519 setup");
	printf("%-12s %12.0f   (key pair + shared secret, for scale)\n", "X25519",
	       RATE(x25519(peer)));
	dh_free(other);
	return 0;
}
