/* tests/unit/test_kernel_fake.c: the recording fake kernel (netlink/kernel_fake.h), the
 * policy priority helper and kernel_strerror (netlink/kernel_ops.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>

#include "netlink/kernel_fake.h"
#include "netlink/kernel_ops.h"

static struct kaddr A(const char *s)
{
	struct kaddr a;

	assert_int_equal(kaddr_from_string(s, &a), 0);
	return a;
}

static const uint8_t enc_key[20] = { 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
				     0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x55, 0x66, 0x77, 0x88 };
static const uint8_t integ_key[32] = { 0xa5, 0x5a, 0xc3, 0x3c, 0x99, 0x66, 0x0f, 0xf0, 0x11, 0x22, 0x33,
				       0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
				       0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90 };

static struct kernel_sa gcm_sa(const char *src, const char *dst, uint32_t spi, uint32_t reqid)
{
	struct kernel_sa sa;

	memset(&sa, 0, sizeof(sa));
	sa.src = A(src);
	sa.dst = A(dst);
	sa.spi = htonl(spi);
	sa.proto = IPPROTO_ESP;
	sa.mode = KMODE_TUNNEL;
	sa.reqid = reqid;
	sa.enc_alg = "rfc4106(gcm(aes))";
	sa.enc_key = enc_key;
	sa.enc_key_len = sizeof(enc_key);
	sa.icv_bits = 128;
	sa.replay_window = 64;
	return sa;
}

struct fixture {
	struct kernel kern;
	struct kernel_fake *f;
};

static int setup(void **state)
{
	static struct fixture fx;

	memset(&fx, 0, sizeof(fx));
	fx.f = kernel_fake_new(NULL, &fx.kern);
	if (fx.f == NULL)
		return -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	kernel_free(&fx->kern);
	return 0;
}

static void test_add_find_del(void **state)
{
	struct fixture *fx = *state;
	struct kernel *k = &fx->kern;
	struct kernel_sa sa = gcm_sa("192.0.2.1", "192.0.2.2", 0xc0001000u, XIKED_REQID_BASE + 1);
	struct kaddr dst = A("192.0.2.2");
	const struct kernel_fake_sa *got;

	assert_int_equal(k->ops->add_sa(k->k, &sa), 0);
	assert_int_equal(kernel_fake_sa_count(fx->f), 1);
	assert_int_equal(k->ops->add_sa(k->k, &sa), -EEXIST);
	got = kernel_fake_find_sa(fx->f, &dst, sa.spi, IPPROTO_ESP);
	assert_non_null(got);
	assert_false(got->larval);
	assert_string_equal(got->sa.enc_alg, "rfc4106(gcm(aes))");
	assert_null(got->sa.integ_alg);
	assert_int_equal(got->sa.enc_key_len, sizeof(enc_key));
	assert_memory_equal(got->sa.enc_key, enc_key, sizeof(enc_key));
	assert_int_equal(got->sa.icv_bits, 128);
	assert_int_equal(got->sa.reqid, XIKED_REQID_BASE + 1);
	/* Other proto or spi: another identity. */
	assert_null(kernel_fake_find_sa(fx->f, &dst, sa.spi, IPPROTO_AH));
	assert_null(kernel_fake_find_sa(fx->f, &dst, htonl(0xc0001001u), IPPROTO_ESP));
	assert_true(kernel_fake_holds_bytes(fx->f, enc_key, sizeof(enc_key)));

	assert_int_equal(k->ops->del_sa(k->k, &dst, sa.spi, IPPROTO_ESP, 0, 0), 0);
	assert_int_equal(kernel_fake_sa_count(fx->f), 0);
	assert_null(kernel_fake_find_sa(fx->f, &dst, sa.spi, IPPROTO_ESP));
	/* The key is gone from every slot, live or free. */
	assert_false(kernel_fake_holds_bytes(fx->f, enc_key, sizeof(enc_key)));
	assert_int_equal(k->ops->del_sa(k->k, &dst, sa.spi, IPPROTO_ESP, 0, 0), -ESRCH);
	assert_int_equal(kernel_fake_calls(fx->f, KFAKE_ADD_SA), 2);
	assert_int_equal(kernel_fake_calls(fx->f, KFAKE_DEL_SA), 2);
}

