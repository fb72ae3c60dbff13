/*
 * Address pools and their leases: the virtual IPs a gateway hands out in
 * CFG_REPLY (RFC 7296 2.19, 3.15.1).
 *
 * A pool is one prefix (IPv4 or IPv6), found by that prefix: conns naming
 * the same `pool =` share it, and a reload that still names it keeps it
 * with its leases (addr_pools_mark / addr_pools_sweep). A lease binds one
 * address to one peer identity. It is online while IKE SAs hold it
 * (counted: a reauthentication's new IKE SA takes it before the old one
 * lets go, and MOBIKE moves nothing), offline after: the identity gets the
 * same address back as long as nobody else needed it. New identities get
 * never-used addresses first, then the offline lease unused the longest
 * (as strongSwan's mem pool does).
 *
 * Everything is O(1) per lease (hash tables by identity and by address,
 * a list of offline leases); addresses are made only when first leased, so
 * an IPv6 /64 costs nothing until used.
 */
#ifndef XIKED_ADDR_POOL_H
#define XIKED_ADDR_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/cp.h"

/* Longest identity key (ID type octet + Identification Data, RFC 7296 3.5). */
#define ADDR_POOL_ID_MAX 256
#define ADDR_POOL_TEXT_MAX 128

struct addr_pools;
struct addr_pool;

struct addr_pools *addr_pools_new(void);
/* Frees every pool and lease. NULL-safe. */
void addr_pools_free(struct addr_pools *ps);

/*
 * Parses "10.3.0.0/24" or "fd00:3::/112" (host bits must be zero; plen
 * 8..32 or 64..128, at least two addresses) into *out. 0, or -1 with why.
 */
int addr_pool_parse(const char *text, struct cp_prefix *out, char *why, size_t whylen);
/* "10.3.0.0/24". */
void addr_prefix_format(const struct cp_prefix *p, char *buf, size_t len);

/* The pool of prefix, made when new (and marked in use). NULL on allocation failure. */
struct addr_pool *addr_pools_get(struct addr_pools *ps, const struct cp_prefix *prefix);
/* The pool of prefix, or NULL. */
struct addr_pool *addr_pools_find(const struct addr_pools *ps, const struct cp_prefix *prefix);
/*
 * Reload: addr_pools_mark clears every pool's in-use mark, addr_pools_get
 * sets it for the pools the new configuration names, addr_pools_sweep frees
 * the unmarked ones that hold no online lease (those go once their last
 * lease is released). Returns the number of pools freed.
 */
void addr_pools_mark(struct addr_pools *ps);
size_t addr_pools_sweep(struct addr_pools *ps);

/*
 * A lease for identity id[0..id_len) (the ID type octet and data; text is
 * its printable form for status): the identity's own if it has one, else a
 * new address. Writes the address (plen 32/128) to *out. 0, -ENOSPC when
 * the pool is exhausted (every address online), -EINVAL, -ENOMEM.
 */
int addr_pool_acquire(struct addr_pool *p, const uint8_t *id, size_t id_len, const char *text,
		      uint64_t now_ms, struct cp_prefix *out);
/*
 * An IKE SA lets go of addr; the lease goes offline when no IKE SA holds it
 * any more. -ENOENT when addr has no online lease in p.
 */
int addr_pool_release(struct addr_pools *ps, struct addr_pool *p, const struct cp_prefix *addr,
		      uint64_t now_ms);

const struct cp_prefix *addr_pool_prefix(const struct addr_pool *p);
/* Addresses the pool can hand out, leases online and offline. */
uint64_t addr_pool_size(const struct addr_pool *p);
size_t addr_pool_online(const struct addr_pool *p);
size_t addr_pool_offline(const struct addr_pool *p);

/* Every pool, in creation order. */
void addr_pools_each(const struct addr_pools *ps, void (*fn)(struct addr_pool *p, void *ctx),
		     void *ctx);
/* A lease as status shows it. */
struct addr_lease_info {
	struct cp_prefix addr;
	const char *identity; /* borrowed, for the call */
	bool online;
	unsigned holders;     /* IKE SAs holding it */
	uint64_t since_ms;    /* leased, or gone offline */
};
/* Every lease of p (online and offline). */
void addr_pool_each_lease(const struct addr_pool *p,
			  void (*fn)(const struct addr_lease_info *l, void *ctx), void *ctx);

#endif
