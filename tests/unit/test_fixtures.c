/*
 * End-to-end check of crypto/ and the codec against real strongSwan 5.9.8
 * exchanges (tests/fixtures/strongswan/README.md).
 *
 * For each capture: every IKE message in the pcap is parsed with the codec.
 * The Diffie-Hellman secret is taken from the charon log (the private keys
 * are not known); SKEYSEED and every SK_* are derived with crypto/keymat
 * from it and the nonces and SPIs in the capture, and must equal the
 * values both charons logged, byte for byte. Those keys then open every
 * SK/SKF payload (RFC 7383 fragments are reassembled), the inner chains
 * are parsed, both AUTH payloads are recomputed from the PSK (RFC 7296
 * 2.15), and in natfrag-ecp256 the IKE SA rekey (RFC 7296 2.18) is
 * followed to the new SA, whose messages must open too.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/keymat.h"
#include "crypto/prf.h"
#include "crypto/rng.h"
#include "crypto/secret.h"
#include "crypto/sk.h"
#include "daemon/cursor.h"
#include "daemon/ikev2.h"
#include "daemon/message.h"
#include "daemon/payload.h"

static const char fixture_psk[] = "correct horse battery staple";

/* Bounds on what the fixtures may hold; a capture over them fails the test. */
#define FIX_FILE_MAX (1u << 20)
#define FIX_MSGS_MAX 128
#define FIX_SAS_MAX 4
#define FIX_FRAGS_MAX 16

static char *fixture_path(const char *name)
{
	const char *dir = getenv("XIKED_FIXTURES");
	char *p;

	assert_non_null(dir);
	assert_true(asprintf(&p, "%s/strongswan/%s", dir, name) > 0);
	return p;
}

/* Reads a whole file (at most FIX_FILE_MAX octets). */
static uint8_t *read_file(const char *name, size_t *len)
{
	char *path = fixture_path(name);
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(FIX_FILE_MAX + 1);

	if (!f)
		fail_msg("cannot open %s", path);
	assert_non_null(buf);
	*len = fread(buf, 1, FIX_FILE_MAX + 1, f);
	assert_true(*len <= FIX_FILE_MAX);
	buf[*len] = 0;
	fclose(f);
	free(path);
	return buf;
}

/* ------------------------------------------------------------- pcap */