static void test_keys_wiped_on_flush_and_growth(void **state)
{
	struct fixture *fx = *state;
	struct kernel *k = &fx->kern;
	struct kernel_sa sa = gcm_sa("192.0.2.1", "192.0.2.2", 0, XIKED_REQID_BASE + 2);

	sa.integ_alg = NULL;
	/* 200 states: the slot array and the hash grow several times on the way. */
	for (uint32_t i = 0; i < 200; i++) {
		sa.spi = htonl(0xc0002000u + i);
		assert_int_equal(k->ops->add_sa(k->k, &sa), 0);
	}
	assert_int_equal(kernel_fake_sa_count(fx->f), 200);
	for (uint32_t i = 0; i < 200; i += 37) {
		struct kaddr dst = A("192.0.2.2");

		assert_non_null(kernel_fake_find_sa(fx->f, &dst, htonl(0xc0002000u + i), IPPROTO_ESP));
	}
	assert_int_equal(k->ops->flush_stale(k->k), 0);
	assert_int_equal(kernel_fake_sa_count(fx->f), 0);
	assert_false(kernel_fake_holds_bytes(fx->f, enc_key, sizeof(enc_key)));
}

static void test_larval_update(void **state)
{
	struct fixture *fx = *state;
	struct kernel *k = &fx->kern;
	struct kaddr peer = A("2001:db8::2"), me = A("2001:db8::1");
	struct kernel_sa sa;
	const struct kernel_fake_sa *got;
	uint32_t spi = 0, spi2 = 0;

	assert_int_equal(k->ops->get_spi(k->k, &peer, &me, IPPROTO_ESP, XIKED_REQID_BASE + 3, 0, &spi), 0);
	assert_int_equal(ntohl(spi), KERNEL_FAKE_SPI_FIRST);
	assert_int_equal(k->ops->get_spi(k->k, &peer, &me, IPPROTO_ESP, XIKED_REQID_BASE + 3, 0, &spi2), 0);
	assert_int_not_equal(spi, spi2);
	assert_int_equal(kernel_fake_larval_count(fx->f), 2);
	got = kernel_fake_find_sa(fx->f, &me, spi, IPPROTO_ESP);
	assert_non_null(got);
	assert_true(got->larval);
	assert_null(got->sa.enc_alg);

	sa = gcm_sa("2001:db8::2", "2001:db8::1", ntohl(spi), XIKED_REQID_BASE + 3);
	sa.integ_alg = "hmac(sha256)"; /* AEAD plus integrity is refused */
	assert_int_equal(k->ops->update_sa(k->k, &sa), -EINVAL);
	sa.integ_alg = NULL;
	assert_int_equal(k->ops->update_sa(k->k, &sa), 0);
	got = kernel_fake_find_sa(fx->f, &me, spi, IPPROTO_ESP);
	assert_false(got->larval);
	assert_string_equal(got->sa.enc_alg, "rfc4106(gcm(aes))");
	assert_int_equal(kernel_fake_larval_count(fx->f), 1);

	/* Updating a valid state keeps its keys and takes new encapsulation/lifetimes. */
	sa.enc_key = integ_key;
	sa.encap = true;
	sa.encap_sport = 4500;
	sa.encap_dport = 4501;
	sa.hard_add_s = 3600;
	assert_int_equal(k->ops->update_sa(k->k, &sa), 0);
	got = kernel_fake_find_sa(fx->f, &me, spi, IPPROTO_ESP);
	assert_memory_equal(got->sa.enc_key, enc_key, sizeof(enc_key));
	assert_true(got->sa.encap);
	assert_int_equal(got->sa.encap_dport, 4501);
	assert_int_equal(got->sa.hard_add_s, 3600);

	/* No state: -ESRCH, as XFRM_MSG_UPDSA answers. */
	sa.spi = htonl(0x1234);
	assert_int_equal(k->ops->update_sa(k->k, &sa), -ESRCH);
	/* Mixed families are refused. */
	assert_int_equal(k->ops->get_spi(k->k, &peer, &(struct kaddr){ .family = AF_INET }, IPPROTO_ESP, 1, 0, &spi),
			 -EINVAL);

	/* xfrm_acq_expires: the larval state (spi2) goes with a hard expire carrying its SPI. */
	assert_int_equal(kernel_fake_expire_larval(fx->f), 1);
	assert_int_equal(kernel_fake_larval_count(fx->f), 0);
	assert_null(kernel_fake_find_sa(fx->f, &me, spi2, IPPROTO_ESP));
	assert_int_equal(kernel_fake_pending_events(fx->f), 1);
	sa.spi = spi2;
	assert_int_equal(k->ops->update_sa(k->k, &sa), -ESRCH);
	/* The same SPI can be asked for again; a taken one is -ENOENT. */
	assert_int_equal(k->ops->get_spi(k->k, &peer, &me, IPPROTO_ESP, XIKED_REQID_BASE + 3, spi2, &spi), 0);
	assert_int_equal(spi, spi2);
	assert_true(kernel_fake_find_sa(fx->f, &me, spi2, IPPROTO_ESP)->larval);
	assert_int_equal(k->ops->get_spi(k->k, &peer, &me, IPPROTO_ESP, XIKED_REQID_BASE + 3, spi2, &spi), -ENOENT);
	assert_int_equal(kernel_fake_expire_larval(fx->f), 1);
	assert_int_equal(kernel_fake_expire_larval(fx->f), 0);
}

