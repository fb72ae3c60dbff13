/* tests/host/xfrm_probe.c: the netlink kernel backend against the running kernel.
 *
 * Runs in a network namespace of its own (unshare(CLONE_NEWNET), so it needs root; it
 * exits 77, "skipped", without). It checks, through struct kernel_ops only:
 *   - get_spi for IPv4 and IPv6 gives SPIs in the requested range, visible to query_sa;
 *   - add_sa/update_sa for ESP: on a kernel with ESP they succeed and query/del work; on a
 *     kernel without (as the build machines' own) they fail with -EPROTONOSUPPORT, or
 *     -ENOSYS when the AEAD algorithm is missing, and kernel_strerror() says so clearly.
 *     --expect-esp makes the first outcome mandatory (used by tests/vm/netlink_xfrm.sh);
 *   - add_policy / del_policy, -EEXIST / -ENOENT, priorities by specificity;
 *   - an ACQUIRE event from a trap policy, and a hard EXPIRE of a larval state (the
 *     namespace's xfrm_acq_expires is set to 1 s), both through event_fd/event_dispatch;
 *     after it, update_sa answers -ESRCH, get_spi reserves the same SPI again (-ENOENT
 *     while it is taken) and add_sa installs under it (what xiked does for slow exchanges);
 *   - migrate (XFRM_MSG_MIGRATE, CONFIG_XFRM_MIGRATE): a policy's template moves to new
 *     addresses (-ENODATA from the old ones afterwards), and with ESP the state moves too,
 *     keeping its SPI (its byte and packet counters start again at zero);
 *   - flush_stale removes exactly the entries with a reqid in the xiked range.
 * Prints one line per check and "N passed, N failed" at the end; exit 1 on any failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netlink/kernel_ops.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		if (cond) {                                                                                            \
			passed++;                                                                                      \
			printf("ok: ");                                                                                \
		} else {                                                                                               \
			failed++;                                                                                      \
			printf("FAIL (%s:%d): ", __FILE__, __LINE__);                                                  \
		}                                                                                                      \
		printf(__VA_ARGS__);                                                                                   \
		printf("\n");                                                                                          \
	} while (0)

static struct kaddr A(const char *s)
{
	struct kaddr a;

	if (kaddr_from_string(s, &a) != 0) {
		fprintf(stderr, "bad address %s\n", s);
		exit(2);
	}
	return a;
}

static const char *err_text(struct kernel *kern, int err, uint8_t proto)
{
	static char buf[512];
	const char *x = kern->ops->last_extack(kern->k);

	snprintf(buf, sizeof(buf), "%d (%s)%s%s%s", err, kernel_strerror(err, proto), x ? " [kernel: " : "",
		 x ? x : "", x ? "]" : "");
	return buf;
}

/* --- events --- */

struct seen {
	int acquires, expires_hard, expires_soft;
	struct ksel acq_sel;
	uint32_t acq_reqid;
	uint32_t exp_spi; /* the one wanted (set by the check), network order */
	bool exp_match; /* a hard expire for exp_spi, proto ESP, dst exp_dst arrived */
	struct kaddr exp_dst;
};

static void on_expire(void *ctx, uint32_t spi, uint8_t proto, const struct kaddr *dst, bool hard)
{
	struct seen *s = ctx;

	if (hard)
		s->expires_hard++;
	else
		s->expires_soft++;
	/* Other larval states (the trap's acquire state) expire too: only ours counts. */
	if (hard && spi == s->exp_spi && proto == IPPROTO_ESP && kaddr_eq(dst, &s->exp_dst))
		s->exp_match = true;
}

static void on_acquire(void *ctx, const struct ksel *sel, uint32_t reqid)
{
	struct seen *s = ctx;

	s->acquires++;
	s->acq_sel = *sel;
	s->acq_reqid = reqid;
}

/* Poll the event fd and dispatch until cond(seen) or timeout_ms passes. */
static bool wait_event(struct kernel *kern, struct seen *s, bool (*cond)(const struct seen *), int timeout_ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = kern->ops->event_fd(kern->k), .events = POLLIN };
		long el;

		if (cond(s))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= timeout_ms)
			return false;
		if (poll(&pfd, 1, (int)(timeout_ms - el)) > 0)
			kern->ops->event_dispatch(kern->k);
	}
}

