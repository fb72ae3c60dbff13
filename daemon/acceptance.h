/*
 * Declarative payload acceptance (design.md rule 14, as
 * libreswan's transition table and strongSwan's payload rules).
 *
 * For each (exchange, request/response) a short list of rows says, per
 * payload type, the minimum and maximum count, and the exchange says
 * whether payloads must be inside SK (IKE_SA_INIT and IKE_SESSION_RESUME:
 * all plain, SK forbidden; IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL,
 * IKE_INTERMEDIATE: everything but SK/SKF inside SK). Rows are picked by
 * which payloads are present (e.g. an IKE_AUTH request with EAP is an EAP
 * round, RFC 7296 2.16; a response without IDr continues an RFC 4739
 * multiple-auth or EAP exchange), and "together" groups express that SA,
 * TSi and TSr come all or none (RFC 6023 childless IKE_AUTH).
 *
 * Error responses waive the required payloads (maximums still hold): a
 * response carrying an error Notify (type < 16384), and an IKE_SA_INIT
 * response carrying COOKIE (RFC 7296 2.6), INVALID_KE_PAYLOAD (1.2) or
 * REDIRECT (RFC 5685), and an IKE_SESSION_RESUME response carrying
 * TICKET_NACK (RFC 5723 4.3.2).
 *
 * Unrecognised payloads are ignored unless critical: the first critical one
 * yields ACCEPT_UNSUPPORTED_CRITICAL with its type, for the
 * UNSUPPORTED_CRITICAL_PAYLOAD notify (RFC 7296 2.5, 3.10.1).
 *
 * The checks only read the parsed message; they never act (design.md rule 2).
 */
#ifndef XIKED_ACCEPTANCE_H
#define XIKED_ACCEPTANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/message.h"

enum acceptance_status {
	ACCEPT_OK = 0,
	ACCEPT_UNKNOWN_EXCHANGE,      /* exchange type without rules */
	ACCEPT_UNSUPPORTED_CRITICAL,  /* payload = the unrecognised critical type */
	ACCEPT_MISSING,               /* payload below its minimum */
	ACCEPT_TOO_MANY,              /* payload above its maximum */
	ACCEPT_NOT_ALLOWED,           /* payload type not allowed in this exchange/role */
	ACCEPT_OUTSIDE_SK,            /* payload must be inside SK but is not */
	ACCEPT_NO_SK,                 /* encrypted exchange without SK/SKF */
	ACCEPT_SK_NOT_ALLOWED,        /* SK/SKF in an exchange that is sent in the clear */
	ACCEPT_NOT_DECRYPTED,         /* acceptance_check before message_parse_inner */
	ACCEPT_INCOMPLETE_GROUP,      /* some but not all of SA, TSi, TSr */
};

#define ACCEPT_WHY_LEN 160
struct acceptance_result {
	enum acceptance_status status;
	uint8_t payload; /* offending payload type, PL_NONE if none */
	unsigned got;    /* count seen of that payload */
	unsigned min, max; /* its limits in the row that applied */
	const char *row; /* name of the row that applied, e.g. "IKE_AUTH request (EAP round)" */
	char why[ACCEPT_WHY_LEN]; /* e.g. "IKE_AUTH request: missing IDi (got 0, needs 1)" */
};

/*
 * Check a message whose inner chain (if any) has been parsed. res may be
 * NULL. Checks, in order: exchange known, unsupported critical payload,
 * SK placement, then the row's counts and groups.
 */
enum acceptance_status acceptance_check(const struct ike_msg *m, struct acceptance_result *res);

/*
 * Check only what can be checked before decryption: the exchange is known;
 * encrypted exchanges have an SK or SKF and nothing outside it but
 * unrecognised non-critical payloads; clear exchanges have no SK/SKF (and
 * get the full check, acceptance_check, since nothing is hidden).
 */
enum acceptance_status acceptance_check_outer(const struct ike_msg *m,
					      struct acceptance_result *res);

/* Whether the table has a row of that name for (exchange, request/response). */
bool acceptance_has_row(uint8_t exchange, bool response, const char *name);

/* Whether an exchange's payloads travel inside SK (false for IKE_SA_INIT). */
bool acceptance_exchange_encrypted(uint8_t exchange);

/* Stable name of a status ("MISSING", ...); never NULL. */
const char *acceptance_status_name(enum acceptance_status s);

#endif
