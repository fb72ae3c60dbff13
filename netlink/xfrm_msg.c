/* netlink/xfrm_msg.c: NETLINK_XFRM request builders and message parsers (see xfrm_msg.h).
 *
 * Message layouts are the kernel's uapi (linux/xfrm.h): a fixed struct after the nlmsghdr,
 * then attributes (XFRMA_*). Everything multi-byte inside the fixed structs is host order
 * except SPIs, ports and addresses, which are network order.
 */
#include "netlink/xfrm_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/udp.h>
#include <netlink/attr.h>

#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2 /* RFC 3948 */
#endif

void xfrm_msg_free(struct nl_msg *msg)
{
	if (msg == NULL)
		return;
	explicit_bzero(nlmsg_hdr(msg), nlmsg_get_max_size(msg));
	nlmsg_free(msg);
}

/* A new message with a zeroed fixed header of hdrlen bytes. */
static int msg_start(int type, int flags, size_t hdrlen, struct nl_msg **out, void **hdr)
{
	struct nl_msg *msg;
	struct nlmsghdr *nlh;

	*out = NULL;
	msg = nlmsg_alloc_size(XFRM_MSG_BUFSIZE);
	if (msg == NULL)
		return -ENOMEM;
	nlh = nlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, type, (int)hdrlen, flags);
	if (nlh == NULL) {
		xfrm_msg_free(msg);
		return -EMSGSIZE;
	}
	*hdr = nlmsg_data(nlh);
	memset(*hdr, 0, hdrlen);
	*out = msg;
	return 0;
}

static bool family_ok(uint8_t family)
{
	return family == AF_INET || family == AF_INET6;
}

static void addr_to_xfrm(const struct kaddr *a, xfrm_address_t *x)
{
	memset(x, 0, sizeof(*x));
	memcpy(x, a->a, kaddr_len(a->family));
}

static void addr_from_xfrm(const xfrm_address_t *x, uint16_t family, struct kaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (family != AF_INET && family != AF_INET6)
		return;
	a->family = (uint8_t)family;
	memcpy(a->a, x, kaddr_len(a->family));
}

/* Zero the bits of a (len bytes) past the first plen bits. */
static void mask_prefix(uint8_t *a, size_t len, unsigned plen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned bits = plen > i * 8 ? plen - (unsigned)i * 8 : 0;

		if (bits >= 8)
			continue;
		a[i] &= (uint8_t)(0xff00u >> bits);
	}
}

int xfrm_sel_from_ksel(const struct ksel *ks, struct xfrm_selector *out)
{
	uint8_t family = ks->src.family != 0 ? ks->src.family : ks->dst.family;
	unsigned maxlen;

	memset(out, 0, sizeof(*out));
	if (!family_ok(family))
		return -EINVAL;
	/* An unset side is allowed only as a wildcard. */
	if ((ks->src.family != 0 && ks->src.family != family) || (ks->dst.family != 0 && ks->dst.family != family))
		return -EINVAL;
	if ((ks->src.family == 0 && ks->src_plen != 0) || (ks->dst.family == 0 && ks->dst_plen != 0))
		return -EINVAL;
	maxlen = (unsigned)kaddr_len(family) * 8;
	if (ks->src_plen > maxlen || ks->dst_plen > maxlen)
		return -EINVAL;
	out->family = family;
	addr_to_xfrm(&ks->src, &out->saddr);
	addr_to_xfrm(&ks->dst, &out->daddr);
	mask_prefix((uint8_t *)&out->saddr, kaddr_len(family), ks->src_plen);
	mask_prefix((uint8_t *)&out->daddr, kaddr_len(family), ks->dst_plen);
	out->prefixlen_s = ks->src_plen;
	out->prefixlen_d = ks->dst_plen;
	out->proto = ks->proto;
	out->sport = htons(ks->sport & ks->sport_mask);
	out->sport_mask = htons(ks->sport_mask);
	out->dport = htons(ks->dport & ks->dport_mask);
	out->dport_mask = htons(ks->dport_mask);
	return 0;
}