static bool got_acquire(const struct seen *s)
{
	return s->acquires > 0;
}

static bool got_hard_expire(const struct seen *s)
{
	return s->exp_match;
}

/* --- namespace setup --- */

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* --- checks --- */

#define REQ(n) (XIKED_REQID_BASE + (n))
#define FOREIGN_REQID 7u

static const uint8_t key_gcm128[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xa, 0xb, 0xc, 0xd };
static const uint8_t key_aes128[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
					0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
static const uint8_t key_sha256[32] = { 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
					0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
					0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f };

static bool spi_in_range(uint32_t spi_n)
{
	uint32_t spi = ntohl(spi_n);

	return spi >= 0xc0000000u && spi <= 0xcfffffffu;
}

static void check_spi(struct kernel *kern)
{
	struct kaddr l4 = A("192.0.2.1"), r4 = A("192.0.2.2"), l6 = A("2001:db8::1"), r6 = A("2001:db8::2");
	struct kernel_sa_stats st;
	uint32_t spi4 = 0, spi6 = 0, spi4b = 0;
	int err;

	err = kern->ops->get_spi(kern->k, &r4, &l4, IPPROTO_ESP, REQ(1), 0, &spi4);
	CHECK(err == 0 && spi_in_range(spi4), "get_spi IPv4 -> 0x%08x (err %d)", ntohl(spi4), err);
	err = kern->ops->get_spi(kern->k, &r4, &l4, IPPROTO_ESP, REQ(1), 0, &spi4b);
	CHECK(err == 0 && spi4b != spi4, "second get_spi IPv4 gives another SPI 0x%08x", ntohl(spi4b));
	err = kern->ops->get_spi(kern->k, &r6, &l6, IPPROTO_ESP, REQ(2), 0, &spi6);
	CHECK(err == 0 && spi_in_range(spi6), "get_spi IPv6 -> 0x%08x (err %d)", ntohl(spi6), err);
	err = kern->ops->query_sa(kern->k, &l4, spi4, IPPROTO_ESP, 0, 0, &st);
	CHECK(err == 0 && st.bytes == 0 && st.packets == 0, "query_sa finds the larval IPv4 state (err %d)", err);
	err = kern->ops->del_sa(kern->k, &l4, spi4b, IPPROTO_ESP, 0, 0);
	CHECK(err == 0, "del_sa of a larval state (err %d)", err);
	err = kern->ops->del_sa(kern->k, &l4, spi4b, IPPROTO_ESP, 0, 0);
	CHECK(err == -ESRCH, "del_sa again -> -ESRCH: %s", err_text(kern, err, IPPROTO_ESP));
	err = kern->ops->query_sa(kern->k, &l6, htonl(0x12345678), IPPROTO_ESP, 0, 0, &st);
	CHECK(err == -ESRCH, "query_sa of a missing state -> -ESRCH (%d)", err);
	err = kern->ops->get_spi(kern->k, &r4, &l6, IPPROTO_ESP, REQ(1), 0, &spi4b);
	CHECK(err == -EINVAL, "get_spi with mixed families -> -EINVAL (%d)", err);
}

static void base_sa(struct kernel_sa *sa, const char *src, const char *dst, uint32_t spi, uint32_t reqid)
{
	memset(sa, 0, sizeof(*sa));
	sa->src = A(src);
	sa->dst = A(dst);
	sa->spi = htonl(spi);
	sa->proto = IPPROTO_ESP;
	sa->mode = KMODE_TUNNEL;
	sa->reqid = reqid;
	sa->replay_window = 32;
}

static void sa_gcm(struct kernel_sa *sa)
{
	sa->enc_alg = "rfc4106(gcm(aes))";
	sa->enc_key = key_gcm128;
	sa->enc_key_len = sizeof(key_gcm128);
	sa->icv_bits = 128;
}

static void sa_cbc(struct kernel_sa *sa)
{
	sa->enc_alg = "cbc(aes)";
	sa->enc_key = key_aes128;
	sa->enc_key_len = sizeof(key_aes128);
	sa->integ_alg = "hmac(sha256)";
	sa->integ_key = key_sha256;
	sa->integ_key_len = sizeof(key_sha256);
	sa->integ_trunc_bits = 128;
}

static void check_sa(struct kernel *kern, bool expect_esp)
{
	struct kernel_sa sa;
	struct kernel_sa_stats st;
	uint32_t spi = 0;
	int err;

	/* CBC + HMAC: both algorithms exist on every kernel with XFRM, so only ESP itself can
	 * be missing. */
	base_sa(&sa, "192.0.2.2", "192.0.2.1", 0xc1000001u, REQ(3));
	sa_cbc(&sa);
	sa.inbound = true;
	err = kern->ops->add_sa(kern->k, &sa);
	if (expect_esp || err == 0) {
		CHECK(err == 0, "add_sa ESP cbc(aes)+hmac(sha256) tunnel: %s", err_text(kern, err, IPPROTO_ESP));
		err = kern->ops->query_sa(kern->k, &sa.dst, sa.spi, IPPROTO_ESP, 0, 0, &st);
		CHECK(err == 0 && st.add_time != 0, "query_sa of the new state (err %d, add_time %llu)", err,
		      (unsigned long long)st.add_time);
		err = kern->ops->add_sa(kern->k, &sa);
		CHECK(err == -EEXIST, "add_sa twice -> -EEXIST: %s", err_text(kern, err, IPPROTO_ESP));
		err = kern->ops->del_sa(kern->k, &sa.dst, sa.spi, IPPROTO_ESP, 0, 0);
		CHECK(err == 0, "del_sa (err %d)", err);
	} else {
		CHECK(err == -EPROTONOSUPPORT &&
			      strcmp(kernel_strerror(err, IPPROTO_ESP),
				     "the kernel has no ESP support (CONFIG_INET_ESP / CONFIG_INET6_ESP)") == 0,
		      "add_sa ESP without kernel ESP -> %s", err_text(kern, err, IPPROTO_ESP));
	}

	/* AES-GCM (RFC 4106): also needs the gcm template in the crypto API. */
	base_sa(&sa, "192.0.2.2", "192.0.2.1", 0xc1000002u, REQ(3));
	sa_gcm(&sa);
	err = kern->ops->add_sa(kern->k, &sa);
	if (expect_esp || err == 0) {
		CHECK(err == 0, "add_sa ESP rfc4106(gcm(aes)) 128: %s", err_text(kern, err, IPPROTO_ESP));
		err = kern->ops->del_sa(kern->k, &sa.dst, sa.spi, IPPROTO_ESP, 0, 0);
		CHECK(err == 0, "del_sa (err %d)", err);
	} else {
		/* xfrm_user looks the algorithm up before the protocol. */
		CHECK(err == -ENOSYS || err == -EPROTONOSUPPORT, "add_sa ESP AES-GCM on this kernel -> %s",
		      err_text(kern, err, IPPROTO_ESP));
	}

	/* Fill a larval state (the responder's path: get_spi, then update_sa). */
	err = kern->ops->get_spi(kern->k, &sa.src, &sa.dst, IPPROTO_ESP, REQ(4), 0, &spi);
	CHECK(err == 0, "get_spi for update_sa (err %d)", err);
	base_sa(&sa, "192.0.2.2", "192.0.2.1", ntohl(spi), REQ(4));
	sa_cbc(&sa);
	sa.inbound = true;
	err = kern->ops->update_sa(kern->k, &sa);
	if (expect_esp || err == 0)
		CHECK(err == 0, "update_sa fills the larval state: %s", err_text(kern, err, IPPROTO_ESP));
	else
		CHECK(err == -EPROTONOSUPPORT, "update_sa without kernel ESP -> %s", err_text(kern, err, IPPROTO_ESP));

	/* Arguments the kernel could never take are refused before sending. */
	base_sa(&sa, "192.0.2.2", "192.0.2.1", 0xc1000003u, REQ(3));
	sa_gcm(&sa);
	sa.integ_alg = "hmac(sha256)";
	err = kern->ops->add_sa(kern->k, &sa);
	CHECK(err == -EINVAL, "AEAD plus integrity algorithm -> -EINVAL (%d)", err);
}

static struct kernel_policy pol(const char *src, unsigned splen, const char *dst, unsigned dplen, enum kdir dir,
				uint32_t reqid)
{
	struct kernel_policy p;

	memset(&p, 0, sizeof(p));
	p.sel.src = A(src);
	p.sel.dst = A(dst);
	p.sel.src_plen = (uint8_t)splen;
	p.sel.dst_plen = (uint8_t)dplen;
	p.dir = dir;
	p.priority = kernel_policy_priority(&p.sel);
	p.has_tmpl = true;
	p.tmpl_proto = IPPROTO_ESP;
	p.tmpl_mode = KMODE_TUNNEL;
	p.tmpl_src = A(dir == KDIR_OUT ? "192.0.2.1" : "192.0.2.2");
	p.tmpl_dst = A(dir == KDIR_OUT ? "192.0.2.2" : "192.0.2.1");
	p.reqid = reqid;
	return p;
}

static void check_policy(struct kernel *kern)
{
	struct kernel_policy out = pol("10.1.0.0", 16, "10.2.0.0", 16, KDIR_OUT, REQ(10));
	struct kernel_policy in = pol("10.2.0.0", 16, "10.1.0.0", 16, KDIR_IN, REQ(10));
	struct kernel_policy fwd = pol("10.2.0.0", 16, "10.1.0.0", 16, KDIR_FWD, REQ(10));
	struct kernel_policy v6 = pol("2001:db8:1::", 48, "2001:db8:2::", 48, KDIR_OUT, REQ(11));
	struct kernel_policy marked = out;
	int err;

	v6.tmpl_src = A("2001:db8::1");
	v6.tmpl_dst = A("2001:db8::2");
	err = kern->ops->add_policy(kern->k, &out);
	CHECK(err == 0, "add_policy out tunnel: %s", err_text(kern, err, 0));
	err = kern->ops->add_policy(kern->k, &in);
	CHECK(err == 0, "add_policy in: %s", err_text(kern, err, 0));
	err = kern->ops->add_policy(kern->k, &fwd);
	CHECK(err == 0, "add_policy fwd: %s", err_text(kern, err, 0));
	err = kern->ops->add_policy(kern->k, &v6);
	CHECK(err == 0, "add_policy IPv6: %s", err_text(kern, err, 0));
	err = kern->ops->add_policy(kern->k, &out);
	CHECK(err == -EEXIST, "add_policy twice -> -EEXIST: %s", err_text(kern, err, 0));
	marked.mark = 0x42;
	marked.mark_mask = 0xff;
	marked.if_id = 7;
	err = kern->ops->add_policy(kern->k, &marked);
	CHECK(err == 0, "same selector with mark and if_id is another policy: %s", err_text(kern, err, 0));
	err = kern->ops->del_policy(kern->k, &marked.sel, KDIR_OUT, 0x42, 0xff, 7);
	CHECK(err == 0, "del_policy with mark and if_id (err %d)", err);
	err = kern->ops->del_policy(kern->k, &fwd.sel, KDIR_FWD, 0, 0, 0);
	CHECK(err == 0, "del_policy fwd (err %d)", err);
	err = kern->ops->del_policy(kern->k, &fwd.sel, KDIR_FWD, 0, 0, 0);
	CHECK(err == -ENOENT, "del_policy again -> -ENOENT: %s", err_text(kern, err, 0));
	/* in/out/v6 stay for flush_stale. */
}

/* RFC 4555 roaming through XFRM_MSG_MIGRATE: out policy and (with ESP) its state. */
static void check_migrate(struct kernel *kern, bool expect_esp)
{
	struct kernel_policy out = pol("10.5.0.0", 16, "10.6.0.0", 16, KDIR_OUT, REQ(20));
	struct kernel_migrate m;
	struct kernel_sa sa;
	struct kernel_sa_stats st;
	bool have_sa;
	int err;

	err = kern->ops->add_policy(kern->k, &out);
	CHECK(err == 0, "add_policy for migrate: %s", err_text(kern, err, 0));
	base_sa(&sa, "192.0.2.1", "192.0.2.2", 0xc1000020u, REQ(20));
	sa_cbc(&sa);
	err = kern->ops->add_sa(kern->k, &sa);
	have_sa = err == 0;
	if (expect_esp)
		CHECK(have_sa, "add_sa for migrate: %s", err_text(kern, err, IPPROTO_ESP));
	memset(&m, 0, sizeof(m));
	m.sel = out.sel;
	m.dir = KDIR_OUT;
	m.old_src = A("192.0.2.1");
	m.old_dst = A("192.0.2.2");
	m.new_src = A("192.0.2.1");
	m.new_dst = A("198.51.100.9");
	m.proto = IPPROTO_ESP;
	m.mode = KMODE_TUNNEL;
	m.reqid = REQ(20);
	m.encap = true;
	m.encap_sport = 4500;
	m.encap_dport = 4500;
	m.km_local = m.new_src;
	m.km_remote = m.new_dst;
	err = kern->ops->migrate(kern->k, &m);
	CHECK(err == 0, "migrate policy%s to a new peer address: %s", have_sa ? " and state" : "",
	      err_text(kern, err, 0));
	err = kern->ops->migrate(kern->k, &m);
	CHECK(err == -ENODATA, "migrate from the old addresses again -> -ENODATA: %s", err_text(kern, err, 0));
	if (have_sa) {
		err = kern->ops->query_sa(kern->k, &m.new_dst, sa.spi, IPPROTO_ESP, 0, 0, &st);
		CHECK(err == 0 && kaddr_eq(&st.src, &m.new_src), "the state moved with its SPI (err %d)", err);
		err = kern->ops->query_sa(kern->k, &m.old_dst, sa.spi, IPPROTO_ESP, 0, 0, &st);
		CHECK(err == -ESRCH, "nothing left at the old address (err %d)", err);
		kern->ops->del_sa(kern->k, &m.new_dst, sa.spi, IPPROTO_ESP, 0, 0);
	}
	m.old_dst = m.new_dst;
	m.new_dst = A("192.0.2.2");
	err = kern->ops->migrate(kern->k, &m);
	CHECK(err == 0, "migrate back from the new addresses: %s", err_text(kern, err, 0));
	m.sel.src = A("10.7.0.0");
	m.sel.dst = A("10.8.0.0");
	err = kern->ops->migrate(kern->k, &m);
	CHECK(err == -ENOENT, "migrate of a missing policy -> -ENOENT: %s", err_text(kern, err, 0));
	err = kern->ops->del_policy(kern->k, &out.sel, KDIR_OUT, 0, 0, 0);
	CHECK(err == 0, "del_policy after migrate (err %d)", err);
}

static void check_acquire(struct kernel *kern, struct seen *seen)
{
	struct kernel_policy trap;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(4999) };
	int fd, err;

	memset(&trap, 0, sizeof(trap));
	trap.sel.src = A("127.0.0.1");
	trap.sel.dst = A("127.0.0.1");
	trap.sel.src_plen = trap.sel.dst_plen = 32;
	trap.sel.proto = IPPROTO_UDP;
	trap.sel.dport = 4999;
	trap.sel.dport_mask = 0xffff;
	trap.dir = KDIR_OUT;
	trap.priority = kernel_policy_priority(&trap.sel);
	trap.has_tmpl = true;
	trap.tmpl_proto = IPPROTO_ESP;
	trap.tmpl_mode = KMODE_TRANSPORT;
	trap.reqid = REQ(20);
	err = kern->ops->add_policy(kern->k, &trap);
	CHECK(err == 0, "add_policy trap (transport, udp/4999): %s", err_text(kern, err, 0));
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* The send itself fails or is dropped (no SA); the kernel asks its key managers. */
	if (fd >= 0) {
		(void)sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
		close(fd);
	}
	CHECK(wait_event(kern, seen, got_acquire, 3000), "ACQUIRE event delivered (%d)", seen->acquires);
	CHECK(seen->acq_reqid == REQ(20) && seen->acq_sel.proto == IPPROTO_UDP && seen->acq_sel.dport == 4999 &&
		      seen->acq_sel.dst.family == AF_INET,
	      "ACQUIRE carries reqid 0x%08x proto %u dport %u", seen->acq_reqid, seen->acq_sel.proto,
	      seen->acq_sel.dport);
}

