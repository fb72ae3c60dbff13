/*
 * Declarative payload acceptance table. Contract: daemon/acceptance.h.
 *
 * Each row is one message shape, cited from the RFC figure it encodes. For
 * an (exchange, role) the first row whose `present`/`absent` selectors
 * match the message applies; the last row of each (exchange, role) has no
 * selector and is the default. Payload types not listed in the applying row
 * are not allowed (except unrecognised non-critical ones, RFC 7296 2.5).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/acceptance.h"
#include "daemon/names.h"

#define MANY 255
/* Payload type -> bit; known types are 33..54. */
#define BIT(t) (UINT32_C(1) << ((t)-32))
#define TS_GROUP (BIT(PL_SA) | BIT(PL_TSI) | BIT(PL_TSR))
#define RULES_MAX 12

struct rule {
	uint8_t type;
	uint8_t min, max;
};

struct row {
	uint8_t exchange;
	bool response;
	const char *name;
	uint32_t present;  /* row applies only if all these types are present */
	uint32_t absent;   /* ... and all these are absent */
	uint32_t together; /* all or none of these */
	struct rule rules[RULES_MAX]; /* ends at type PL_NONE */
};

#define N_ANY { PL_NOTIFY, 0, MANY }
#define V_ANY { PL_VENDOR, 0, MANY }