static void test_marks(void **state)
{
	struct fixture *fx = *state;
	struct kernel *k = &fx->kern;
	struct kernel_sa sa = gcm_sa("192.0.2.1", "192.0.2.2", 0xc0003000u, XIKED_REQID_BASE + 4);
	struct kaddr dst = A("192.0.2.2");
	struct kernel_sa_stats st = { .bytes = 1000, .packets = 10, .add_time = 5, .use_time = 6 }, out;

	sa.mark = 0x100;
	sa.mark_mask = 0xf00;
	sa.if_id = 9;
	assert_int_equal(k->ops->add_sa(k->k, &sa), 0);
	assert_int_equal(kernel_fake_set_stats(fx->f, &dst, sa.spi, IPPROTO_ESP, &st), 0);
	/* The kernel's rule: (requested mark & state's mask) == state's value. */
	assert_int_equal(k->ops->query_sa(k->k, &dst, sa.spi, IPPROTO_ESP, 0x200, 0xf00, &out), -ESRCH);
	assert_int_equal(k->ops->query_sa(k->k, &dst, sa.spi, IPPROTO_ESP, 0x100, 0xf00, &out), 0);
	assert_int_equal(out.bytes, 1000);
	assert_int_equal(out.packets, 10);
	assert_int_equal(out.use_time, 6);
	assert_int_equal(k->ops->del_sa(k->k, &dst, sa.spi, IPPROTO_ESP, 0, 0), -ESRCH);
	assert_int_equal(k->ops->del_sa(k->k, &dst, sa.spi, IPPROTO_ESP, 0x1100, 0xffff), 0);
}

static struct kernel_policy policy(const char *src, uint8_t splen, const char *dst, uint8_t dplen, enum kdir dir,
				   uint32_t reqid)
{
	struct kernel_policy p;

	memset(&p, 0, sizeof(p));
	p.sel.src = A(src);
	p.sel.dst = A(dst);
	p.sel.src_plen = splen;
	p.sel.dst_plen = dplen;
	p.dir = dir;
	p.priority = kernel_policy_priority(&p.sel);
	p.has_tmpl = true;
	p.tmpl_proto = IPPROTO_ESP;
	p.tmpl_mode = KMODE_TUNNEL;
	p.tmpl_src = A("192.0.2.1");
	p.tmpl_dst = A("192.0.2.2");
	p.reqid = reqid;
	return p;
}

/* XFRM_MSG_MIGRATE as xfrm_migrate() does it: policy by selector, template by old addresses,
 * the first state of the old addresses moved with its SPI, keys and add time, its counters
 * starting at zero (xfrm_state_clone). */
