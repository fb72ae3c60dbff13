/* tests/host/xfrm_cli.c: drive the netlink kernel backend (struct kernel_ops) from a shell.
 *
 * For kernel tests (tests/vm/netlink_xfrm.sh): every operation goes through kernel_ops
 * exactly as the daemon would call it, and the script checks the result with `ip xfrm`
 * and with traffic. Test keys are given in hex on the command line: this is a test tool.
 *
 *   xfrm_cli get-spi src=A dst=A reqid=N              prints the SPI (0x........)
 *   xfrm_cli add-sa|update-sa src=A dst=A spi=N reqid=N [mode=tunnel|transport] [proto=esp|ah]
 *            (aead=NAME key=HEX icv=BITS | [enc=NAME key=HEX] [auth=NAME akey=HEX trunc=BITS])
 *            [replay=N] [esn] [encap=SPORT:DPORT] [mark=V/M] [if_id=N] [in]
 *            [sel=SRC/PLEN:DST/PLEN[:PROTO[:DPORT]]]
 *            [soft_bytes= hard_bytes= soft_packets= hard_packets= soft_add= hard_add= soft_use= hard_use=]
 *   xfrm_cli del-sa dst=A spi=N [proto=] [mark=V/M]
 *   xfrm_cli query-sa dst=A spi=N [proto=] [mark=V/M]  prints "bytes=N packets=N add_time=N use_time=N"
 *   xfrm_cli add-policy sel=SRC/PLEN:DST/PLEN[:PROTO[:DPORT]] dir=in|out|fwd [reqid=N]
 *            [tmpl=SRC:DST] (tunnel endpoints; IPv6 as [A]:[B]) [mode=] [proto=] [mark=V/M]
 *            [if_id=N] [priority=N|auto] [bypass]
 *   xfrm_cli del-policy sel=... dir=... [mark=V/M] [if_id=N]
 *   xfrm_cli flush-stale
 *   xfrm_cli watch SECONDS [COUNT]   prints events ("expire soft spi=0x.. ...") until COUNT
 *                                     events or SECONDS pass
 * Exit status 0 on success; on failure prints "error: <errno> <kernel_strerror> [extack]" and
 * exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netlink/kernel_ops.h"

#define KEY_MAX 128

static void usage(void)
{
	fprintf(stderr, "usage: see the comment at the top of tests/host/xfrm_cli.c\n");
	exit(2);
}

static const char *arg(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 2; i < argc; i++) {
		if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
		if (strcmp(argv[i], name) == 0)
			return "";
	}
	return NULL;
}

static unsigned long long num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || *s == '\0') {
		fprintf(stderr, "bad number for %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static unsigned long long numarg(int argc, char **argv, const char *name, unsigned long long dflt)
{
	const char *s = arg(argc, argv, name);

	return s != NULL ? num(s, name) : dflt;
}

static struct kaddr addr(const char *s, const char *what)
{
	struct kaddr a;

	if (s == NULL || kaddr_from_string(s, &a) != 0) {
		fprintf(stderr, "bad or missing address for %s: %s\n", what, s ? s : "(none)");
		exit(2);
	}
	return a;
}

static size_t hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (s[0] != '\0' && s[1] != '\0' && n < max) {
		unsigned v;

		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	if (*s != '\0') {
		fprintf(stderr, "bad hex key\n");
		exit(2);
	}
	return n;
}

static uint8_t proto(int argc, char **argv)
{
	const char *p = arg(argc, argv, "proto");

	if (p == NULL || strcmp(p, "esp") == 0)
		return IPPROTO_ESP;
	if (strcmp(p, "ah") == 0)
		return IPPROTO_AH;
	fprintf(stderr, "bad proto %s\n", p);
	exit(2);
}

static void mark(int argc, char **argv, uint32_t *v, uint32_t *m)
{
	const char *s = arg(argc, argv, "mark");
	char buf[64], *slash;

	*v = *m = 0;
	if (s == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	*v = (uint32_t)num(buf, "mark");
	*m = slash != NULL ? (uint32_t)num(slash + 1, "mark mask") : 0xffffffffu;
}

/* "A/PLEN" */
static void prefix(const char *s, struct kaddr *a, uint8_t *plen)
{
	char buf[80], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	*a = addr(buf, "selector");
	*plen = slash != NULL ? (uint8_t)num(slash + 1, "prefix length") : (uint8_t)(kaddr_len(a->family) * 8);
}

