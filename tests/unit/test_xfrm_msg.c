/* tests/unit/test_xfrm_msg.c: NETLINK_XFRM request builders and parsers (netlink/xfrm_msg.h),
 * checked byte by byte against the uapi structs, without a kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "netlink/xfrm_msg.h"

static struct kaddr A(const char *s)
{
	struct kaddr a;

	assert_int_equal(kaddr_from_string(s, &a), 0);
	return a;
}

static const uint8_t key36[36] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18,
				   19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36 };
static const uint8_t key32[32] = { 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
				   0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5,
				   0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef };

static struct kernel_sa aead_sa(void)
{
	struct kernel_sa sa;

	memset(&sa, 0, sizeof(sa));
	sa.src = A("192.0.2.1");
	sa.dst = A("192.0.2.2");
	sa.spi = htonl(0xc0000123u);
	sa.proto = IPPROTO_ESP;
	sa.mode = KMODE_TUNNEL;
	sa.reqid = XIKED_REQID_BASE + 9;
	sa.enc_alg = "rfc4106(gcm(aes))";
	sa.enc_key = key36;
	sa.enc_key_len = sizeof(key36);
	sa.icv_bits = 128;
	sa.replay_window = 32;
	return sa;
}

struct parsed {
	struct xfrm_usersa_info info;
	struct nlattr *tb[XFRMA_MAX + 1];
};

static void parse_sa_msg(struct nl_msg *msg, int type, struct parsed *p)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);

	assert_int_equal(h->nlmsg_type, type);
	assert_true(h->nlmsg_len >= NLMSG_HDRLEN + sizeof(p->info));
	memcpy(&p->info, nlmsg_data(h), sizeof(p->info));
	assert_int_equal(nlmsg_parse(h, sizeof(p->info), p->tb, XFRMA_MAX, NULL), 0);
}

static void test_newsa_aead_tunnel(void **state)
{
	struct kernel_sa sa = aead_sa();
	struct nl_msg *msg;
	struct parsed p;
	struct xfrm_algo_aead aead;
	struct xfrm_mark mark;
	struct xfrm_encap_tmpl enc;

	(void)state;
	sa.encap = true;
	sa.encap_sport = 4500;
	sa.encap_dport = 31337;
	sa.mark = 0x10;
	sa.mark_mask = 0xff;
	sa.if_id = 42;
	sa.hard_add_s = 3600;
	sa.soft_bytes = 1000000;
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), 0);
	parse_sa_msg(msg, XFRM_MSG_NEWSA, &p);
	assert_int_equal(p.info.family, AF_INET);
	assert_memory_equal(&p.info.id.daddr, sa.dst.a, 4);
	assert_memory_equal(&p.info.saddr, sa.src.a, 4);
	assert_int_equal(p.info.id.spi, sa.spi);
	assert_int_equal(p.info.id.proto, IPPROTO_ESP);
	assert_int_equal(p.info.mode, XFRM_MODE_TUNNEL);
	assert_int_equal(p.info.reqid, XIKED_REQID_BASE + 9);
	assert_int_equal(p.info.replay_window, 32);
	assert_true(p.info.flags & XFRM_STATE_AF_UNSPEC);
	assert_false(p.info.flags & XFRM_STATE_ESN);
	assert_int_equal(p.info.sel.family, 0);
	/* 0 = unlimited: XFRM_INF for volumes (0 would expire at once), 0 for times. */
	assert_true(p.info.lft.hard_byte_limit == XFRM_INF);
	assert_true(p.info.lft.soft_byte_limit == 1000000);
	assert_true(p.info.lft.hard_packet_limit == XFRM_INF);
	assert_true(p.info.lft.hard_add_expires_seconds == 3600);
	assert_true(p.info.lft.soft_use_expires_seconds == 0);

	assert_non_null(p.tb[XFRMA_ALG_AEAD]);
	assert_null(p.tb[XFRMA_ALG_CRYPT]);
	assert_null(p.tb[XFRMA_ALG_AUTH_TRUNC]);
	assert_null(p.tb[XFRMA_REPLAY_ESN_VAL]);
	assert_int_equal(nla_len(p.tb[XFRMA_ALG_AEAD]), sizeof(aead) + sizeof(key36));
	memcpy(&aead, nla_data(p.tb[XFRMA_ALG_AEAD]), sizeof(aead));
	assert_string_equal(aead.alg_name, "rfc4106(gcm(aes))");
	assert_int_equal(aead.alg_key_len, 36 * 8);
	assert_int_equal(aead.alg_icv_len, 128);
	assert_memory_equal((uint8_t *)nla_data(p.tb[XFRMA_ALG_AEAD]) + sizeof(aead), key36, sizeof(key36));

	assert_non_null(p.tb[XFRMA_ENCAP]);
	memcpy(&enc, nla_data(p.tb[XFRMA_ENCAP]), sizeof(enc));
	assert_int_equal(enc.encap_type, 2 /* UDP_ENCAP_ESPINUDP */);
	assert_int_equal(ntohs(enc.encap_sport), 4500);
	assert_int_equal(ntohs(enc.encap_dport), 31337);
	memcpy(&mark, nla_data(p.tb[XFRMA_MARK]), sizeof(mark));
	assert_int_equal(mark.v, 0x10);
	assert_int_equal(mark.m, 0xff);
	assert_int_equal(nla_get_u32(p.tb[XFRMA_IF_ID]), 42);
	xfrm_msg_free(msg);
	xfrm_msg_free(NULL);
}