static void test_migrate(void **state)
{
	struct fixture *fx = *state;
	struct kernel *k = &fx->kern;
	struct kernel_sa sa = gcm_sa("192.0.2.1", "192.0.2.2", 0xc0000042u, XIKED_REQID_BASE + 1);
	struct kernel_policy p = policy("10.1.0.0", 16, "10.2.0.0", 16, KDIR_OUT, XIKED_REQID_BASE + 1);
	struct kernel_sa_stats st = { .bytes = 1234, .packets = 7, .add_time = 99 }, q;
	struct kaddr old_dst = A("192.0.2.2"), new_dst = A("198.51.100.9");
	struct kernel_migrate m;

	assert_int_equal(k->ops->add_sa(k->k, &sa), 0);
	assert_int_equal(k->ops->add_policy(k->k, &p), 0);
	assert_int_equal(kernel_fake_set_stats(fx->f, &old_dst, sa.spi, IPPROTO_ESP, &st), 0);
	memset(&m, 0, sizeof(m));
	m.sel = p.sel;
	m.dir = KDIR_OUT;
	m.old_src = A("192.0.2.1");
	m.old_dst = old_dst;
	m.new_src = A("192.0.2.1");
	m.new_dst = new_dst;
	m.proto = IPPROTO_ESP;
	m.mode = KMODE_TUNNEL;
	m.reqid = XIKED_REQID_BASE + 1;
	m.encap = true;
	m.encap_sport = 4500;
	m.encap_dport = 4500;
	/* A template that does not lead from the old addresses: nothing moves. */
	m.old_dst = A("192.0.2.3");
	assert_int_equal(k->ops->migrate(k->k, &m), -ENODATA);
	assert_non_null(kernel_fake_find_sa(fx->f, &old_dst, sa.spi, IPPROTO_ESP));
	m.old_dst = old_dst;
	assert_int_equal(k->ops->migrate(k->k, &m), 0);
	const struct kernel_fake_call *c = kernel_fake_log_at(fx->f, kernel_fake_log_len(fx->f) - 1);
	assert_int_equal(c->op, KFAKE_MIGRATE);
	assert_int_equal(c->spi, sa.spi);
	assert_null(kernel_fake_find_sa(fx->f, &old_dst, sa.spi, IPPROTO_ESP));
	const struct kernel_fake_sa *n = kernel_fake_find_sa(fx->f, &new_dst, sa.spi, IPPROTO_ESP);
	assert_non_null(n);
	assert_memory_equal(n->sa.enc_key, enc_key, sizeof(enc_key));
	assert_int_equal(n->stats.bytes, 0);
	assert_int_equal(n->stats.packets, 0);
	assert_int_equal(n->stats.add_time, 99);
	assert_true(n->sa.encap);
	assert_int_equal(n->sa.encap_dport, 4500);
	assert_int_equal(kernel_fake_sa_count(fx->f), 1);
	assert_int_equal(k->ops->query_sa(k->k, &new_dst, sa.spi, IPPROTO_ESP, 0, 0, &q), 0);
	assert_true(kaddr_eq(&q.src, &m.new_src));
	const struct kernel_policy *np = kernel_fake_find_policy(fx->f, &p.sel, KDIR_OUT, 0, 0, 0);
	assert_non_null(np);
	assert_true(kaddr_eq(&np->tmpl_dst, &new_dst));
	/* Again from the old addresses: the template has moved. */
	assert_int_equal(k->ops->migrate(k->k, &m), -ENODATA);
	/* Back again: policy and state return to the old addresses. */
	m.old_dst = new_dst;
	m.new_dst = old_dst;
	assert_int_equal(k->ops->migrate(k->k, &m), 0);
	c = kernel_fake_log_at(fx->f, kernel_fake_log_len(fx->f) - 1);
	assert_int_equal(c->spi, sa.spi);
	assert_non_null(kernel_fake_find_sa(fx->f, &old_dst, sa.spi, IPPROTO_ESP));
	m.old_dst = old_dst;
	m.new_dst = new_dst;
	m.sel.dst_plen = 24;
	assert_int_equal(k->ops->migrate(k->k, &m), -ENOENT);
}