struct capture {
	size_t n;
	size_t esp;      /* ESP-in-UDP packets skipped */
	size_t keepalive;
	struct {
		uint8_t *data;
		size_t len;
		uint16_t sport, dport;
	} msg[FIX_MSGS_MAX];
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * A bounded reader for the classic pcap format (little-endian, Ethernet
 * link type) with IPv4/IPv6 + UDP. Each UDP datagram on port 500 is one IKE
 * message; on 4500 one with the 4-octet non-ESP marker (RFC 3948 2.2),
 * anything else there is ESP (or a NAT-T keepalive) and is counted apart.
 */
static void pcap_load(const char *name, struct capture *c)
{
	size_t flen, off = 24;
	uint8_t *f = read_file(name, &flen);

	memset(c, 0, sizeof(*c));
	assert_true(flen >= 24);
	assert_int_equal(le32(f), 0xa1b2c3d4); /* microsecond, little-endian */
	assert_int_equal(le32(f + 20), 1);     /* LINKTYPE_ETHERNET */
	while (off < flen) {
		struct rd r, ip;
		uint32_t incl;
		uint16_t ethertype = 0, sport = 0, dport = 0, ulen = 0;
		uint8_t proto = 0;

		assert_true(flen - off >= 16);
		incl = le32(f + off + 8);
		off += 16;
		assert_true(incl <= flen - off);
		r = rd_init(f + off, incl);
		off += incl;

		assert_true(rd_skip(&r, 12));
		assert_true(rd_u16(&r, &ethertype));
		if (ethertype == 0x0800) {
			uint8_t vihl = 0, b = 0;
			uint16_t tot = 0, frag = 0;

			assert_true(rd_u8(&r, &vihl));
			assert_int_equal(vihl >> 4, 4);
			assert_true((vihl & 15) >= 5);
			assert_true(rd_u8(&r, &b));
			assert_true(rd_u16(&r, &tot));
			assert_true(tot >= (vihl & 15) * 4u && tot - 4u <= rd_left(&r));
			ip = rd_init(r.p - 4, tot);
			assert_true(rd_skip(&ip, 6));
			assert_true(rd_u16(&ip, &frag));
			assert_int_equal(frag & 0x3fff, 0); /* no IP fragments in the fixtures */
			assert_true(rd_skip(&ip, 1));
			assert_true(rd_u8(&ip, &proto));
			assert_true(rd_skip(&ip, (vihl & 15) * 4 - 10));
		} else {
			uint16_t plen = 0;

			assert_int_equal(ethertype, 0x86dd);
			assert_true(rd_skip(&r, 4));
			assert_true(rd_u16(&r, &plen));
			assert_true(rd_u8(&r, &proto));
			assert_true(rd_skip(&r, 1 + 32));
			assert_true(plen <= rd_left(&r));
			ip = rd_init(r.p, plen);
		}
		if (proto != 17)
			continue;
		assert_true(rd_u16(&ip, &sport));
		assert_true(rd_u16(&ip, &dport));
		assert_true(rd_u16(&ip, &ulen));
		assert_true(rd_skip(&ip, 2));
		assert_true(ulen >= 8 && ulen - 8u <= rd_left(&ip));
		ip.left = ulen - 8u;
		if (sport == IKE_NATT_PORT || dport == IKE_NATT_PORT) {
			uint32_t marker = 0;

			if (ip.left == 1) {
				c->keepalive++;
				continue;
			}
			assert_true(rd_u32(&ip, &marker));
			if (marker != 0) {
				c->esp++;
				continue;
			}
		} else if (sport != IKE_PORT && dport != IKE_PORT) {
			continue;
		}
		assert_true(c->n < FIX_MSGS_MAX);
		c->msg[c->n].data = malloc(ip.left);
		assert_non_null(c->msg[c->n].data);
		memcpy(c->msg[c->n].data, ip.p, ip.left);
		c->msg[c->n].len = ip.left;
		c->msg[c->n].sport = sport;
		c->msg[c->n].dport = dport;
		c->n++;
	}
	free(f);
}

static void capture_free(struct capture *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->msg[i].data);
}

/* -------------------------------------------------------- charon logs */

/*
 * charon's chunk dumps look like
 *   07[IKE] SKEYSEED => 32 bytes @ 0x7fba20005fe0
 *   07[IKE]    0: E1 B8 18 8E BC BB 53 16 90 E7 44 B8 F0 90 4F 04  ......S...D...O.
 *   07[IKE]   16: 68 5E ...
 * Every dump is kept, in order, under its label.
 */
struct dump {
	char label[96];
	uint8_t *data;
	size_t len;
};

struct dumps {
	size_t n, cap;
	struct dump *d;
};

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* The text after "NN[XXX] " of a log line, or NULL. */
static const char *log_body(const char *line)
{
	const char *p = strchr(line, ']');

	if (!p || p - line > 8 || line[0] < '0' || line[0] > '9' || p[1] != ' ')
		return NULL;
	return p + 2;
}

static void log_load(const char *name, struct dumps *ds)
{
	size_t flen;
	char *text = (char *)read_file(name, &flen), *save = NULL, *line;

	memset(ds, 0, sizeof(*ds));
	line = strtok_r(text, "\n", &save);
	while (line) {
		const char *body = log_body(line), *arrow;
		unsigned long n;
		char *end;
		struct dump *d;
		size_t got = 0;

		line = strtok_r(NULL, "\n", &save);
		if (!body || !(arrow = strstr(body, " => ")))
			continue;
		n = strtoul(arrow + 4, &end, 10);
		if (end == arrow + 4 || strncmp(end, " bytes @ ", 9) != 0)
			continue;
		assert_true(n <= 65535);
		assert_true((size_t)(arrow - body) < sizeof(d->label));
		if (ds->n == ds->cap) {
			ds->cap = ds->cap ? ds->cap * 2 : 64;
			ds->d = realloc(ds->d, ds->cap * sizeof(*ds->d));
			assert_non_null(ds->d);
		}
		d = &ds->d[ds->n++];
		memcpy(d->label, body, (size_t)(arrow - body));
		d->label[arrow - body] = 0;
		d->len = n;
		d->data = malloc(n ? n : 1);
		assert_non_null(d->data);
		/* The dump lines: "   OFF: XX XX ..." with exactly min(16, left) octets each. */
		while (got < n) {
			const char *p;
			unsigned long o;
			size_t i, take = n - got < 16 ? n - got : 16;

			assert_non_null(line);
			p = log_body(line);
			assert_non_null(p);
			while (*p == ' ')
				p++;
			o = strtoul(p, &end, 10);
			assert_int_equal(o, got);
			assert_true(end[0] == ':' && end[1] == ' ');
			p = end + 2;
			for (i = 0; i < take; i++, p += 3) {
				int hi = hexval(p[0]), lo = hexval(p[1]);

				assert_true(hi >= 0 && lo >= 0);
				d->data[got++] = (uint8_t)(hi << 4 | lo);
			}
			line = strtok_r(NULL, "\n", &save);
		}
	}
	free(text);
}

