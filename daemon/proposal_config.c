/* strongSwan-style proposal keywords; see proposal_config.h. */
#include "daemon/proposal_config.h"

#include "crypto/dh.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest keyword we look at; longer words are unknown anyway. */
#define KEYWORD_MAX 32

struct keyword {
	const char *name;
	uint8_t type;
	uint16_t id;
	uint16_t keylen;
	bool aead;
};

/* The first entry for a (type, id, keylen) is the name proposal_cfg_format() writes. */
static const struct keyword keywords[] = {
	{ "aes128", TRANS_ENCR, ENCR_AES_CBC, 128, false },
	{ "aes192", TRANS_ENCR, ENCR_AES_CBC, 192, false },
	{ "aes256", TRANS_ENCR, ENCR_AES_CBC, 256, false },
	{ "aes128gcm16", TRANS_ENCR, ENCR_AES_GCM_16, 128, true },
	{ "aes192gcm16", TRANS_ENCR, ENCR_AES_GCM_16, 192, true },
	{ "aes256gcm16", TRANS_ENCR, ENCR_AES_GCM_16, 256, true },
	{ "aes128gcm12", TRANS_ENCR, ENCR_AES_GCM_12, 128, true },
	{ "aes192gcm12", TRANS_ENCR, ENCR_AES_GCM_12, 192, true },
	{ "aes256gcm12", TRANS_ENCR, ENCR_AES_GCM_12, 256, true },
	{ "aes128gcm8", TRANS_ENCR, ENCR_AES_GCM_8, 128, true },
	{ "aes192gcm8", TRANS_ENCR, ENCR_AES_GCM_8, 192, true },
	{ "aes256gcm8", TRANS_ENCR, ENCR_AES_GCM_8, 256, true },
	/* strongSwan: a GCM keyword without ICV size means the 16-octet ICV. */
	{ "aes128gcm", TRANS_ENCR, ENCR_AES_GCM_16, 128, true },
	{ "aes192gcm", TRANS_ENCR, ENCR_AES_GCM_16, 192, true },
	{ "aes256gcm", TRANS_ENCR, ENCR_AES_GCM_16, 256, true },
	/* RFC 7634 2: fixed 256-bit key, no Key Length attribute. */
	{ "chacha20poly1305", TRANS_ENCR, ENCR_CHACHA20_POLY1305, 0, true },

	{ "sha1", TRANS_INTEG, AUTH_HMAC_SHA1_96, 0, false },
	{ "sha256", TRANS_INTEG, AUTH_HMAC_SHA2_256_128, 0, false },
	{ "sha384", TRANS_INTEG, AUTH_HMAC_SHA2_384_192, 0, false },
	{ "sha512", TRANS_INTEG, AUTH_HMAC_SHA2_512_256, 0, false },
	{ "sha2_256", TRANS_INTEG, AUTH_HMAC_SHA2_256_128, 0, false },
	{ "sha2_384", TRANS_INTEG, AUTH_HMAC_SHA2_384_192, 0, false },
	{ "sha2_512", TRANS_INTEG, AUTH_HMAC_SHA2_512_256, 0, false },

	{ "prfsha1", TRANS_PRF, PRF_HMAC_SHA1, 0, false },
	{ "prfsha256", TRANS_PRF, PRF_HMAC_SHA2_256, 0, false },
	{ "prfsha384", TRANS_PRF, PRF_HMAC_SHA2_384, 0, false },
	{ "prfsha512", TRANS_PRF, PRF_HMAC_SHA2_512, 0, false },

	{ "modp2048", TRANS_DH, DH_MODP_2048, 0, false },
	{ "modp3072", TRANS_DH, DH_MODP_3072, 0, false },
	{ "modp4096", TRANS_DH, DH_MODP_4096, 0, false },
	{ "modp6144", TRANS_DH, DH_MODP_6144, 0, false },
	{ "modp8192", TRANS_DH, DH_MODP_8192, 0, false },
	{ "ecp256", TRANS_DH, DH_ECP_256, 0, false },
	{ "ecp384", TRANS_DH, DH_ECP_384, 0, false },
	{ "ecp521", TRANS_DH, DH_ECP_521, 0, false },
	{ "x25519", TRANS_DH, DH_CURVE25519, 0, false },
	{ "curve25519", TRANS_DH, DH_CURVE25519, 0, false },
	{ "x448", TRANS_DH, DH_CURVE448, 0, false },
	{ "curve448", TRANS_DH, DH_CURVE448, 0, false },
	{ "mlkem512", TRANS_DH, DH_MLKEM512, 0, false },
	{ "mlkem768", TRANS_DH, DH_MLKEM768, 0, false },
	{ "mlkem1024", TRANS_DH, DH_MLKEM1024, 0, false },

	{ "esn", TRANS_ESN, ESN_YES, 0, false },
	{ "noesn", TRANS_ESN, ESN_NO, 0, false },
};
#define N_KEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* strongSwan derives an IKE proposal's PRF from its integrity algorithm. */
static int prf_for_integ(uint16_t integ)
{
	switch (integ) {
	case AUTH_HMAC_SHA1_96:
		return PRF_HMAC_SHA1;
	case AUTH_HMAC_SHA2_256_128:
		return PRF_HMAC_SHA2_256;
	case AUTH_HMAC_SHA2_384_192:
		return PRF_HMAC_SHA2_384;
	case AUTH_HMAC_SHA2_512_256:
		return PRF_HMAC_SHA2_512;
	default:
		return -1;
	}
}

