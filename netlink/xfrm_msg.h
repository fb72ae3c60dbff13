/* netlink/xfrm_msg.h: building NETLINK_XFRM requests and parsing the kernel's messages.
 *
 * Pure functions over libnl-3 message buffers, with no socket: xfrm.c sends what these build
 * and hands them what it receives, and unit tests check both directions without a kernel.
 *
 * Key material: xfrm_msg_newsa() writes keys straight into the message buffer (no stack or
 * heap copies). Every message built here must be released with xfrm_msg_free(), which wipes
 * the whole allocated buffer before freeing it (design.md rule 5). Buffers are sized up
 * front (XFRM_MSG_BUFSIZE) and libnl never reallocates them (nlmsg_reserve fails instead of
 * growing), so no unwiped copy is left behind by a realloc.
 *
 * Parsers take a message whose nlmsg_len the caller has checked against the bytes received
 * (nlmsg_ok); they check the fixed header fits in nlmsg_len, copy it into a local struct
 * (never cast onto the buffer) and validate attribute sizes. They return 0 or -EBADMSG.
 */
#ifndef XIKED_NETLINK_XFRM_MSG_H
#define XIKED_NETLINK_XFRM_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/xfrm.h>
#include <netlink/msg.h>

#include "netlink/kernel_ops.h"

/* Every request fits: usersa_info (224) + AEAD/CRYPT/AUTH (< 80 + key each) + ESN replay
 * state (24 + 512 for a 4096-packet window) + encap, mark, if_id, selector. */
#define XFRM_MSG_BUFSIZE 4096u

/* The SPI range requested from XFRM_MSG_ALLOCSPI. SPIs 1..255 are reserved by IANA
 * (RFC 4303 2.1); the top quarter keeps clear of the small SPIs manually keyed SAs use. */
#define XFRM_SPI_MIN 0xc0000000u
#define XFRM_SPI_MAX 0xcfffffffu

/* Limits checked before anything is sent (the kernel's own: XFRM_ALGO name is char[64],
 * XFRMA_REPLAY_ESN_MAX is 4096 packets). */
#define XFRM_ALG_NAME_MAX 63u
#define XFRM_KEY_MAX 512u

/* Release a message built here: wipe its whole buffer, then free. NULL-safe. */
void xfrm_msg_free(struct nl_msg *msg);

/* Each builder returns 0 and a new message in *out (owned by the caller, release with
 * xfrm_msg_free), or -EINVAL for arguments the kernel could not accept, -ENOMEM,
 * -EMSGSIZE. Pointer arguments are borrowed. nlmsg_pid/seq are left for nl_send_auto. */

/* XFRM_MSG_NEWSA, or XFRM_MSG_UPDSA when update (filling a larval state from ALLOCSPI). */
int xfrm_msg_newsa(const struct kernel_sa *sa, bool update, struct nl_msg **out);
/* XFRM_MSG_ALLOCSPI for [XFRM_SPI_MIN, XFRM_SPI_MAX], or for exactly want (network
 * order) when it is not 0. */
int xfrm_msg_allocspi(const struct kaddr *src, const struct kaddr *dst, uint8_t proto, uint32_t reqid,
		      uint32_t want, struct nl_msg **out);
/* XFRM_MSG_GETSA or XFRM_MSG_DELSA (type) for one state. */
int xfrm_msg_said(int type, const struct kaddr *dst, uint32_t spi, uint8_t proto, uint32_t mark,
		  uint32_t mark_mask, struct nl_msg **out);
/* XFRM_MSG_NEWPOLICY. */
int xfrm_msg_newpolicy(const struct kernel_policy *p, struct nl_msg **out);
/* XFRM_MSG_DELPOLICY by selector. */
int xfrm_msg_delpolicy(const struct ksel *sel, enum kdir dir, uint32_t mark, uint32_t mark_mask,
		       uint32_t if_id, struct nl_msg **out);
/* XFRM_MSG_DELPOLICY by index (as found in a dump): sel is the dumped selector. */
int xfrm_msg_delpolicy_index(const struct xfrm_selector *sel, uint32_t index, uint8_t dir, uint8_t ptype,
			     uint32_t mark, uint32_t mark_mask, uint32_t if_id, struct nl_msg **out);
/* XFRM_MSG_MIGRATE: xfrm_userpolicy_id, one XFRMA_MIGRATE entry, XFRMA_KMADDRESS when
 * m->km_local is set, XFRMA_ENCAP when m->encap, XFRMA_IF_ID when m->if_id. */
int xfrm_msg_migrate(const struct kernel_migrate *m, struct nl_msg **out);
/* A dump request (NLM_F_DUMP) of XFRM_MSG_GETSA or XFRM_MSG_GETPOLICY. */
int xfrm_msg_dump(int type, struct nl_msg **out);

/* ksel <-> struct xfrm_selector. The conversion zeroes address bits beyond the prefix and
 * port bits outside the mask, so that a policy added and later deleted by the same ksel
 * gives byte-identical selectors (the kernel compares them whole). Returns 0 or -EINVAL. */
int xfrm_sel_from_ksel(const struct ksel *ks, struct xfrm_selector *out);
void xfrm_sel_to_ksel(const struct xfrm_selector *xs, struct ksel *out);

/* What flush_stale and query_sa need from a state (XFRM_MSG_NEWSA reply or dump entry).
 * Keys in the message are not looked at. */
struct xfrm_sa_brief {
	struct kaddr src, dst;
	uint32_t spi; /* network order */
	uint8_t proto, mode;
	uint32_t reqid;
	uint32_t mark, mark_mask;
	struct kernel_sa_stats stats;
};
int xfrm_parse_sa(struct nlmsghdr *h, struct xfrm_sa_brief *out);

/* What flush_stale needs from a policy dump entry. */
#define XFRM_PARSE_MAX_TMPL 6 /* XFRM_MAX_DEPTH */
struct xfrm_policy_brief {
	struct xfrm_selector sel;
	uint32_t index, priority;
	uint8_t dir, ptype;
	uint32_t mark, mark_mask, if_id;
	unsigned ntmpl;
	uint32_t reqid[XFRM_PARSE_MAX_TMPL];
};
int xfrm_parse_policy(struct nlmsghdr *h, struct xfrm_policy_brief *out);

/* Events (XFRM_MSG_EXPIRE, XFRM_MSG_ACQUIRE, XFRM_MSG_MAPPING). */
struct xfrm_expire_ev {
	struct kaddr dst;
	uint32_t spi; /* network order */
	uint8_t proto;
	uint32_t reqid;
	bool hard;
};
int xfrm_parse_expire(struct nlmsghdr *h, struct xfrm_expire_ev *out);

struct xfrm_acquire_ev {
	struct ksel sel;
	uint32_t reqid; /* of the first template, 0 if none */
	uint32_t policy_index;
};
int xfrm_parse_acquire(struct nlmsghdr *h, struct xfrm_acquire_ev *out);

struct xfrm_mapping_ev {
	struct kaddr dst, old_addr, new_addr;
	uint32_t spi; /* network order */
	uint8_t proto;
	uint32_t reqid;
	uint16_t old_port, new_port; /* host order */
};
int xfrm_parse_mapping(struct nlmsghdr *h, struct xfrm_mapping_ev *out);

/* The extended-ack message (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR message, copied into
 * buf (NUL-terminated, truncated to len). Returns true if there was one. */
bool xfrm_parse_extack(struct nlmsghdr *h, char *buf, size_t len);

#endif