static const struct row rows[] = {
	/* RFC 7296 1.2: HDR, SAi1, KEi, Ni --> */
	{ IKE_SA_INIT, false, "IKE_SA_INIT request", 0, 0, 0,
	  { { PL_SA, 1, 1 }, { PL_KE, 1, 1 }, { PL_NONCE, 1, 1 }, N_ANY, V_ANY } },
	/* RFC 7296 1.2: <-- HDR, SAr1, KEr, Nr, [CERTREQ] */
	{ IKE_SA_INIT, true, "IKE_SA_INIT response", 0, 0, 0,
	  { { PL_SA, 1, 1 }, { PL_KE, 1, 1 }, { PL_NONCE, 1, 1 }, { PL_CERTREQ, 0, MANY }, N_ANY,
	    V_ANY } },

	/* RFC 7296 2.16: HDR, SK {EAP} --> */
	{ IKE_AUTH, false, "IKE_AUTH request (EAP round)", BIT(PL_EAP), 0, 0,
	  { { PL_EAP, 1, 1 }, N_ANY, V_ANY } },
	/* RFC 7296 2.16: HDR, SK {AUTH} --> (after EAP success) */
	{ IKE_AUTH, false, "IKE_AUTH request (final AUTH)", BIT(PL_AUTH), BIT(PL_IDI), 0,
	  { { PL_AUTH, 1, 1 }, N_ANY, V_ANY } },
	/*
	 * RFC 7296 1.2: HDR, SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr} -->
	 * AUTH absent asks for EAP (2.16); SA/TS absent is childless (RFC 6023)
	 * or a later RFC 4739 round; CP per 3.15.
	 */
	{ IKE_AUTH, false, "IKE_AUTH request", 0, 0, TS_GROUP,
	  { { PL_IDI, 1, 1 }, { PL_CERT, 0, MANY }, { PL_CERTREQ, 0, MANY }, { PL_IDR, 0, 1 },
	    { PL_AUTH, 0, 1 }, { PL_SA, 0, 1 }, { PL_TSI, 0, 1 }, { PL_TSR, 0, 1 }, { PL_CP, 0, 1 },
	    N_ANY, V_ANY } },
	/* RFC 7296 2.16: <-- HDR, SK {IDr, [CERT,] AUTH, EAP}, then <-- HDR, SK {EAP} */
	{ IKE_AUTH, true, "IKE_AUTH response (EAP round)", BIT(PL_EAP), 0, 0,
	  { { PL_IDR, 0, 1 }, { PL_CERT, 0, MANY }, { PL_AUTH, 0, 1 }, { PL_EAP, 1, 1 }, N_ANY,
	    V_ANY } },
	/* RFC 7296 1.2: <-- HDR, SK {IDr, [CERT,] AUTH, SAr2, TSi, TSr} */
	{ IKE_AUTH, true, "IKE_AUTH response", BIT(PL_IDR), 0, TS_GROUP,
	  { { PL_IDR, 1, 1 }, { PL_CERT, 0, MANY }, { PL_AUTH, 1, 1 }, { PL_SA, 0, 1 },
	    { PL_TSI, 0, 1 }, { PL_TSR, 0, 1 }, { PL_CP, 0, 1 }, N_ANY, V_ANY } },
	/*
	 * RFC 7296 2.16: <-- HDR, SK {AUTH, SAr2, TSi, TSr} after EAP;
	 * RFC 4739 3: <-- HDR, SK {SA, TSi, TSr} after the second round.
	 */
	{ IKE_AUTH, true, "IKE_AUTH response (continuation)", 0, 0, TS_GROUP,
	  { { PL_AUTH, 0, 1 }, { PL_SA, 0, 1 }, { PL_TSI, 0, 1 }, { PL_TSR, 0, 1 },
	    { PL_CP, 0, 1 }, N_ANY, V_ANY } },

	/*
	 * RFC 7296 1.3.1: HDR, SK {SA, Ni, [KEi], TSi, TSr} -->
	 * RFC 7296 1.3.2: HDR, SK {SA, Ni, KEi} --> (IKE SA rekey: no TS)
	 */
	{ CREATE_CHILD_SA, false, "CREATE_CHILD_SA request", 0, 0, TS_GROUP & ~BIT(PL_SA),
	  { { PL_SA, 1, 1 }, { PL_NONCE, 1, 1 }, { PL_KE, 0, 1 }, { PL_TSI, 0, 1 },
	    { PL_TSR, 0, 1 }, N_ANY, V_ANY } },
	{ CREATE_CHILD_SA, true, "CREATE_CHILD_SA response", 0, 0, TS_GROUP & ~BIT(PL_SA),
	  { { PL_SA, 1, 1 }, { PL_NONCE, 1, 1 }, { PL_KE, 0, 1 }, { PL_TSI, 0, 1 },
	    { PL_TSR, 0, 1 }, N_ANY, V_ANY } },

	/* RFC 7296 1.4: HDR, SK {[N,] [D,] [CP,] ...} both ways; empty = liveness. */
	{ INFORMATIONAL, false, "INFORMATIONAL request", 0, 0, 0,
	  { N_ANY, { PL_DELETE, 0, MANY }, { PL_CP, 0, 1 }, V_ANY } },
	{ INFORMATIONAL, true, "INFORMATIONAL response", 0, 0, 0,
	  { N_ANY, { PL_DELETE, 0, MANY }, { PL_CP, 0, 1 }, V_ANY } },

	/* RFC 9242 3; RFC 9370 2.2.2 carries additional KE payloads in it. */
	{ IKE_INTERMEDIATE, false, "IKE_INTERMEDIATE request", 0, 0, 0,
	  { { PL_KE, 0, 1 }, N_ANY, V_ANY } },
	{ IKE_INTERMEDIATE, true, "IKE_INTERMEDIATE response", 0, 0, 0,
	  { { PL_KE, 0, 1 }, N_ANY, V_ANY } },

	/* RFC 5723 4.3.1: HDR, Ni, N(TICKET_OPAQUE), [N+] --> / <-- HDR, Nr, [N+] */
	{ IKE_SESSION_RESUME, false, "IKE_SESSION_RESUME request", 0, 0, 0,
	  { { PL_NONCE, 1, 1 }, { PL_NOTIFY, 1, MANY }, V_ANY } },
	{ IKE_SESSION_RESUME, true, "IKE_SESSION_RESUME response", 0, 0, 0,
	  { { PL_NONCE, 1, 1 }, N_ANY, V_ANY } },
};

bool acceptance_has_row(uint8_t exchange, bool response, const char *name)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].exchange == exchange && rows[i].response == response &&
		    strcmp(rows[i].name, name) == 0)
			return true;
	return false;
}

bool acceptance_exchange_encrypted(uint8_t exchange)
{
	return exchange != IKE_SA_INIT && exchange != IKE_SESSION_RESUME;
}

const char *acceptance_status_name(enum acceptance_status s)
{
	switch (s) {
	case ACCEPT_OK: return "OK";
	case ACCEPT_UNKNOWN_EXCHANGE: return "UNKNOWN_EXCHANGE";
	case ACCEPT_UNSUPPORTED_CRITICAL: return "UNSUPPORTED_CRITICAL";
	case ACCEPT_MISSING: return "MISSING";
	case ACCEPT_TOO_MANY: return "TOO_MANY";
	case ACCEPT_NOT_ALLOWED: return "NOT_ALLOWED";
	case ACCEPT_OUTSIDE_SK: return "OUTSIDE_SK";
	case ACCEPT_NO_SK: return "NO_SK";
	case ACCEPT_SK_NOT_ALLOWED: return "SK_NOT_ALLOWED";
	case ACCEPT_NOT_DECRYPTED: return "NOT_DECRYPTED";
	case ACCEPT_INCOMPLETE_GROUP: return "INCOMPLETE_GROUP";
	}
	return "UNKNOWN_STATUS";
}

