/* Distinguished names (see dn.h). */
#include "crypto/dn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/der.h"

/* RFC 4519 / RFC 5280 attribute types. */
static const struct attr {
	const char *name;
	const char *alias;
	uint8_t oid[10];
	size_t oid_len;
	uint8_t tag; /* string type we encode with */
} attrs[] = {
	{"CN", "commonName", {0x55, 0x04, 0x03}, 3, DER_UTF8_STRING},
	{"SN", "surname", {0x55, 0x04, 0x04}, 3, DER_UTF8_STRING},
	{"serialNumber", NULL, {0x55, 0x04, 0x05}, 3, DER_PRINTABLE_STRING},
	{"C", "countryName", {0x55, 0x04, 0x06}, 3, DER_PRINTABLE_STRING},
	{"L", "localityName", {0x55, 0x04, 0x07}, 3, DER_UTF8_STRING},
	{"ST", "stateOrProvinceName", {0x55, 0x04, 0x08}, 3, DER_UTF8_STRING},
	{"street", NULL, {0x55, 0x04, 0x09}, 3, DER_UTF8_STRING},
	{"O", "organizationName", {0x55, 0x04, 0x0a}, 3, DER_UTF8_STRING},
	{"OU", "organizationalUnitName", {0x55, 0x04, 0x0b}, 3, DER_UTF8_STRING},
	{"T", "title", {0x55, 0x04, 0x0c}, 3, DER_UTF8_STRING},
	{"GN", "givenName", {0x55, 0x04, 0x2a}, 3, DER_UTF8_STRING},
	{"E", "emailAddress", {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}, 9,
	 DER_IA5_STRING},
	{"DC", "domainComponent", {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}, 10,
	 DER_IA5_STRING},
	{"UID", "userId", {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01}, 10,
	 DER_UTF8_STRING},
};

static const struct attr *attr_by_oid(const struct der *oid)
{
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (der_oid_is(oid, attrs[i].oid, attrs[i].oid_len))
			return &attrs[i];
	return NULL;
}

static bool is_string_tag(uint8_t t)
{
	return t == DER_UTF8_STRING || t == DER_PRINTABLE_STRING || t == DER_T61_STRING ||
	       t == DER_IA5_STRING || t == DER_UNIVERSAL_STRING || t == DER_BMP_STRING;
}

/* ---- DER -> text ---- */

struct sbuf {
	char *buf;
	size_t cap, pos;
	bool full;
};

static void sput(struct sbuf *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s->pos + 1 >= s->cap) {
			s->full = true;
			return;
		}
		s->buf[s->pos++] = p[i];
	}
	s->buf[s->pos] = 0;
}

static void sputs(struct sbuf *s, const char *p)
{
	sput(s, p, strlen(p));
}

int dn_to_text(const uint8_t *der, size_t len, char *buf, size_t buflen)
{
	struct der d = der_init(der, len), name;
	struct sbuf s = {buf, buflen, 0, false};
	bool first = true;

	if (buflen == 0)
		return -1;
	buf[0] = 0;
	if (der_expect(&d, DER_SEQUENCE, &name) < 0 || d.left)
		goto bad;
	while (name.left) {
		struct der rdn;
		bool first_in_rdn = true;

		if (der_expect(&name, DER_SET, &rdn) < 0 || rdn.left == 0)
			goto bad;
		while (rdn.left) {
			struct der atv, oid, val;
			uint8_t tag;

			if (der_expect(&rdn, DER_SEQUENCE, &atv) < 0 ||
			    der_expect(&atv, DER_OID, &oid) < 0 ||
			    der_next(&atv, &tag, &val, NULL) < 0 || atv.left)
				goto bad;
			sputs(&s, first ? "" : first_in_rdn ? ", " : " + ");
			first = first_in_rdn = false;
			const struct attr *a = attr_by_oid(&oid);

			if (a) {
				sputs(&s, a->name);
			} else {
				char t[64];

				der_oid_text(&oid, t, sizeof(t));
				sputs(&s, t);
			}
			sputs(&s, "=");
			if (!is_string_tag(tag)) {
				sputs(&s, "#");
				for (size_t i = 0; i < val.left; i++) {
					char h[3];

					snprintf(h, sizeof(h), "%02x", val.p[i]);
					sputs(&s, h);
				}
				continue;
			}
			for (size_t i = 0; i < val.left; i++) {
				char c = (char)val.p[i];

				/* Control characters would let a peer forge log lines. */
				if ((unsigned char)c < 0x20 || c == 0x7f)
					c = '?';
				sput(&s, &c, 1);
			}
		}
	}
	return 0;
bad:
	snprintf(buf, buflen, "?");
	return -1;
}