static void test_newsa_cbc_hmac_transport_esn(void **state)
{
	struct kernel_sa sa = aead_sa();
	struct ksel sel;
	struct nl_msg *msg;
	struct parsed p;
	struct xfrm_algo algo;
	struct xfrm_algo_auth auth;
	struct xfrm_replay_state_esn rs;

	(void)state;
	sa.src = A("2001:db8::1");
	sa.dst = A("2001:db8::2");
	sa.mode = KMODE_TRANSPORT;
	sa.enc_alg = "cbc(aes)";
	sa.enc_key = key32;
	sa.enc_key_len = 32;
	sa.icv_bits = 0;
	sa.integ_alg = "hmac(sha512)";
	sa.integ_key = key36;
	sa.integ_key_len = 36;
	sa.integ_trunc_bits = 256;
	sa.esn = true;
	sa.replay_window = 1024;
	sa.inbound = true;
	memset(&sel, 0, sizeof(sel));
	sel.src = A("2001:db8::1");
	sel.dst = A("2001:db8::2");
	sel.src_plen = sel.dst_plen = 128;
	sel.proto = IPPROTO_TCP;
	sel.dport = 22;
	sel.dport_mask = 0xffff;
	sa.sel = &sel;
	assert_int_equal(xfrm_msg_newsa(&sa, true, &msg), 0);
	parse_sa_msg(msg, XFRM_MSG_UPDSA, &p);
	assert_int_equal(p.info.family, AF_INET6);
	assert_int_equal(p.info.mode, XFRM_MODE_TRANSPORT);
	assert_true(p.info.flags & XFRM_STATE_ESN);
	assert_false(p.info.flags & XFRM_STATE_AF_UNSPEC);
	/* ESN and windows above 32 use the replay_esn attribute; the legacy field is then 0. */
	assert_int_equal(p.info.replay_window, 0);
	assert_non_null(p.tb[XFRMA_REPLAY_ESN_VAL]);
	memcpy(&rs, nla_data(p.tb[XFRMA_REPLAY_ESN_VAL]), sizeof(rs));
	assert_int_equal(rs.replay_window, 1024);
	assert_int_equal(rs.bmp_len, 32);
	assert_int_equal(nla_len(p.tb[XFRMA_REPLAY_ESN_VAL]), sizeof(rs) + 32 * 4);
	assert_int_equal(p.info.sel.family, AF_INET6);
	assert_int_equal(p.info.sel.prefixlen_d, 128);
	assert_int_equal(p.info.sel.proto, IPPROTO_TCP);
	assert_int_equal(ntohs(p.info.sel.dport), 22);
	assert_int_equal(ntohs(p.info.sel.dport_mask), 0xffff);

	assert_null(p.tb[XFRMA_ALG_AEAD]);
	memcpy(&algo, nla_data(p.tb[XFRMA_ALG_CRYPT]), sizeof(algo));
	assert_string_equal(algo.alg_name, "cbc(aes)");
	assert_int_equal(algo.alg_key_len, 256);
	assert_memory_equal((uint8_t *)nla_data(p.tb[XFRMA_ALG_CRYPT]) + sizeof(algo), key32, 32);
	memcpy(&auth, nla_data(p.tb[XFRMA_ALG_AUTH_TRUNC]), sizeof(auth));
	assert_string_equal(auth.alg_name, "hmac(sha512)");
	assert_int_equal(auth.alg_key_len, 36 * 8);
	assert_int_equal(auth.alg_trunc_len, 256);
	assert_null(p.tb[XFRMA_MARK]);
	assert_null(p.tb[XFRMA_IF_ID]);
	assert_null(p.tb[XFRMA_ENCAP]);
	xfrm_msg_free(msg);

	/* Transport without a selector: host to host from the SA's own addresses. */
	sa.sel = NULL;
	sa.esn = false;
	sa.replay_window = 0;
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), 0);
	parse_sa_msg(msg, XFRM_MSG_NEWSA, &p);
	assert_int_equal(p.info.sel.prefixlen_s, 128);
	assert_memory_equal(&p.info.sel.daddr, sa.dst.a, 16);
	assert_int_equal(p.info.replay_window, 0);
	assert_null(p.tb[XFRMA_REPLAY_ESN_VAL]);
	xfrm_msg_free(msg);

	/* Outbound ESN with no window still gets a valid 1-packet window. */
	sa.esn = true;
	sa.inbound = false;
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), 0);
	parse_sa_msg(msg, XFRM_MSG_NEWSA, &p);
	memcpy(&rs, nla_data(p.tb[XFRMA_REPLAY_ESN_VAL]), sizeof(rs));
	assert_int_equal(rs.replay_window, 1);
	assert_int_equal(rs.bmp_len, 1);
	xfrm_msg_free(msg);
}