static void check_expire(struct kernel *kern, struct seen *seen, bool expect_esp)
{
	struct kaddr src = A("198.51.100.2"), dst = A("198.51.100.1");
	struct kernel_sa_stats st;
	struct kernel_sa sa;
	uint32_t spi = 0, again = 0;
	int err;

	/* A larval state lives xfrm_acq_expires seconds (set to 1 in main), then the kernel
	 * deletes it and reports a hard expire. */
	err = kern->ops->get_spi(kern->k, &src, &dst, IPPROTO_ESP, FOREIGN_REQID, 0, &spi);
	CHECK(err == 0, "get_spi for the expire check (err %d)", err);
	seen->exp_spi = spi;
	seen->exp_dst = dst;
	CHECK(wait_event(kern, seen, got_hard_expire, 5000),
	      "hard EXPIRE event for spi 0x%08x delivered (%d hard expires seen in all)", ntohl(spi),
	      seen->expires_hard);
	/* What xiked relies on when an exchange outlives its larval state (child_kernel.c). */
	err = kern->ops->query_sa(kern->k, &dst, spi, IPPROTO_ESP, 0, 0, &st);
	CHECK(err == -ESRCH, "the expired larval state is gone (query -> %d)", err);
	base_sa(&sa, "198.51.100.2", "198.51.100.1", ntohl(spi), FOREIGN_REQID);
	sa_cbc(&sa);
	sa.inbound = true;
	err = kern->ops->update_sa(kern->k, &sa);
	CHECK(err == -ESRCH || (!expect_esp && err == -EPROTONOSUPPORT),
	      "update_sa on the expired larval state -> %s", err_text(kern, err, IPPROTO_ESP));
	err = kern->ops->get_spi(kern->k, &src, &dst, IPPROTO_ESP, FOREIGN_REQID, spi, &again);
	CHECK(err == 0 && again == spi, "get_spi reserves the same SPI 0x%08x again (got 0x%08x, err %d)",
	      ntohl(spi), ntohl(again), err);
	err = kern->ops->get_spi(kern->k, &src, &dst, IPPROTO_ESP, FOREIGN_REQID, spi, &again);
	CHECK(err == -ENOENT, "get_spi of an SPI that is taken -> -ENOENT (%d)", err);
	if (expect_esp) {
		err = kern->ops->update_sa(kern->k, &sa);
		CHECK(err == 0, "update_sa fills the larval state reserved again: %s",
		      err_text(kern, err, IPPROTO_ESP));
	}
	(void)kern->ops->del_sa(kern->k, &dst, spi, IPPROTO_ESP, 0, 0);
	/* NEWSA under an SPI whose larval state expired (the fallback when reserving failed). */
	err = kern->ops->get_spi(kern->k, &src, &dst, IPPROTO_ESP, FOREIGN_REQID, 0, &spi);
	CHECK(err == 0, "get_spi for the NEWSA check (err %d)", err);
	seen->exp_spi = spi;
	seen->exp_match = false;
	CHECK(wait_event(kern, seen, got_hard_expire, 5000), "hard EXPIRE for spi 0x%08x", ntohl(spi));
	if (expect_esp) {
		base_sa(&sa, "198.51.100.2", "198.51.100.1", ntohl(spi), FOREIGN_REQID);
		sa_cbc(&sa);
		sa.inbound = true;
		err = kern->ops->add_sa(kern->k, &sa);
		CHECK(err == 0, "add_sa under the expired larval state's SPI: %s", err_text(kern, err, IPPROTO_ESP));
		(void)kern->ops->del_sa(kern->k, &dst, spi, IPPROTO_ESP, 0, 0);
	}
}