void xfrm_sel_to_ksel(const struct xfrm_selector *xs, struct ksel *out)
{
	memset(out, 0, sizeof(*out));
	addr_from_xfrm(&xs->saddr, xs->family, &out->src);
	addr_from_xfrm(&xs->daddr, xs->family, &out->dst);
	out->src_plen = xs->prefixlen_s;
	out->dst_plen = xs->prefixlen_d;
	out->proto = xs->proto;
	out->sport = ntohs(xs->sport);
	out->sport_mask = ntohs(xs->sport_mask);
	out->dport = ntohs(xs->dport);
	out->dport_mask = ntohs(xs->dport_mask);
}

static int put_mark(struct nl_msg *msg, uint32_t mark, uint32_t mask)
{
	struct xfrm_mark m = { .v = mark, .m = mask };

	if (mask == 0)
		return 0;
	return nla_put(msg, XFRMA_MARK, sizeof(m), &m) < 0 ? -EMSGSIZE : 0;
}

static int put_if_id(struct nl_msg *msg, uint32_t if_id)
{
	if (if_id == 0)
		return 0;
	return nla_put_u32(msg, XFRMA_IF_ID, if_id) < 0 ? -EMSGSIZE : 0;
}

static bool name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && strlen(name) <= XFRM_ALG_NAME_MAX;
}

/* XFRMA_ALG_AEAD, XFRMA_ALG_CRYPT or XFRMA_ALG_AUTH_TRUNC, with the key written directly into
 * the message (its only copy outside the caller's secret buffer). extra_bits is the ICV
 * length for AEAD, the truncation length for AUTH_TRUNC. */
static int put_algo(struct nl_msg *msg, int type, const char *name, const uint8_t *key, size_t keylen,
		    uint32_t extra_bits)
{
	size_t head;
	struct nlattr *nla;
	uint8_t *p;
	unsigned int bits = (unsigned int)(keylen * 8);

	switch (type) {
	case XFRMA_ALG_AEAD:
		head = sizeof(struct xfrm_algo_aead);
		break;
	case XFRMA_ALG_AUTH_TRUNC:
		head = sizeof(struct xfrm_algo_auth);
		break;
	default:
		head = sizeof(struct xfrm_algo);
		break;
	}
	nla = nla_reserve(msg, type, (int)(head + keylen));
	if (nla == NULL)
		return -EMSGSIZE;
	p = nla_data(nla);
	memset(p, 0, head);
	/* alg_name is the first member of all three structs. */
	memcpy(p, name, strlen(name));
	switch (type) {
	case XFRMA_ALG_AEAD: {
		struct xfrm_algo_aead *a = (struct xfrm_algo_aead *)(void *)p;

		a->alg_key_len = bits;
		a->alg_icv_len = extra_bits;
		break;
	}
	case XFRMA_ALG_AUTH_TRUNC: {
		struct xfrm_algo_auth *a = (struct xfrm_algo_auth *)(void *)p;

		a->alg_key_len = bits;
		a->alg_trunc_len = extra_bits;
		break;
	}
	default: {
		struct xfrm_algo *a = (struct xfrm_algo *)(void *)p;

		a->alg_key_len = bits;
		break;
	}
	}
	if (keylen != 0)
		memcpy(p + head, key, keylen);
	return 0;
}

/* XFRM treats byte/packet limits as always active (0 would expire at once), so "unlimited"
 * is XFRM_INF; time limits of 0 mean none. */
static uint64_t lim(uint64_t v)
{
	return v == 0 ? XFRM_INF : v;
}

static int sa_validate(const struct kernel_sa *sa)
{
	bool aead = sa->icv_bits != 0;

	if (!family_ok(sa->src.family) || sa->src.family != sa->dst.family)
		return -EINVAL;
	if (sa->proto != IPPROTO_ESP && sa->proto != IPPROTO_AH)
		return -EINVAL;
	if (sa->mode != KMODE_TRANSPORT && sa->mode != KMODE_TUNNEL)
		return -EINVAL;
	if (aead && (sa->integ_alg != NULL || !name_ok(sa->enc_alg) || sa->proto != IPPROTO_ESP))
		return -EINVAL;
	if (sa->enc_alg != NULL && !name_ok(sa->enc_alg))
		return -EINVAL;
	if (sa->integ_alg != NULL && !name_ok(sa->integ_alg))
		return -EINVAL;
	if (sa->enc_alg == NULL && sa->integ_alg == NULL)
		return -EINVAL;
	if (sa->enc_key_len > XFRM_KEY_MAX || sa->integ_key_len > XFRM_KEY_MAX)
		return -EINVAL;
	if ((sa->enc_key_len != 0 && sa->enc_key == NULL) || (sa->integ_key_len != 0 && sa->integ_key == NULL))
		return -EINVAL;
	if (sa->replay_window > XFRMA_REPLAY_ESN_MAX)
		return -EINVAL;
	if (sa->esn && sa->proto != IPPROTO_ESP)
		return -EINVAL;
	if (sa->sel != NULL && sa->mode != KMODE_TRANSPORT)
		return -EINVAL;
	return 0;
}