/* ---- text -> DER ---- */

/* Appends one AttributeTypeAndValue for "type=value" (value unescaped already). */
static int put_atv(struct der_out *rdn, const char *type, const char *value, char *msg,
		   size_t msglen)
{
	uint8_t oidbuf[32], atv[512];
	size_t oid_len = 0;
	uint8_t tag = DER_UTF8_STRING;
	const struct attr *a = NULL;

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (strcasecmp(type, attrs[i].name) == 0 ||
		    (attrs[i].alias && strcasecmp(type, attrs[i].alias) == 0))
			a = &attrs[i];
	}
	if (a) {
		memcpy(oidbuf, a->oid, a->oid_len);
		oid_len = a->oid_len;
		tag = a->tag;
	} else if (isdigit((unsigned char)type[0])) {
		/* A dotted OID: X.690 8.19. */
		unsigned long arcs[16];
		size_t n = 0;
		const char *p = type;

		while (*p && n < 16) {
			char *e;

			arcs[n++] = strtoul(p, &e, 10);
			if (e == p || (*e && *e != '.'))
				goto badtype;
			p = *e ? e + 1 : e;
		}
		if (*p || n < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
			goto badtype;
		for (size_t i = 1; i < n; i++) {
			/* X.690 8.19.4: the first two arcs share one subidentifier. */
			unsigned long v = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
			uint8_t tmp[10];
			size_t t = 0;

			do {
				tmp[t++] = (uint8_t)(v & 0x7f);
				v >>= 7;
			} while (v);
			while (t) {
				if (oid_len >= sizeof(oidbuf))
					goto badtype;
				t--;
				oidbuf[oid_len++] = (uint8_t)(tmp[t] | (t ? 0x80 : 0));
			}
		}
	} else {
		goto badtype;
	}
	size_t vlen = strlen(value);

	if (tag == DER_PRINTABLE_STRING) {
		/* X.680 41.4: PrintableString's repertoire; otherwise UTF8String. */
		for (size_t i = 0; i < vlen; i++) {
			unsigned char c = (unsigned char)value[i];

			if (!isalnum(c) && !strchr(" '()+,-./:=?*", c))
				tag = DER_UTF8_STRING;
		}
	} else if (tag == DER_IA5_STRING) {
		for (size_t i = 0; i < vlen; i++)
			if ((unsigned char)value[i] > 0x7f)
				tag = DER_UTF8_STRING;
	}
	struct der_out o = {atv, sizeof(atv), 0, false};

	der_put(&o, DER_OID, oidbuf, oid_len);
	der_put(&o, tag, value, vlen);
	if (o.err) {
		snprintf(msg, msglen, "value of %s too long", type);
		return -1;
	}
	der_put(rdn, DER_SEQUENCE, atv, o.pos);
	return 0;
badtype:
	snprintf(msg, msglen, "unknown attribute type '%s' (C, ST, L, O, OU, CN, E, DC, SN, GN, "
		 "serialNumber, T, UID or a dotted OID)", type);
	return -1;
}

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