static void check_flush(struct kernel *kern)
{
	struct kaddr r4 = A("203.0.113.2"), l4 = A("203.0.113.1");
	struct kernel_policy foreign = pol("10.5.0.0", 16, "10.6.0.0", 16, KDIR_OUT, FOREIGN_REQID);
	struct kernel_policy ours_out = pol("10.1.0.0", 16, "10.2.0.0", 16, KDIR_OUT, REQ(10));
	struct kernel_sa_stats st;
	uint32_t spi_foreign = 0, spi_ours = 0;
	int err;

	err = kern->ops->add_policy(kern->k, &foreign);
	CHECK(err == 0, "foreign policy (reqid %u) added (err %d)", FOREIGN_REQID, err);
	/* Larval states expire after 1 s here; make fresh ones right before the flush. */
	err = kern->ops->get_spi(kern->k, &r4, &l4, IPPROTO_ESP, FOREIGN_REQID, 0, &spi_foreign);
	err |= kern->ops->get_spi(kern->k, &r4, &l4, IPPROTO_ESP, REQ(30), 0, &spi_ours);
	CHECK(err == 0, "foreign and own larval states created");
	err = kern->ops->flush_stale(kern->k);
	CHECK(err == 0, "flush_stale: %s", err_text(kern, err, 0));
	err = kern->ops->query_sa(kern->k, &l4, spi_ours, IPPROTO_ESP, 0, 0, &st);
	CHECK(err == -ESRCH, "own state removed (query -> %d)", err);
	err = kern->ops->query_sa(kern->k, &l4, spi_foreign, IPPROTO_ESP, 0, 0, &st);
	CHECK(err == 0, "foreign state kept (query -> %d)", err);
	err = kern->ops->del_policy(kern->k, &ours_out.sel, KDIR_OUT, 0, 0, 0);
	CHECK(err == -ENOENT, "own policy removed (del -> %d)", err);
	err = kern->ops->add_policy(kern->k, &foreign);
	CHECK(err == -EEXIST, "foreign policy kept (add again -> %d)", err);
	err = kern->ops->del_policy(kern->k, &foreign.sel, KDIR_OUT, 0, 0, 0);
	CHECK(err == 0, "foreign policy removed by hand (err %d)", err);
	(void)kern->ops->del_sa(kern->k, &l4, spi_foreign, IPPROTO_ESP, 0, 0);
}