/* Replay protection (RFC 4303 3.4.3). The legacy u8 replay_window of xfrm_usersa_info only
 * gives a 32-packet bitmap, so ESN states and any window above 32 use XFRMA_REPLAY_ESN_VAL
 * (the kernel then requires the legacy field to be 0). An outbound ESN state gets a 1-packet
 * window because kernels without XFRMA_SA_DIR reject ESN with a 0 window; the window is
 * never consulted on output. */
static int put_replay(struct nl_msg *msg, const struct kernel_sa *sa, struct xfrm_usersa_info *info)
{
	uint32_t window = sa->replay_window;
	struct xfrm_replay_state_esn *rs;
	struct nlattr *nla;
	uint32_t bmp_len;

	if (!sa->esn && window <= 32) {
		info->replay_window = (uint8_t)window;
		return 0;
	}
	if (sa->esn && window == 0 && !sa->inbound)
		window = 1;
	bmp_len = (window + 31) / 32;
	nla = nla_reserve(msg, XFRMA_REPLAY_ESN_VAL, (int)(sizeof(*rs) + bmp_len * sizeof(uint32_t)));
	if (nla == NULL)
		return -EMSGSIZE;
	rs = nla_data(nla);
	memset(rs, 0, sizeof(*rs) + bmp_len * sizeof(uint32_t));
	rs->bmp_len = bmp_len;
	rs->replay_window = window;
	info->replay_window = 0;
	return 0;
}

int xfrm_msg_newsa(const struct kernel_sa *sa, bool update, struct nl_msg **out)
{
	struct nl_msg *msg = NULL;
	struct xfrm_usersa_info *info;
	void *hdr;
	int err;

	*out = NULL;
	err = sa_validate(sa);
	if (err != 0)
		return err;
	err = msg_start(update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA, 0, sizeof(*info), &msg, &hdr);
	if (err != 0)
		return err;
	info = hdr;
	info->family = sa->dst.family;
	addr_to_xfrm(&sa->dst, &info->id.daddr);
	addr_to_xfrm(&sa->src, &info->saddr);
	info->id.spi = sa->spi;
	info->id.proto = sa->proto;
	info->mode = sa->mode == KMODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
	info->reqid = sa->reqid;
	info->lft.soft_byte_limit = lim(sa->soft_bytes);
	info->lft.hard_byte_limit = lim(sa->hard_bytes);
	info->lft.soft_packet_limit = lim(sa->soft_packets);
	info->lft.hard_packet_limit = lim(sa->hard_packets);
	info->lft.soft_add_expires_seconds = sa->soft_add_s;
	info->lft.hard_add_expires_seconds = sa->hard_add_s;
	info->lft.soft_use_expires_seconds = sa->soft_use_s;
	info->lft.hard_use_expires_seconds = sa->hard_use_s;
	if (sa->esn)
		info->flags |= XFRM_STATE_ESN;
	if (sa->mode == KMODE_TUNNEL) {
		/* Tunnel mode: the inner traffic is checked by the policies, so the state's
		 * selector stays empty and AF_UNSPEC lets IPv6 ride an IPv4 tunnel and back. */
		info->flags |= XFRM_STATE_AF_UNSPEC;
	} else if (sa->sel != NULL) {
		err = xfrm_sel_from_ksel(sa->sel, &info->sel);
		if (err != 0)
			goto out;
	} else {
		/* Transport mode without a selector: host to host, as the SA's addresses. */
		struct ksel hs = { .src = sa->src, .dst = sa->dst };

		hs.src_plen = hs.dst_plen = (uint8_t)(kaddr_len(sa->src.family) * 8);
		err = xfrm_sel_from_ksel(&hs, &info->sel);
		if (err != 0)
			goto out;
	}
	err = put_replay(msg, sa, info);
	if (err != 0)
		goto out;
	if (sa->icv_bits != 0) {
		err = put_algo(msg, XFRMA_ALG_AEAD, sa->enc_alg, sa->enc_key, sa->enc_key_len, sa->icv_bits);
	} else {
		if (sa->enc_alg != NULL)
			err = put_algo(msg, XFRMA_ALG_CRYPT, sa->enc_alg, sa->enc_key, sa->enc_key_len, 0);
		if (err == 0 && sa->integ_alg != NULL)
			err = put_algo(msg, XFRMA_ALG_AUTH_TRUNC, sa->integ_alg, sa->integ_key, sa->integ_key_len,
				       sa->integ_trunc_bits);
	}
	if (err != 0)
		goto out;
	if (sa->encap) {
		struct xfrm_encap_tmpl enc;

		memset(&enc, 0, sizeof(enc));
		enc.encap_type = UDP_ENCAP_ESPINUDP;
		enc.encap_sport = htons(sa->encap_sport);
		enc.encap_dport = htons(sa->encap_dport);
		if (nla_put(msg, XFRMA_ENCAP, sizeof(enc), &enc) < 0) {
			err = -EMSGSIZE;
			goto out;
		}
	}
	err = put_mark(msg, sa->mark, sa->mark_mask);
	if (err == 0)
		err = put_if_id(msg, sa->if_id);
out:
	if (err != 0) {
		xfrm_msg_free(msg);
		return err;
	}
	*out = msg;
	return 0;
}

