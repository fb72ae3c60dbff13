/*
 * SK/SKF decryption for ikedump --keys (file format in ikedump_keys.h).
 *
 * Cryptography is crypto/sk.h's (sk_cipher_new, sk_open); parsing of the
 * plaintext is the codec's (message_parse_inner).  This file reads the
 * key file, picks the direction's cipher by the I flag (RFC 7296 2.14),
 * and keeps opened RFC 7383 fragments until their message is complete.
 */
#include "tools/ikedump_keys.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keymat.h"
#include "crypto/secret.h"
#include "crypto/sk.h"
#include "daemon/ikev2.h"
#include "daemon/names.h"

/* Longest key line and key we accept (SK_e of AES-256 + salt is 36 octets). */
#define KEYS_LINE_MAX 1024
#define KEYS_KEY_MAX 128
/* Fragments of one message we keep, and messages being reassembled at once. */
#define KEYS_FRAGS_MAX 64
#define KEYS_FRAG_SETS 16
/* Transform IDs searched when a name is looked up (IANA values are small). */
#define KEYS_ID_SEARCH 1024

struct keys_sa {
	uint64_t spi_i, spi_r;
	struct sk_cipher *c_i, *c_r; /* owned: SK_ei/SK_ai and SK_er/SK_ar */
	struct keys_sa *next;
};

/* Opened fragments of one message (RFC 7383 2.6). */
struct keys_frags {
	bool used;
	uint64_t spi_i, spi_r, age;
	uint32_t msg_id;
	uint8_t flags;       /* IKE_FLAG_INITIATOR | IKE_FLAG_RESPONSE of the message */
	uint16_t total;
	uint16_t have;
	uint8_t first_inner; /* from fragment 1 */
	uint8_t *part[KEYS_FRAGS_MAX + 1]; /* owned; index = fragment number */
	size_t part_len[KEYS_FRAGS_MAX + 1];
};

struct keys_db {
	struct keys_sa *sas;
	struct keys_frags frags[KEYS_FRAG_SETS];
	uint64_t clock;
	uint8_t *plain;     /* owned: what the last opened message borrows */
	size_t plain_cap;
};

static void keys_frags_clear(struct keys_frags *f)
{
	for (size_t i = 0; i <= KEYS_FRAGS_MAX; i++) {
		if (f->part[i])
			crypto_wipe(f->part[i], f->part_len[i]);
		free(f->part[i]);
	}
	*f = (struct keys_frags){ 0 };
}

void keys_free(struct keys_db *db)
{
	if (!db)
		return;
	while (db->sas) {
		struct keys_sa *n = db->sas->next;

		sk_cipher_free(db->sas->c_i);
		sk_cipher_free(db->sas->c_r);
		free(db->sas);
		db->sas = n;
	}
	for (size_t i = 0; i < KEYS_FRAG_SETS; i++)
		keys_frags_clear(&db->frags[i]);
	if (db->plain)
		crypto_wipe(db->plain, db->plain_cap);
	free(db->plain);
	free(db);
}

