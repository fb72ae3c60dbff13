/*
 * A Child SA in the kernel: SPI allocation, the two XFRM states and the
 * policies (out, in, fwd per selector pair), and their removal. Order is
 * make-before-break (design.md rule 12): inbound state, outbound state, then
 * policies; removal in reverse.
 */
#ifndef XIKED_CHILD_KERNEL_H
#define XIKED_CHILD_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/secret.h"
#include "daemon/esp_alg.h"
#include "netlink/kernel_ops.h"

struct engine;
struct ikesa;
struct child_sa;
struct sockaddr_storage;

/* KEYMAT octets a suite needs: both directions' encryption + integrity keys (RFC 7296 2.17). */
size_t child_keymat_len(const struct esp_suite *s);
/* Reserve our inbound SPI (XFRM_MSG_ALLOCSPI). 0 or -errno (logged). */
int child_kernel_alloc_spi(struct ikesa *sa, struct child_sa *c);
/*
 * The kernel removed c's larval inbound state (xfrm_acq_expires) before
 * its exchange completed: reserve the same SPI again; if that fails the
 * install adds the state under it (logged). c stays.
 */
void child_kernel_larval_expired(struct ikesa *sa, struct child_sa *c);
/* Whether the kernel holds a state (dst, spi) of c's (a hard expire for it is stale). */
bool child_kernel_has_state(struct ikesa *sa, const struct child_sa *c, const struct kaddr *dst, uint32_t spi);
/*
 * Install c with keys from keymat (borrowed; child_keymat_len octets, the
 * initiator-to-responder keys first; we_initiated: we sent the request of
 * the exchange that made c): inbound state, outbound state (or,
 * with defer_out, keep its keys for child_kernel_install_out: the
 * responder of a rekey), then the reqid's policies if no other Child SA
 * holds them. On failure everything installed so far is removed, one clear
 * error is logged, and -errno returned.
 */
int child_kernel_install(struct ikesa *sa, struct child_sa *c, const struct secret *keymat,
			 bool we_initiated, bool defer_out);
/* Install a deferred outbound state (no-op without one). 0 or -errno (logged). */
int child_kernel_install_out(struct ikesa *sa, struct child_sa *c);
/*
 * Stop sending on c: remove its outbound state (or drop a deferred one);
 * the inbound state stays for what the peer has still in flight.
 */
void child_kernel_uninstall_out(struct ikesa *sa, struct child_sa *c);
/*
 * The policies of c's reqid without an IKE SA (trap policies, start =
 * trap): hold installs them unless another holder has; release removes
 * them with the last holder. local/remote are the tunnel endpoints for the
 * templates; tag prefixes log lines. 0 or -errno (logged).
 */
int child_kernel_hold_policies(struct engine *e, const struct sockaddr_storage *local,
			       const struct sockaddr_storage *remote, const char *tag,
			       struct child_sa *c);
void child_kernel_release_policies(struct engine *e, const struct sockaddr_storage *local,
				   const struct sockaddr_storage *remote, const char *tag,
				   struct child_sa *c);
/* The kernel's counters of c's inbound and outbound states (zeros for what is missing). */
void child_kernel_query(struct ikesa *sa, struct child_sa *c, struct kernel_sa_stats *in,
			struct kernel_sa_stats *out);
/*
 * sa's addresses or ports changed from old_local/old_remote (a NATed peer
 * moved, RFC 7296 2.23; XFRM_MSG_MAPPING, RFC 3948): install c's states
 * again with the current addresses and UDP encapsulation (in place when
 * only ports moved), and its policies when an address moved. 0 or -errno
 * (logged).
 */
int child_kernel_refresh(struct ikesa *sa, struct child_sa *c,
			 const struct sockaddr_storage *old_local,
			 const struct sockaddr_storage *old_remote);
/*
 * All of sa's installed Child SAs follow sa's endpoints, which moved from
 * old_local/old_remote (old_encap: whether they were UDP-encapsulated):
 * RFC 4555 UPDATE_SA_ADDRESSES, a NATed peer moving (RFC 7296 2.23),
 * XFRM_MSG_MAPPING. When addresses moved, policies and states go with
 * XFRM_MSG_MIGRATE (SPIs, replay state and sequence numbers kept); only a
 * state that MIGRATE did not reach is added again from the kept keys.
 * Port-only changes, encapsulation turned off and transport mode use
 * child_kernel_refresh. 0 or -errno (logged).
 */
int child_kernel_migrate(struct ikesa *sa, const struct sockaddr_storage *old_local,
			 const struct sockaddr_storage *old_remote, bool old_encap);
/* Remove whatever of c is in the kernel (states, policies, larval SPI). */
void child_kernel_uninstall(struct ikesa *sa, struct child_sa *c);
/*
 * c goes: its child-down event (unless a rekey replaced it), unlinked and
 * freed, removed from the kernel; a successor waiting for c to go (a
 * rekey's or a reauthentication's responder) gets its outbound state
 * first (make-before-break, RFC 7296 2.8).
 */
void child_kernel_remove(struct ikesa *sa, struct child_sa *c);

#endif