static void test_policies(void **state)
{
	struct fixture *fx = *state;
	struct kernel *k = &fx->kern;
	struct kernel_policy out = policy("10.1.0.0", 16, "10.2.0.0", 16, KDIR_OUT, XIKED_REQID_BASE + 5);
	struct kernel_policy in = policy("10.2.0.0", 16, "10.1.0.0", 16, KDIR_IN, XIKED_REQID_BASE + 5);
	struct kernel_policy marked = out;
	struct ksel host_bits = out.sel;
	const struct kernel_policy *got;

	assert_int_equal(k->ops->add_policy(k->k, &out), 0);
	assert_int_equal(k->ops->add_policy(k->k, &in), 0);
	assert_int_equal(k->ops->add_policy(k->k, &out), -EEXIST);
	marked.mark = 1;
	marked.mark_mask = 0xff;
	assert_int_equal(k->ops->add_policy(k->k, &marked), 0);
	assert_int_equal(kernel_fake_policy_count(fx->f), 3);
	/* Host bits beyond the prefix do not make another selector (the kernel sees the
	 * same normalized one from the netlink backend). */
	host_bits.src.a[3] = 77;
	got = kernel_fake_find_policy(fx->f, &host_bits, KDIR_OUT, 0, 0, 0);
	assert_non_null(got);
	assert_int_equal(got->reqid, XIKED_REQID_BASE + 5);
	assert_int_equal(got->priority, kernel_policy_priority(&out.sel));
	assert_null(kernel_fake_find_policy(fx->f, &out.sel, KDIR_FWD, 0, 0, 0));
	assert_int_equal(k->ops->del_policy(k->k, &host_bits, KDIR_OUT, 0, 0, 0), 0);
	assert_int_equal(k->ops->del_policy(k->k, &out.sel, KDIR_OUT, 0, 0, 0), -ENOENT);
	assert_int_equal(k->ops->del_policy(k->k, &out.sel, KDIR_OUT, 1, 0xff, 0), 0);
	assert_int_equal(kernel_fake_policy_count(fx->f), 1);
	/* Bad selectors are refused like the kernel would. */
	out.sel.src_plen = 33;
	assert_int_equal(k->ops->add_policy(k->k, &out), -EINVAL);
}

static void test_flush_stale_only_ours(void **state)
{
	struct fixture *fx = *state;
	struct kernel *k = &fx->kern;
	struct kernel_sa ours = gcm_sa("192.0.2.1", "192.0.2.2", 0xc0004000u, XIKED_REQID_MAX);
	struct kernel_sa theirs = gcm_sa("192.0.2.1", "192.0.2.2", 0xc0004001u, XIKED_REQID_MAX + 1);
	struct kernel_sa below = gcm_sa("192.0.2.1", "192.0.2.2", 0xc0004002u, XIKED_REQID_BASE - 1);
	struct kernel_policy p_ours = policy("10.1.0.0", 16, "10.2.0.0", 16, KDIR_OUT, XIKED_REQID_BASE);
	struct kernel_policy p_theirs = policy("10.3.0.0", 16, "10.4.0.0", 16, KDIR_OUT, 42);
	struct kernel_policy bypass = policy("10.5.0.0", 16, "10.6.0.0", 16, KDIR_IN, 0);
	struct kaddr dst = A("192.0.2.2");

	bypass.has_tmpl = false;
	assert_int_equal(k->ops->add_sa(k->k, &ours), 0);
	assert_int_equal(k->ops->add_sa(k->k, &theirs), 0);
	assert_int_equal(k->ops->add_sa(k->k, &below), 0);
	assert_int_equal(k->ops->add_policy(k->k, &p_ours), 0);
	assert_int_equal(k->ops->add_policy(k->k, &p_theirs), 0);
	assert_int_equal(k->ops->add_policy(k->k, &bypass), 0);
	assert_int_equal(k->ops->flush_stale(k->k), 0);
	assert_int_equal(kernel_fake_sa_count(fx->f), 2);
	assert_null(kernel_fake_find_sa(fx->f, &dst, ours.spi, IPPROTO_ESP));
	assert_non_null(kernel_fake_find_sa(fx->f, &dst, theirs.spi, IPPROTO_ESP));
	assert_non_null(kernel_fake_find_sa(fx->f, &dst, below.spi, IPPROTO_ESP));
	assert_int_equal(kernel_fake_policy_count(fx->f), 2);
	assert_null(kernel_fake_find_policy(fx->f, &p_ours.sel, KDIR_OUT, 0, 0, 0));
	assert_non_null(kernel_fake_find_policy(fx->f, &p_theirs.sel, KDIR_OUT, 0, 0, 0));
}