int dn_from_text(const char *text, uint8_t *der, size_t cap, size_t *len, char *msg,
		 size_t msglen)
{
	char sep = ',';
	const char *p = text;
	size_t tlen = strlen(text);
	char *item = malloc(tlen + 1);
	uint8_t *rdns = malloc(4096), rdn[1024];
	struct der_out all = {rdns, 4096, 0, false};
	struct der_out cur = {rdn, sizeof(rdn), 0, false};
	int rc = -1;

	if (!item || !rdns) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	if (*p == '/') {
		sep = '/';
		p++;
	}
	/* Walk items "type=value" ended by sep ('+' joins values of one RDN). */
	for (;;) {
		size_t n = 0;
		char end = 0;

		while (*p) {
			if (*p == '\\' && p[1]) {
				item[n++] = p[1];
				p += 2;
				continue;
			}
			if (*p == sep || *p == '+') {
				end = *p++;
				break;
			}
			item[n++] = *p++;
		}
		item[n] = 0;
		trim(item);
		char *eq = strchr(item, '=');

		if (!eq || eq == item) {
			snprintf(msg, msglen, "'%s' is not TYPE=VALUE", item);
			goto out;
		}
		*eq = 0;
		trim(item);
		trim(eq + 1);
		if (!eq[1]) {
			snprintf(msg, msglen, "empty value for %s", item);
			goto out;
		}
		if (put_atv(&cur, item, eq + 1, msg, msglen) < 0)
			goto out;
		if (end == '+')
			continue;
		der_put(&all, DER_SET, rdn, cur.pos);
		cur.pos = 0;
		if (cur.err || all.err) {
			snprintf(msg, msglen, "distinguished name too long");
			rc = -2;
			goto out;
		}
		if (!end)
			break;
	}
	struct der_out o = {der, cap, 0, false};

	der_put(&o, DER_SEQUENCE, rdns, all.pos);
	if (o.err) {
		snprintf(msg, msglen, "distinguished name too long");
		rc = -2;
		goto out;
	}
	*len = o.pos;
	rc = 0;
out:
	free(item);
	free(rdns);
	return rc;
}

/* ---- comparison ---- */

static bool value_eq(uint8_t ptag, struct der pv, uint8_t tag, struct der v, bool wild)
{
	if (wild && is_string_tag(ptag) && pv.left == 1 && pv.p[0] == '*')
		return true;
	if (is_string_tag(ptag) != is_string_tag(tag))
		return false;
	if (!is_string_tag(tag))
		return ptag == tag && pv.left == v.left && memcmp(pv.p, v.p, v.left) == 0;
	if (pv.left != v.left)
		return false;
	for (size_t i = 0; i < v.left; i++)
		if (tolower(pv.p[i]) != tolower(v.p[i]))
			return false;
	return true;
}

static bool match(const uint8_t *pattern, size_t plen, const uint8_t *dn, size_t dlen, bool wild)
{
	struct der pd = der_init(pattern, plen), dd = der_init(dn, dlen), pn, dname;

	if (der_expect(&pd, DER_SEQUENCE, &pn) < 0 || pd.left ||
	    der_expect(&dd, DER_SEQUENCE, &dname) < 0 || dd.left)
		return false;
	while (pn.left && dname.left) {
		struct der prdn, drdn;

		if (der_expect(&pn, DER_SET, &prdn) < 0 || der_expect(&dname, DER_SET, &drdn) < 0)
			return false;
		/* Values within an RDN compared in order: encoders keep the order they were given. */
		while (prdn.left && drdn.left) {
			struct der pa, da, po, dox, pv, dv;
			uint8_t pt, dt;

			if (der_expect(&prdn, DER_SEQUENCE, &pa) < 0 ||
			    der_expect(&drdn, DER_SEQUENCE, &da) < 0 ||
			    der_expect(&pa, DER_OID, &po) < 0 || der_expect(&da, DER_OID, &dox) < 0 ||
			    der_next(&pa, &pt, &pv, NULL) < 0 || der_next(&da, &dt, &dv, NULL) < 0 ||
			    pa.left || da.left)
				return false;
			if (po.left != dox.left || memcmp(po.p, dox.p, po.left) != 0 ||
			    !value_eq(pt, pv, dt, dv, wild))
				return false;
		}
		if (prdn.left || drdn.left)
			return false;
	}
	return pn.left == 0 && dname.left == 0;
}

bool dn_match(const uint8_t *pattern, size_t plen, const uint8_t *dn, size_t dlen)
{
	return match(pattern, plen, dn, dlen, true);
}

bool dn_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return match(a, alen, b, blen, false);
}

bool dn_has_wildcard(const uint8_t *der, size_t len)
{
	struct der d = der_init(der, len), name;

	if (der_expect(&d, DER_SEQUENCE, &name) < 0)
		return false;
	while (name.left) {
		struct der rdn;

		if (der_expect(&name, DER_SET, &rdn) < 0)
			return false;
		while (rdn.left) {
			struct der atv, oid, v;
			uint8_t t;

			if (der_expect(&rdn, DER_SEQUENCE, &atv) < 0 ||
			    der_expect(&atv, DER_OID, &oid) < 0 || der_next(&atv, &t, &v, NULL) < 0)
				return false;
			if (is_string_tag(t) && v.left == 1 && v.p[0] == '*')
				return true;
		}
	}
	return false;
}
