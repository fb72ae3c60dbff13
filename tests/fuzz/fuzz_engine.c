/*
 * libFuzzer target for the whole receive path of the IKE engine: a
 * responder engine ("b", 192.0.2.2) built as xiked builds it, with a fake
 * clock, a fixed RNG and the recording fake kernel (the seams of
 * design.md rule 11), is driven by a small program the fuzz input spells out.
 *
 * A second, honest engine ("a", 192.0.2.1, the initiator) can bring up a
 * real IKE SA with b, so the fuzzer reaches what sits behind
 * authentication (IKE_AUTH payload processing, Child SAs, CREATE_CHILD_SA,
 * INFORMATIONAL, Delete) and not only IKE_SA_INIT: the harness knows the
 * keys and can seal any inner payload chain the input supplies, or splice
 * one into the real messages (keeping a's IDi and AUTH, so authentication
 * still succeeds). The same operations can aim at a, so the initiator's
 * handling of responses is fuzzed too.
 *
 * Input: a sequence of operations, each an opcode octet (taken modulo
 * OP_COUNT) and its operands; a truncated operation ends the input.
 *   RAW     f, len16, bytes     datagram to b (f bit 3: to a): f bit 0
 *                               port 4500, bits 1-2 sender: the other
 *                               engine's address / 192.0.2.254 /
 *                               198.51.100.9 / its IPv6 address
 *   SEALED  sa, exch, fl, id, first, len16, bytes
 *                               inner chain bytes (first = type of the
 *                               first payload) sealed with the inbound keys
 *                               of b's (fl bit 2: a's) IKE SA number sa;
 *                               fl bit 0 flips the I flag, bit 1 sets R;
 *                               message ID = the expected request's, or
 *                               that of the request in flight (response),
 *                               plus (id & 3) - 1; id >= 0xf0: id itself;
 *                               fl bit 3: as an RFC 7383 fragment (SKF),
 *                               Total Fragments ((fl >> 6) & 3) + 1, number
 *                               ((fl >> 4) & 3) % total + 1, so authentic
 *                               fragments reach reassembly in any order;
 *                               without bit 3, (fl >> 4) & 3 is where it
 *                               comes from, as from a peer that moved
 *                               (RFC 4555): the SA's remote address /
 *                               198.51.100.9 / 192.0.2.254 / the sender's
 *                               IPv6 address to the receiver's (ports kept)
 *   PUMP    n                   deliver the next (n & 7) + 1 queued
 *                               messages between a and b
 *   UP                          a initiates conn "b"
 *   TIME    t                   advance the clock t * 250 ms (t >= 0x80:
 *                               (t & 0x7f) * 8 s) and run due timers
 *   DOWN    w                   w even: a takes conn "b" down; odd: b "a"
 *   SPLICE  k, next, len16, bytes
 *                               the first queued message to b (k bit 7:
 *                               to a): keep its first k & 0x7f payloads
 *                               (after decrypting it if it is protected),
 *                               make `next` the type of the payload that
 *                               follows, add bytes, re-seal, deliver
 *                               ((k & 0x7f) >= 0x70: bytes replace the
 *                               chain, next its first type)
 *   EXPIRE  c, f                kernel expire event for b's (f bit 2: a's)
 *                               Child SA number c; f bit 0 hard, bit 1 AH
 *   CONTROL w                   w & 3: 0 reload b's configuration,
 *                               1 shutdown b, 2 status of a and b (read
 *                               back as JSON),
 *                               3 drop the first queued message
 *   NET     x                   x & 7: a's IPv4 address moves between
 *                               192.0.2.1 and 192.0.2.11 (0) / a's IPv4
 *                               routes go or come back (1), then an
 *                               address event (mobike_net_changed: roams
 *                               after the debounce, TIME); 2 a reauthenticates
 *                               conn b; 3, 4 a rekeys its Child SAs / IKE SA;
 *                               5, 6 b rekeys its Child SAs / IKE SAs;
 *                               7 a roams at once (mobike_roam)
 * At the end b's status is written, every state and policy in the fake
 * kernels must belong to a Child SA the engines know, both engines are
 * freed, and everything must be gone from the fake kernels. Datagrams the fuzzer writes without
 * the keys (RAW, spliced clear messages) must leave established IKE SAs
 * where they are (see deliver_unauthenticated).
 *
 * Every input starts from the same state (new engines, RNG seed, clock),
 * so a crash reproduces from its input alone; XIKED_FUZZ_LOG=1 prints
 * both engines' log lines while it runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rng.h"
#include "crypto/sk.h"
#include "daemon/clock.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/engine_index.h"
#include "daemon/engine_status.h"
#include "daemon/ikesa.h"
#include "daemon/json.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/message.h"
#include "daemon/mobike.h"
#include "daemon/reload.h"
#include "daemon/spi_table.h"
#include "netlink/kernel_fake.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum op {
	OP_RAW,
	OP_SEALED,
	OP_PUMP,
	OP_UP,
	OP_TIME,
	OP_DOWN,
	OP_SPLICE,
	OP_EXPIRE,
	OP_CONTROL,
	OP_NET,
	OP_COUNT
};

#define QMAX 16
#define SAS_MAX 8

static const char CONF_A[] =
	"[daemon]\n"
	"log = debug\n"
	"[conn b]\n"
	"local_addr = 192.0.2.1\n"
	"remote_addr = 192.0.2.2\n"
	"local_id = a.example\n"
	"remote_id = b.example\n"
	"auth = psk\n"
	"psk = \"correct horse battery staple\"\n"
	"ike = aes256gcm16-prfsha256-x25519\n"
	"esp = aes256gcm16\n"
	"[child b.net]\n"
	"local_ts = 10.1.0.0/24\n"
	"remote_ts = 10.2.0.0/24\n"
	"[child b.host]\n"
	"esp = aes128-sha256-x25519\n"
	"local_ts = %dynamic\n"
	"remote_ts = %dynamic\n"
	"mode = transport\n";

static const char CONF_B[] =
	"[daemon]\n"
	"log = debug\n"
	"[conn a]\n"
	"local_addr = 192.0.2.2\n"
	"remote_addr = %any\n"
	"local_id = b.example\n"
	"remote_id = a.example\n"
	"auth = psk\n"
	"psk = \"correct horse battery staple\"\n"
	"ike = aes256gcm16-prfsha256-x25519, aes128-sha256-ecp256, aes256-sha384-ecp384\n"
	"esp = aes256gcm16, aes128-sha256\n"
	"[child a.net]\n"
	"local_ts = 10.2.0.0/24\n"
	"remote_ts = 10.1.0.0/24\n"
	"[child a.host]\n"
	"esp = aes128-sha256-x25519, aes256gcm16\n"
	"local_ts = %dynamic\n"
	"remote_ts = %dynamic\n"
	"mode = transport\n"
	"[conn v6]\n"
	"local_addr = 2001:db8::2\n"
	"remote_addr = %any\n"
	"local_id = b.example\n"
	"remote_id = %any\n"
	"auth = psk\n"
	"psk = 0x00112233445566778899aabbccddeeff\n"
	"local_ts = 2001:db8:2::/48\n"
	"remote_ts = 2001:db8:1::/48\n";

struct pkt {
	int to; /* 0 = a, 1 = b */
	struct sockaddr_storage from, dst;
	uint8_t *buf;
	size_t len;
};