int xfrm_msg_allocspi(const struct kaddr *src, const struct kaddr *dst, uint8_t proto, uint32_t reqid,
		      uint32_t want, struct nl_msg **out)
{
	struct xfrm_userspi_info *spi;
	void *hdr;
	int err;

	*out = NULL;
	if (!family_ok(dst->family) || src->family != dst->family)
		return -EINVAL;
	if (proto != IPPROTO_ESP && proto != IPPROTO_AH)
		return -EINVAL;
	err = msg_start(XFRM_MSG_ALLOCSPI, 0, sizeof(*spi), out, &hdr);
	if (err != 0)
		return err;
	spi = hdr;
	spi->info.family = dst->family;
	addr_to_xfrm(dst, &spi->info.id.daddr);
	addr_to_xfrm(src, &spi->info.saddr);
	spi->info.id.proto = proto;
	spi->info.reqid = reqid;
	/* min == max asks for that SPI alone (xfrm_alloc_spi). */
	spi->min = want != 0 ? ntohl(want) : XFRM_SPI_MIN;
	spi->max = want != 0 ? ntohl(want) : XFRM_SPI_MAX;
	return 0;
}

int xfrm_msg_said(int type, const struct kaddr *dst, uint32_t spi, uint8_t proto, uint32_t mark,
		  uint32_t mark_mask, struct nl_msg **out)
{
	struct xfrm_usersa_id *id;
	void *hdr;
	int err;

	*out = NULL;
	if (!family_ok(dst->family) || (type != XFRM_MSG_GETSA && type != XFRM_MSG_DELSA))
		return -EINVAL;
	err = msg_start(type, 0, sizeof(*id), out, &hdr);
	if (err != 0)
		return err;
	id = hdr;
	addr_to_xfrm(dst, &id->daddr);
	id->spi = spi;
	id->family = dst->family;
	id->proto = proto;
	err = put_mark(*out, mark, mark_mask);
	if (err != 0) {
		xfrm_msg_free(*out);
		*out = NULL;
	}
	return err;
}

static int dir_to_xfrm(enum kdir dir, uint8_t *out)
{
	switch (dir) {
	case KDIR_IN:
		*out = XFRM_POLICY_IN;
		return 0;
	case KDIR_OUT:
		*out = XFRM_POLICY_OUT;
		return 0;
	case KDIR_FWD:
		*out = XFRM_POLICY_FWD;
		return 0;
	}
	return -EINVAL;
}