static int keys_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex (':' separators allowed, optional 0x) into out[0..cap); octets or -1. */
static long keys_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (*s) {
		if (*s == ':') {
			s++;
			continue;
		}
		int hi = keys_hexval(s[0]), lo = hi < 0 ? -1 : keys_hexval(s[1]);

		if (hi < 0 || lo < 0 || n == cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return (long)n;
}

static bool keys_spi(const char *s, uint64_t *spi)
{
	uint8_t b[8];

	if (keys_unhex(s, b, sizeof(b)) != 8)
		return false;
	*spi = 0;
	for (int i = 0; i < 8; i++)
		*spi = *spi << 8 | b[i];
	return true;
}

/* Reverse of names_transform() for one type: the ID whose name is NAME. */
static bool keys_lookup(uint8_t type, const char *name, uint16_t *id)
{
	for (unsigned i = 0; i < KEYS_ID_SEARCH; i++) {
		struct names_buf nb;
		const char *n = names_transform(type, (uint16_t)i, &nb);

		if (n != nb.s && strcmp(n, name) == 0) {
			*id = (uint16_t)i;
			return true;
		}
	}
	return false;
}

/* RFC 4868 2.1.1 / RFC 2404: the integrity key is as long as the hash. */
static uint16_t keys_integ_for_len(size_t len)
{
	switch (len) {
	case 20: return AUTH_HMAC_SHA1_96;
	case 32: return AUTH_HMAC_SHA2_256_128;
	case 48: return AUTH_HMAC_SHA2_384_192;
	case 64: return AUTH_HMAC_SHA2_512_256;
	}
	return AUTH_NONE;
}

/* Secret from a hex field; NULL (and err) on bad hex. */
static struct secret *keys_secret(const char *field, const char *what, char *err, size_t errlen)
{
	uint8_t tmp[KEYS_KEY_MAX];
	long n = keys_unhex(field, tmp, sizeof(tmp));
	struct secret *s = NULL;

	if (n <= 0)
		snprintf(err, errlen, "%s is not hex of 1..%d octets", what, KEYS_KEY_MAX);
	else if (!(s = secret_dup(tmp, (size_t)n)))
		snprintf(err, errlen, "out of memory");
	crypto_wipe(tmp, sizeof(tmp));
	return s;
}

/* One key line split into F[0..nf); adds an SA to DB or fills err. */
static bool keys_add(struct keys_db *db, char **f, int nf, char *err, size_t errlen)
{
	struct secret *sk[4] = { NULL, NULL, NULL, NULL };
	struct keys_sa *sa = NULL;
	struct ike_suite suite = { .integ = AUTH_NONE };
	char encr[64], *slash;
	bool ok = false;

	if (nf != 5 && nf != 7 && nf != 8) {
		snprintf(err, errlen, "%d fields, need ISPI RSPI ENCR SK_ei SK_er [SK_ai SK_ar [INTEG]]",
			 nf);
		return false;
	}
	sa = calloc(1, sizeof(*sa));
	if (!sa) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if (!keys_spi(f[0], &sa->spi_i) || !keys_spi(f[1], &sa->spi_r)) {
		snprintf(err, errlen, "SPIs must be 16 hex digits each");
		goto out;
	}
	snprintf(encr, sizeof(encr), "%s", f[2]);
	slash = strchr(encr, '/');
	if (slash) {
		char *end;
		unsigned long kl = strtoul(slash + 1, &end, 10);

		if (*end || kl == 0 || kl > UINT16_MAX) {
			snprintf(err, errlen, "bad key length in '%s'", f[2]);
			goto out;
		}
		suite.encr_keylen = (uint16_t)kl;
		*slash = '\0';
	}
	if (!keys_lookup(TRANS_ENCR, encr, &suite.encr)) {
		snprintf(err, errlen, "unknown encryption transform '%s'", encr);
		goto out;
	}
	for (int i = 0; i < nf - 3 && i < 4; i++) {
		static const char *const what[] = { "SK_ei", "SK_er", "SK_ai", "SK_ar" };

		sk[i] = keys_secret(f[3 + i], what[i], err, errlen);
		if (!sk[i])
			goto out;
	}
	if (sk[0]->len != sk[1]->len || (sk[2] && sk[2]->len != sk[3]->len)) {
		snprintf(err, errlen, "SK_ei/SK_er (or SK_ai/SK_ar) differ in length");
		goto out;
	}
	if (suite_is_aead(suite.encr) != (sk[2] == NULL)) {
		snprintf(err, errlen, "%s %s integrity keys", encr,
			 sk[2] ? "takes no" : "needs SK_ai and SK_ar");
		goto out;
	}
	if (sk[2]) {
		if (nf == 8) {
			if (!keys_lookup(TRANS_INTEG, f[7], &suite.integ)) {
				snprintf(err, errlen, "unknown integrity transform '%s'", f[7]);
				goto out;
			}
		} else if ((suite.integ = keys_integ_for_len(sk[2]->len)) == AUTH_NONE) {
			snprintf(err, errlen, "no integrity algorithm has %zu-octet keys; name it "
				 "as an 8th field", sk[2]->len);
			goto out;
		}
	}
	/* No key length given: infer it from SK_e (RFC 5282 7.1: AEAD keys end in a 4-octet salt). */
	if (!suite.encr_keylen && suite.encr != ENCR_CHACHA20_POLY1305)
		suite.encr_keylen = (uint16_t)((sk[0]->len - (suite_is_aead(suite.encr) ? 4 : 0)) * 8);
	if (suite_encr_key_len(&suite) != sk[0]->len) {
		snprintf(err, errlen, "SK_ei is %zu octets, %s/%u needs %zu", sk[0]->len, encr,
			 suite.encr_keylen, suite_encr_key_len(&suite));
		goto out;
	}
	sa->c_i = sk_cipher_new(suite.encr, suite.encr_keylen, suite.integ, sk[0], sk[2]);
	sa->c_r = sk_cipher_new(suite.encr, suite.encr_keylen, suite.integ, sk[1], sk[3]);
	if (!sa->c_i || !sa->c_r) {
		snprintf(err, errlen, "%s/%u with these keys is not supported", encr,
			 suite.encr_keylen);
		goto out;
	}
	sa->next = db->sas;
	db->sas = sa;
	sa = NULL;
	ok = true;
out:
	for (int i = 0; i < 4; i++)
		secret_free(sk[i]);
	if (sa) {
		sk_cipher_free(sa->c_i);
		sk_cipher_free(sa->c_r);
		free(sa);
	}
	return ok;
}

struct keys_db *keys_load(const char *path, char *err, size_t errlen)
{
	char line[KEYS_LINE_MAX + 2];
	struct keys_db *db = calloc(1, sizeof(*db));
	FILE *fp = NULL;
	unsigned lineno = 0;
	char why[256];

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *f[9], *save = NULL, *tok, *hash;
		int nf = 0;

		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			snprintf(err, errlen, "%s:%u: line longer than %d characters", path, lineno,
				 KEYS_LINE_MAX);
			goto fail;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (tok = strtok_r(line, " \t\r\n", &save); tok && nf < 9;
		     tok = strtok_r(NULL, " \t\r\n", &save))
			f[nf++] = tok;
		if (nf == 0)
			continue;
		if (!keys_add(db, f, nf, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			crypto_wipe(line, sizeof(line));
			goto fail;
		}
		crypto_wipe(line, sizeof(line));
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(fp);
	return db;
fail:
	if (fp)
		fclose(fp);
	keys_free(db);
	return NULL;
}

static struct keys_sa *keys_find(struct keys_db *db, uint64_t spi_i, uint64_t spi_r)
{
	for (struct keys_sa *sa = db->sas; sa; sa = sa->next)
		if (sa->spi_i == spi_i && sa->spi_r == spi_r)
			return sa;
	return NULL;
}

static bool keys_plain_reserve(struct keys_db *db, size_t n)
{
	if (n <= db->plain_cap)
		return true;
	uint8_t *p = malloc(n);

	if (!p)
		return false;
	if (db->plain) {
		crypto_wipe(db->plain, db->plain_cap);
		free(db->plain);
	}
	db->plain = p;
	db->plain_cap = n;
	return true;
}

/* The fragment set of M's message, a free one, or the oldest one recycled. */
static struct keys_frags *keys_frag_set(struct keys_db *db, const struct ike_hdr *h, uint16_t total)
{
	uint8_t flags = h->flags & (IKE_FLAG_INITIATOR | IKE_FLAG_RESPONSE);
	struct keys_frags *free_set = NULL, *oldest = &db->frags[0];

	for (size_t i = 0; i < KEYS_FRAG_SETS; i++) {
		struct keys_frags *f = &db->frags[i];

		if (!f->used) {
			if (!free_set)
				free_set = f;
			continue;
		}
		if (f->spi_i == h->spi_i && f->spi_r == h->spi_r && f->msg_id == h->msg_id &&
		    f->flags == flags) {
			if (f->total == total)
				return f;
			/* RFC 7383 2.6.1: a new Total Fragments restarts the message. */
			keys_frags_clear(f);
			free_set = f;
			break;
		}
		if (f->age < oldest->age)
			oldest = f;
	}
	if (!free_set) {
		keys_frags_clear(oldest);
		free_set = oldest;
	}
	*free_set = (struct keys_frags){ .used = true, .spi_i = h->spi_i, .spi_r = h->spi_r,
					 .msg_id = h->msg_id, .flags = flags, .total = total,
					 .age = ++db->clock };
	return free_set;
}

static void keys_fail(struct keys_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void keys_fail(struct keys_result *res, const char *fmt, ...)
{
	va_list ap;

	res->state = KEYS_FAILED;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

/* Parse the plaintext chain into M; on failure drop any inner payloads it appended. */
static void keys_parse_inner(struct ike_msg *m, uint8_t first, const uint8_t *plain, size_t len,
			     enum keys_state ok_state, struct keys_result *res)
{
	struct payload_err err = { 0 };
	uint8_t n_outer = m->n_payloads;
	enum payload_status st = message_parse_inner(m, first, plain, len, &err);

	if (st != PAYLOAD_OK) {
		m->n_payloads = n_outer;
		keys_fail(res, "decrypted, but the inner payloads are malformed: %s (%s)", err.why,
			  payload_status_name(st));
		return;
	}
	res->state = ok_state;
}

void keys_open(struct keys_db *db, struct ike_msg *m, struct keys_result *res)
{
	const struct ike_payload *skp = message_sk(m);
	struct keys_sa *sa;
	size_t body_off, body_len, n = 0;

	*res = (struct keys_result){ .state = KEYS_NONE };
	if (!db || !skp)
		return;
	sa = keys_find(db, m->hdr.spi_i, m->hdr.spi_r);
	if (!sa) {
		res->state = KEYS_NO_SA;
		return;
	}
	if (skp->type == PL_SK) {
		body_off = skp->u.sk.body_off;
		body_len = skp->u.sk.body_len;
	} else {
		body_off = skp->u.skf.body_off;
		body_len = skp->u.skf.body_len;
	}
	if (!keys_plain_reserve(db, body_len ? body_len : 1)) {
		keys_fail(res, "out of memory");
		return;
	}
	/* RFC 7296 2.14: the I flag says whose keys protect the message. */
	int rc = sk_open(ike_hdr_is_initiator(&m->hdr) ? sa->c_i : sa->c_r, m->raw, body_off,
			 body_len, db->plain, &n);

	if (rc == -EBADMSG) {
		keys_fail(res, "integrity check failed (wrong keys?)");
		return;
	}
	if (rc != 0) {
		keys_fail(res, "cannot decrypt %zu octets: %s", body_len, strerror(-rc));
		return;
	}
	if (skp->type == PL_SK) {
		keys_parse_inner(m, skp->u.sk.first_inner, db->plain, n, KEYS_OPENED, res);
		return;
	}

	/* RFC 7383 2.6: keep each opened fragment until all of them are here. */
	const struct ike_skf *skf = &skp->u.skf;

	if (skf->total > KEYS_FRAGS_MAX) {
		keys_fail(res, "%u fragments, ikedump reassembles at most %d", skf->total,
			  KEYS_FRAGS_MAX);
		return;
	}
	struct keys_frags *fs = keys_frag_set(db, &m->hdr, skf->total);

	if (!fs->part[skf->frag_num]) {
		fs->part[skf->frag_num] = malloc(n ? n : 1);
		if (!fs->part[skf->frag_num]) {
			keys_fail(res, "out of memory");
			return;
		}
		if (n)
			memcpy(fs->part[skf->frag_num], db->plain, n);
		fs->part_len[skf->frag_num] = n;
		fs->have++;
		if (skf->frag_num == 1)
			fs->first_inner = skf->first_inner;
	}
	res->frags_have = fs->have;
	res->frags_total = fs->total;
	if (fs->have < fs->total) {
		res->state = KEYS_FRAG_STORED;
		return;
	}
	size_t total = 0;

	for (unsigned i = 1; i <= fs->total; i++)
		total += fs->part_len[i];
	if (!keys_plain_reserve(db, total ? total : 1)) {
		keys_fail(res, "out of memory");
		keys_frags_clear(fs);
		return;
	}
	total = 0;
	for (unsigned i = 1; i <= fs->total; i++) {
		if (fs->part_len[i])
			memcpy(db->plain + total, fs->part[i], fs->part_len[i]);
		total += fs->part_len[i];
	}
	uint8_t first = fs->first_inner;

	keys_frags_clear(fs);
	keys_parse_inner(m, first, db->plain, total, KEYS_REASSEMBLED, res);
}