struct side {
	struct engine *e;
	struct kernel kern;
	struct kernel_fake *fake;
};

static struct {
	struct clock_fake cf;
	struct clock clk;
	struct loop *loop;
	struct rng *rng;
	struct side s[2];
	struct pkt q[QMAX];
	size_t nq;
	uint64_t sent_elsewhere;
	bool a_moved;   /* NET: a's IPv4 address is 192.0.2.11 */
	bool a_no_v4;   /* NET: a has no IPv4 route */
	uint8_t plain[IKE_MSG_MAX], msg[IKE_MSG_MAX];
} W;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_engine: %s\n", what);
	abort();
}

static bool verbose; /* XIKED_FUZZ_LOG set: log lines go to stderr (for reproducing) */

static void sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	if (!msg)
		die("NULL log message");
	if (verbose)
		fprintf(stderr, "[%s] %s: %s\n", log_group_name(g), log_level_name(l), msg);
}

static void mkaddr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
}

static bool addr_is(const struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_storage t;
	mkaddr(&t, ip, 0);
	if (ss->ss_family != t.ss_family)
		return false;
	if (ss->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)ss)->sin_addr,
			      &((const struct sockaddr_in *)&t)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr,
		      &((const struct sockaddr_in6 *)&t)->sin6_addr, 16) == 0;
}