static void test_injected_failures_and_log(void **state)
{
	struct fixture *fx = *state;
	struct kernel *k = &fx->kern;
	struct kernel_sa in = gcm_sa("192.0.2.2", "192.0.2.1", 0xc0005000u, XIKED_REQID_BASE + 6);
	struct kernel_sa out = gcm_sa("192.0.2.1", "192.0.2.2", 0xc0005001u, XIKED_REQID_BASE + 6);
	const struct kernel_fake_call *c;

	in.inbound = true;
	kernel_fake_fail(fx->f, KFAKE_ADD_SA, -EPROTONOSUPPORT, 1);
	assert_int_equal(k->ops->add_sa(k->k, &in), -EPROTONOSUPPORT);
	assert_string_equal(k->ops->last_extack(k->k), "injected failure");
	assert_int_equal(kernel_fake_sa_count(fx->f), 0);
	/* One-shot: the retry goes through. */
	assert_int_equal(k->ops->add_sa(k->k, &in), 0);
	assert_null(k->ops->last_extack(k->k));
	assert_int_equal(k->ops->add_sa(k->k, &out), 0);

	assert_int_equal(kernel_fake_log_len(fx->f), 3);
	c = kernel_fake_log_at(fx->f, 0);
	assert_int_equal(c->op, KFAKE_ADD_SA);
	assert_int_equal(c->result, -EPROTONOSUPPORT);
	/* Make before break is visible in the log: inbound first, then outbound. */
	c = kernel_fake_log_at(fx->f, 1);
	assert_true(c->inbound);
	assert_int_equal(c->spi, htonl(0xc0005000u));
	assert_int_equal(c->result, 0);
	c = kernel_fake_log_at(fx->f, 2);
	assert_false(c->inbound);
	assert_int_equal(c->reqid, XIKED_REQID_BASE + 6);
	assert_null(kernel_fake_log_at(fx->f, 3));
	kernel_fake_log_clear(fx->f);
	assert_int_equal(kernel_fake_log_len(fx->f), 0);

	/* A positive errno is taken as its negative; times 0 cancels. */
	kernel_fake_fail(fx->f, KFAKE_ADD_POLICY, ENOMEM, 5);
	kernel_fake_fail(fx->f, KFAKE_ADD_POLICY, ENOMEM, 0);
	{
		struct kernel_policy p = policy("10.1.0.0", 16, "10.2.0.0", 16, KDIR_OUT, 1);

		assert_int_equal(k->ops->add_policy(k->k, &p), 0);
		kernel_fake_fail(fx->f, KFAKE_DEL_POLICY, ENOMEM, 2);
		assert_int_equal(k->ops->del_policy(k->k, &p.sel, KDIR_OUT, 0, 0, 0), -ENOMEM);
		assert_int_equal(k->ops->del_policy(k->k, &p.sel, KDIR_OUT, 0, 0, 0), -ENOMEM);
		assert_int_equal(k->ops->del_policy(k->k, &p.sel, KDIR_OUT, 0, 0, 0), 0);
	}
}

struct events_seen {
	int expire, acquire, mapping;
	bool hard;
	uint32_t spi, reqid;
	uint16_t new_port;
	struct kernel *k; /* for the re-entrancy check */
	bool inject_from_cb;
	struct kernel_fake *f;
};

static void ev_expire(void *ctx, uint32_t spi, uint8_t proto, const struct kaddr *dst, bool hard)
{
	struct events_seen *s = ctx;

	(void)dst;
	assert_int_equal(proto, IPPROTO_ESP);
	s->expire++;
	s->hard = hard;
	s->spi = spi;
	/* What the engine does on a hard expire: the state is already gone. */
	if (hard)
		assert_int_equal(s->k->ops->del_sa(s->k->k, dst, spi, proto, 0, 0), -ESRCH);
}

static void ev_acquire(void *ctx, const struct ksel *sel, uint32_t reqid)
{
	struct events_seen *s = ctx;

	assert_int_equal(sel->dport, 443);
	s->acquire++;
	s->reqid = reqid;
	if (s->inject_from_cb) {
		struct kaddr a = A("198.51.100.1");

		s->inject_from_cb = false;
		assert_int_equal(kernel_fake_inject_mapping(s->f, 1, &a, 4500, &a, 1024), 0);
	}
}

