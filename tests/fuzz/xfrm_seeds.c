/*
 * Writes the seed corpus of fuzz_xfrm_msg: receive buffers as a
 * NETLINK_XFRM socket returns them, in the kernel's layouts
 * (<linux/xfrm.h>): SA and policy dump parts (NLM_F_MULTI, ending in
 * NLMSG_DONE), the replies to XFRM_MSG_GETSA, error acks with and without
 * an extended-ack message, and the EXPIRE, ACQUIRE and MAPPING events.
 * States and policies are made by netlink/xfrm_msg.c's own builders (what
 * the kernel echoes back has that layout) plus the attributes the kernel
 * adds to dumps (lifetime, replay state, ...).
 *
 * Usage: xfrm_seeds DIR  (tests/fuzz/corpus-xfrm_msg; run by hand, the
 * output is committed)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "netlink/kaddr.h"
#include "netlink/xfrm_msg.h"

#define BUF_MAX 16384

struct out {
	uint8_t b[BUF_MAX] __attribute__((aligned(8)));
	size_t len;
};

static const char *dir;

static void die(const char *what)
{
	fprintf(stderr, "xfrm_seeds: %s\n", what);
	exit(1);
}

static void save(const char *name, const struct out *o)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(o->b, 1, o->len, f) != o->len || fclose(f) != 0)
		die(path);
}

/* Appends a message (header + fixed part); returns its header. */
static struct nlmsghdr *start(struct out *o, uint16_t type, uint16_t flags, const void *fixed,
			      size_t len)
{
	if (o->len + NLMSG_HDRLEN + NLMSG_ALIGN(len) > BUF_MAX)
		die("buffer full");
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)(o->b + o->len);
	memset(h, 0, NLMSG_HDRLEN + NLMSG_ALIGN(len));
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = 7;
	h->nlmsg_pid = 0;
	h->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + NLMSG_ALIGN(len));
	memcpy((uint8_t *)h + NLMSG_HDRLEN, fixed, len);
	o->len += h->nlmsg_len;
	return h;
}

static void attr(struct out *o, struct nlmsghdr *h, uint16_t type, const void *data, size_t len)
{
	if (o->len + NLA_HDRLEN + NLA_ALIGN(len) > BUF_MAX)
		die("buffer full");
	struct nlattr *a = (struct nlattr *)(void *)(o->b + o->len);
	memset(a, 0, NLA_HDRLEN + NLA_ALIGN(len));
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	o->len += NLA_ALIGN(a->nla_len);
	h->nlmsg_len += NLA_ALIGN(a->nla_len);
}

/* Appends a message built by xfrm_msg.c, as the kernel echoes it. */
static struct nlmsghdr *copy_built(struct out *o, struct nl_msg *msg, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *src = nlmsg_hdr(msg);
	if (o->len + NLMSG_ALIGN(src->nlmsg_len) > BUF_MAX)
		die("buffer full");
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)(o->b + o->len);
	memcpy(h, src, src->nlmsg_len);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = 7;
	o->len += NLMSG_ALIGN(h->nlmsg_len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len);
	xfrm_msg_free(msg);
	return h;
}

static void done(struct out *o)
{
	int32_t zero = 0;
	start(o, NLMSG_DONE, NLM_F_MULTI, &zero, sizeof(zero));
}

static struct kaddr A(const char *s)
{
	struct kaddr a;
	if (kaddr_from_string(s, &a) != 0)
		die(s);
	return a;
}