static int send_cb(void *ctx, const struct sockaddr_storage *from, const struct sockaddr_storage *to,
		   const uint8_t *buf, size_t len)
{
	struct side *self = ctx;
	int dest = self == &W.s[0] ? 1 : 0;
	/* b's answers to senders other than a go nowhere. */
	if (len == 0 || len > IKE_MSG_MAX)
		die("engine sent an empty or oversized datagram");
	if (W.nq == QMAX || !addr_is(to, dest == 1 ? "192.0.2.2" : W.a_moved ? "192.0.2.11" : "192.0.2.1")) {
		W.sent_elsewhere++;
		return 0;
	}
	struct pkt *p = &W.q[W.nq];
	p->buf = malloc(len);
	if (!p->buf)
		return -ENOMEM;
	W.nq++;
	p->to = dest;
	p->from = *from;
	p->dst = *to;
	memcpy(p->buf, buf, len);
	p->len = len;
	return 0;
}

static struct xiked_config *conf(const char *text)
{
	struct xiked_config *c = NULL;
	char err[256];
	if (config_parse(text, strlen(text), "fuzz.conf", &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_engine: %s\n", err);
		die("fixed configuration does not parse");
	}
	return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (crypto_init() != 0)
		die("crypto_init failed");
	verbose = getenv("XIKED_FUZZ_LOG") != NULL;
	log_set_sink(sink, NULL);
	/* Debug level, so every log call formats its arguments (and ASan/UBSan see it). */
	log_set_level(LOG_LVL_DEBUG);
	return 0;
}

/*
 * The routes of the fuzz world (engine_env.route_source): each side reaches
 * everything from its own address of the destination's family, as the VM
 * scenarios' namespaces do. Without it the engine would ask the host's
 * routing table (a UDP connect), and a run would depend on the machine.
 */
static int route_cb(void *ctx, const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	static const char *const self[2][2] = {{"192.0.2.1", "2001:db8::1"},
					       {"192.0.2.2", "2001:db8::2"}};
	const struct side *s = ctx;
	if (dst->ss_family != AF_INET && dst->ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (s == &W.s[0] && dst->ss_family == AF_INET && (W.a_moved || W.a_no_v4)) {
		/* NET: a's address or routes changed */
		if (W.a_no_v4)
			return -ENETUNREACH;
		mkaddr(src, "192.0.2.11", 0);
		return 0;
	}
	mkaddr(src, self[s == &W.s[1]][dst->ss_family == AF_INET6], 0);
	return 0;
}

static void world_new(void)
{
	memset(&W, 0, offsetof(typeof(W), plain));
	clock_fake_set(&W.cf, 1000000);
	W.clk = clock_fake_clock(&W.cf);
	W.loop = loop_new(&W.clk);
	W.rng = rng_fixed_new(42);
	if (!W.loop || !W.rng)
		die("out of memory");
	const char *texts[2] = {CONF_A, CONF_B};
	for (int i = 0; i < 2; i++) {
		struct side *s = &W.s[i];
		s->fake = kernel_fake_new(&(struct kernel_events){.expire = engine_on_expire},
					  &s->kern);
		struct engine_env env = {.loop = W.loop, .rng = W.rng, .kernel = s->kern,
					 .send = send_cb, .send_ctx = s, .port = 500,
					 .natt_port = 4500, .route_source = route_cb,
					 .net_ctx = s};
		s->e = engine_new(&env, conf(texts[i]));
		if (!s->fake || !s->e)
			die("out of memory");
	}
}

static void pop(size_t i, bool deliver)
{
	struct pkt p = W.q[i];
	memmove(&W.q[i], &W.q[i + 1], (W.nq - i - 1) * sizeof(struct pkt));
	W.nq--;
	if (deliver)
		engine_receive(W.s[p.to].e, &p.dst, &p.from, p.buf, p.len);
	free(p.buf);
}

static void print_left_sa(void *arg, const struct kernel_fake_sa *s)
{
	char d[64], src[64];
	fprintf(stderr, "fuzz_engine: %c: %s%s state %08x %s -> %s (reqid %u)\n", *(int *)arg ? 'b' : 'a',
		s->larval ? "larval " : "", s->sa.inbound ? "inbound" : "outbound", ntohl(s->sa.spi),
		kaddr_to_string(&s->sa.src, src, sizeof(src)), kaddr_to_string(&s->sa.dst, d, sizeof(d)),
		s->sa.reqid);
}

static void world_free(void)
{
	for (int i = 0; i < 2; i++) {
		engine_free(W.s[i].e);
		/* engine_free deletes every SA from the kernel: nothing may be left. */
		if (kernel_fake_sa_count(W.s[i].fake) != 0 ||
		    kernel_fake_policy_count(W.s[i].fake) != 0) {
			kernel_fake_foreach_sa(W.s[i].fake, print_left_sa, &i);
			die("kernel state left after engine_free");
		}
		kernel_free(&W.s[i].kern);
	}
	while (W.nq)
		pop(0, false);
	loop_free(W.loop);
	rng_fixed_free(W.rng);
}

/* ---- input reader ---- */

struct in {
	const uint8_t *p;
	size_t left;
	bool short_;
};

static uint8_t u8(struct in *in)
{
	if (in->left < 1) {
		in->short_ = true;
		return 0;
	}
	in->left--;
	return *in->p++;
}

static const uint8_t *bytes(struct in *in, size_t *len)
{
	size_t n = (size_t)u8(in) << 8;
	n |= u8(in);
	if (in->short_)
		return NULL;
	if (n > in->left)
		n = in->left; /* the last operation may take what is left */
	const uint8_t *p = in->p;
	in->p += n;
	in->left -= n;
	*len = n;
	return p;
}

/* ---- the engines' IKE SAs ---- */

struct sa_list {
	struct ikesa *v[SAS_MAX];
	size_t n;
};

static void grab(uint64_t k, void *v, void *ctx)
{
	(void)k;
	struct sa_list *l = ctx;
	if (l->n < SAS_MAX)
		l->v[l->n++] = v;
}

/* IKE SAs of side (0 = a, 1 = b). */
static struct sa_list sas_of(int side)
{
	struct sa_list l = {.n = 0};
	spi_table_each(W.s[side].e->by_spi, grab, &l);
	return l;
}

/* Seal inner[0..len) (first payload `first`) with sa's inbound keys under h
 * into W.msg; 0 on failure. */
static size_t seal_frag(struct ikesa *sa, const struct ike_hdr *h, uint8_t first,
			const uint8_t *inner, size_t len, uint16_t frag_num, uint16_t frags)
{
	struct ike_builder b;
	size_t total = 0;
	if (!sa->c_in)
		return 0;
	message_build_init(&b, W.msg, sizeof(W.msg), h);
	uint8_t *body = frags ? message_build_skf(&b, frag_num == 1 ? first : PL_NONE, frag_num,
						  frags, sk_sealed_len(sa->c_in, len))
			      : message_build_sk(&b, first, sk_sealed_len(sa->c_in, len));
	if (!body || message_build_finish(&b, &total) != 0)
		return 0;
	/* Our inbound keys are the peer's outbound ones: what it would seal with. */
	if (sk_seal(sa->c_in, W.msg, (size_t)(body - W.msg), inner, len, W.rng) != 0)
		return 0;
	return total;
}

static size_t seal(struct ikesa *sa, const struct ike_hdr *h, uint8_t first, const uint8_t *inner,
		   size_t len)
{
	return seal_frag(sa, h, first, inner, len, 0, 0);
}

static void deliver(int side, const uint8_t *buf, size_t len, const struct sockaddr_storage *local,
		    const struct sockaddr_storage *remote)
{
	engine_receive(W.s[side].e, local, remote, buf, len);
}

/*
 * An unauthenticated datagram (RAW, or a spliced message in the clear) must
 * not move or remove an established IKE SA: addresses follow the peer only
 * after an integrity check (RFC 7296 2.11, 2.23), and nothing the fuzzer
 * can write without the keys is authentic.
 */
static void deliver_unauthenticated(int side, const uint8_t *buf, size_t len,
				    const struct sockaddr_storage *local,
				    const struct sockaddr_storage *remote)
{
	struct sa_list l = sas_of(side);
	struct {
		uint64_t spi;
		struct sockaddr_storage local, remote;
	} before[SAS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i]->state != IKESA_ESTABLISHED)
			continue;
		before[n].spi = l.v[i]->local_spi_key;
		before[n].local = l.v[i]->local;
		before[n].remote = l.v[i]->remote;
		n++;
	}
	deliver(side, buf, len, local, remote);
	for (size_t i = 0; i < n; i++) {
		struct ikesa *sa = engine_find(W.s[side].e, before[i].spi);
		if (!sa)
			die("an unauthenticated datagram removed an established IKE SA");
		if (memcmp(&sa->local, &before[i].local, sizeof(sa->local)) != 0 ||
		    memcmp(&sa->remote, &before[i].remote, sizeof(sa->remote)) != 0)
			die("an unauthenticated datagram moved an established IKE SA");
	}
}

