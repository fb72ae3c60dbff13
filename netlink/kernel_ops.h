/* netlink/kernel_ops.h: the kernel seam (design.md rule 11).
 *
 * The engine installs IPsec state through struct kernel_ops only. Two implementations:
 *   - netlink/xfrm.c: Linux XFRM over libnl-3 (NETLINK_XFRM), never PF_KEY, never `ip`;
 *   - netlink/kernel_fake.c: a recording fake for unit tests.
 *
 * Every operation returns 0 or -errno. For the netlink implementation the errno is the
 * kernel's own one from the NLMSG_ERROR ack whenever there is one (libnl's NLE_* codes are
 * mapped back at the boundary), so kernel_strerror() can explain it.
 *
 * Ownership: every pointer argument is borrowed for the duration of the call only. The
 * implementations copy what they keep; key material is never kept by the netlink backend
 * (messages carrying keys are wiped before being freed, design.md rule 5).
 */
#ifndef XIKED_NETLINK_KERNEL_OPS_H
#define XIKED_NETLINK_KERNEL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink/kaddr.h"

/* The reqid range that marks xiked's entries (flush_stale removes only these). "xi" = 0x7869. */
#define XIKED_REQID_BASE 0x78690000u
#define XIKED_REQID_MAX 0x7869ffffu

/* A traffic selector as XFRM understands it (struct xfrm_selector): one prefix per side,
 * one protocol (0 = any), one port with mask per side (mask 0 = any port). Ports are in
 * host byte order here; the backend converts. For ICMP, XFRM carries type in sport and
 * code in dport. */
struct ksel {
	struct kaddr src, dst;
	uint8_t src_plen, dst_plen;
	uint8_t proto;
	uint16_t sport, sport_mask, dport, dport_mask;
};

enum kmode { KMODE_TRANSPORT, KMODE_TUNNEL };

/* One XFRM state (one direction of a Child SA). All pointers borrowed. */
struct kernel_sa {
	struct kaddr src, dst;
	uint32_t spi; /* network byte order */
	uint8_t proto; /* IPPROTO_ESP (or IPPROTO_AH) */
	enum kmode mode;
	uint32_t reqid;
	/* XFRM algorithm names: "rfc4106(gcm(aes))", "rfc7539esp(chacha20,poly1305)", "cbc(aes)".
	 * enc_alg NULL = no encryption attribute (AH); ESP with ENCR_NULL passes "ecb(cipher_null)"
	 * with an empty key.
	 * AEAD is chosen by icv_bits != 0 (XFRMA_ALG_AEAD; integ_alg must then be NULL), otherwise
	 * enc_alg goes in XFRMA_ALG_CRYPT and integ_alg in XFRMA_ALG_AUTH_TRUNC. */
	const char *enc_alg;
	const uint8_t *enc_key;
	size_t enc_key_len; /* for AEAD this includes the 4-byte salt (RFC 4106 8.1, RFC 7634 2) */
	uint32_t icv_bits; /* AEAD only: 64, 96 or 128 */
	const char *integ_alg; /* "hmac(sha256)"..., NULL for AEAD */
	const uint8_t *integ_key;
	size_t integ_key_len;
	uint32_t integ_trunc_bits;
	uint32_t replay_window; /* packets; 0 = no replay protection (outbound) */
	bool esn; /* RFC 4303 2.2.1 extended sequence numbers */
	/* Lifetimes, 0 = unlimited. Soft limits raise an XFRM expire event (rekey), hard ones
	 * delete the state and raise a hard expire. */
	uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets;
	uint64_t soft_add_s, hard_add_s, soft_use_s, hard_use_s;
	/* RFC 3948 UDP encapsulation (UDP_ENCAP_ESPINUDP), ports host order. */
	bool encap;
	uint16_t encap_sport, encap_dport;
	uint32_t mark, mark_mask; /* mark_mask 0 = no mark */
	uint32_t if_id; /* XFRM interface id, 0 = none */
	const struct ksel *sel; /* transport-mode selector, optional (NULL = host-to-host) */
	bool inbound; /* for logging and for XFRM_SA_XFLAG_* choices */
};

enum kdir { KDIR_IN, KDIR_OUT, KDIR_FWD };

/* One XFRM policy. With has_tmpl, traffic matching sel is protected by an SA found by
 * (tmpl_dst, tmpl_proto, tmpl_mode, reqid); tmpl_src/tmpl_dst are the tunnel endpoints
 * in tunnel mode and may be left unset (family 0) in transport mode. Without a template
 * the policy is a bypass (allow) policy. */
struct kernel_policy {
	struct ksel sel;
	enum kdir dir;
	uint32_t priority; /* lower number = preferred; see kernel_policy_priority() */
	uint32_t mark, mark_mask, if_id;
	bool has_tmpl;
	struct kaddr tmpl_src, tmpl_dst;
	uint8_t tmpl_proto;
	enum kmode tmpl_mode;
	uint32_t reqid;
};

/*
 * XFRM_MSG_MIGRATE (CONFIG_XFRM_MIGRATE; RFC 4555 address updates): the policy (sel, dir,
 * if_id) has the template that leads from old_src to old_dst (proto, mode, reqid) moved to
 * new_src -> new_dst, and the first state of (old_src -> old_dst, proto, mode, reqid), if
 * one exists, is moved with it: the kernel clones it under the new addresses with the same
 * SPI, keys, replay state and sequence numbers, then deletes the old one. With encap set,
 * the moved state takes that UDP encapsulation; without, it keeps what it had (the kernel
 * cannot remove encapsulation through MIGRATE). km_local/km_remote are the IKE endpoints
 * (XFRMA_KMADDRESS, for other listeners of the migrate event; family 0 = omitted).
 * The kernel answers -ENOENT when no such policy exists and -ENODATA when no template
 * of it matches the old addresses.
 */