static void sa_entry(struct out *o, const char *src, const char *dst, uint32_t spi, bool aead, bool encap)
{
	static const uint8_t key[36] = {1, 2, 3};
	struct ksel sel = {.src = A(src), .dst = A(dst), .src_plen = 32, .dst_plen = 32};
	struct kernel_sa sa = {
		.src = A(src), .dst = A(dst), .spi = htonl(spi), .proto = IPPROTO_ESP,
		.mode = encap ? KMODE_TRANSPORT : KMODE_TUNNEL, .reqid = 0x78690001u + spi % 7,
		.replay_window = 32, .esn = !aead, .encap = encap, .encap_sport = 4500,
		.encap_dport = 4500, .mark = aead ? 0 : 42, .mark_mask = aead ? 0 : 0xff,
		.soft_bytes = 1000000, .hard_bytes = 2000000,
		.sel = encap ? &sel : NULL,
	};
	if (sel.src.family == AF_INET6)
		sel.src_plen = sel.dst_plen = 128;
	if (aead) {
		sa.enc_alg = "rfc4106(gcm(aes))";
		sa.enc_key = key;
		sa.enc_key_len = 36;
		sa.icv_bits = 128;
	} else {
		sa.enc_alg = "cbc(aes)";
		sa.enc_key = key;
		sa.enc_key_len = 16;
		sa.integ_alg = "hmac(sha256)";
		sa.integ_key = key;
		sa.integ_key_len = 32;
		sa.integ_trunc_bits = 128;
	}
	struct nl_msg *msg;
	if (xfrm_msg_newsa(&sa, false, &msg) != 0)
		die("xfrm_msg_newsa");
	struct nlmsghdr *h = copy_built(o, msg, XFRM_MSG_NEWSA, NLM_F_MULTI);
	/* what dumps add: last use, replay state, lifetime stats */
	uint64_t lastused = 1700000100;
	struct xfrm_replay_state rs = {.oseq = 5, .seq = 9, .bitmap = 0x1ff};
	struct xfrm_lifetime_cur cur = {.bytes = 4242, .packets = 17, .add_time = 1700000000};
	attr(o, h, XFRMA_LASTUSED, &lastused, sizeof(lastused));
	attr(o, h, XFRMA_REPLAY_VAL, &rs, sizeof(rs));
	attr(o, h, XFRMA_LTIME_VAL, &cur, sizeof(cur));
}

static void policy_entry(struct out *o, const char *s, unsigned sp, const char *d, unsigned dp,
			 enum kdir dir_, bool tmpl, uint32_t if_id)
{
	struct kernel_policy p = {
		.sel = {.src = A(s), .dst = A(d), .src_plen = (uint8_t)sp, .dst_plen = (uint8_t)dp,
			.proto = tmpl ? 0 : IPPROTO_TCP, .dport = tmpl ? 0 : 443,
			.dport_mask = tmpl ? 0 : 0xffff},
		.dir = dir_, .priority = 375423, .mark = if_id ? 0 : 7, .mark_mask = if_id ? 0 : 0xffff,
		.if_id = if_id, .has_tmpl = tmpl, .tmpl_proto = IPPROTO_ESP, .tmpl_mode = KMODE_TUNNEL,
		.reqid = 0x78690003u,
	};
	if (tmpl) {
		p.tmpl_src = A(p.sel.src.family == AF_INET ? "192.0.2.1" : "2001:db8::1");
		p.tmpl_dst = A(p.sel.src.family == AF_INET ? "192.0.2.2" : "2001:db8::2");
	}
	struct nl_msg *msg;
	if (xfrm_msg_newpolicy(&p, &msg) != 0)
		die("xfrm_msg_newpolicy");
	struct nlmsghdr *h = copy_built(o, msg, XFRM_MSG_NEWPOLICY, NLM_F_MULTI);
	struct xfrm_userpolicy_type t = {.type = XFRM_POLICY_TYPE_MAIN};
	attr(o, h, XFRMA_POLICY_TYPE, &t, sizeof(t));
}

static void error_ack(struct out *o, int err, bool capped, const char *text)
{
	struct {
		struct nlmsgerr e;
		uint8_t echo[64];
	} m;
	memset(&m, 0, sizeof(m));
	m.e.error = err;
	m.e.msg.nlmsg_len = capped ? 300 : NLMSG_HDRLEN + sizeof(m.echo);
	m.e.msg.nlmsg_type = XFRM_MSG_NEWSA;
	m.e.msg.nlmsg_seq = 7;
	size_t len = capped ? sizeof(m.e) : sizeof(m.e) + sizeof(m.echo);
	/* uncapped: the echoed request follows the error code (its header is e.msg) */
	struct nlmsghdr *h = start(o, NLMSG_ERROR, (uint16_t)((capped ? NLM_F_CAPPED : 0) |
							      (text ? NLM_F_ACK_TLVS : 0)),
				   &m, len);
	if (text) {
		attr(o, h, NLMSGERR_ATTR_MSG, text, strlen(text) + 1);
		uint32_t off = 16;
		attr(o, h, NLMSGERR_ATTR_OFFS, &off, sizeof(off));
	}
}