static void test_newsa_rejects(void **state)
{
	struct kernel_sa sa;
	struct nl_msg *msg = (struct nl_msg *)&sa;
	char longname[80];

	(void)state;
	sa = aead_sa();
	sa.integ_alg = "hmac(sha256)";
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), -EINVAL);
	assert_null(msg);
	sa = aead_sa();
	sa.dst = A("2001:db8::2");
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), -EINVAL);
	sa = aead_sa();
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	sa.enc_alg = longname;
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), -EINVAL);
	sa = aead_sa();
	sa.replay_window = XFRMA_REPLAY_ESN_MAX + 1;
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), -EINVAL);
	sa = aead_sa();
	sa.enc_key = NULL;
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), -EINVAL);
	sa = aead_sa();
	sa.proto = IPPROTO_UDP;
	assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), -EINVAL);
	sa = aead_sa();
	{
		struct ksel sel = { .src = A("10.0.0.1"), .dst = A("10.0.0.2"), .src_plen = 32, .dst_plen = 32 };

		sa.sel = &sel; /* a selector is for transport mode only */
		assert_int_equal(xfrm_msg_newsa(&sa, false, &msg), -EINVAL);
	}
}

static void test_selector_normalized(void **state)
{
	struct ksel ks, back;
	struct xfrm_selector xs;

	(void)state;
	memset(&ks, 0, sizeof(ks));
	ks.src = A("10.1.2.3");
	ks.dst = A("10.9.8.7");
	ks.src_plen = 16;
	ks.dst_plen = 20;
	ks.proto = IPPROTO_UDP;
	ks.sport = 0x1234;
	ks.sport_mask = 0xff00;
	assert_int_equal(xfrm_sel_from_ksel(&ks, &xs), 0);
	assert_int_equal(xs.family, AF_INET);
	assert_memory_equal(&xs.saddr, A("10.1.0.0").a, 4);
	assert_memory_equal(&xs.daddr, A("10.9.0.0").a, 4);
	assert_int_equal(ntohs(xs.sport), 0x1200);
	xfrm_sel_to_ksel(&xs, &back);
	assert_int_equal(back.src_plen, 16);
	assert_int_equal(back.dst_plen, 20);
	assert_int_equal(back.sport, 0x1200);
	assert_int_equal(back.sport_mask, 0xff00);
	assert_int_equal(back.proto, IPPROTO_UDP);

	/* Wildcard side with family 0 is fine; a prefix on it is not; families must agree. */
	memset(&ks, 0, sizeof(ks));
	ks.dst = A("2001:db8::");
	ks.dst_plen = 32;
	assert_int_equal(xfrm_sel_from_ksel(&ks, &xs), 0);
	assert_int_equal(xs.family, AF_INET6);
	ks.src_plen = 1;
	assert_int_equal(xfrm_sel_from_ksel(&ks, &xs), -EINVAL);
	ks.src_plen = 0;
	ks.src = A("10.0.0.0");
	assert_int_equal(xfrm_sel_from_ksel(&ks, &xs), -EINVAL);
	ks.src = A("2001:db8::");
	ks.dst_plen = 129;
	assert_int_equal(xfrm_sel_from_ksel(&ks, &xs), -EINVAL);
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(xfrm_sel_from_ksel(&ks, &xs), -EINVAL);
}