static const struct keyword *keyword_find(const char *name)
{
	for (size_t i = 0; i < N_KEYWORDS; i++) {
		if (strcasecmp(keywords[i].name, name) == 0)
			return &keywords[i];
	}
	return NULL;
}

static const struct keyword *keyword_of(const struct transform_cfg *t)
{
	for (size_t i = 0; i < N_KEYWORDS; i++) {
		if (keywords[i].type == t->type && keywords[i].id == t->id &&
		    keywords[i].keylen == t->keylen)
			return &keywords[i];
	}
	return NULL;
}

/*
 * strongSwan's additional key exchanges (RFC 9370): "keN_" before a key
 * exchange keyword, N 1-7, puts it in transform type ADDKEn; "keN_none"
 * is that slot's NONE (ID 0), which makes the exchange optional. Several
 * per slot are alternatives. The transform, or false if word is not one.
 */
static bool addke_parse(const char *word, struct transform_cfg *t, bool *known)
{
	const struct keyword *k;

	*known = false;
	if (strncasecmp(word, "ke", 2) != 0 || word[2] < '1' || word[2] > '7' || word[3] != '_')
		return false;
	*t = (struct transform_cfg){ .type = (uint8_t)(TRANS_ADDKE1 + (word[2] - '1')) };
	if (strcasecmp(word + 4, "none") == 0) {
		*known = true;
		return true;
	}
	k = keyword_find(word + 4);
	if (k && k->type == TRANS_DH) {
		t->id = k->id;
		*known = true;
	}
	return true;
}

/* "keN_NAME" for an ADDKE transform into name[0..len). */
static void addke_name(const struct transform_cfg *t, char *name, size_t len)
{
	struct transform_cfg ke = { .type = TRANS_DH, .id = t->id };
	const struct keyword *k = t->id ? keyword_of(&ke) : NULL;
	unsigned slot = (unsigned)(t->type - TRANS_ADDKE1 + 1);

	if (t->id == 0)
		snprintf(name, len, "ke%u_none", slot);
	else if (k)
		snprintf(name, len, "ke%u_%s", slot, k->name);
	else
		snprintf(name, len, "ke%u_%u", slot, t->id);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

size_t proposal_cfg_count(const struct proposal_cfg *p, enum ike_transform_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->t[i].type == type;
	return n;
}

static bool transform_is_aead(const struct transform_cfg *t)
{
	const struct keyword *k;

	if (t->type != TRANS_ENCR)
		return false;
	k = keyword_of(t);
	return k && k->aead;
}

bool proposal_cfg_is_aead(const struct proposal_cfg *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (transform_is_aead(&p->t[i]))
			return true;
	}
	return false;
}