/* SRC/PLEN:DST/PLEN[:PROTO[:DPORT]] with IPv6 addresses in brackets: [2001:db8::]/48 */
static void selector(const char *s, struct ksel *sel)
{
	char buf[256];
	char *parts[4] = { 0 };
	int n = 0;
	char *p;

	memset(sel, 0, sizeof(*sel));
	snprintf(buf, sizeof(buf), "%s", s);
	p = buf;
	while (p != NULL && n < 4) {
		char *end;

		if (*p == '[') {
			char *close = strchr(p, ']');

			if (close == NULL)
				usage();
			memmove(close, close + 1, strlen(close + 1) + 1);
			memmove(p, p + 1, strlen(p + 1) + 1);
			end = strchr(close - 1, ':');
		} else {
			end = strchr(p, ':');
		}
		parts[n++] = p;
		if (end != NULL)
			*end++ = '\0';
		p = end;
	}
	if (n < 2)
		usage();
	prefix(parts[0], &sel->src, &sel->src_plen);
	prefix(parts[1], &sel->dst, &sel->dst_plen);
	if (n > 2)
		sel->proto = (uint8_t)num(parts[2], "selector proto");
	if (n > 3) {
		sel->dport = (uint16_t)num(parts[3], "selector port");
		sel->dport_mask = 0xffff;
	}
}

static int fail(struct kernel *kern, int err, uint8_t p)
{
	const char *x = kern->ops->last_extack(kern->k);

	printf("error: %d %s%s%s%s\n", err, kernel_strerror(err, p), x ? " [kernel: " : "", x ? x : "",
	       x ? "]" : "");
	return 1;
}

static int cmd_sa(struct kernel *kern, int argc, char **argv, bool update)
{
	uint8_t ekey[KEY_MAX], akey[KEY_MAX];
	struct kernel_sa sa;
	struct ksel sel;
	const char *s;
	int err;

	memset(&sa, 0, sizeof(sa));
	sa.src = addr(arg(argc, argv, "src"), "src");
	sa.dst = addr(arg(argc, argv, "dst"), "dst");
	sa.spi = htonl((uint32_t)numarg(argc, argv, "spi", 0));
	sa.proto = proto(argc, argv);
	s = arg(argc, argv, "mode");
	sa.mode = s != NULL && strcmp(s, "transport") == 0 ? KMODE_TRANSPORT : KMODE_TUNNEL;
	sa.reqid = (uint32_t)numarg(argc, argv, "reqid", 0);
	if ((s = arg(argc, argv, "aead")) != NULL) {
		sa.enc_alg = s;
		sa.icv_bits = (uint32_t)numarg(argc, argv, "icv", 128);
	} else {
		sa.enc_alg = arg(argc, argv, "enc");
	}
	if ((s = arg(argc, argv, "key")) != NULL) {
		sa.enc_key_len = hex(s, ekey, sizeof(ekey));
		sa.enc_key = ekey;
	}
	if ((s = arg(argc, argv, "auth")) != NULL) {
		sa.integ_alg = s;
		sa.integ_trunc_bits = (uint32_t)numarg(argc, argv, "trunc", 0);
		s = arg(argc, argv, "akey");
		if (s == NULL)
			usage();
		sa.integ_key_len = hex(s, akey, sizeof(akey));
		sa.integ_key = akey;
	}
	sa.replay_window = (uint32_t)numarg(argc, argv, "replay", 32);
	sa.esn = arg(argc, argv, "esn") != NULL;
	sa.inbound = arg(argc, argv, "in") != NULL;
	if ((s = arg(argc, argv, "encap")) != NULL) {
		unsigned sp, dp;

		if (sscanf(s, "%u:%u", &sp, &dp) != 2)
			usage();
		sa.encap = true;
		sa.encap_sport = (uint16_t)sp;
		sa.encap_dport = (uint16_t)dp;
	}
	mark(argc, argv, &sa.mark, &sa.mark_mask);
	sa.if_id = (uint32_t)numarg(argc, argv, "if_id", 0);
	if ((s = arg(argc, argv, "sel")) != NULL) {
		selector(s, &sel);
		sa.sel = &sel;
	}
	sa.soft_bytes = numarg(argc, argv, "soft_bytes", 0);
	sa.hard_bytes = numarg(argc, argv, "hard_bytes", 0);
	sa.soft_packets = numarg(argc, argv, "soft_packets", 0);
	sa.hard_packets = numarg(argc, argv, "hard_packets", 0);
	sa.soft_add_s = numarg(argc, argv, "soft_add", 0);
	sa.hard_add_s = numarg(argc, argv, "hard_add", 0);
	sa.soft_use_s = numarg(argc, argv, "soft_use", 0);
	sa.hard_use_s = numarg(argc, argv, "hard_use", 0);
	err = update ? kern->ops->update_sa(kern->k, &sa) : kern->ops->add_sa(kern->k, &sa);
	explicit_bzero(ekey, sizeof(ekey));
	explicit_bzero(akey, sizeof(akey));
	return err != 0 ? fail(kern, err, sa.proto) : 0;
}