static void test_policy_msgs(void **state)
{
	struct kernel_policy p;
	struct nl_msg *msg;
	struct nlmsghdr *h;
	struct xfrm_userpolicy_info pol;
	struct xfrm_userpolicy_id pid;
	struct xfrm_user_tmpl t;
	struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_policy_brief b;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.sel.src = A("10.1.0.0");
	p.sel.dst = A("10.2.0.0");
	p.sel.src_plen = p.sel.dst_plen = 16;
	p.dir = KDIR_FWD;
	p.priority = 12345;
	p.has_tmpl = true;
	p.tmpl_src = A("192.0.2.2");
	p.tmpl_dst = A("192.0.2.1");
	p.tmpl_proto = IPPROTO_ESP;
	p.tmpl_mode = KMODE_TUNNEL;
	p.reqid = XIKED_REQID_BASE + 77;
	p.if_id = 3;
	assert_int_equal(xfrm_msg_newpolicy(&p, &msg), 0);
	h = nlmsg_hdr(msg);
	assert_int_equal(h->nlmsg_type, XFRM_MSG_NEWPOLICY);
	memcpy(&pol, nlmsg_data(h), sizeof(pol));
	assert_int_equal(pol.dir, XFRM_POLICY_FWD);
	assert_int_equal(pol.priority, 12345);
	assert_int_equal(pol.action, XFRM_POLICY_ALLOW);
	assert_true(pol.lft.hard_byte_limit == XFRM_INF);
	assert_int_equal(nlmsg_parse(h, sizeof(pol), tb, XFRMA_MAX, NULL), 0);
	assert_int_equal(nla_len(tb[XFRMA_TMPL]), sizeof(t));
	memcpy(&t, nla_data(tb[XFRMA_TMPL]), sizeof(t));
	assert_int_equal(t.reqid, XIKED_REQID_BASE + 77);
	assert_int_equal(t.mode, XFRM_MODE_TUNNEL);
	assert_int_equal(t.family, AF_INET);
	assert_memory_equal(&t.id.daddr, p.tmpl_dst.a, 4);
	assert_true(t.ealgos == ~0u && t.aalgos == ~0u);
	assert_int_equal(nla_get_u32(tb[XFRMA_IF_ID]), 3);
	assert_null(tb[XFRMA_MARK]);

	/* A dumped policy parses back into what flush_stale needs. */
	assert_int_equal(xfrm_parse_policy(h, &b), 0);
	assert_int_equal(b.dir, XFRM_POLICY_FWD);
	assert_int_equal(b.ntmpl, 1);
	assert_int_equal(b.reqid[0], XIKED_REQID_BASE + 77);
	assert_int_equal(b.if_id, 3);
	assert_int_equal(b.ptype, XFRM_POLICY_TYPE_MAIN);
	xfrm_msg_free(msg);

	/* Tunnel mode needs endpoints. */
	p.tmpl_dst.family = 0;
	assert_int_equal(xfrm_msg_newpolicy(&p, &msg), -EINVAL);

	assert_int_equal(xfrm_msg_delpolicy(&p.sel, KDIR_OUT, 5, 0xf, 0, &msg), 0);
	h = nlmsg_hdr(msg);
	assert_int_equal(h->nlmsg_type, XFRM_MSG_DELPOLICY);
	memcpy(&pid, nlmsg_data(h), sizeof(pid));
	assert_int_equal(pid.dir, XFRM_POLICY_OUT);
	assert_int_equal(pid.index, 0);
	assert_int_equal(pid.sel.prefixlen_s, 16);
	assert_int_equal(nlmsg_parse(h, sizeof(pid), tb, XFRMA_MAX, NULL), 0);
	assert_non_null(tb[XFRMA_MARK]);
	assert_null(tb[XFRMA_IF_ID]);
	xfrm_msg_free(msg);
}

