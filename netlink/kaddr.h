/* netlink/kaddr.h: a plain IPv4/IPv6 address for the kernel seam.
 *
 * Kept separate from kernel_ops.h so that code which only needs an address (the engine's
 * traffic selectors, the fake kernel's hash) does not pull in the whole seam.
 */
#ifndef XIKED_NETLINK_KADDR_H
#define XIKED_NETLINK_KADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address as the kernel sees it: family AF_INET or AF_INET6 (0 = unset / any).
 * For AF_INET only a[0..3] is meaningful (network byte order); the rest must be zero so that
 * memcmp-based comparisons and hashing work. */
struct kaddr {
	uint8_t family;
	uint8_t a[16];
};

/* Length of the address bytes for a family: 4, 16, or 0 for an unknown family. */
size_t kaddr_len(uint8_t family);

/* true if both addresses have the same family and the same significant bytes. */
bool kaddr_eq(const struct kaddr *x, const struct kaddr *y);

/* Fill *out from text ("192.0.2.1", "2001:db8::1"). Returns 0 or -EINVAL. */
int kaddr_from_string(const char *s, struct kaddr *out);

/* Conversions from and to the socket address type the daemon keeps its
 * endpoints in (port in host order; 0 left out of kaddr). An unknown family
 * gives family 0 / an all-zero sockaddr. */
struct sockaddr_storage;
void kaddr_from_sockaddr(const struct sockaddr_storage *ss, struct kaddr *out);
void kaddr_to_sockaddr(const struct kaddr *k, uint16_t port, struct sockaddr_storage *out);

/* Format into buf (at least KADDR_STRLEN bytes); returns buf. Unset family prints "any". */
#define KADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
const char *kaddr_to_string(const struct kaddr *a, char *buf, size_t len);

#endif