int main(int argc, char **argv)
{
	static struct out o;
	if (argc != 2)
		die("usage: xfrm_seeds DIR");
	dir = argv[1];

	/* SA dump: v4 AEAD, v4 CBC+HMAC, v6 with UDP encapsulation, then DONE */
	o.len = 0;
	sa_entry(&o, "192.0.2.1", "192.0.2.2", 0xc0000100, true, false);
	sa_entry(&o, "192.0.2.2", "192.0.2.1", 0xc0000101, false, false);
	sa_entry(&o, "2001:db8::1", "2001:db8::2", 0xc0000102, true, true);
	done(&o);
	save("sa-dump", &o);
	/* one GETSA reply and its ack */
	o.len = 0;
	sa_entry(&o, "198.51.100.1", "203.0.113.9", 0xc0000200, false, true);
	((struct nlmsghdr *)(void *)o.b)->nlmsg_flags = 0;
	error_ack(&o, 0, true, NULL);
	save("getsa-reply", &o);

	/* policy dump: in/out/fwd with templates, a bypass policy, an if_id one */
	o.len = 0;
	policy_entry(&o, "10.1.0.0", 24, "10.2.0.0", 24, KDIR_OUT, true, 0);
	policy_entry(&o, "10.2.0.0", 24, "10.1.0.0", 24, KDIR_IN, true, 0);
	policy_entry(&o, "10.2.0.0", 24, "10.1.0.0", 24, KDIR_FWD, true, 0);
	policy_entry(&o, "2001:db8:1::", 48, "2001:db8:2::", 48, KDIR_OUT, false, 0);
	policy_entry(&o, "0.0.0.0", 0, "0.0.0.0", 0, KDIR_OUT, true, 5);
	done(&o);
	save("policy-dump", &o);

	/* error acks: capped with an extended ack, uncapped echoing the request, plain */
	o.len = 0;
	error_ack(&o, -EPROTONOSUPPORT, true, "Requested AEAD algorithm not found");
	save("ack-extack-capped", &o);
	o.len = 0;
	error_ack(&o, -EINVAL, false, "Invalid SPI");
	save("ack-extack-echo", &o);
	o.len = 0;
	error_ack(&o, -EEXIST, false, NULL);
	save("ack-plain", &o);
	o.len = 0;
	int32_t derr = -EINTR;
	start(&o, NLMSG_DONE, NLM_F_MULTI, &derr, sizeof(derr));
	save("dump-interrupted", &o);

	/* events */
	struct xfrm_user_expire ue;
	memset(&ue, 0, sizeof(ue));
	ue.state.family = AF_INET;
	struct kaddr d = A("192.0.2.2");
	memcpy(&ue.state.id.daddr, d.a, 4);
	ue.state.id.spi = htonl(0xc0000100u);
	ue.state.id.proto = IPPROTO_ESP;
	ue.state.reqid = 0x78690001u;
	ue.hard = 0;
	o.len = 0;
	/* the kernel sends offsetof(hard) + 1, padded */
	start(&o, XFRM_MSG_EXPIRE, 0, &ue, offsetof(struct xfrm_user_expire, hard) + 1);
	save("expire-soft", &o);
	ue.hard = 1;
	ue.state.family = AF_INET6;
	d = A("2001:db8::2");
	memcpy(&ue.state.id.daddr, d.a, 16);
	o.len = 0;
	start(&o, XFRM_MSG_EXPIRE, 0, &ue, sizeof(ue));
	save("expire-hard-v6", &o);

	struct xfrm_user_acquire ua;
	memset(&ua, 0, sizeof(ua));
	ua.id.proto = IPPROTO_ESP;
	ua.sel.family = AF_INET;
	memcpy(&ua.sel.saddr, A("10.1.0.5").a, 4);
	memcpy(&ua.sel.daddr, A("10.2.0.7").a, 4);
	ua.sel.prefixlen_s = ua.sel.prefixlen_d = 32;
	ua.sel.proto = IPPROTO_TCP;
	ua.sel.dport = htons(443);
	ua.sel.dport_mask = 0xffff;
	ua.policy.index = 88;
	ua.policy.dir = XFRM_POLICY_OUT;
	ua.policy.sel = ua.sel;
	struct xfrm_user_tmpl t;
	memset(&t, 0, sizeof(t));
	t.id.proto = IPPROTO_ESP;
	t.family = AF_INET;
	t.reqid = 0x78690002u;
	t.mode = XFRM_MODE_TUNNEL;
	o.len = 0;
	struct nlmsghdr *h = start(&o, XFRM_MSG_ACQUIRE, 0, &ua, sizeof(ua));
	attr(&o, h, XFRMA_TMPL, &t, sizeof(t));
	struct xfrm_user_sec_ctx ctx = {.len = sizeof(ctx), .exttype = XFRMA_SEC_CTX};
	attr(&o, h, XFRMA_SEC_CTX, &ctx, sizeof(ctx));
	save("acquire", &o);

	struct xfrm_user_mapping um;
	memset(&um, 0, sizeof(um));
	um.id.family = AF_INET;
	memcpy(&um.id.daddr, A("192.0.2.1").a, 4);
	um.id.spi = htonl(0xc0000105u);
	um.id.proto = IPPROTO_ESP;
	um.reqid = 0x78690004u;
	memcpy(&um.old_saddr, A("198.51.100.1").a, 4);
	memcpy(&um.new_saddr, A("198.51.100.2").a, 4);
	um.old_sport = htons(4500);
	um.new_sport = htons(1025);
	o.len = 0;
	start(&o, XFRM_MSG_MAPPING, 0, &um, sizeof(um));
	save("mapping", &o);

	/* several events in one read */
	o.len = 0;
	start(&o, XFRM_MSG_MAPPING, 0, &um, sizeof(um));
	h = start(&o, XFRM_MSG_ACQUIRE, 0, &ua, sizeof(ua));
	attr(&o, h, XFRMA_TMPL, &t, sizeof(t));
	start(&o, XFRM_MSG_EXPIRE, 0, &ue, sizeof(ue));
	save("events", &o);

	/*
	 * XFRM_MSG_MIGRATE as the kernel broadcasts it to XFRMNLGRP_MIGRATE
	 * (the daemon is subscribed; every parser must refuse it): the
	 * request xfrm_msg_migrate builds for a MOBIKE move, which is the
	 * event's layout.
	 */
	struct kernel_migrate km = {
		.sel = {.src = A("10.1.0.0"), .dst = A("10.2.0.0"), .src_plen = 24, .dst_plen = 24},
		.dir = KDIR_OUT, .old_src = A("192.0.2.1"), .old_dst = A("192.0.2.2"),
		.new_src = A("198.51.100.9"), .new_dst = A("192.0.2.2"), .proto = IPPROTO_ESP,
		.mode = KMODE_TUNNEL, .reqid = 7, .km_local = A("198.51.100.9"),
		.km_remote = A("192.0.2.2"),
	};
	struct nl_msg *mm;
	if (xfrm_msg_migrate(&km, &mm) != 0) {
		fprintf(stderr, "xfrm_seeds: xfrm_msg_migrate failed\n");
		return 1;
	}
	struct nlmsghdr *mh = nlmsg_hdr(mm);
	o.len = 0;
	memcpy(o.b, mh, mh->nlmsg_len);
	o.len = NLMSG_ALIGN(mh->nlmsg_len);
	save("migrate", &o);
	xfrm_msg_free(mm);
	return 0;
}