static void test_misc_requests(void **state)
{
	struct kaddr s = A("192.0.2.2"), d = A("192.0.2.1");
	struct nl_msg *msg;
	struct nlmsghdr *h;
	struct xfrm_userspi_info spi;
	struct xfrm_usersa_id id;

	(void)state;
	assert_int_equal(xfrm_msg_allocspi(&s, &d, IPPROTO_ESP, 99, 0, &msg), 0);
	h = nlmsg_hdr(msg);
	assert_int_equal(h->nlmsg_type, XFRM_MSG_ALLOCSPI);
	memcpy(&spi, nlmsg_data(h), sizeof(spi));
	assert_int_equal(spi.min, XFRM_SPI_MIN);
	assert_int_equal(spi.max, XFRM_SPI_MAX);
	assert_true(spi.min > 255);
	assert_int_equal(spi.info.reqid, 99);
	assert_memory_equal(&spi.info.id.daddr, d.a, 4);
	xfrm_msg_free(msg);
	assert_int_equal(xfrm_msg_allocspi(&s, &d, IPPROTO_UDP, 99, 0, &msg), -EINVAL);
	/* One wanted SPI: min = max (an expired reservation made again). */
	assert_int_equal(xfrm_msg_allocspi(&s, &d, IPPROTO_ESP, 99, htonl(0xc1234567u), &msg), 0);
	memcpy(&spi, nlmsg_data(nlmsg_hdr(msg)), sizeof(spi));
	assert_int_equal(spi.min, 0xc1234567u);
	assert_int_equal(spi.max, 0xc1234567u);
	xfrm_msg_free(msg);

	assert_int_equal(xfrm_msg_said(XFRM_MSG_DELSA, &d, htonl(0xc0000001u), IPPROTO_ESP, 0, 0, &msg), 0);
	h = nlmsg_hdr(msg);
	memcpy(&id, nlmsg_data(h), sizeof(id));
	assert_int_equal(h->nlmsg_type, XFRM_MSG_DELSA);
	assert_int_equal(id.spi, htonl(0xc0000001u));
	assert_int_equal(id.family, AF_INET);
	assert_int_equal(h->nlmsg_len, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(id)));
	xfrm_msg_free(msg);
	assert_int_equal(xfrm_msg_said(XFRM_MSG_NEWSA, &d, 1, IPPROTO_ESP, 0, 0, &msg), -EINVAL);

	assert_int_equal(xfrm_msg_dump(XFRM_MSG_GETSA, &msg), 0);
	h = nlmsg_hdr(msg);
	assert_true(h->nlmsg_flags & NLM_F_DUMP);
	assert_int_equal(h->nlmsg_len, NLMSG_HDRLEN);
	xfrm_msg_free(msg);
	assert_int_equal(xfrm_msg_dump(XFRM_MSG_DELSA, &msg), -EINVAL);
}

/* A kernel-style message: header, fixed struct, attributes, built in a plain buffer. */
struct kmsg {
	union {
		struct nlmsghdr h;
		uint8_t b[2048];
	} u;
};

static struct nlmsghdr *kmsg_start(struct kmsg *m, uint16_t type, const void *fixed, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->u.h.nlmsg_type = type;
	m->u.h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + NLMSG_ALIGN(len));
	memcpy(m->u.b + NLMSG_HDRLEN, fixed, len);
	return &m->u.h;
}

static void kmsg_attr(struct kmsg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(void *)(m->u.b + m->u.h.nlmsg_len);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	m->u.h.nlmsg_len += NLA_ALIGN(a->nla_len);
}