int xfrm_msg_newpolicy(const struct kernel_policy *p, struct nl_msg **out)
{
	struct xfrm_userpolicy_info *pol;
	struct nl_msg *msg = NULL;
	void *hdr;
	uint8_t dir;
	int err;

	*out = NULL;
	if (dir_to_xfrm(p->dir, &dir) != 0)
		return -EINVAL;
	if (p->has_tmpl) {
		if (p->tmpl_proto != IPPROTO_ESP && p->tmpl_proto != IPPROTO_AH)
			return -EINVAL;
		if (p->tmpl_mode != KMODE_TRANSPORT && p->tmpl_mode != KMODE_TUNNEL)
			return -EINVAL;
		/* Tunnel endpoints are required in tunnel mode and must agree in family. */
		if (p->tmpl_mode == KMODE_TUNNEL &&
		    (!family_ok(p->tmpl_dst.family) || p->tmpl_src.family != p->tmpl_dst.family))
			return -EINVAL;
	}
	err = msg_start(XFRM_MSG_NEWPOLICY, 0, sizeof(*pol), &msg, &hdr);
	if (err != 0)
		return err;
	pol = hdr;
	err = xfrm_sel_from_ksel(&p->sel, &pol->sel);
	if (err != 0)
		goto out;
	pol->lft.soft_byte_limit = XFRM_INF;
	pol->lft.hard_byte_limit = XFRM_INF;
	pol->lft.soft_packet_limit = XFRM_INF;
	pol->lft.hard_packet_limit = XFRM_INF;
	pol->priority = p->priority;
	pol->dir = dir;
	pol->action = XFRM_POLICY_ALLOW;
	pol->share = XFRM_SHARE_ANY;
	if (p->has_tmpl) {
		struct xfrm_user_tmpl t;

		memset(&t, 0, sizeof(t));
		t.family = p->tmpl_dst.family != 0 ? p->tmpl_dst.family : pol->sel.family;
		addr_to_xfrm(&p->tmpl_dst, &t.id.daddr);
		addr_to_xfrm(&p->tmpl_src, &t.saddr);
		t.id.proto = p->tmpl_proto;
		t.mode = p->tmpl_mode == KMODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
		t.reqid = p->reqid;
		/* Any algorithm: the SA found by reqid was negotiated by IKE. */
		t.aalgos = t.ealgos = t.calgos = ~0u;
		if (nla_put(msg, XFRMA_TMPL, sizeof(t), &t) < 0) {
			err = -EMSGSIZE;
			goto out;
		}
	}
	err = put_mark(msg, p->mark, p->mark_mask);
	if (err == 0)
		err = put_if_id(msg, p->if_id);
out:
	if (err != 0) {
		xfrm_msg_free(msg);
		return err;
	}
	*out = msg;
	return 0;
}

int xfrm_msg_delpolicy_index(const struct xfrm_selector *sel, uint32_t index, uint8_t dir, uint8_t ptype,
			     uint32_t mark, uint32_t mark_mask, uint32_t if_id, struct nl_msg **out)
{
	struct xfrm_userpolicy_id *id;
	void *hdr;
	int err;

	*out = NULL;
	if (dir > XFRM_POLICY_FWD)
		return -EINVAL;
	err = msg_start(XFRM_MSG_DELPOLICY, 0, sizeof(*id), out, &hdr);
	if (err != 0)
		return err;
	id = hdr;
	id->sel = *sel;
	id->index = index;
	id->dir = dir;
	if (ptype != XFRM_POLICY_TYPE_MAIN) {
		struct xfrm_userpolicy_type t;

		memset(&t, 0, sizeof(t));
		t.type = ptype;
		if (nla_put(*out, XFRMA_POLICY_TYPE, sizeof(t), &t) < 0)
			err = -EMSGSIZE;
	}
	if (err == 0)
		err = put_mark(*out, mark, mark_mask);
	if (err == 0)
		err = put_if_id(*out, if_id);
	if (err != 0) {
		xfrm_msg_free(*out);
		*out = NULL;
	}
	return err;
}

int xfrm_msg_delpolicy(const struct ksel *sel, enum kdir dir, uint32_t mark, uint32_t mark_mask,
		       uint32_t if_id, struct nl_msg **out)
{
	struct xfrm_selector xs;
	uint8_t xdir;
	int err;

	*out = NULL;
	if (dir_to_xfrm(dir, &xdir) != 0)
		return -EINVAL;
	err = xfrm_sel_from_ksel(sel, &xs);
	if (err != 0)
		return err;
	return xfrm_msg_delpolicy_index(&xs, 0, xdir, XFRM_POLICY_TYPE_MAIN, mark, mark_mask, if_id, out);
}