static void dumps_free(struct dumps *ds)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		free(ds->d[i].data);
	free(ds->d);
}

/* The nth (0-based) dump labelled `label`, or NULL. */
static const struct dump *dump_find(const struct dumps *ds, const char *label, unsigned nth)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		if (strcmp(ds->d[i].label, label) == 0 && nth-- == 0)
			return &ds->d[i];
	return NULL;
}

static unsigned dump_count(const struct dumps *ds, const char *label)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < ds->n; i++)
		n += strcmp(ds->d[i].label, label) == 0;
	return n;
}

static void assert_dump(const struct dumps *ds, const char *label, unsigned nth,
			const uint8_t *data, size_t len)
{
	const struct dump *d = dump_find(ds, label, nth);

	if (!d)
		fail_msg("log has no dump #%u of '%s'", nth, label);
	assert_int_equal(d->len, len);
	assert_memory_equal(d->data, data, len);
}

/* -------------------------------------------------------- the replay */

struct fix_sa {
	uint64_t spi_i, spi_r;
	struct ike_suite suite;
	struct ike_keys keys;
	struct sk_cipher *c_i, *c_r; /* protect messages from the SA's initiator / responder */
	size_t opened;               /* SK/SKF payloads opened under this SA */
};

struct frag_set {
	bool used;
	uint64_t spi_i, spi_r;
	uint32_t msg_id;
	uint8_t flags;
	uint16_t total, have;
	uint8_t first_inner;
	uint8_t *part[FIX_FRAGS_MAX + 1];
	size_t part_len[FIX_FRAGS_MAX + 1];
};

struct replay {
	const char *name;
	struct dumps ilog, rlog;
	struct capture cap;
	struct fix_sa sa[FIX_SAS_MAX];
	size_t n_sa;
	/* IKE_SA_INIT request and response (the first pair of the capture) */
	const uint8_t *init_req, *init_resp;
	size_t init_req_len, init_resp_len;
	uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
	size_t nilen, nrlen;
	/* A pending IKE SA rekey request (RFC 7296 1.3.2): nonce, new SPI, sender */
	bool rekey_pending;
	uint8_t rk_n[IKE_NONCE_MAX];
	size_t rk_nlen;
	uint64_t rk_spi;
	uint32_t rk_msg_id;
	size_t rk_sa;
	struct frag_set frags[4];
	/* counters */
	size_t parsed, opened, reassembled, auth_ok, deletes, ike_deletes, rekeys;
	size_t auth_i_ok, auth_r_ok;
};

