/* netlink/kernel_ops.c: backend-independent helpers of the kernel seam: freeing, policy
 * priorities and error sentences (see kernel_ops.h). */
#include "netlink/kernel_ops.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

void kernel_free(struct kernel *kern)
{
	if (kern == NULL)
		return;
	if (kern->ops != NULL && kern->ops->free != NULL)
		kern->ops->free(kern->k);
	kern->ops = NULL;
	kern->k = NULL;
}

static unsigned popcount16(uint16_t v)
{
	return (unsigned)__builtin_popcount(v);
}

/* The kernel picks, among matching policies, the one with the lowest priority value, so a
 * narrower selector must get a smaller number or a broader one would shadow it (strongSwan
 * computes its priorities with the same aim). Weights, from strongest to weakest:
 *   - prefix lengths: src_plen + dst_plen (0..256), shifted left by 7;
 *   - a protocol (bit 6);
 *   - port bits: popcount of both port masks (0..32, fits in bits 0..5).
 * The sum is at most (256 << 7) + 64 + 32 = 32864, below 65536 as the header promises.
 * Families never compete (the kernel keeps separate lookups per family), so IPv4 prefixes
 * are not scaled to IPv6 ones. */
uint32_t kernel_policy_priority(const struct ksel *sel)
{
	uint32_t spec;
	unsigned plen = (unsigned)sel->src_plen + sel->dst_plen;

	if (plen > 256)
		plen = 256;
	spec = (uint32_t)plen << 7;
	if (sel->proto != 0)
		spec |= 1u << 6;
	spec += popcount16(sel->sport_mask) + popcount16(sel->dport_mask);
	return KERNEL_PRIO_BASE - spec;
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_ESP:
		return "ESP";
	case IPPROTO_AH:
		return "AH";
	case IPPROTO_COMP:
		return "IPComp";
	default:
		return NULL;
	}
}

/* The errno values below are the ones xfrm_user returns (measured on Linux 6.18 for
 * EPROTONOSUPPORT and ENOSYS, see tests/host/xfrm_probe.c):
 *   - EPROTONOSUPPORT: xfrm_get_type() found no handler for the protocol, i.e. the kernel
 *     lacks esp4/esp6/ah4/ah6/ipcomp (extack "Requested type not found");
 *   - ENOSYS: an algorithm name is unknown to the crypto API or its module is missing
 *     (extack "Requested AEAD algorithm not found", "Requested CRYPT algorithm not found"...);
 *   - ESRCH: GETSA/DELSA/UPDSA found no state; ENOENT: DELPOLICY found no policy. */
const char *kernel_strerror(int err, uint8_t proto)
{
	const char *p = proto_name(proto);

	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EPROTONOSUPPORT:
		switch (proto) {
		case IPPROTO_ESP:
			return "the kernel has no ESP support (CONFIG_INET_ESP / CONFIG_INET6_ESP)";
		case IPPROTO_AH:
			return "the kernel has no AH support (CONFIG_INET_AH / CONFIG_INET6_AH)";
		case IPPROTO_COMP:
			return "the kernel has no IPComp support (CONFIG_INET_IPCOMP / CONFIG_INET6_IPCOMP)";
		default:
			return "the kernel does not support this IPsec protocol";
		}
	case ENOSYS:
		return "the kernel does not provide the requested algorithm (its crypto module is "
		       "not built or cannot be loaded)";
	case ESRCH:
		return p != NULL ? "no such SA in the kernel" : "no such entry in the kernel";
	case ENOENT:
		return "no such policy in the kernel";
	case EEXIST:
		return "the kernel already has an entry with the same identity";
	case EPERM:
	case EACCES:
		return "permission denied by the kernel (xiked needs CAP_NET_ADMIN)";
	case EAFNOSUPPORT:
		return "the kernel does not support this address family here (IPv6 disabled?)";
	case EINVAL:
		return "the kernel rejected the request as invalid (check key lengths, ICV size, "
		       "replay window and selector)";
	case ENOMEM:
	case ENOBUFS:
		return "the kernel is out of memory or buffer space";
	case ETIMEDOUT:
		return "the kernel did not answer the netlink request in time";
	case EOPNOTSUPP:
		return "the kernel does not support this operation or option";
	case EMSGSIZE:
		return "a netlink message was too large";
	case EBADMSG:
	case EPROTO:
		return "the kernel's netlink answer was malformed";
	default:
		return strerror(err);
	}
}