static void op_raw(struct in *in)
{
	/* senders: [side][choice]; side 1 (b) hears from a's address first */
	static const char *const peers[2][4] = {
		{"192.0.2.2", "192.0.2.254", "198.51.100.9", "2001:db8::2"},
		{"192.0.2.1", "192.0.2.254", "198.51.100.9", "2001:db8::1"},
	};
	static const char *const self[2][2] = {{"192.0.2.1", "2001:db8::1"},
					       {"192.0.2.2", "2001:db8::2"}};
	uint8_t f = u8(in);
	size_t len;
	const uint8_t *p = bytes(in, &len);
	if (!p)
		return;
	int side = (f & 8) ? 0 : 1;
	uint16_t port = (f & 1) ? 4500 : 500;
	const char *peer = peers[side][(f >> 1) & 3];
	struct sockaddr_storage local, remote;
	mkaddr(&local, self[side][strchr(peer, ':') != NULL], port);
	mkaddr(&remote, peer, port);
	deliver_unauthenticated(side, p, len, &local, &remote);
}

static void op_sealed(struct in *in)
{
	uint8_t idx = u8(in), exch = u8(in), fl = u8(in), id = u8(in), first = u8(in);
	size_t len;
	const uint8_t *p = bytes(in, &len);
	if (!p)
		return;
	int side = (fl & 4) ? 0 : 1;
	struct sa_list l = sas_of(side);
	if (l.n == 0)
		return;
	struct ikesa *sa = l.v[idx % l.n];
	bool resp = fl & 2;
	struct ike_hdr h = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exchange = exch,
		/* the peer's view: the I flag is set when we are the responder */
		.flags = (uint8_t)(((sa->initiator ? 0 : IKE_FLAG_INITIATOR) ^
				    ((fl & 1) ? IKE_FLAG_INITIATOR : 0)) |
				   (resp ? IKE_FLAG_RESPONSE : 0)),
	};
	uint32_t base = resp ? sa->tm.req_id : sa->tm.next_in_id;
	h.msg_id = id >= 0xf0 ? id : base + (id & 3) - 1;
	uint16_t frags = (fl & 8) ? ((fl >> 6) & 3) + 1 : 0;
	size_t n = seal_frag(sa, &h, first, p, len, frags ? ((fl >> 4) & 3) % frags + 1 : 0, frags);
	if (!n)
		return;
	struct sockaddr_storage local = sa->local, remote = sa->remote;
	static const char *const moved[2][2] = {{"2001:db8::2", "2001:db8::1"},
						{"2001:db8::1", "2001:db8::2"}};
	unsigned from = frags ? 0 : (fl >> 4) & 3;
	uint16_t lport = ntohs(((struct sockaddr_in *)&local)->sin_port); /* same offset in sin6 */
	uint16_t rport = ntohs(((struct sockaddr_in *)&remote)->sin_port);
	if (from == 1 || from == 2)
		mkaddr(&remote, from == 1 ? "198.51.100.9" : "192.0.2.254", rport);
	if (from == 3) {
		mkaddr(&remote, moved[side][0], rport);
		mkaddr(&local, moved[side][1], lport);
	}
	deliver(side, W.msg, n, &local, &remote);
}

