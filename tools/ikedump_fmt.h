/*
 * ikedump_fmt: value formatting shared by ikedump's text and JSON output
 * (addresses, time stamps, identities, hex), so both print the same
 * rendering of a value.
 */
#ifndef XIKED_TOOLS_IKEDUMP_FMT_H
#define XIKED_TOOLS_IKEDUMP_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/payload.h"

/* Big enough for an IPv6 address with its scope or any rendering below. */
#define FMT_ADDR_LEN 64
/* Identity values: printable text or hex of up to this many octets. */
#define FMT_VALUE_LEN 512

/* 4 (AF_INET) or 16 (AF_INET6) octets at A as text; "?" otherwise. */
const char *fmt_addr(int family, const uint8_t *a, char buf[FMT_ADDR_LEN]);

/* "2024-01-31 12:34:56.123456" (UTC). */
const char *fmt_time(int64_t sec, uint32_t usec, char *buf, size_t len);

/*
 * Hex of P[0..len) into buf (lower case, no separators).  When it does not
 * fit, the hex is cut and ends in "..." (buf always NUL-terminated).
 */
const char *fmt_hex(const uint8_t *p, size_t len, char *buf, size_t buflen);

/* True when every octet is printable ASCII (0x20..0x7e) and len > 0. */
bool fmt_printable(const uint8_t *p, size_t len);

/*
 * An identity's value (RFC 7296 3.5) rendered by type: ID_FQDN and
 * ID_RFC822_ADDR as text (hex if not printable), ID_IPV4_ADDR and
 * ID_IPV6_ADDR as addresses, ID_NULL as "" and everything else
 * (ID_KEY_ID, ID_DER_ASN1_DN, ...) as hex.
 */
const char *fmt_id_value(const struct ike_id *id, char buf[FMT_VALUE_LEN]);

/*
 * A Configuration attribute value (RFC 7296 3.15.1) rendered by type:
 * addresses, address/netmask, IPv6 address/prefix, text for
 * APPLICATION_VERSION and INTERNAL_DNS_DOMAIN; hex otherwise; "" when
 * empty (a request for the attribute).
 */
const char *fmt_cp_value(const struct ike_cp_attr *a, char buf[FMT_VALUE_LEN]);

/* An exchange type for JSON: the RFC name, or the decimal number if unknown. */
const char *fmt_exchange(uint8_t exchange, char buf[16]);

#endif