static enum acceptance_status verdict(struct acceptance_result *res, enum acceptance_status st,
				      const char *row, uint8_t type, unsigned got, unsigned min,
				      unsigned max, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static enum acceptance_status verdict(struct acceptance_result *res, enum acceptance_status st,
				      const char *row, uint8_t type, unsigned got, unsigned min,
				      unsigned max, const char *fmt, ...)
{
	if (res) {
		va_list ap;
		res->status = st;
		res->payload = type;
		res->got = got;
		res->min = min;
		res->max = max;
		res->row = row;
		va_start(ap, fmt);
		vsnprintf(res->why, sizeof(res->why), fmt, ap);
		va_end(ap);
	}
	return st;
}

static const char *ex_name(const struct ike_msg *m, struct names_buf *nb)
{
	return names_exchange(m->hdr.exchange, nb);
}

static const char *role(const struct ike_msg *m)
{
	return ike_hdr_is_response(&m->hdr) ? "response" : "request";
}

/* Does any row cover this exchange? */
static bool exchange_known(uint8_t exchange)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].exchange == exchange)
			return true;
	return false;
}

/* RFC 7296 3.14: outside SK only SK/SKF itself and ignorable payloads. */
static enum acceptance_status check_placement(const struct ike_msg *m,
					      struct acceptance_result *res)
{
	struct names_buf nb, eb;
	bool encrypted = acceptance_exchange_encrypted(m->hdr.exchange);
	const struct ike_payload *sk = message_sk(m);

	if (!encrypted) {
		for (unsigned i = 0; i < m->n_payloads; i++)
			if (m->payloads[i].in_sk || m->payloads[i].type == PL_SK ||
			    m->payloads[i].type == PL_SKF)
				return verdict(res, ACCEPT_SK_NOT_ALLOWED, NULL,
					       sk ? sk->type : PL_SK, 1, 0, 0,
					       "%s %s: encrypted payload in a clear exchange",
					       ex_name(m, &eb), role(m));
		return ACCEPT_OK;
	}
	if (!sk)
		return verdict(res, ACCEPT_NO_SK, NULL, PL_SK, 0, 1, 1,
			       "%s %s: no SK or SKF payload (got 0, needs 1)", ex_name(m, &eb),
			       role(m));
	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];
		if (p->in_sk || p == sk || (!p->known && !p->critical))
			continue;
		return verdict(res, ACCEPT_OUTSIDE_SK, NULL, p->type, 1, 0, 0,
			       "%s %s: %s outside SK, must be inside", ex_name(m, &eb), role(m),
			       names_payload(p->type, &nb));
	}
	return ACCEPT_OK;
}

/* Error responses waive the required payloads (acceptance.h). */
static bool waived(const struct ike_msg *m)
{
	if (!ike_hdr_is_response(&m->hdr))
		return false;
	if (message_find_error_notify(m))
		return true;
	if (m->hdr.exchange == IKE_SESSION_RESUME)
		return message_find_notify(m, N_TICKET_NACK) != NULL;
	return m->hdr.exchange == IKE_SA_INIT &&
	       (message_find_notify(m, N_COOKIE) || message_find_notify(m, N_REDIRECT));
}

static const struct row *select_row(const struct ike_msg *m, uint32_t seen)
{
	bool response = ike_hdr_is_response(&m->hdr);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		if (r->exchange != m->hdr.exchange || r->response != response)
			continue;
		if ((seen & r->present) == r->present && (seen & r->absent) == 0)
			return r;
	}
	return NULL;
}

static const struct rule *find_rule(const struct row *r, uint8_t type)
{
	for (const struct rule *u = r->rules; u < r->rules + RULES_MAX && u->type; u++)
		if (u->type == type)
			return u;
	return NULL;
}