static void op_pump(struct in *in)
{
	unsigned n = (u8(in) & 7) + 1;
	if (in->short_)
		return;
	for (unsigned i = 0; i < n && W.nq; i++)
		pop(0, true);
}

static void op_time(struct in *in)
{
	uint8_t t = u8(in);
	if (in->short_)
		return;
	uint64_t ms = t >= 0x80 ? (uint64_t)(t & 0x7f) * 8000 : (uint64_t)t * 250;
	clock_fake_advance(&W.cf, ms);
	loop_run_timers_until(W.loop, W.cf.now_ms);
}

static void op_down(struct in *in)
{
	uint8_t w = u8(in);
	char err[160];
	if (in->short_)
		return;
	if (w & 1)
		(void)engine_down(W.s[1].e, "a", err, sizeof(err));
	else
		(void)engine_down(W.s[0].e, "b", err, sizeof(err));
}

/*
 * Offset of the end of the first k payloads of chain[0..len) whose first
 * type is first, and the offset of the Next Payload octet to patch (SIZE_MAX
 * when k is 0: the caller patches the chain's first type). false if the
 * chain is shorter than k payloads or malformed.
 */
static bool chain_prefix(const uint8_t *chain, size_t len, unsigned k, size_t *end, size_t *np)
{
	size_t off = 0;
	*np = SIZE_MAX;
	for (unsigned i = 0; i < k; i++) {
		if (len - off < 4)
			return false;
		size_t plen = (size_t)chain[off + 2] << 8 | chain[off + 3];
		if (plen < 4 || plen > len - off)
			return false;
		*np = off;
		off += plen;
	}
	*end = off;
	return true;
}