static bool has_transform(const struct proposal_cfg *p, const struct transform_cfg *t)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->t[i].type == t->type && p->t[i].id == t->id && p->t[i].keylen == t->keylen)
			return true;
	}
	return false;
}

/*
 * One keyword of a protocol's proposal as a transform; *kp is its keyword
 * entry, NULL for an additional key exchange (no other rule concerns it).
 */
static int word_transform(const char *word, enum ike_protocol protocol,
			  struct transform_cfg *t, const struct keyword **kp, char *err,
			  size_t errlen)
{
	const struct keyword *k;
	bool known;

	*kp = NULL;
	if (addke_parse(word, t, &known)) {
		if (!known) {
			set_err(err, errlen, "unknown key exchange in '%s'", word);
			return -1;
		}
		return 0;
	}
	k = keyword_find(word);
	if (!k) {
		set_err(err, errlen, "unknown algorithm '%s'", word);
		return -1;
	}
	if (protocol == PROTO_IKE && k->type == TRANS_ESN) {
		set_err(err, errlen, "'%s' is not valid in an IKE proposal", word);
		return -1;
	}
	if (protocol == PROTO_ESP && k->type == TRANS_PRF) {
		set_err(err, errlen, "'%s' is not valid in an ESP proposal", word);
		return -1;
	}
	*t = (struct transform_cfg){ .type = k->type, .id = k->id, .keylen = k->keylen };
	*kp = k;
	return 0;
}

/* Parses one '-'-separated proposal text[0..len). */
static int parse_one(const char *text, size_t len, enum ike_protocol protocol,
		     struct proposal_cfg *p, char *err, size_t errlen)
{
	const char *pname = protocol == PROTO_IKE ? "IKE" : "ESP";
	bool explicit_prf = false, aead = false, non_aead = false;
	const struct keyword *integ_kw = NULL;
	size_t pos = 0;

	memset(p, 0, sizeof(*p));
	p->protocol = (uint8_t)protocol;
	while (pos <= len) {
		size_t end = pos;
		char word[KEYWORD_MAX + 1];
		const struct keyword *k;
		struct transform_cfg t;

		while (end < len && text[end] != '-')
			end++;
		if (end == pos) {
			set_err(err, errlen, "%s proposal '%.*s': empty algorithm name", pname,
				(int)len, text);
			return -1;
		}
		if (end - pos > KEYWORD_MAX) {
			set_err(err, errlen, "unknown algorithm '%.*s'", (int)(end - pos), text + pos);
			return -1;
		}
		memcpy(word, text + pos, end - pos);
		word[end - pos] = '\0';
		pos = end + 1;

		if (word_transform(word, protocol, &t, &k, err, errlen) < 0)
			return -1;
		if (has_transform(p, &t)) {
			set_err(err, errlen, "%s proposal '%.*s': '%s' given twice", pname,
				(int)len, text, word);
			return -1;
		}
		if (p->n == IKE_TRANSFORMS_MAX) {
			set_err(err, errlen, "%s proposal '%.*s': more than %d algorithms", pname,
				(int)len, text, IKE_TRANSFORMS_MAX);
			return -1;
		}
		p->t[p->n++] = t;
		if (!k)
			continue;
		if (k->type == TRANS_PRF)
			explicit_prf = true;
		if (k->type == TRANS_INTEG && !integ_kw)
			integ_kw = k;
		if (k->type == TRANS_ENCR) {
			if (k->aead)
				aead = true;
			else
				non_aead = true;
		}
	}