static enum acceptance_status check_counts(const struct ike_msg *m, struct acceptance_result *res)
{
	struct names_buf nb;
	unsigned count[32] = { 0 };
	uint32_t seen = 0;

	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];
		if (!p->known || p->type == PL_SK || p->type == PL_SKF)
			continue;
		count[p->type - 32]++;
		seen |= BIT(p->type);
	}
	const struct row *r = select_row(m, seen);
	if (!r) /* every (exchange, role) ends with a default row */
		return verdict(res, ACCEPT_UNKNOWN_EXCHANGE, NULL, PL_NONE, 0, 0, 0,
			       "%s %s: no acceptance row", names_exchange(m->hdr.exchange, &nb),
			       role(m));
	bool waive = waived(m);

	/* In chain order, so the first offending payload is named. */
	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];
		if (!p->known || p->type == PL_SK || p->type == PL_SKF)
			continue;
		const struct rule *u = find_rule(r, p->type);
		if (!u)
			return verdict(res, ACCEPT_NOT_ALLOWED, r->name, p->type,
				       count[p->type - 32], 0, 0, "%s: %s not allowed", r->name,
				       names_payload(p->type, &nb));
		if (count[p->type - 32] > u->max)
			return verdict(res, ACCEPT_TOO_MANY, r->name, p->type, count[p->type - 32],
				       u->min, u->max, "%s: too many %s (got %u, max %u)", r->name,
				       names_payload(p->type, &nb), count[p->type - 32], u->max);
	}
	for (const struct rule *u = r->rules; u < r->rules + RULES_MAX && u->type; u++)
		if (!waive && count[u->type - 32] < u->min)
			return verdict(res, ACCEPT_MISSING, r->name, u->type, count[u->type - 32],
				       u->min, u->max, "%s: missing %s (got %u, needs %u)", r->name,
				       names_payload(u->type, &nb), count[u->type - 32], u->min);
	if (r->together && (seen & r->together) && (seen & r->together) != r->together) {
		char group[64] = "";
		uint8_t missing = PL_NONE;
		for (uint8_t t = PL_SA; t <= PL_PS; t++) {
			if (!(r->together & BIT(t)))
				continue;
			if (missing == PL_NONE && !(seen & BIT(t)))
				missing = t;
			size_t used = strlen(group);
			snprintf(group + used, sizeof(group) - used, "%s%s", used ? "/" : "",
				 names_payload(t, &nb));
		}
		return verdict(res, ACCEPT_INCOMPLETE_GROUP, r->name, missing, 0, 1, 1,
			       "%s: %s missing (%s come all or none)", r->name,
			       names_payload(missing, &nb), group);
	}
	if (res) {
		memset(res, 0, sizeof(*res));
		res->status = ACCEPT_OK;
		res->row = r->name;
	}
	return ACCEPT_OK;
}

enum acceptance_status acceptance_check(const struct ike_msg *m, struct acceptance_result *res)
{
	struct names_buf nb, eb;
	enum acceptance_status st;

	if (!exchange_known(m->hdr.exchange))
		return verdict(res, ACCEPT_UNKNOWN_EXCHANGE, NULL, PL_NONE, 0, 0, 0,
			       "unknown exchange %s", names_exchange(m->hdr.exchange, &eb));
	st = check_placement(m, res);
	if (st != ACCEPT_OK)
		return st;
	if (acceptance_exchange_encrypted(m->hdr.exchange) && !m->decrypted)
		return verdict(res, ACCEPT_NOT_DECRYPTED, NULL, PL_SK, 0, 0, 0,
			       "%s %s: SK not decrypted yet", ex_name(m, &eb), role(m));
	/* RFC 7296 2.5: reject and answer UNSUPPORTED_CRITICAL_PAYLOAD. */
	if (m->unknown_critical != PL_NONE)
		return verdict(res, ACCEPT_UNSUPPORTED_CRITICAL, NULL, m->unknown_critical, 1, 0, 0,
			       "%s %s: unsupported critical payload type %u (%s)", ex_name(m, &eb),
			       role(m), m->unknown_critical,
			       names_payload(m->unknown_critical, &nb));
	return check_counts(m, res);
}

enum acceptance_status acceptance_check_outer(const struct ike_msg *m,
					      struct acceptance_result *res)
{
	struct names_buf eb;

	if (!exchange_known(m->hdr.exchange))
		return verdict(res, ACCEPT_UNKNOWN_EXCHANGE, NULL, PL_NONE, 0, 0, 0,
			       "unknown exchange %s", names_exchange(m->hdr.exchange, &eb));
	if (!acceptance_exchange_encrypted(m->hdr.exchange))
		return acceptance_check(m, res);
	enum acceptance_status st = check_placement(m, res);
	if (st == ACCEPT_OK && res) {
		memset(res, 0, sizeof(*res));
		res->status = ACCEPT_OK;
	}
	return st;
}