int xfrm_msg_migrate(const struct kernel_migrate *m, struct nl_msg **out)
{
	struct xfrm_userpolicy_id *id;
	struct xfrm_user_migrate um;
	struct nl_msg *msg = NULL;
	void *hdr;
	uint8_t dir;
	int err;

	*out = NULL;
	if (dir_to_xfrm(m->dir, &dir) != 0)
		return -EINVAL;
	if (m->proto != IPPROTO_ESP && m->proto != IPPROTO_AH)
		return -EINVAL;
	if (m->mode != KMODE_TRANSPORT && m->mode != KMODE_TUNNEL)
		return -EINVAL;
	/* The kernel refuses wildcard new addresses (xfrm_migrate_check). */
	if (!family_ok(m->old_src.family) || m->old_dst.family != m->old_src.family ||
	    !family_ok(m->new_src.family) || m->new_dst.family != m->new_src.family)
		return -EINVAL;
	if (m->km_local.family != 0 &&
	    (!family_ok(m->km_local.family) || m->km_remote.family != m->km_local.family))
		return -EINVAL;
	err = msg_start(XFRM_MSG_MIGRATE, 0, sizeof(*id), &msg, &hdr);
	if (err != 0)
		return err;
	id = hdr;
	err = xfrm_sel_from_ksel(&m->sel, &id->sel);
	if (err != 0)
		goto out;
	id->dir = dir;
	memset(&um, 0, sizeof(um));
	addr_to_xfrm(&m->old_dst, &um.old_daddr);
	addr_to_xfrm(&m->old_src, &um.old_saddr);
	addr_to_xfrm(&m->new_dst, &um.new_daddr);
	addr_to_xfrm(&m->new_src, &um.new_saddr);
	um.proto = m->proto;
	um.mode = m->mode == KMODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
	um.reqid = m->reqid;
	um.old_family = m->old_src.family;
	um.new_family = m->new_src.family;
	if (nla_put(msg, XFRMA_MIGRATE, sizeof(um), &um) < 0) {
		err = -EMSGSIZE;
		goto out;
	}
	if (m->km_local.family != 0) {
		struct xfrm_user_kmaddress km;

		memset(&km, 0, sizeof(km));
		addr_to_xfrm(&m->km_local, &km.local);
		addr_to_xfrm(&m->km_remote, &km.remote);
		km.family = m->km_local.family;
		if (nla_put(msg, XFRMA_KMADDRESS, sizeof(km), &km) < 0) {
			err = -EMSGSIZE;
			goto out;
		}
	}
	if (m->encap) {
		struct xfrm_encap_tmpl enc;

		memset(&enc, 0, sizeof(enc));
		enc.encap_type = UDP_ENCAP_ESPINUDP;
		enc.encap_sport = htons(m->encap_sport);
		enc.encap_dport = htons(m->encap_dport);
		if (nla_put(msg, XFRMA_ENCAP, sizeof(enc), &enc) < 0) {
			err = -EMSGSIZE;
			goto out;
		}
	}
	err = put_if_id(msg, m->if_id);
out:
	if (err != 0) {
		xfrm_msg_free(msg);
		return err;
	}
	*out = msg;
	return 0;
}

int xfrm_msg_dump(int type, struct nl_msg **out)
{
	struct nl_msg *msg;

	*out = NULL;
	if (type != XFRM_MSG_GETSA && type != XFRM_MSG_GETPOLICY)
		return -EINVAL;
	msg = nlmsg_alloc_size(XFRM_MSG_BUFSIZE);
	if (msg == NULL)
		return -ENOMEM;
	/* No fixed header: xfrm_user starts a dump before parsing one, and then reads optional
	 * filter attributes from offset 0. */
	if (nlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, type, 0, NLM_F_DUMP) == NULL) {
		xfrm_msg_free(msg);
		return -EMSGSIZE;
	}
	*out = msg;
	return 0;
}

/* --- parsing --- */