	if (proposal_cfg_count(p, TRANS_ENCR) == 0) {
		set_err(err, errlen, "%s proposal '%.*s': no encryption algorithm", pname, (int)len,
			text);
		return -1;
	}
	if (aead && non_aead) {
		set_err(err, errlen,
			"%s proposal '%.*s': mixes AEAD and non-AEAD ciphers (write two proposals)",
			pname, (int)len, text);
		return -1;
	}
	if (aead && integ_kw) {
		set_err(err, errlen,
			"%s proposal '%.*s': AEAD cipher with integrity algorithm '%s'", pname,
			(int)len, text, integ_kw->name);
		return -1;
	}
	if (!aead && !integ_kw) {
		set_err(err, errlen, "%s proposal '%.*s': no integrity algorithm", pname, (int)len,
			text);
		return -1;
	}
	if (protocol == PROTO_IKE) {
		if (aead && !explicit_prf) {
			set_err(err, errlen,
				"IKE proposal '%.*s': an AEAD cipher needs a PRF (add e.g. prfsha256)",
				(int)len, text);
			return -1;
		}
		if (!explicit_prf) {
			/* Copy the integrity list's order into derived PRFs. */
			size_t n = p->n;

			for (size_t i = 0; i < n; i++) {
				struct transform_cfg t = { .type = TRANS_PRF };
				int prf;

				if (p->t[i].type != TRANS_INTEG)
					continue;
				prf = prf_for_integ(p->t[i].id);
				if (prf < 0)
					continue;
				t.id = (uint16_t)prf;
				if (has_transform(p, &t))
					continue;
				if (p->n == IKE_TRANSFORMS_MAX) {
					set_err(err, errlen, "IKE proposal '%.*s': more than %d algorithms",
						(int)len, text, IKE_TRANSFORMS_MAX);
					return -1;
				}
				p->t[p->n++] = t;
			}
		}
		if (proposal_cfg_count(p, TRANS_DH) == 0) {
			set_err(err, errlen, "IKE proposal '%.*s': no key exchange (DH) group",
				(int)len, text);
			return -1;
		}
	} else if (proposal_cfg_count(p, TRANS_ESN) == 0) {
		/* RFC 7296 3.3.2: ESP proposals carry an ESN transform; default off. */
		if (p->n == IKE_TRANSFORMS_MAX) {
			set_err(err, errlen, "ESP proposal '%.*s': more than %d algorithms", (int)len,
				text, IKE_TRANSFORMS_MAX - 1);
			return -1;
		}
		p->t[p->n++] = (struct transform_cfg){ .type = TRANS_ESN, .id = ESN_NO };
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

int proposal_cfg_parse_syntax(const char *text, enum ike_protocol protocol,
			      struct proposal_cfg_list *out, char *err, size_t errlen)
{
	struct proposal_cfg_list l = { 0 };
	size_t pos = 0, len = strlen(text);

	memset(out, 0, sizeof(*out));
	if (protocol != PROTO_IKE && protocol != PROTO_ESP) {
		set_err(err, errlen, "proposals only for IKE and ESP");
		return -1;
	}
	l.p = calloc(IKE_PROPOSALS_MAX, sizeof(*l.p));
	if (!l.p) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	while (pos <= len) {
		size_t start = pos, end;

		while (pos < len && text[pos] != ',')
			pos++;
		end = pos++;
		while (start < end && is_space(text[start]))
			start++;
		while (end > start && is_space(text[end - 1]))
			end--;
		if (start == end) {
			set_err(err, errlen, "empty proposal in '%s'", text);
			goto fail;
		}
		if (l.n == IKE_PROPOSALS_MAX) {
			set_err(err, errlen, "more than %d proposals", IKE_PROPOSALS_MAX);
			goto fail;
		}
		if (parse_one(text + start, end - start, protocol, &l.p[l.n], err, errlen) < 0)
			goto fail;
		l.n++;
	}
	/* Shrink to what is used: configurations may hold many connections. */
	{
		struct proposal_cfg *p = realloc(l.p, l.n * sizeof(*p));

		if (p)
			l.p = p;
	}
	*out = l;
	return 0;
fail:
	free(l.p);
	return -1;
}

/* Why the engine cannot negotiate t yet (NULL: it can); name gets its keyword. */
static const char *not_negotiable(const struct transform_cfg *t, char *name, size_t len)
{
	const struct keyword *k;

	if (TRANS_IS_ADDKE(t->type)) {
		addke_name(t, name, len);
		return "additional key exchanges (RFC 9370) need IKE_INTERMEDIATE, "
		       "which xiked does not implement yet";
	}
	if (t->type == TRANS_DH && !dh_supported(t->id)) {
		k = keyword_of(t);
		snprintf(name, len, "%s", k ? k->name : "?");
		return "xiked does not implement this key exchange in IKE_SA_INIT or "
		       "CREATE_CHILD_SA yet";
	}
	return NULL;
}

int proposal_cfg_parse(const char *text, enum ike_protocol protocol,
		       struct proposal_cfg_list *out, char *err, size_t errlen)
{
	if (proposal_cfg_parse_syntax(text, protocol, out, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < out->n; i++)
		for (size_t j = 0; j < out->p[i].n; j++) {
			char name[KEYWORD_MAX + 8];
			const char *why = not_negotiable(&out->p[i].t[j], name, sizeof(name));

			if (why) {
				set_err(err, errlen, "'%s': %s", name, why);
				proposal_cfg_list_free(out);
				return -1;
			}
		}
	return 0;
}

void proposal_cfg_list_free(struct proposal_cfg_list *l)
{
	if (!l)
		return;
	free(l->p);
	l->p = NULL;
	l->n = 0;
}

int proposal_cfg_list_copy(struct proposal_cfg_list *dst, const struct proposal_cfg_list *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	dst->p = malloc(src->n * sizeof(*dst->p));
	if (!dst->p)
		return -1;
	memcpy(dst->p, src->p, src->n * sizeof(*dst->p));
	dst->n = src->n;
	return 0;
}

int proposal_cfg_format(const struct proposal_cfg *p, char *buf, size_t len)
{
	/* Canonical order, whatever order the keywords were given in. */
	static const uint8_t type_order[] = { TRANS_ENCR, TRANS_INTEG, TRANS_PRF, TRANS_DH,
					      TRANS_ADDKE1, TRANS_ADDKE1 + 1, TRANS_ADDKE1 + 2,
					      TRANS_ADDKE1 + 3, TRANS_ADDKE1 + 4, TRANS_ADDKE1 + 5,
					      TRANS_ADDKE7, TRANS_ESN };
	size_t total = 0;

	if (len)
		buf[0] = '\0';
	for (size_t o = 0; o < sizeof(type_order); o++) {
		for (size_t i = 0; i < p->n; i++) {
			const struct keyword *k;
			char unknown[32];
			const char *name;
			int n;

			if (p->t[i].type != type_order[o])
				continue;
			/* noesn alone is the default: parsing the text back gives it again. */
			if (p->t[i].type == TRANS_ESN && p->t[i].id == ESN_NO &&
			    proposal_cfg_count(p, TRANS_ESN) == 1)
				continue;
			k = keyword_of(&p->t[i]);
			if (TRANS_IS_ADDKE(p->t[i].type)) {
				addke_name(&p->t[i], unknown, sizeof(unknown));
				name = unknown;
			} else if (k) {
				name = k->name;
			} else {
				snprintf(unknown, sizeof(unknown), "%u:%u", p->t[i].type, p->t[i].id);
				name = unknown;
			}
			n = snprintf(total < len ? buf + total : NULL, total < len ? len - total : 0,
				     "%s%s", total ? "-" : "", name);
			if (n > 0)
				total += (size_t)n;
		}
	}
	return (int)total;
}