static void op_splice(struct in *in)
{
	uint8_t k = u8(in), next = u8(in);
	size_t len;
	const uint8_t *p = bytes(in, &len);
	if (!p)
		return;
	int side = (k & 0x80) ? 0 : 1;
	k &= 0x7f;
	size_t qi = 0;
	while (qi < W.nq && W.q[qi].to != side)
		qi++;
	if (qi == W.nq)
		return;
	const struct pkt *pk = &W.q[qi];
	struct ike_hdr h;
	struct payload_err err;
	static struct ike_msg m;
	if (message_parse(&m, pk->buf, pk->len, &err) != PAYLOAD_OK) {
		pop(qi, true);
		return;
	}
	h = m.hdr;
	const struct ike_payload *sk = message_sk(&m);
	struct ikesa *sa = NULL;
	const uint8_t *chain;
	size_t chain_len;
	uint8_t first;
	if (sk && sk->type == PL_SK) {
		/* the receiver's SA: our SPI is the responder's when the sender is the initiator */
		sa = engine_find(W.s[side].e, ike_hdr_is_initiator(&h) ? h.spi_r : h.spi_i);
		if (!sa || !sa->c_in ||
		    sk_open(sa->c_in, pk->buf, sk->u.sk.body_off, sk->u.sk.body_len, W.plain,
			    &chain_len) != 0) {
			pop(qi, true);
			return;
		}
		chain = W.plain;
		first = sk->u.sk.first_inner;
	} else if (!sk) {
		chain = pk->buf + IKE_HDR_LEN;
		chain_len = h.length - IKE_HDR_LEN;
		first = h.next_payload;
	} else {
		pop(qi, true);
		return;
	}
	size_t end = 0, np;
	if (k >= 0x70) {
		np = SIZE_MAX;
	} else if (!chain_prefix(chain, chain_len, k, &end, &np)) {
		pop(qi, true);
		return;
	}
	/* new chain = chain[0..end) with its last Next Payload = next, then p */
	static uint8_t out[IKE_MSG_MAX];
	if (end + len > sizeof(out) - IKE_HDR_LEN - 64)
		len = sizeof(out) - IKE_HDR_LEN - 64 - end;
	memmove(out, chain, end);
	memcpy(out + end, p, len);
	if (np != SIZE_MAX)
		out[np] = next;
	else
		first = next;
	struct sockaddr_storage local = pk->dst, remote = pk->from;
	size_t n;
	if (sa) {
		n = seal(sa, &h, first, out, end + len);
	} else {
		n = IKE_HDR_LEN + end + len;
		memcpy(W.msg, pk->buf, IKE_HDR_LEN);
		memcpy(W.msg + IKE_HDR_LEN, out, end + len);
		W.msg[16] = first;
		W.msg[24] = (uint8_t)(n >> 24);
		W.msg[25] = (uint8_t)(n >> 16);
		W.msg[26] = (uint8_t)(n >> 8);
		W.msg[27] = (uint8_t)n;
	}
	pop(qi, false);
	if (n && sa)
		deliver(side, W.msg, n, &local, &remote);
	else if (n)
		deliver_unauthenticated(side, W.msg, n, &local, &remote);
}