struct kernel_migrate {
	struct ksel sel;
	enum kdir dir;
	uint32_t if_id;
	struct kaddr old_src, old_dst, new_src, new_dst;
	uint8_t proto;
	enum kmode mode;
	uint32_t reqid;
	bool encap;
	uint16_t encap_sport, encap_dport; /* host order */
	struct kaddr km_local, km_remote;
};

struct kernel_sa_stats {
	uint64_t bytes, packets;
	uint64_t add_time, use_time; /* unix seconds, 0 = never used */
	struct kaddr src; /* query_sa: the state's source address (where MIGRATE left it) */
};

/* Callbacks the engine sets; ctx is passed back. Any callback may be NULL (event ignored).
 * Pointer arguments are borrowed for the duration of the callback. */
struct kernel_events {
	/* XFRM_MSG_EXPIRE: soft (rekey now) or hard (the kernel has removed the state). */
	void (*expire)(void *ctx, uint32_t spi /* network order */, uint8_t proto,
		       const struct kaddr *dst, bool hard);
	/* XFRM_MSG_ACQUIRE: a trap policy matched traffic without an SA. */
	void (*acquire)(void *ctx, const struct ksel *sel, uint32_t reqid /* from the policy template */);
	/* XFRM_MSG_MAPPING: the NAT in front of the peer changed its address/port (RFC 3948). */
	void (*mapping)(void *ctx, uint32_t spi /* network order */, const struct kaddr *old_addr,
			uint16_t old_port, const struct kaddr *new_addr, uint16_t new_port /* host order */);
	void *ctx;
};

struct kernel_ops {
	/* XFRM_MSG_ALLOCSPI: reserve an SPI for an inbound SA; creates a larval state that a
	 * later update_sa fills in. want 0: any SPI of xiked's range; otherwise exactly that
	 * one (network order), -ENOENT when another state holds it (xfrm_alloc_spi). The
	 * kernel deletes a larval state after net.core.xfrm_acq_expires seconds (30 by
	 * default) and reports a hard expire for it; update_sa then answers -ESRCH. */
	int (*get_spi)(void *k, const struct kaddr *src, const struct kaddr *dst, uint8_t proto,
		       uint32_t reqid, uint32_t want, uint32_t *spi_out /* network order */);
	int (*add_sa)(void *k, const struct kernel_sa *sa); /* XFRM_MSG_NEWSA */
	int (*update_sa)(void *k, const struct kernel_sa *sa); /* XFRM_MSG_UPDSA, for the SA created by get_spi (larval) */
	int (*del_sa)(void *k, const struct kaddr *dst, uint32_t spi, uint8_t proto, uint32_t mark,
		      uint32_t mark_mask);
	int (*query_sa)(void *k, const struct kaddr *dst, uint32_t spi, uint8_t proto, uint32_t mark,
			uint32_t mark_mask, struct kernel_sa_stats *out);
	int (*add_policy)(void *k, const struct kernel_policy *p); /* XFRM_MSG_NEWPOLICY */
	int (*del_policy)(void *k, const struct ksel *sel, enum kdir dir, uint32_t mark, uint32_t mark_mask,
			  uint32_t if_id);
	/* Remove states/policies left by an earlier xiked (reqid in [XIKED_REQID_BASE,
	 * XIKED_REQID_MAX]; policies by their template's reqid), nothing else. */
	int (*flush_stale)(void *k);
	/* epoll integration for XFRM events: event_fd is non-blocking and readable when events
	 * are pending; event_dispatch reads them all and calls the kernel_events callbacks. */
	int (*event_fd)(void *k);
	void (*event_dispatch)(void *k);
	void (*free)(void *k); /* NULL-safe */
	/* The kernel's extended-ack text (NLMSGERR_ATTR_MSG, e.g. "Requested AEAD algorithm not
	 * found") for the last failed request, or NULL if it gave none. Valid until the next call
	 * on k. For logging next to kernel_strerror(). */
	const char *(*last_extack)(void *k);
	/* XFRM_MSG_MIGRATE, see struct kernel_migrate. */
	int (*migrate)(void *k, const struct kernel_migrate *m);
};

struct kernel {
	const struct kernel_ops *ops;
	void *k;
};

/* netlink/xfrm.c: open the request and event sockets. ev is copied (may be NULL: no
 * callbacks). Returns 0 or -errno; on error *out is left zeroed. */
int kernel_netlink_new(const struct kernel_events *ev, struct kernel *out);

/* Free whichever implementation is behind kern (NULL-safe, and safe on a zeroed struct). */
void kernel_free(struct kernel *kern);

/* Policy priority for a selector, strongSwan-like: more specific selectors get a lower
 * number (preferred by the kernel). Ranks by prefix lengths first, then protocol, then
 * ports. Result is in (KERNEL_PRIO_BASE - 65536, KERNEL_PRIO_BASE]; the engine may add a
 * per-class offset (e.g. trap vs. installed) to the base by subtracting from it. */
#define KERNEL_PRIO_BASE 200000u
uint32_t kernel_policy_priority(const struct ksel *sel);

/* A clear sentence for an error returned by a kernel_ops call on an SA of protocol proto
 * (IPPROTO_ESP, IPPROTO_AH, or 0 when not about an SA); err is -errno or errno.
 * Returns a static string. e.g. "the kernel has no ESP support (CONFIG_INET_ESP)". */
const char *kernel_strerror(int err, uint8_t proto);

#endif