int main(int argc, char **argv)
{
	bool expect_esp = false, own_ns = true;
	struct seen seen;
	struct kernel_events ev = { .expire = on_expire, .acquire = on_acquire, .ctx = &seen };
	struct kernel kern;
	int err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--expect-esp") == 0)
			expect_esp = true;
		else if (strcmp(argv[i], "--no-unshare") == 0)
			own_ns = false; /* the caller already made a namespace */
		else {
			fprintf(stderr, "usage: %s [--expect-esp] [--no-unshare]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&seen, 0, sizeof(seen));
	if (own_ns && unshare(CLONE_NEWNET) != 0) {
		printf("skip: cannot create a network namespace (%s); run as root\n", strerror(errno));
		return 77;
	}
	if (lo_up() != 0)
		printf("note: could not bring lo up (%s)\n", strerror(errno));
	/* Larval states live 1 s (check_expire waits for one to expire). */
	if (write_file("/proc/sys/net/core/xfrm_acq_expires", "1\n") != 0)
		printf("note: could not set xfrm_acq_expires (%s)\n", strerror(errno));
	/* lo skips XFRM by default; the trap policy in check_acquire needs it. */
	if (write_file("/proc/sys/net/ipv4/conf/lo/disable_xfrm", "0\n") != 0)
		printf("note: could not clear lo's disable_xfrm (%s)\n", strerror(errno));

	err = kernel_netlink_new(&ev, &kern);
	CHECK(err == 0, "kernel_netlink_new (err %d)", err);
	if (err != 0)
		goto out;
	CHECK(kern.ops->event_fd(kern.k) >= 0, "event fd %d", kern.ops->event_fd(kern.k));
	check_spi(&kern);
	check_sa(&kern, expect_esp);
	check_policy(&kern);
	check_migrate(&kern, expect_esp);
	check_acquire(&kern, &seen);
	check_expire(&kern, &seen, expect_esp);
	check_flush(&kern);
	kernel_free(&kern);
	kernel_free(&kern); /* safe twice */
out:
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