static int cmd_policy(struct kernel *kern, int argc, char **argv, bool add)
{
	struct kernel_policy p;
	const char *s;
	int err;

	memset(&p, 0, sizeof(p));
	s = arg(argc, argv, "sel");
	if (s == NULL)
		usage();
	selector(s, &p.sel);
	s = arg(argc, argv, "dir");
	if (s == NULL)
		usage();
	p.dir = strcmp(s, "in") == 0 ? KDIR_IN : strcmp(s, "fwd") == 0 ? KDIR_FWD : KDIR_OUT;
	mark(argc, argv, &p.mark, &p.mark_mask);
	p.if_id = (uint32_t)numarg(argc, argv, "if_id", 0);
	if (!add) {
		err = kern->ops->del_policy(kern->k, &p.sel, p.dir, p.mark, p.mark_mask, p.if_id);
		return err != 0 ? fail(kern, err, 0) : 0;
	}
	s = arg(argc, argv, "priority");
	p.priority = s == NULL || strcmp(s, "auto") == 0 ? kernel_policy_priority(&p.sel) : (uint32_t)num(s, "priority");
	if (arg(argc, argv, "bypass") == NULL) {
		p.has_tmpl = true;
		p.reqid = (uint32_t)numarg(argc, argv, "reqid", 0);
		p.tmpl_proto = proto(argc, argv);
		s = arg(argc, argv, "mode");
		p.tmpl_mode = s != NULL && strcmp(s, "transport") == 0 ? KMODE_TRANSPORT : KMODE_TUNNEL;
		if ((s = arg(argc, argv, "tmpl")) != NULL) {
			struct ksel t;

			/* Reuse the selector syntax: SRC:DST. */
			selector(s, &t);
			p.tmpl_src = t.src;
			p.tmpl_dst = t.dst;
		}
	}
	err = kern->ops->add_policy(kern->k, &p);
	return err != 0 ? fail(kern, err, 0) : 0;
}

struct watch {
	int count;
};

static void w_expire(void *ctx, uint32_t spi, uint8_t p, const struct kaddr *dst, bool hard)
{
	char b[KADDR_STRLEN];
	struct watch *w = ctx;

	printf("expire %s spi=0x%08x proto=%u dst=%s\n", hard ? "hard" : "soft", ntohl(spi), p,
	       kaddr_to_string(dst, b, sizeof(b)));
	w->count++;
}

static void w_acquire(void *ctx, const struct ksel *sel, uint32_t reqid)
{
	char s[KADDR_STRLEN], d[KADDR_STRLEN];
	struct watch *w = ctx;

	printf("acquire reqid=0x%08x sel=%s/%u->%s/%u proto=%u dport=%u\n", reqid,
	       kaddr_to_string(&sel->src, s, sizeof(s)), sel->src_plen, kaddr_to_string(&sel->dst, d, sizeof(d)),
	       sel->dst_plen, sel->proto, sel->dport);
	w->count++;
}