static void test_parse_events(void **state)
{
	struct kmsg m;
	struct nlmsghdr *h;
	struct xfrm_user_expire ue;
	struct xfrm_user_acquire ua;
	struct xfrm_user_mapping um;
	struct xfrm_user_tmpl t;
	struct xfrm_expire_ev e;
	struct xfrm_acquire_ev a;
	struct xfrm_mapping_ev mp;
	struct kaddr d6 = A("2001:db8::9");

	(void)state;
	memset(&ue, 0, sizeof(ue));
	ue.state.family = AF_INET6;
	memcpy(&ue.state.id.daddr, d6.a, 16);
	ue.state.id.spi = htonl(0xc0000042u);
	ue.state.id.proto = IPPROTO_ESP;
	ue.state.reqid = 5;
	ue.hard = 1;
	h = kmsg_start(&m, XFRM_MSG_EXPIRE, &ue, sizeof(ue));
	assert_int_equal(xfrm_parse_expire(h, &e), 0);
	assert_true(e.hard);
	assert_int_equal(e.spi, htonl(0xc0000042u));
	assert_true(kaddr_eq(&e.dst, &d6));
	assert_int_equal(e.reqid, 5);
	/* Truncated: nlmsg_len below the struct. */
	h->nlmsg_len = NLMSG_HDRLEN + offsetof(struct xfrm_user_expire, hard);
	assert_int_equal(xfrm_parse_expire(h, &e), -EBADMSG);
	h->nlmsg_len = NLMSG_HDRLEN - 1;
	assert_int_equal(xfrm_parse_expire(h, &e), -EBADMSG);
	/* Wrong type for the parser. */
	h = kmsg_start(&m, XFRM_MSG_ACQUIRE, &ue, sizeof(ue));
	assert_int_equal(xfrm_parse_expire(h, &e), -EBADMSG);

	memset(&ua, 0, sizeof(ua));
	ua.sel.family = AF_INET;
	memcpy(&ua.sel.daddr, A("10.2.0.1").a, 4);
	ua.sel.prefixlen_d = 32;
	ua.sel.proto = IPPROTO_TCP;
	ua.sel.dport = htons(443);
	ua.sel.dport_mask = 0xffff;
	ua.policy.index = 88;
	memset(&t, 0, sizeof(t));
	t.reqid = XIKED_REQID_BASE + 1;
	h = kmsg_start(&m, XFRM_MSG_ACQUIRE, &ua, sizeof(ua));
	kmsg_attr(&m, XFRMA_TMPL, &t, sizeof(t));
	assert_int_equal(xfrm_parse_acquire(h, &a), 0);
	assert_int_equal(a.reqid, XIKED_REQID_BASE + 1);
	assert_int_equal(a.sel.dport, 443);
	assert_int_equal(a.sel.dst_plen, 32);
	assert_int_equal(a.policy_index, 88);
	/* A template attribute shorter than the struct is refused, not read past. */
	h = kmsg_start(&m, XFRM_MSG_ACQUIRE, &ua, sizeof(ua));
	kmsg_attr(&m, XFRMA_TMPL, &t, sizeof(t) - 4);
	assert_int_equal(xfrm_parse_acquire(h, &a), -EBADMSG);
	/* No template: reqid 0. */
	h = kmsg_start(&m, XFRM_MSG_ACQUIRE, &ua, sizeof(ua));
	assert_int_equal(xfrm_parse_acquire(h, &a), 0);
	assert_int_equal(a.reqid, 0);

	memset(&um, 0, sizeof(um));
	um.id.family = AF_INET;
	um.id.spi = htonl(7);
	um.id.proto = IPPROTO_ESP;
	memcpy(&um.old_saddr, A("198.51.100.1").a, 4);
	memcpy(&um.new_saddr, A("198.51.100.2").a, 4);
	um.old_sport = htons(4500);
	um.new_sport = htons(1025);
	h = kmsg_start(&m, XFRM_MSG_MAPPING, &um, sizeof(um));
	assert_int_equal(xfrm_parse_mapping(h, &mp), 0);
	assert_int_equal(mp.old_port, 4500);
	assert_int_equal(mp.new_port, 1025);
	assert_int_equal(mp.new_addr.a[3], 2);
	um.id.family = 99;
	h = kmsg_start(&m, XFRM_MSG_MAPPING, &um, sizeof(um));
	assert_int_equal(xfrm_parse_mapping(h, &mp), -EBADMSG);
}