static void ev_mapping(void *ctx, uint32_t spi, const struct kaddr *old_addr, uint16_t old_port,
		       const struct kaddr *new_addr, uint16_t new_port)
{
	struct events_seen *s = ctx;

	(void)spi;
	(void)old_addr;
	(void)old_port;
	(void)new_addr;
	s->mapping++;
	s->new_port = new_port;
}

static void test_events(void **state)
{
	struct events_seen seen;
	struct kernel_events ev = { .expire = ev_expire, .acquire = ev_acquire, .mapping = ev_mapping, .ctx = &seen };
	struct kernel kern;
	struct kernel_fake *f;
	struct kaddr dst = A("192.0.2.2");
	struct kernel_sa sa = gcm_sa("192.0.2.1", "192.0.2.2", 0xc0006000u, XIKED_REQID_BASE + 7);
	struct ksel sel;
	struct pollfd pfd;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	f = kernel_fake_new(&ev, &kern);
	assert_non_null(f);
	seen.k = &kern;
	seen.f = f;
	pfd.fd = kern.ops->event_fd(kern.k);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);

	assert_int_equal(kern.ops->add_sa(kern.k, &sa), 0);
	assert_int_equal(kernel_fake_inject_expire(f, sa.spi, IPPROTO_ESP, &dst, false), 0);
	/* Soft expire leaves the state; nothing delivered before dispatch. */
	assert_int_equal(kernel_fake_sa_count(f), 1);
	assert_int_equal(seen.expire, 0);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	kern.ops->event_dispatch(kern.k);
	assert_int_equal(seen.expire, 1);
	assert_false(seen.hard);
	assert_int_equal(seen.spi, sa.spi);
	assert_int_equal(poll(&pfd, 1, 0), 0);

	assert_int_equal(kernel_fake_inject_expire(f, sa.spi, IPPROTO_ESP, &dst, true), 0);
	assert_int_equal(kernel_fake_sa_count(f), 0);
	assert_false(kernel_fake_holds_bytes(f, enc_key, sizeof(enc_key)));
	kern.ops->event_dispatch(kern.k);
	assert_int_equal(seen.expire, 2);
	assert_true(seen.hard);

	memset(&sel, 0, sizeof(sel));
	sel.src = A("10.1.0.5");
	sel.dst = A("10.2.0.9");
	sel.src_plen = sel.dst_plen = 32;
	sel.proto = IPPROTO_TCP;
	sel.dport = 443;
	sel.dport_mask = 0xffff;
	seen.inject_from_cb = true;
	assert_int_equal(kernel_fake_inject_acquire(f, &sel, XIKED_REQID_BASE + 8), 0);
	assert_int_equal(kernel_fake_pending_events(f), 1);
	kern.ops->event_dispatch(kern.k);
	assert_int_equal(seen.acquire, 1);
	assert_int_equal(seen.reqid, XIKED_REQID_BASE + 8);
	/* The mapping injected from inside the callback waits for the next dispatch, and the
	 * fd says so. */
	assert_int_equal(seen.mapping, 0);
	assert_int_equal(kernel_fake_pending_events(f), 1);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	kern.ops->event_dispatch(kern.k);
	assert_int_equal(seen.mapping, 1);
	assert_int_equal(seen.new_port, 1024);
	assert_int_equal(kernel_fake_pending_events(f), 0);
	kernel_free(&kern);
	assert_null(kern.ops);
	kernel_free(&kern);
	kernel_free(NULL);
}

static struct ksel sel4(const char *s, uint8_t sp, const char *d, uint8_t dp)
{
	struct ksel x;

	memset(&x, 0, sizeof(x));
	x.src = A(s);
	x.dst = A(d);
	x.src_plen = sp;
	x.dst_plen = dp;
	return x;
}

