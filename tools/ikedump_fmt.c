/* Value formatting for ikedump (see ikedump_fmt.h). */
#include "tools/ikedump_fmt.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "daemon/ikev2.h"
#include "daemon/names.h"

const char *fmt_addr(int family, const uint8_t *a, char buf[FMT_ADDR_LEN])
{
	if ((family != AF_INET && family != AF_INET6) ||
	    !inet_ntop(family, a, buf, FMT_ADDR_LEN))
		snprintf(buf, FMT_ADDR_LEN, "?");
	return buf;
}

const char *fmt_time(int64_t sec, uint32_t usec, char *buf, size_t len)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char day[40];

	if (!gmtime_r(&t, &tm) || strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(day, sizeof(day), "%lld", (long long)sec);
	snprintf(buf, len, "%s.%06u", day, usec % 1000000);
	return buf;
}

const char *fmt_hex(const uint8_t *p, size_t len, char *buf, size_t buflen)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = len, o = 0;
	bool cut = false;

	if (buflen == 0)
		return buf;
	/* Whole octets only; when cut, keep room for "..." and the NUL. */
	if (len > (buflen - 1) / 2) {
		n = buflen >= 4 ? (buflen - 4) / 2 : 0;
		cut = true;
	}
	for (size_t i = 0; i < n; i++) {
		buf[o++] = digits[p[i] >> 4];
		buf[o++] = digits[p[i] & 15];
	}
	if (cut && buflen >= 4) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

bool fmt_printable(const uint8_t *p, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

static const char *fmt_text_or_hex(const struct ike_bytes *b, char buf[FMT_VALUE_LEN])
{
	if (fmt_printable(b->ptr, b->len) && b->len < FMT_VALUE_LEN) {
		memcpy(buf, b->ptr, b->len);
		buf[b->len] = '\0';
		return buf;
	}
	return fmt_hex(b->ptr, b->len, buf, FMT_VALUE_LEN);
}

const char *fmt_id_value(const struct ike_id *id, char buf[FMT_VALUE_LEN])
{
	switch (id->type) {
	case ID_FQDN:
	case ID_RFC822_ADDR:
		return fmt_text_or_hex(&id->data, buf);
	case ID_IPV4_ADDR:
		if (id->data.len == 4)
			return fmt_addr(AF_INET, id->data.ptr, buf);
		break;
	case ID_IPV6_ADDR:
		if (id->data.len == 16)
			return fmt_addr(AF_INET6, id->data.ptr, buf);
		break;
	case ID_NULL:
		buf[0] = '\0';
		return buf;
	default:
		break;
	}
	return fmt_hex(id->data.ptr, id->data.len, buf, FMT_VALUE_LEN);
}

const char *fmt_cp_value(const struct ike_cp_attr *a, char buf[FMT_VALUE_LEN])
{
	const struct ike_bytes *v = &a->value;
	char x[FMT_ADDR_LEN], y[FMT_ADDR_LEN];

	buf[0] = '\0';
	if (v->len == 0)
		return buf;
	switch (a->type) {
	case CFG_INTERNAL_IP4_ADDRESS:
	case CFG_INTERNAL_IP4_NETMASK:
	case CFG_INTERNAL_IP4_DNS:
	case CFG_INTERNAL_IP4_NBNS:
	case CFG_INTERNAL_IP4_DHCP:
	case CFG_P_CSCF_IP4_ADDRESS:
		if (v->len == 4)
			return fmt_addr(AF_INET, v->ptr, buf);
		break;
	case CFG_INTERNAL_IP4_SUBNET:
		/* RFC 7296 3.15.1: address then netmask. */
		if (v->len == 8) {
			snprintf(buf, FMT_VALUE_LEN, "%s/%s", fmt_addr(AF_INET, v->ptr, x),
				 fmt_addr(AF_INET, v->ptr + 4, y));
			return buf;
		}
		break;
	case CFG_INTERNAL_IP6_DNS:
	case CFG_INTERNAL_IP6_DHCP:
	case CFG_P_CSCF_IP6_ADDRESS:
		if (v->len == 16)
			return fmt_addr(AF_INET6, v->ptr, buf);
		break;
	case CFG_INTERNAL_IP6_ADDRESS:
	case CFG_INTERNAL_IP6_SUBNET:
		/* RFC 7296 3.15.1: 16-octet address, 1-octet prefix length. */
		if (v->len == 17) {
			snprintf(buf, FMT_VALUE_LEN, "%s/%u", fmt_addr(AF_INET6, v->ptr, x),
				 v->ptr[16]);
			return buf;
		}
		break;
	case CFG_APPLICATION_VERSION:
	case CFG_INTERNAL_DNS_DOMAIN:
		return fmt_text_or_hex(v, buf);
	default:
		break;
	}
	return fmt_hex(v->ptr, v->len, buf, FMT_VALUE_LEN);
}

const char *fmt_exchange(uint8_t exchange, char buf[16])
{
	struct names_buf nb;
	const char *n = names_exchange(exchange, &nb);

	/* names_exchange spells unknown ones "UNKNOWN_EXCHANGE(n)"; JSON
	 * consumers get the bare number instead (documented in ikedump(1)). */
	if (n == nb.s)
		snprintf(buf, 16, "%u", exchange);
	else
		snprintf(buf, 16, "%s", n);
	return buf;
}