/* Copy the fixed header of h into out (hdrlen bytes) if it fits in nlmsg_len. */
static int fixed(const struct nlmsghdr *h, void *out, size_t hdrlen)
{
	if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len - NLMSG_HDRLEN < hdrlen)
		return -EBADMSG;
	memcpy(out, (const uint8_t *)h + NLMSG_HDRLEN, hdrlen);
	return 0;
}

static struct nla_policy attr_policy[XFRMA_MAX + 1] = {
	[XFRMA_MARK] = { .minlen = sizeof(struct xfrm_mark) },
	[XFRMA_IF_ID] = { .type = NLA_U32 },
	[XFRMA_TMPL] = { .minlen = sizeof(struct xfrm_user_tmpl) },
	[XFRMA_POLICY_TYPE] = { .minlen = sizeof(struct xfrm_userpolicy_type) },
};

static int attrs(struct nlmsghdr *h, size_t hdrlen, struct nlattr **tb)
{
	return nlmsg_parse(h, (int)hdrlen, tb, XFRMA_MAX, attr_policy) < 0 ? -EBADMSG : 0;
}

static void get_mark(struct nlattr **tb, uint32_t *mark, uint32_t *mask)
{
	struct xfrm_mark m;

	*mark = *mask = 0;
	if (tb[XFRMA_MARK] == NULL)
		return;
	memcpy(&m, nla_data(tb[XFRMA_MARK]), sizeof(m));
	*mark = m.v;
	*mask = m.m;
}