/* XFRM_MSG_MIGRATE (RFC 4555 roaming): policy id, one migrate entry, KMADDRESS, ENCAP, IF_ID. */
static void test_migrate_msg(void **state)
{
	struct kernel_migrate m;
	struct nl_msg *msg;
	struct nlmsghdr *h;
	struct xfrm_userpolicy_id pid;
	struct xfrm_user_migrate um;
	struct xfrm_user_kmaddress km;
	struct xfrm_encap_tmpl enc;
	struct nlattr *tb[XFRMA_MAX + 1];

	(void)state;
	memset(&m, 0, sizeof(m));
	m.sel.src = A("10.1.0.0");
	m.sel.src_plen = 16;
	m.sel.dst = A("10.2.0.0");
	m.sel.dst_plen = 16;
	m.dir = KDIR_FWD;
	m.old_src = A("192.0.2.2");
	m.old_dst = A("192.0.2.1");
	m.new_src = A("198.51.100.7");
	m.new_dst = A("192.0.2.1");
	m.proto = IPPROTO_ESP;
	m.mode = KMODE_TUNNEL;
	m.reqid = XIKED_REQID_BASE + 3;
	m.encap = true;
	m.encap_sport = 4500;
	m.encap_dport = 4501;
	m.km_local = A("192.0.2.1");
	m.km_remote = A("198.51.100.7");
	m.if_id = 7;
	assert_int_equal(xfrm_msg_migrate(&m, &msg), 0);
	h = nlmsg_hdr(msg);
	assert_int_equal(h->nlmsg_type, XFRM_MSG_MIGRATE);
	memcpy(&pid, nlmsg_data(h), sizeof(pid));
	assert_int_equal(pid.dir, XFRM_POLICY_FWD);
	assert_int_equal(pid.sel.family, AF_INET);
	assert_int_equal(pid.sel.prefixlen_s, 16);
	assert_int_equal(nlmsg_parse(h, sizeof(pid), tb, XFRMA_MAX, NULL), 0);
	assert_non_null(tb[XFRMA_MIGRATE]);
	assert_int_equal(nla_len(tb[XFRMA_MIGRATE]), sizeof(um));
	memcpy(&um, nla_data(tb[XFRMA_MIGRATE]), sizeof(um));
	assert_memory_equal(&um.old_saddr, m.old_src.a, 4);
	assert_memory_equal(&um.old_daddr, m.old_dst.a, 4);
	assert_memory_equal(&um.new_saddr, m.new_src.a, 4);
	assert_memory_equal(&um.new_daddr, m.new_dst.a, 4);
	assert_int_equal(um.proto, IPPROTO_ESP);
	assert_int_equal(um.mode, XFRM_MODE_TUNNEL);
	assert_int_equal(um.reqid, XIKED_REQID_BASE + 3);
	assert_int_equal(um.old_family, AF_INET);
	assert_int_equal(um.new_family, AF_INET);
	assert_non_null(tb[XFRMA_KMADDRESS]);
	memcpy(&km, nla_data(tb[XFRMA_KMADDRESS]), sizeof(km));
	assert_memory_equal(&km.local, m.km_local.a, 4);
	assert_memory_equal(&km.remote, m.km_remote.a, 4);
	assert_int_equal(km.family, AF_INET);
	assert_non_null(tb[XFRMA_ENCAP]);
	memcpy(&enc, nla_data(tb[XFRMA_ENCAP]), sizeof(enc));
	assert_int_equal(enc.encap_type, 2);
	assert_int_equal(ntohs(enc.encap_sport), 4500);
	assert_int_equal(ntohs(enc.encap_dport), 4501);
	assert_non_null(tb[XFRMA_IF_ID]);
	assert_int_equal(nla_get_u32(tb[XFRMA_IF_ID]), 7);
	xfrm_msg_free(msg);

	/* Without encap, KMADDRESS or if_id: only the entry. */
	m.encap = false;
	memset(&m.km_local, 0, sizeof(m.km_local));
	m.if_id = 0;
	assert_int_equal(xfrm_msg_migrate(&m, &msg), 0);
	h = nlmsg_hdr(msg);
	assert_int_equal(nlmsg_parse(h, sizeof(pid), tb, XFRMA_MAX, NULL), 0);
	assert_non_null(tb[XFRMA_MIGRATE]);
	assert_null(tb[XFRMA_KMADDRESS]);
	assert_null(tb[XFRMA_ENCAP]);
	assert_null(tb[XFRMA_IF_ID]);
	xfrm_msg_free(msg);

	/* Refused before the kernel sees them: a family mix, a wildcard new address, no proto. */
	m.new_dst = A("2001:db8::1");
	assert_int_equal(xfrm_msg_migrate(&m, &msg), -EINVAL);
	assert_null(msg);
	m.new_dst = A("192.0.2.1");
	memset(&m.new_src, 0, sizeof(m.new_src));
	assert_int_equal(xfrm_msg_migrate(&m, &msg), -EINVAL);
	m.new_src = A("198.51.100.7");
	m.proto = 0;
	assert_int_equal(xfrm_msg_migrate(&m, &msg), -EINVAL);
}