static void w_mapping(void *ctx, uint32_t spi, const struct kaddr *oa, uint16_t op, const struct kaddr *na,
		      uint16_t np)
{
	char o[KADDR_STRLEN], n[KADDR_STRLEN];
	struct watch *w = ctx;

	printf("mapping spi=0x%08x %s:%u -> %s:%u\n", ntohl(spi), kaddr_to_string(oa, o, sizeof(o)), op,
	       kaddr_to_string(na, n, sizeof(n)), np);
	w->count++;
}

static int cmd_watch(struct kernel *kern, struct watch *w, int secs, int count)
{
	time_t end = time(NULL) + secs;

	printf("watching\n");
	while (time(NULL) < end && (count == 0 || w->count < count)) {
		struct pollfd pfd = { .fd = kern->ops->event_fd(kern->k), .events = POLLIN };

		if (poll(&pfd, 1, 200) > 0)
			kern->ops->event_dispatch(kern->k);
	}
	return count == 0 || w->count >= count ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct watch w = { 0 };
	struct kernel_events ev = { .expire = w_expire, .acquire = w_acquire, .mapping = w_mapping, .ctx = &w };
	struct kernel kern;
	const char *cmd;
	int err, rc = 0;

	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	cmd = argv[1];
	err = kernel_netlink_new(&ev, &kern);
	if (err != 0) {
		printf("error: %d %s\n", err, kernel_strerror(err, 0));
		return 1;
	}
	if (strcmp(cmd, "get-spi") == 0) {
		struct kaddr src = addr(arg(argc, argv, "src"), "src"), dst = addr(arg(argc, argv, "dst"), "dst");
		uint32_t spi;

		err = kern.ops->get_spi(kern.k, &src, &dst, proto(argc, argv), (uint32_t)numarg(argc, argv, "reqid", 0), 0,
					&spi);
		if (err != 0)
			rc = fail(&kern, err, proto(argc, argv));
		else
			printf("0x%08x\n", ntohl(spi));
	} else if (strcmp(cmd, "add-sa") == 0 || strcmp(cmd, "update-sa") == 0) {
		rc = cmd_sa(&kern, argc, argv, strcmp(cmd, "update-sa") == 0);
	} else if (strcmp(cmd, "del-sa") == 0 || strcmp(cmd, "query-sa") == 0) {
		struct kaddr dst = addr(arg(argc, argv, "dst"), "dst");
		uint32_t spi = htonl((uint32_t)numarg(argc, argv, "spi", 0)), v, m;
		struct kernel_sa_stats st;

		mark(argc, argv, &v, &m);
		if (strcmp(cmd, "del-sa") == 0)
			err = kern.ops->del_sa(kern.k, &dst, spi, proto(argc, argv), v, m);
		else
			err = kern.ops->query_sa(kern.k, &dst, spi, proto(argc, argv), v, m, &st);
		if (err != 0)
			rc = fail(&kern, err, proto(argc, argv));
		else if (strcmp(cmd, "query-sa") == 0)
			printf("bytes=%llu packets=%llu add_time=%llu use_time=%llu\n", (unsigned long long)st.bytes,
			       (unsigned long long)st.packets, (unsigned long long)st.add_time,
			       (unsigned long long)st.use_time);
	} else if (strcmp(cmd, "add-policy") == 0 || strcmp(cmd, "del-policy") == 0) {
		rc = cmd_policy(&kern, argc, argv, strcmp(cmd, "add-policy") == 0);
	} else if (strcmp(cmd, "flush-stale") == 0) {
		err = kern.ops->flush_stale(kern.k);
		if (err != 0)
			rc = fail(&kern, err, 0);
	} else if (strcmp(cmd, "watch") == 0) {
		if (argc < 3)
			usage();
		rc = cmd_watch(&kern, &w, (int)num(argv[2], "seconds"), argc > 3 ? (int)num(argv[3], "count") : 0);
	} else {
		usage();
	}
	kernel_free(&kern);
	return rc;
}
