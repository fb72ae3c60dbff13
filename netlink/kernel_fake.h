/* netlink/kernel_fake.h: a recording fake of struct kernel_ops for unit tests.
 *
 * Behaves like XFRM where the engine can tell the difference:
 *   - states are keyed by (dst, spi, proto) in a hash table; get_spi creates a larval state
 *     (any free SPI, or the one asked for: -ENOENT when taken) that kernel_fake_expire_larval
 *     deletes with a hard expire as the kernel's xfrm_acq_expires timer does,
 *     that update_sa fills; add_sa on an existing key is -EEXIST; del/query/update of a
 *     missing state are -ESRCH (xfrm_user's answers); a mark that does not match the stored
 *     one is treated as missing;
 *   - policies are keyed by (selector, dir, mark, mark_mask, if_id); add twice is -EEXIST,
 *     deleting a missing one -ENOENT;
 *   - flush_stale removes only entries whose reqid is in [XIKED_REQID_BASE, XIKED_REQID_MAX];
 *   - migrate follows xfrm_migrate(): the policy is found by (selector, dir, if_id) whatever
 *     its mark (-ENOENT), its template must match the old addresses (-ENODATA, nothing
 *     changed), and the first state of (old src, old dst, proto, mode, reqid) moves to the
 *     new addresses keeping SPI, keys and add time, its byte and packet counters starting
 *     at zero as the kernel's clone does (the log entry carries its SPI, 0 when no state
 *     moved, and the policy's dir);
 *   - a hard expire injected for an existing state removes it first, as the kernel does.
 * It also records every call (op, result, spi, reqid...; never keys), counts calls per op,
 * can fail the next calls of an op with a chosen errno, queues injected events behind a
 * real eventfd (so a test's epoll loop sees it readable), and lets tests read back what is
 * installed, including keys, so two engines in one process can be checked to agree.
 *
 * Keys are stored only inside the fake's slot array; a deleted or replaced state's slot is
 * wiped at once, and kernel_fake_holds_bytes() scans the whole array (live and free slots)
 * so a test can prove a deleted SA's key is gone.
 */
#ifndef XIKED_NETLINK_KERNEL_FAKE_H
#define XIKED_NETLINK_KERNEL_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink/kernel_ops.h"

struct kernel_fake;

enum kernel_fake_op {
	KFAKE_GET_SPI,
	KFAKE_ADD_SA,
	KFAKE_UPDATE_SA,
	KFAKE_DEL_SA,
	KFAKE_QUERY_SA,
	KFAKE_ADD_POLICY,
	KFAKE_DEL_POLICY,
	KFAKE_FLUSH_STALE,
	KFAKE_MIGRATE,
	KFAKE_OP_COUNT
};

/* Longest key the fake stores (HMAC-SHA-512 uses 64 bytes; AES-256-GCM 36). */
#define KERNEL_FAKE_KEY_MAX 128u
#define KERNEL_FAKE_ALG_MAX 64u

/* First SPI get_spi hands out (network order of this value); then +1 per call. */
#define KERNEL_FAKE_SPI_FIRST 0xc0000100u

/* Create a fake and plug it into *out (out->ops, out->k). ev is copied (may be NULL).
 * The fake is owned by *out: kernel_free(out) frees it. The returned pointer is for the
 * test's inspection calls and stays valid until then. NULL on allocation failure. */
struct kernel_fake *kernel_fake_new(const struct kernel_events *ev, struct kernel *out);

/* One installed state. sa's pointers (enc_alg, keys, sel) point into the fake and stay
 * valid until the next call that changes this state or the fake's tables. */
struct kernel_fake_sa {
	struct kernel_sa sa;
	bool larval; /* created by get_spi, not yet filled by update_sa */
	struct kernel_sa_stats stats; /* what query_sa returns; set with kernel_fake_set_stats */
};

/* States (including larval ones) and policies currently installed. */
size_t kernel_fake_sa_count(const struct kernel_fake *f);
size_t kernel_fake_larval_count(const struct kernel_fake *f);
size_t kernel_fake_policy_count(const struct kernel_fake *f);

/* Look-ups; NULL if absent. Results borrowed (see struct kernel_fake_sa). */
const struct kernel_fake_sa *kernel_fake_find_sa(const struct kernel_fake *f, const struct kaddr *dst, uint32_t spi,
						 uint8_t proto);
const struct kernel_policy *kernel_fake_find_policy(const struct kernel_fake *f, const struct ksel *sel,
						    enum kdir dir, uint32_t mark, uint32_t mark_mask, uint32_t if_id);

/* Visit every state / policy (order unspecified). The callback must not change the fake. */
void kernel_fake_foreach_sa(const struct kernel_fake *f, void (*fn)(void *arg, const struct kernel_fake_sa *s),
			    void *arg);
void kernel_fake_foreach_policy(const struct kernel_fake *f, void (*fn)(void *arg, const struct kernel_policy *p),
				void *arg);

/* Set what query_sa reports for a state. Returns 0 or -ESRCH. */
int kernel_fake_set_stats(struct kernel_fake *f, const struct kaddr *dst, uint32_t spi, uint8_t proto,
			  const struct kernel_sa_stats *stats);

/* Make the next `times` calls of op fail with err (a negative errno) without any effect.
 * last_extack then returns "injected failure". times 0 cancels. */
void kernel_fake_fail(struct kernel_fake *f, enum kernel_fake_op op, int err, unsigned times);

/* Calls made per op (successful or not). */
unsigned kernel_fake_calls(const struct kernel_fake *f, enum kernel_fake_op op);

/* The call log, in order. Entries carry no key material. */
struct kernel_fake_call {
	enum kernel_fake_op op;
	int result;
	struct kaddr dst; /* SA ops; for policies the selector's dst */
	uint32_t spi; /* network order; 0 for policy ops */
	uint8_t proto;
	uint32_t reqid; /* SA's or policy template's; 0 when the op has none */
	bool inbound; /* SA ops: the SA's flag */
	enum kdir dir; /* policy ops */
};
size_t kernel_fake_log_len(const struct kernel_fake *f);
const struct kernel_fake_call *kernel_fake_log_at(const struct kernel_fake *f, size_t i);
void kernel_fake_log_clear(struct kernel_fake *f);

/* Queue events; they are delivered by event_dispatch (event_fd becomes readable).
 * Arguments are copied. A hard expire of an installed state removes it now. */
int kernel_fake_inject_expire(struct kernel_fake *f, uint32_t spi, uint8_t proto, const struct kaddr *dst, bool hard);
/* What the kernel does net.core.xfrm_acq_expires seconds after an ALLOCSPI: every larval
 * state is deleted and a hard expire carrying its (dst, spi, proto) is queued. Returns the
 * number of states expired. */
size_t kernel_fake_expire_larval(struct kernel_fake *f);
int kernel_fake_inject_acquire(struct kernel_fake *f, const struct ksel *sel, uint32_t reqid);
int kernel_fake_inject_mapping(struct kernel_fake *f, uint32_t spi, const struct kaddr *old_addr, uint16_t old_port,
			       const struct kaddr *new_addr, uint16_t new_port);
size_t kernel_fake_pending_events(const struct kernel_fake *f);

/* true if the len bytes of pat appear anywhere in the fake's state storage (live or freed
 * slots). Tests use it with a key after del_sa: it must be false. */
bool kernel_fake_holds_bytes(const struct kernel_fake *f, const uint8_t *pat, size_t len);

#endif
