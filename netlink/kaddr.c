/* netlink/kaddr.c: helpers for struct kaddr (see kaddr.h). */
#include "netlink/kaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

size_t kaddr_len(uint8_t family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

bool kaddr_eq(const struct kaddr *x, const struct kaddr *y)
{
	if (x->family != y->family)
		return false;
	return memcmp(x->a, y->a, kaddr_len(x->family)) == 0;
}

int kaddr_from_string(const char *s, struct kaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

const char *kaddr_to_string(const struct kaddr *a, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    inet_ntop(a->family, a->a, buf, (socklen_t)len) == NULL) {
		snprintf(buf, len, "%s", a->family == 0 ? "any" : "?");
	}
	return buf;
}

void kaddr_from_sockaddr(const struct sockaddr_storage *ss, struct kaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		out->family = AF_INET6;
		memcpy(out->a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

void kaddr_to_sockaddr(const struct kaddr *k, uint16_t port, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (k->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, k->a, 4);
		s4->sin_port = htons(port);
	} else if (k->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, k->a, 16);
		s6->sin6_port = htons(port);
	}
}