static void test_priority(void **state)
{
	struct ksel any = sel4("0.0.0.0", 0, "0.0.0.0", 0);
	struct ksel nets = sel4("10.1.0.0", 16, "10.2.0.0", 16);
	struct ksel hosts = sel4("10.1.0.1", 32, "10.2.0.1", 32);
	struct ksel hosts_tcp = hosts, hosts_tcp_port = hosts, hosts_tcp_two_ports = hosts;
	struct ksel v6 = sel4("2001:db8::1", 128, "2001:db8::2", 128);

	(void)state;
	hosts_tcp.proto = hosts_tcp_port.proto = hosts_tcp_two_ports.proto = IPPROTO_TCP;
	hosts_tcp_port.dport = 443;
	hosts_tcp_port.dport_mask = 0xffff;
	hosts_tcp_two_ports.dport = 443;
	hosts_tcp_two_ports.dport_mask = 0xffff;
	hosts_tcp_two_ports.sport = 1000;
	hosts_tcp_two_ports.sport_mask = 0xfff0;

	/* Lower number = preferred; each step narrower must win. */
	assert_int_equal(kernel_policy_priority(&any), KERNEL_PRIO_BASE);
	assert_true(kernel_policy_priority(&nets) < kernel_policy_priority(&any));
	assert_true(kernel_policy_priority(&hosts) < kernel_policy_priority(&nets));
	assert_true(kernel_policy_priority(&hosts_tcp) < kernel_policy_priority(&hosts));
	assert_true(kernel_policy_priority(&hosts_tcp_port) < kernel_policy_priority(&hosts_tcp));
	assert_true(kernel_policy_priority(&hosts_tcp_two_ports) < kernel_policy_priority(&hosts_tcp_port));
	/* One prefix bit outweighs protocol and ports together. */
	{
		struct ksel wider = hosts_tcp_two_ports;

		wider.dst_plen = 31;
		assert_true(kernel_policy_priority(&hosts) < kernel_policy_priority(&wider));
	}
	/* The promised range holds at the extreme. */
	v6.proto = IPPROTO_UDP;
	v6.sport_mask = v6.dport_mask = 0xffff;
	assert_true(kernel_policy_priority(&v6) > KERNEL_PRIO_BASE - 65536);
	assert_int_equal(kernel_policy_priority(&v6), KERNEL_PRIO_BASE - (256u << 7) - 64 - 32);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(kernel_strerror(-EPROTONOSUPPORT, IPPROTO_ESP),
			    "the kernel has no ESP support (CONFIG_INET_ESP / CONFIG_INET6_ESP)");
	assert_string_equal(kernel_strerror(EPROTONOSUPPORT, IPPROTO_ESP),
			    kernel_strerror(-EPROTONOSUPPORT, IPPROTO_ESP));
	assert_non_null(strstr(kernel_strerror(-EPROTONOSUPPORT, IPPROTO_AH), "no AH support"));
	assert_non_null(strstr(kernel_strerror(-ENOSYS, IPPROTO_ESP), "algorithm"));
	assert_non_null(strstr(kernel_strerror(-EPERM, 0), "CAP_NET_ADMIN"));
	assert_non_null(strstr(kernel_strerror(-ESRCH, IPPROTO_ESP), "no such SA"));
	assert_non_null(strstr(kernel_strerror(-ENOENT, 0), "no such policy"));
	/* Anything else still reads as a sentence. */
	assert_non_null(kernel_strerror(-EXDEV, 0));
}

static void test_kaddr(void **state)
{
	struct kaddr a, b;
	char buf[KADDR_STRLEN];

	(void)state;
	assert_int_equal(kaddr_from_string("192.0.2.7", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(kaddr_len(a.family), 4);
	assert_string_equal(kaddr_to_string(&a, buf, sizeof(buf)), "192.0.2.7");
	assert_int_equal(kaddr_from_string("2001:db8::7", &b), 0);
	assert_string_equal(kaddr_to_string(&b, buf, sizeof(buf)), "2001:db8::7");
	assert_false(kaddr_eq(&a, &b));
	b = a;
	assert_true(kaddr_eq(&a, &b));
	assert_int_equal(kaddr_from_string("not an address", &a), -EINVAL);
	assert_int_equal(a.family, 0);
	assert_string_equal(kaddr_to_string(&a, buf, sizeof(buf)), "any");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_find_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_wiped_on_flush_and_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_larval_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_stale_only_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_injected_failures_and_log, setup, teardown),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_kaddr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