static void to_kaddr(const struct sockaddr_storage *ss, struct kaddr *k)
{
	memset(k, 0, sizeof(*k));
	if (ss->ss_family == AF_INET) {
		k->family = AF_INET;
		memcpy(k->a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		k->family = AF_INET6;
		memcpy(k->a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

static void op_expire(struct in *in)
{
	uint8_t c = u8(in), f = u8(in);
	if (in->short_)
		return;
	int side = (f & 4) ? 0 : 1;
	bool hard = f & 1;
	uint8_t proto = (f & 2) ? IPPROTO_AH : IPPROTO_ESP;
	struct sa_list l = sas_of(side);
	unsigned i = 0;
	for (size_t s = 0; s < l.n; s++) {
		for (struct child_sa *ch = l.v[s]->children; ch; ch = ch->next, i++) {
			if (i != c % 16)
				continue;
			struct kaddr dst;
			to_kaddr(&l.v[s]->local, &dst);
			/* A hard expire: the kernel has removed the state before it tells us. */
			if (hard)
				(void)kernel_fake_inject_expire(W.s[side].fake, ch->spi_in, proto, &dst,
								true);
			engine_on_expire(W.s[side].e, ch->spi_in, proto, &dst, hard);
			return;
		}
	}
}

/*
 * Every state and policy in side's fake kernel belongs to a Child SA the
 * engine still knows (inbound SPI, outbound SPI, or reqid for policies):
 * anything else is kernel state leaked until the daemon stops.
 */
struct orphan_ctx {
	struct sa_list l;
	const char *what;
};

static bool child_has(const struct sa_list *l, const struct kernel_sa *k, const struct kernel_policy *p)
{
	for (size_t s = 0; s < l->n; s++)
		for (const struct child_sa *ch = l->v[s]->children; ch; ch = ch->next) {
			if (k && (k->inbound ? ch->spi_in == k->spi : ch->spi_out == k->spi))
				return true;
			if (p && (!p->has_tmpl || ch->reqid == p->reqid))
				return true;
		}
	return false;
}

static void orphan_sa(void *arg, const struct kernel_fake_sa *s)
{
	struct orphan_ctx *o = arg;
	if (!child_has(&o->l, &s->sa, NULL)) {
		char d[64];
		kaddr_to_string(&s->sa.dst, d, sizeof(d));
		fprintf(stderr, "fuzz_engine: orphan %s state %08x to %s (reqid %u)\n",
			s->sa.inbound ? "inbound" : "outbound", ntohl(s->sa.spi), d, s->sa.reqid);
		o->what = s->larval ? "a larval kernel state (SPI) outlives its Child SA"
				    : "a kernel state outlives its Child SA";
	}
}

static void orphan_policy(void *arg, const struct kernel_policy *p)
{
	struct orphan_ctx *o = arg;
	if (!child_has(&o->l, NULL, p))
		o->what = "a kernel policy outlives its Child SAs";
}

static void check_kernel(int side)
{
	struct orphan_ctx o = {.l = sas_of(side)};
	if (o.l.n == SAS_MAX)
		return; /* the list may be incomplete */
	kernel_fake_foreach_sa(W.s[side].fake, orphan_sa, &o);
	kernel_fake_foreach_policy(W.s[side].fake, orphan_policy, &o);
	if (o.what)
		die(o.what);
}

/* Writes e's status; read back as JSON when check (costly: CONTROL only). */
static void status(struct engine *e, bool check)
{
	struct json_writer w;
	struct json_value *v = NULL;
	char err[200];
	json_writer_init(&w);
	json_obj_begin(&w);
	engine_status(e, &w);
	json_obj_end(&w);
	if (!json_writer_ok(&w))
		die("status writer error");
	if (check &&
	    json_parse(json_writer_str(&w), json_writer_len(&w), 0, &v, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_engine: %s\n%s\n", err, json_writer_str(&w));
		die("status is not valid JSON");
	}
	json_value_free(v);
	json_writer_free(&w);
}

static void op_control(struct in *in)
{
	uint8_t w = u8(in);
	if (in->short_)
		return;
	switch (w & 3) {
	case 0: {
		/* The same file again: a reload that must change nothing. */
		struct reload_report rep;
		if (engine_reload(W.s[1].e, conf(CONF_B), &rep) == 0) {
			if (rep.added || rep.removed || rep.changed)
				die("reloading the same file changed a connection");
			reload_report_free(&rep);
		}
		break;
	}
	case 1:
		engine_shutdown(W.s[1].e);
		break;
	case 2:
		status(W.s[0].e, true);
		status(W.s[1].e, true);
		break;
	case 3:
		if (W.nq)
			pop(0, false);
		break;
	}
}

static void op_net(struct in *in)
{
	uint8_t x = u8(in);
	char err[160];
	if (in->short_)
		return;
	switch (x & 7) {
	case 0:
	case 1:
		if (x & 1)
			W.a_no_v4 = !W.a_no_v4;
		else
			W.a_moved = !W.a_moved;
		mobike_net_changed(W.s[0].e);
		break;
	case 2:
		(void)engine_reauth(W.s[0].e, "b", err, sizeof(err));
		break;
	case 3:
	case 4:
		(void)engine_rekey(W.s[0].e, "b", (x & 7) == 4, err, sizeof(err));
		break;
	case 5:
	case 6:
		(void)engine_rekey(W.s[1].e, "a", (x & 7) == 6, err, sizeof(err));
		break;
	case 7:
		mobike_roam(W.s[0].e);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {.p = data, .left = size};
	char err[160];
	world_new();
	while (in.left && !in.short_) {
		switch ((enum op)(u8(&in) % OP_COUNT)) {
		case OP_RAW:
			op_raw(&in);
			break;
		case OP_SEALED:
			op_sealed(&in);
			break;
		case OP_PUMP:
			op_pump(&in);
			break;
		case OP_UP:
			(void)engine_up(W.s[0].e, "b", err, sizeof(err));
			break;
		case OP_TIME:
			op_time(&in);
			break;
		case OP_DOWN:
			op_down(&in);
			break;
		case OP_SPLICE:
			op_splice(&in);
			break;
		case OP_EXPIRE:
			op_expire(&in);
			break;
		case OP_CONTROL:
			op_control(&in);
			break;
		case OP_NET:
			op_net(&in);
			break;
		case OP_COUNT:
			break;
		}
	}
	status(W.s[1].e, false);
	check_kernel(0);
	check_kernel(1);
	world_free();
	return 0;
}