int xfrm_parse_sa(struct nlmsghdr *h, struct xfrm_sa_brief *out)
{
	struct xfrm_usersa_info info;
	struct nlattr *tb[XFRMA_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (h->nlmsg_type != XFRM_MSG_NEWSA && h->nlmsg_type != XFRM_MSG_UPDSA)
		return -EBADMSG;
	if (fixed(h, &info, sizeof(info)) != 0 || attrs(h, sizeof(info), tb) != 0)
		return -EBADMSG;
	if (!family_ok((uint8_t)info.family))
		return -EBADMSG;
	addr_from_xfrm(&info.id.daddr, info.family, &out->dst);
	addr_from_xfrm(&info.saddr, info.family, &out->src);
	out->spi = info.id.spi;
	out->proto = info.id.proto;
	out->mode = info.mode;
	out->reqid = info.reqid;
	out->stats.bytes = info.curlft.bytes;
	out->stats.packets = info.curlft.packets;
	out->stats.add_time = info.curlft.add_time;
	out->stats.use_time = info.curlft.use_time;
	get_mark(tb, &out->mark, &out->mark_mask);
	explicit_bzero(&info, sizeof(info));
	return 0;
}

int xfrm_parse_policy(struct nlmsghdr *h, struct xfrm_policy_brief *out)
{
	struct xfrm_userpolicy_info pol;
	struct nlattr *tb[XFRMA_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (h->nlmsg_type != XFRM_MSG_NEWPOLICY && h->nlmsg_type != XFRM_MSG_UPDPOLICY)
		return -EBADMSG;
	if (fixed(h, &pol, sizeof(pol)) != 0 || attrs(h, sizeof(pol), tb) != 0)
		return -EBADMSG;
	out->sel = pol.sel;
	out->index = pol.index;
	out->priority = pol.priority;
	out->dir = pol.dir;
	out->ptype = XFRM_POLICY_TYPE_MAIN;
	if (tb[XFRMA_POLICY_TYPE] != NULL) {
		struct xfrm_userpolicy_type t;

		memcpy(&t, nla_data(tb[XFRMA_POLICY_TYPE]), sizeof(t));
		out->ptype = t.type;
	}
	get_mark(tb, &out->mark, &out->mark_mask);
	if (tb[XFRMA_IF_ID] != NULL)
		out->if_id = nla_get_u32(tb[XFRMA_IF_ID]);
	if (tb[XFRMA_TMPL] != NULL) {
		size_t n = (size_t)nla_len(tb[XFRMA_TMPL]) / sizeof(struct xfrm_user_tmpl);
		const uint8_t *p = nla_data(tb[XFRMA_TMPL]);

		if (n > XFRM_PARSE_MAX_TMPL)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++) {
			struct xfrm_user_tmpl t;

			memcpy(&t, p + i * sizeof(t), sizeof(t));
			out->reqid[i] = t.reqid;
		}
		out->ntmpl = (unsigned)n;
	}
	return 0;
}

int xfrm_parse_expire(struct nlmsghdr *h, struct xfrm_expire_ev *out)
{
	struct xfrm_user_expire ue;

	memset(out, 0, sizeof(*out));
	memset(&ue, 0, sizeof(ue));
	if (h->nlmsg_type != XFRM_MSG_EXPIRE)
		return -EBADMSG;
	/* hard follows the struct; offsetof + 1 is what the kernel always sends. */
	if (fixed(h, &ue, offsetof(struct xfrm_user_expire, hard) + 1) != 0)
		return -EBADMSG;
	if (!family_ok((uint8_t)ue.state.family))
		return -EBADMSG;
	addr_from_xfrm(&ue.state.id.daddr, ue.state.family, &out->dst);
	out->spi = ue.state.id.spi;
	out->proto = ue.state.id.proto;
	out->reqid = ue.state.reqid;
	out->hard = ue.hard != 0;
	return 0;
}

int xfrm_parse_acquire(struct nlmsghdr *h, struct xfrm_acquire_ev *out)
{
	struct xfrm_user_acquire ua;
	struct nlattr *tb[XFRMA_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (h->nlmsg_type != XFRM_MSG_ACQUIRE)
		return -EBADMSG;
	if (fixed(h, &ua, sizeof(ua)) != 0 || attrs(h, sizeof(ua), tb) != 0)
		return -EBADMSG;
	if (!family_ok((uint8_t)ua.sel.family))
		return -EBADMSG;
	xfrm_sel_to_ksel(&ua.sel, &out->sel);
	out->policy_index = ua.policy.index;
	if (tb[XFRMA_TMPL] != NULL) {
		struct xfrm_user_tmpl t;

		memcpy(&t, nla_data(tb[XFRMA_TMPL]), sizeof(t));
		out->reqid = t.reqid;
	}
	return 0;
}

int xfrm_parse_mapping(struct nlmsghdr *h, struct xfrm_mapping_ev *out)
{
	struct xfrm_user_mapping um;

	memset(out, 0, sizeof(*out));
	if (h->nlmsg_type != XFRM_MSG_MAPPING)
		return -EBADMSG;
	if (fixed(h, &um, sizeof(um)) != 0)
		return -EBADMSG;
	if (!family_ok((uint8_t)um.id.family))
		return -EBADMSG;
	addr_from_xfrm(&um.id.daddr, um.id.family, &out->dst);
	addr_from_xfrm(&um.old_saddr, um.id.family, &out->old_addr);
	addr_from_xfrm(&um.new_saddr, um.id.family, &out->new_addr);
	out->spi = um.id.spi;
	out->proto = um.id.proto;
	out->reqid = um.reqid;
	out->old_port = ntohs(um.old_sport);
	out->new_port = ntohs(um.new_sport);
	return 0;
}

bool xfrm_parse_extack(struct nlmsghdr *h, char *buf, size_t len)
{
	struct nlmsgerr e;
	size_t off, total = h->nlmsg_len;
	const uint8_t *base = (const uint8_t *)h;

	if (len == 0)
		return false;
	buf[0] = '\0';
	if (h->nlmsg_type != NLMSG_ERROR || !(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return false;
	if (fixed(h, &e, sizeof(e)) != 0)
		return false;
	/* The TLVs follow the error struct, or the error code and the whole echoed request
	 * when the ack is not capped (linux/netlink.h, struct nlmsgerr). */
	if (h->nlmsg_flags & NLM_F_CAPPED)
		off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(e));
	else
		off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int) + (size_t)e.msg.nlmsg_len);
	if (off > total)
		return false;
	{
		const struct nlattr *nla = (const struct nlattr *)(const void *)(base + off);
		int rem = (int)(total - off);

		for (; nla_ok(nla, rem); nla = nla_next(nla, &rem)) {
			size_t n;

			if (nla_type(nla) != NLMSGERR_ATTR_MSG)
				continue;
			n = strnlen(nla_data(nla), (size_t)nla_len(nla));
			if (n >= len)
				n = len - 1;
			memcpy(buf, nla_data(nla), n);
			buf[n] = '\0';
			return n > 0;
		}
	}
	return false;
}