static void test_parse_sa_and_extack(void **state)
{
	struct kmsg m;
	struct nlmsghdr *h;
	struct xfrm_usersa_info info;
	struct xfrm_mark mk = { .v = 3, .m = 0xf };
	struct xfrm_sa_brief b;
	struct nlmsgerr err;
	char buf[64];
	const char text[] = "Requested type not found";

	(void)state;
	memset(&info, 0, sizeof(info));
	info.family = AF_INET;
	info.id.proto = IPPROTO_ESP;
	info.id.spi = htonl(0xc0000009u);
	info.reqid = XIKED_REQID_MAX;
	info.curlft.bytes = 123456;
	info.curlft.packets = 789;
	info.curlft.add_time = 1700000000;
	h = kmsg_start(&m, XFRM_MSG_NEWSA, &info, sizeof(info));
	kmsg_attr(&m, XFRMA_MARK, &mk, sizeof(mk));
	assert_int_equal(xfrm_parse_sa(h, &b), 0);
	assert_int_equal(b.reqid, XIKED_REQID_MAX);
	assert_int_equal(b.stats.bytes, 123456);
	assert_int_equal(b.stats.packets, 789);
	assert_int_equal(b.stats.add_time, 1700000000);
	assert_int_equal(b.stats.use_time, 0);
	assert_int_equal(b.mark, 3);
	assert_int_equal(b.mark_mask, 0xf);

	/* A capped error ack with an extended-ack message. */
	memset(&err, 0, sizeof(err));
	err.error = -EPROTONOSUPPORT;
	err.msg.nlmsg_len = 300;
	h = kmsg_start(&m, NLMSG_ERROR, &err, sizeof(err));
	h->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
	kmsg_attr(&m, NLMSGERR_ATTR_MSG, text, sizeof(text));
	assert_true(xfrm_parse_extack(h, buf, sizeof(buf)));
	assert_string_equal(buf, text);
	/* Truncated to the caller's buffer. */
	assert_true(xfrm_parse_extack(h, buf, 10));
	assert_string_equal(buf, "Requested");
	/* Not capped: the TLVs come after the echoed request, which here claims more bytes
	 * than the message has: nothing is read past the end. */
	h->nlmsg_flags = NLM_F_ACK_TLVS;
	assert_false(xfrm_parse_extack(h, buf, sizeof(buf)));
	/* No TLV flag: no message. */
	h->nlmsg_flags = NLM_F_CAPPED;
	assert_false(xfrm_parse_extack(h, buf, sizeof(buf)));
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newsa_aead_tunnel),
		cmocka_unit_test(test_newsa_cbc_hmac_transport_esn),
		cmocka_unit_test(test_newsa_rejects),
		cmocka_unit_test(test_selector_normalized),
		cmocka_unit_test(test_policy_msgs),
		cmocka_unit_test(test_misc_requests),
		cmocka_unit_test(test_parse_events),
		cmocka_unit_test(test_parse_sa_and_extack),
		cmocka_unit_test(test_migrate_msg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