static void put_be64(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The single proposal of a (response's) SA payload, as a suite. */
static void suite_from_sa(const struct ike_msg *m, struct ike_suite *s, const struct ike_proposal **prop)
{
	const struct ike_payload *p = message_find(m, PL_SA, NULL);
	const struct ike_proposal *pr;
	uint16_t i;

	assert_non_null(p);
	assert_int_equal(p->u.sa.n_proposals, 1);
	pr = &p->u.sa.proposals[0];
	assert_int_equal(pr->protocol, PROTO_IKE);
	memset(s, 0, sizeof(*s));
	for (i = 0; i < pr->n_transforms; i++) {
		const struct ike_transform *t = &pr->transforms[i];

		switch (t->type) {
		case TRANS_ENCR:
			s->encr = t->id;
			s->encr_keylen = t->key_len;
			break;
		case TRANS_PRF:
			s->prf = t->id;
			break;
		case TRANS_INTEG:
			s->integ = t->id;
			break;
		case TRANS_DH:
			s->dh = t->id;
			break;
		default:
			fail_msg("unexpected transform type %u in an IKE proposal", t->type);
		}
	}
	if (prop)
		*prop = pr;
}

static void nonce_of(const struct ike_msg *m, uint8_t *out, size_t *len)
{
	const struct ike_payload *p = message_find(m, PL_NONCE, NULL);

	assert_non_null(p);
	assert_true(p->u.nonce.data.len <= IKE_NONCE_MAX);
	memcpy(out, p->u.nonce.data.ptr, p->u.nonce.data.len);
	*len = p->u.nonce.data.len;
}

/*
 * Derives the keys of SA number idx (0: from IKE_SA_INIT; later: by rekey
 * of old) and checks each against the dump of the same rank in both logs.
 */
static void derive_sa(struct replay *rp, struct fix_sa *sa, unsigned idx, const uint8_t *ni,
		      size_t nilen, const uint8_t *nr, size_t nrlen, const struct fix_sa *old)
{
	const struct dump *dh_i = dump_find(&rp->ilog, "shared Diffie Hellman secret", idx);
	const struct dump *dh_r = dump_find(&rp->rlog, "shared Diffie Hellman secret", idx);
	struct secret *dh, *skeyseed = NULL;
	uint8_t spi_i[8], spi_r[8];
	const struct dumps *logs[2] = { &rp->ilog, &rp->rlog };
	int l;

	assert_non_null(dh_i);
	assert_non_null(dh_r);
	/* Both peers computed the same g^ir: a sanity check of the fixture itself. */
	assert_int_equal(dh_i->len, dh_r->len);
	assert_memory_equal(dh_i->data, dh_r->data, dh_i->len);
	dh = secret_dup(dh_i->data, dh_i->len);
	put_be64(spi_i, sa->spi_i);
	put_be64(spi_r, sa->spi_r);
	assert_int_equal(keymat_derive_ike(&sa->suite, dh, ni, nilen, nr, nrlen, spi_i, spi_r,
					   old ? old->keys.sk_d : NULL, old ? old->suite.prf : 0,
					   &sa->keys, &skeyseed),
			 0);
	for (l = 0; l < 2; l++) {
		const struct dumps *lg = logs[l];

		assert_dump(lg, "SKEYSEED", idx, skeyseed->data, skeyseed->len);
		assert_dump(lg, "Sk_d secret", idx, sa->keys.sk_d->data, sa->keys.sk_d->len);
		if (!suite_is_aead(sa->suite.encr)) {
			assert_dump(lg, "Sk_ai secret", idx, sa->keys.sk_ai->data, sa->keys.sk_ai->len);
			assert_dump(lg, "Sk_ar secret", idx, sa->keys.sk_ar->data, sa->keys.sk_ar->len);
		} else {
			assert_null(dump_find(lg, "Sk_ai secret", 0));
		}
		assert_dump(lg, "Sk_ei secret", idx, sa->keys.sk_ei->data, sa->keys.sk_ei->len);
		assert_dump(lg, "Sk_er secret", idx, sa->keys.sk_er->data, sa->keys.sk_er->len);
		assert_dump(lg, "Sk_pi secret", idx, sa->keys.sk_pi->data, sa->keys.sk_pi->len);
		assert_dump(lg, "Sk_pr secret", idx, sa->keys.sk_pr->data, sa->keys.sk_pr->len);
	}
	sa->c_i = sk_cipher_new(sa->suite.encr, sa->suite.encr_keylen, sa->suite.integ,
				sa->keys.sk_ei, sa->keys.sk_ai);
	sa->c_r = sk_cipher_new(sa->suite.encr, sa->suite.encr_keylen, sa->suite.integ,
				sa->keys.sk_er, sa->keys.sk_ar);
	assert_non_null(sa->c_i);
	assert_non_null(sa->c_r);
	secret_free(skeyseed);
	secret_free(dh);
}

static struct fix_sa *sa_find(struct replay *rp, uint64_t spi_i, uint64_t spi_r, size_t *idx)
{
	size_t i;

	for (i = 0; i < rp->n_sa; i++)
		if (rp->sa[i].spi_i == spi_i && rp->sa[i].spi_r == spi_r) {
			if (idx)
				*idx = i;
			return &rp->sa[i];
		}
	return NULL;
}

static void handle_init(struct replay *rp, const struct ike_msg *m, size_t k)
{
	struct fix_sa *sa;

	if (!ike_hdr_is_response(&m->hdr)) {
		assert_null(rp->init_req); /* one IKE_SA_INIT per capture */
		rp->init_req = rp->cap.msg[k].data;
		rp->init_req_len = m->hdr.length;
		nonce_of(m, rp->ni, &rp->nilen);
		return;
	}
	assert_non_null(rp->init_req);
	rp->init_resp = rp->cap.msg[k].data;
	rp->init_resp_len = m->hdr.length;
	nonce_of(m, rp->nr, &rp->nrlen);
	assert_int_equal(rp->n_sa, 0);
	sa = &rp->sa[rp->n_sa++];
	sa->spi_i = m->hdr.spi_i;
	sa->spi_r = m->hdr.spi_r;
	suite_from_sa(m, &sa->suite, NULL);
	derive_sa(rp, sa, 0, rp->ni, rp->nilen, rp->nr, rp->nrlen, NULL);
}

/* RFC 7296 2.15 for the PSK: both AUTH payloads of the first SA's IKE_AUTH. */
static void check_auth(struct replay *rp, const struct ike_msg *m)
{
	bool resp = ike_hdr_is_response(&m->hdr);
	const struct ike_payload *id = message_find(m, resp ? PL_IDR : PL_IDI, NULL);
	const struct ike_payload *auth = message_find(m, PL_AUTH, NULL);
	const struct fix_sa *sa = &rp->sa[0];
	uint8_t mac[PRF_OUT_MAX], octets[1024];
	size_t plen = prf_out_len(sa->suite.prf), olen;
	const uint8_t *msg = resp ? rp->init_resp : rp->init_req;
	size_t msglen = resp ? rp->init_resp_len : rp->init_req_len;
	const uint8_t *nonce = resp ? rp->ni : rp->nr;
	size_t noncelen = resp ? rp->nilen : rp->nrlen;
	const struct secret *skp = resp ? sa->keys.sk_pr : sa->keys.sk_pi;

	assert_non_null(id);
	assert_non_null(auth);
	assert_true(id->in_sk && auth->in_sk);
	assert_int_equal(auth->u.auth.method, AUTH_SHARED_KEY_MIC);
	assert_int_equal(auth->u.auth.data.len, plen);
	assert_int_equal(keymat_psk_auth(sa->suite.prf, (const uint8_t *)fixture_psk,
					 strlen(fixture_psk), msg, msglen, nonce, noncelen, skp,
					 id->body.ptr, id->body.len, mac),
			 0);
	assert_memory_equal(mac, auth->u.auth.data.ptr, plen);
	/*
	 * The signed octets and AUTH value as each charon logged them: in both
	 * logs the initiator's come first (the initiator builds its own before
	 * the responder verifies it), the responder's second.
	 */
	assert_int_equal(keymat_auth_octets(sa->suite.prf, msg, msglen, nonce, noncelen, skp,
					    id->body.ptr, id->body.len, octets, sizeof(octets), &olen),
			 0);
	assert_dump(&rp->ilog, "octets = message + nonce + prf(Sk_px, IDx')", resp, octets, olen);
	assert_dump(&rp->rlog, "octets = message + nonce + prf(Sk_px, IDx')", resp, octets, olen);
	assert_dump(&rp->ilog, "AUTH = prf(prf(secret, keypad), octets)", resp, mac, plen);
	assert_dump(&rp->rlog, "AUTH = prf(prf(secret, keypad), octets)", resp, mac, plen);
	rp->auth_ok++;
	if (resp)
		rp->auth_r_ok++;
	else
		rp->auth_i_ok++;
}

/*
 * CREATE_CHILD_SA carrying an IKE proposal: rekey of the IKE SA (RFC 7296
 * 1.3.2, 2.18). The new SA's initiator is whoever sent the request; its
 * SPIs are the proposal SPIs of request and response.
 */
static void check_ike_rekey(struct replay *rp, const struct ike_msg *m, size_t cur_sa)
{
	const struct ike_payload *p = message_find(m, PL_SA, NULL);
	const struct ike_proposal *pr;
	struct fix_sa *sa;

	if (!p || p->u.sa.n_proposals == 0 || p->u.sa.proposals[0].protocol != PROTO_IKE)
		return; /* a Child SA exchange */
	if (!ike_hdr_is_response(&m->hdr)) {
		assert_int_equal(p->u.sa.proposals[0].spi.len, 8);
		nonce_of(m, rp->rk_n, &rp->rk_nlen);
		rp->rk_spi = be64(p->u.sa.proposals[0].spi.ptr);
		rp->rk_msg_id = m->hdr.msg_id;
		rp->rk_sa = cur_sa;
		rp->rekey_pending = true;
		return;
	}
	assert_true(rp->rekey_pending);
	assert_int_equal(rp->rk_msg_id, m->hdr.msg_id);
	assert_true(rp->n_sa < FIX_SAS_MAX);
	sa = &rp->sa[rp->n_sa++];
	suite_from_sa(m, &sa->suite, &pr);
	assert_int_equal(pr->spi.len, 8);
	sa->spi_i = rp->rk_spi;
	sa->spi_r = be64(pr->spi.ptr);
	{
		uint8_t nr[IKE_NONCE_MAX];
		size_t nrlen;

		nonce_of(m, nr, &nrlen);
		rp->rekeys++;
		derive_sa(rp, sa, (unsigned)rp->rekeys, rp->rk_n, rp->rk_nlen, nr, nrlen,
			  &rp->sa[rp->rk_sa]);
	}
	rp->rekey_pending = false;
}

static void handle_inner(struct replay *rp, struct ike_msg *m, size_t cur_sa)
{
	const struct ike_payload *d = NULL;

	switch (m->hdr.exchange) {
	case IKE_AUTH:
		assert_int_equal(cur_sa, 0);
		check_auth(rp, m);
		break;
	case CREATE_CHILD_SA:
		check_ike_rekey(rp, m, cur_sa);
		break;
	case INFORMATIONAL:
		while ((d = message_find(m, PL_DELETE, d))) {
			rp->deletes++;
			if (d->u.del.protocol == PROTO_IKE)
				rp->ike_deletes++;
		}
		break;
	default:
		fail_msg("unexpected exchange %u", m->hdr.exchange);
	}
}

/* Stores one opened fragment; returns the set once all fragments are in. */
static struct frag_set *frag_add(struct replay *rp, const struct ike_msg *m, const struct ike_skf *f,
				 uint8_t *plain, size_t len)
{
	struct frag_set *fs = NULL;
	size_t i;

	for (i = 0; i < 4 && !fs; i++)
		if (rp->frags[i].used && rp->frags[i].spi_i == m->hdr.spi_i &&
		    rp->frags[i].spi_r == m->hdr.spi_r && rp->frags[i].msg_id == m->hdr.msg_id &&
		    rp->frags[i].flags == m->hdr.flags)
			fs = &rp->frags[i];
	for (i = 0; i < 4 && !fs; i++)
		if (!rp->frags[i].used) {
			fs = &rp->frags[i];
			memset(fs, 0, sizeof(*fs));
			fs->used = true;
			fs->spi_i = m->hdr.spi_i;
			fs->spi_r = m->hdr.spi_r;
			fs->msg_id = m->hdr.msg_id;
			fs->flags = m->hdr.flags;
			fs->total = f->total;
		}
	assert_non_null(fs);
	assert_true(f->total <= FIX_FRAGS_MAX);
	assert_int_equal(fs->total, f->total);
	/* RFC 7383 2.5: only fragment 1 names the first inner payload. */
	if (f->frag_num == 1)
		fs->first_inner = f->first_inner;
	else
		assert_int_equal(f->first_inner, PL_NONE);
	if (fs->part[f->frag_num]) { /* a retransmitted fragment: same plaintext */
		assert_int_equal(fs->part_len[f->frag_num], len);
		assert_memory_equal(fs->part[f->frag_num], plain, len);
		free(plain);
		return NULL;
	}
	fs->part[f->frag_num] = plain;
	fs->part_len[f->frag_num] = len;
	fs->have++;
	return fs->have == fs->total ? fs : NULL;
}

static void replay_message(struct replay *rp, size_t k)
{
	static struct ike_msg m; /* about 12 KiB: not on the stack */
	struct payload_err err;
	const struct ike_payload *skp;
	struct fix_sa *sa;
	struct sk_cipher *c;
	size_t cur_sa, body_off, body_len, n;
	uint8_t *plain;
	int rc;

	rc = (int)message_parse(&m, rp->cap.msg[k].data, rp->cap.msg[k].len, &err);
	if (rc != PAYLOAD_OK)
		fail_msg("%s message %zu: %s %s", rp->name, k, payload_status_name(err.status), err.why);
	rp->parsed++;
	if (m.hdr.exchange == IKE_SA_INIT) {
		assert_null(message_sk(&m));
		handle_init(rp, &m, k);
		return;
	}
	sa = sa_find(rp, m.hdr.spi_i, m.hdr.spi_r, &cur_sa);
	if (!sa)
		fail_msg("%s message %zu: SPIs %016llx/%016llx of no known IKE SA", rp->name, k,
			 (unsigned long long)m.hdr.spi_i, (unsigned long long)m.hdr.spi_r);
	skp = message_sk(&m);
	assert_non_null(skp);
	/* The I flag says who sent it, hence which key protects it (RFC 7296 3.1, 2.14). */
	c = ike_hdr_is_initiator(&m.hdr) ? sa->c_i : sa->c_r;
	if (skp->type == PL_SK) {
		body_off = skp->u.sk.body_off;
		body_len = skp->u.sk.body_len;
	} else {
		body_off = skp->u.skf.body_off;
		body_len = skp->u.skf.body_len;
	}
	plain = malloc(body_len);
	assert_non_null(plain);
	rc = sk_open(c, m.raw, body_off, body_len, plain, &n);
	if (rc)
		fail_msg("%s message %zu (exchange %u, id %u): sk_open %d", rp->name, k, m.hdr.exchange,
			 m.hdr.msg_id, rc);
	rp->opened++;
	sa->opened++;
	/* The same octets with one bit flipped must not open. */
	{
		uint8_t *copy = malloc(m.hdr.length), *junk = malloc(body_len);
		size_t jn;

		memcpy(copy, m.raw, m.hdr.length);
		copy[body_off + body_len / 2] ^= 0x01;
		assert_int_equal(sk_open(c, copy, body_off, body_len, junk, &jn), -EBADMSG);
		free(copy);
		free(junk);
	}
	if (skp->type == PL_SK) {
		rc = (int)message_parse_inner(&m, skp->u.sk.first_inner, plain, n, &err);
		if (rc != PAYLOAD_OK)
			fail_msg("%s message %zu inner: %s %s", rp->name, k,
				 payload_status_name(err.status), err.why);
		handle_inner(rp, &m, cur_sa);
		free(plain);
	} else {
		struct ike_skf f = skp->u.skf;
		struct ike_hdr hdr = m.hdr;
		struct frag_set *fs = frag_add(rp, &m, &f, plain, n);
		uint8_t *whole;
		size_t total = 0, i;

		if (!fs)
			return;
		for (i = 1; i <= fs->total; i++)
			total += fs->part_len[i];
		whole = malloc(total ? total : 1);
		assert_non_null(whole);
		total = 0;
		for (i = 1; i <= fs->total; i++) {
			memcpy(whole + total, fs->part[i], fs->part_len[i]);
			total += fs->part_len[i];
			free(fs->part[i]);
		}
		fs->used = false;
		rp->reassembled++;
		message_reset(&m);
		m.hdr = hdr;
		rc = (int)message_parse_inner(&m, fs->first_inner, whole, total, &err);
		if (rc != PAYLOAD_OK)
			fail_msg("%s reassembled message %zu: %s %s", rp->name, k,
				 payload_status_name(err.status), err.why);
		handle_inner(rp, &m, cur_sa);
		free(whole);
	}
}

static void replay_run(struct replay *rp, const char *name)
{
	char buf[128];
	size_t k;

	memset(rp, 0, sizeof(*rp));
	rp->name = name;
	snprintf(buf, sizeof(buf), "%s.pcap", name);
	pcap_load(buf, &rp->cap);
	snprintf(buf, sizeof(buf), "%s.initiator.log", name);
	log_load(buf, &rp->ilog);
	snprintf(buf, sizeof(buf), "%s.responder.log", name);
	log_load(buf, &rp->rlog);
	assert_true(rp->cap.n >= 6);
	for (k = 0; k < rp->cap.n; k++)
		replay_message(rp, k);
	/* Every message parsed; every one after IKE_SA_INIT opened. */
	assert_int_equal(rp->parsed, rp->cap.n);
	assert_int_equal(rp->opened, rp->cap.n - 2);
	/* Both AUTH payloads verified (the initiator's possibly more than once: retransmits). */
	assert_true(rp->auth_i_ok >= 1);
	assert_int_equal(rp->auth_r_ok, 1);
	/* Each capture ends with the Delete of the IKE SA, request and response (RFC 7296 1.4.1). */
	assert_true(rp->ike_deletes >= 1);
	/* Every rekey in the logs was followed; no fragment set left half-done. */
	assert_int_equal(rp->n_sa, dump_count(&rp->ilog, "shared Diffie Hellman secret"));
	for (k = 0; k < 4; k++)
		assert_false(rp->frags[k].used);
	assert_false(rp->rekey_pending);
}

static void replay_free(struct replay *rp)
{
	size_t i;

	for (i = 0; i < rp->n_sa; i++) {
		sk_cipher_free(rp->sa[i].c_i);
		sk_cipher_free(rp->sa[i].c_r);
		ike_keys_free(&rp->sa[i].keys);
	}
	capture_free(&rp->cap);
	dumps_free(&rp->ilog);
	dumps_free(&rp->rlog);
}

static struct replay rp_state;

static void test_x25519_aesgcm(void **state)
{
	struct replay *rp = &rp_state;

	(void)state;
	replay_run(rp, "x25519-aesgcm");
	assert_int_equal(rp->sa[0].suite.encr, ENCR_AES_GCM_16);
	assert_int_equal(rp->sa[0].suite.encr_keylen, 256);
	assert_int_equal(rp->sa[0].suite.dh, DH_CURVE25519);
	/* README: IKE_AUTH retransmitted twice, then the INFORMATIONAL Delete exchange. */
	assert_int_equal(rp->auth_i_ok, 3);
	assert_int_equal(rp->cap.n, 8);
	assert_int_equal(rp->reassembled, 0);
	replay_free(rp);
}

static void test_ecp256_aescbc(void **state)
{
	struct replay *rp = &rp_state;

	(void)state;
	replay_run(rp, "ecp256-aescbc");
	assert_int_equal(rp->sa[0].suite.encr, ENCR_AES_CBC);
	assert_int_equal(rp->sa[0].suite.encr_keylen, 128);
	assert_int_equal(rp->sa[0].suite.integ, AUTH_HMAC_SHA2_256_128);
	assert_int_equal(rp->sa[0].suite.dh, DH_ECP_256);
	assert_int_equal(rp->reassembled, 0);
	replay_free(rp);
}

static void test_natfrag_ecp256(void **state)
{
	struct replay *rp = &rp_state;

	(void)state;
	replay_run(rp, "natfrag-ecp256");
	/* NAT-T: IKE_SA_INIT on 500, the rest on 4500 behind the non-ESP marker; ESP skipped. */
	assert_int_equal(rp->cap.msg[0].dport, IKE_PORT);
	assert_int_equal(rp->cap.msg[2].dport, IKE_NATT_PORT);
	assert_true(rp->cap.esp > 0);
	/* Fragmented IKE_AUTH (both ways) and CREATE_CHILD_SA exchanges were reassembled. */
	assert_true(rp->reassembled >= 6);
	/* One IKE SA rekey, and the new SA carried traffic afterwards. */
	assert_int_equal(rp->rekeys, 1);
	assert_int_equal(rp->n_sa, 2);
	assert_true(rp->sa[1].opened >= 4);
	assert_true(rp->sa[1].spi_i != rp->sa[0].spi_i && rp->sa[1].spi_r != rp->sa[0].spi_r);
	replay_free(rp);
}

static int setup(void **state)
{
	(void)state;
	return crypto_init() == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_aesgcm),
		cmocka_unit_test(test_ecp256_aescbc),
		cmocka_unit_test(test_natfrag_ecp256),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
