/* tests/host/route_probe.c: the policy-based route ops of netlink/link.c against the running
 * kernel (daemon/child_route.h).
 *
 * In a network namespace of its own (root; exits 77, skipped, without), with a veth uplink
 * and a LAN address on lo (set up with ip(8): the test's fixture, not the code under test),
 * it checks that
 *   - RTM_GETROUTE to a peer gives the next hop and device (none for an on-link peer);
 *   - the host address inside a selector range is found;
 *   - a route in table 220 with via, dev, src and protocol 150 reads back in `ip route`,
 *     `ip route get` to the far LAN picks it with the LAN source, NLM_F_EXCL refuses a second
 *     one and NLM_F_REPLACE moves it; the rule reads back in `ip rule`;
 *   - a throw route keeps the peer on the main table's path with 0.0.0.0/0 in table 220;
 *   - IPv6 the same;
 *   - flush removes routes and rules of protocol 150 (a killed xiked's) and nothing else.
 * Prints one line per check and "N passed, N failed"; exit 1 on any failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/link.h"

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

static int sh(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		printf("note: '%s' exited %d\n", cmd, rc);
	return rc;
}

/* The first line of cmd's output that contains want (into buf), or NULL. */
static const char *out_has(const char *cmd, const char *want)
{
	static char hitbuf[512];
	char line[512];
	FILE *p = popen(cmd, "r");
	const char *hit = NULL;
	if (!p)
		return NULL;
	while (fgets(line, sizeof(line), p))
		if (!hit && strstr(line, want)) {
			line[strcspn(line, "\n")] = 0;
			memcpy(hitbuf, line, sizeof(hitbuf));
			hit = hitbuf;
		}
	pclose(p);
	return hit;
}

static int lines(const char *cmd)
{
	char buf[512];
	int n = 0;
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(buf, sizeof(buf), p))
		n++;
	pclose(p);
	return n;
}

static struct kaddr ka(const char *s)
{
	struct kaddr k = {0};
	kaddr_from_string(s, &k);
	return k;
}

static struct link_prefix pfx(const char *s, unsigned plen)
{
	return (struct link_prefix){.addr = ka(s), .plen = (uint8_t)plen};
}

static const char *str(const struct kaddr *k)
{
	static char b[2][KADDR_STRLEN];
	static int n;
	n ^= 1;
	return k->family ? kaddr_to_string(k, b[n], sizeof(b[n])) : "-";
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET) != 0) {
		printf("skip: cannot create a network namespace (%s); run as root\n", strerror(errno));
		return 77;
	}
	if (sh("ip link set lo up && ip link add up0 type veth peer name up0-r && "
	       "ip link set up0 up && ip link set up0-r up && "
	       "ip addr add 198.51.100.2/24 dev up0 && ip addr add 10.1.0.1/32 dev lo && "
	       "ip route add 192.0.2.0/24 via 198.51.100.1 dev up0 && "
	       "ip -6 addr add 2001:db8:a::2/64 dev up0 nodad && ip -6 addr add fd00:1::1/128 dev lo && "
	       "ip -6 route add 2001:db8:2::/64 via 2001:db8:a::1 dev up0") != 0) {
		printf("skip: cannot set up the uplink\n");
		return 77;
	}
	struct link l;
	int err = link_netlink_new(&l);
	CHECK(err == 0, "link_netlink_new (err %d)", err);
	if (err != 0)
		return 1;
	const struct link_ops *o = l.ops;
	int up0 = (int)if_nametoindex("up0");
	struct link_path p;
	struct kaddr peer = ka("192.0.2.2"), local = ka("198.51.100.2");

	err = o->get_path(l.l, &peer, &local, &p);
	CHECK(err == 0 && strcmp(str(&p.gw), "198.51.100.1") == 0 && p.ifindex == up0,
	      "path to 192.0.2.2: via %s dev %d (up0 is %d; err %d)", str(&p.gw), p.ifindex, up0, err);
	struct kaddr onlink = ka("198.51.100.7");
	err = o->get_path(l.l, &onlink, NULL, &p);
	CHECK(err == 0 && !p.gw.family && p.ifindex == up0, "on-link 198.51.100.7: no gateway, dev %d (err %d)",
	      p.ifindex, err);
	struct kaddr nowhere = ka("203.0.113.9");
	err = o->get_path(l.l, &nowhere, NULL, &p);
	CHECK(err < 0, "no route to 203.0.113.9: %s", strerror(-err));
	/* a second request on the same socket still gets its own answer (the ACKs were read) */
	err = o->get_path(l.l, &peer, NULL, &p);
	CHECK(err == 0 && strcmp(str(&p.gw), "198.51.100.1") == 0, "path again: via %s", str(&p.gw));

	struct kaddr src;
	struct link_prefix lan = pfx("10.1.0.0", 24);
	uint8_t end[16];
	memcpy(end, lan.addr.a, 4);
	end[3] = 255;
	err = o->local_addr_in(l.l, AF_INET, lan.addr.a, end, &src);
	CHECK(err == 0 && strcmp(str(&src), "10.1.0.1") == 0, "host address in 10.1.0.0/24: %s", str(&src));
	struct link_prefix far = pfx("10.2.0.0", 24);
	memcpy(end, far.addr.a, 4);
	end[3] = 255;
	err = o->local_addr_in(l.l, AF_INET, far.addr.a, end, &src);
	CHECK(err == -ENOENT, "none in 10.2.0.0/24 (err %d)", err);

	CHECK(o->rule_add(l.l, AF_INET, 220, 220) == 0, "rule added");
	CHECK(o->rule_add(l.l, AF_INET, 220, 220) == -EEXIST, "the same rule again: EEXIST");
	const char *r = out_has("ip rule show", "220:");
	CHECK(r && strstr(r, "lookup 220") && strstr(r, "proto 150"), "ip rule: %s", r ? r : "(none)");

	struct link_table_route rt = {.table = 220, .dst = far, .gw = ka("198.51.100.1"), .ifindex = up0,
				      .src = ka("10.1.0.1")};
	CHECK(o->troute_add(l.l, &rt, false) == 0, "route 10.2.0.0/24 added");
	r = out_has("ip route show table 220", "10.2.0.0/24");
	CHECK(r && strstr(r, "via 198.51.100.1 dev up0") && strstr(r, "proto 150") && strstr(r, "src 10.1.0.1"),
	      "ip route show table 220: %s", r ? r : "(none)");
	r = out_has("ip route get 10.2.0.5", "10.2.0.5");
	CHECK(r && strstr(r, "table 220") && strstr(r, "src 10.1.0.1"), "ip route get 10.2.0.5: %s",
	      r ? r : "(none)");
	err = o->troute_add(l.l, &rt, false);
	CHECK(err == -EEXIST, "NLM_F_EXCL again: EEXIST (err %d)", err);
	sh("ip addr add 198.51.100.3/24 dev up0");
	rt.gw = ka("198.51.100.9");
	CHECK(o->troute_add(l.l, &rt, true) == 0, "replaced");
	r = out_has("ip route show table 220", "10.2.0.0/24");
	CHECK(r && strstr(r, "via 198.51.100.9"), "moved: %s", r ? r : "(none)");
	CHECK(lines("ip route show table 220") == 1, "one route in table 220");

	/* 0.0.0.0/0 in table 220, the peer's throw next to it */
	struct link_table_route def = {.table = 220, .dst = pfx("0.0.0.0", 0), .gw = ka("198.51.100.9"),
				       .ifindex = up0, .src = ka("10.1.0.1")};
	struct link_table_route thr = {.table = 220, .dst = pfx("192.0.2.2", 32), .throw_ = true};
	CHECK(o->troute_add(l.l, &def, false) == 0, "0.0.0.0/0 added");
	err = o->get_path(l.l, &peer, NULL, &p);
	CHECK(err == 0 && strcmp(str(&p.gw), "198.51.100.9") == 0, "without a throw the peer goes by table 220: via %s",
	      str(&p.gw));
	CHECK(o->troute_add(l.l, &thr, false) == 0, "throw 192.0.2.2 added");
	err = o->get_path(l.l, &peer, NULL, &p);
	CHECK(err == 0 && strcmp(str(&p.gw), "198.51.100.1") == 0, "with it, the main table's via %s", str(&p.gw));
	r = out_has("ip route show table 220", "throw");
	CHECK(r && strstr(r, "192.0.2.2") && strstr(r, "proto 150"), "ip route: %s", r ? r : "(none)");
	CHECK(o->troute_del(l.l, &thr) == 0 && o->troute_del(l.l, &def) == 0, "throw and 0/0 removed");

	/* IPv6 */
	struct link_table_route r6 = {.table = 220, .dst = pfx("fd00:2::", 48), .gw = ka("2001:db8:a::1"),
				      .ifindex = up0, .src = ka("fd00:1::1")};
	struct kaddr peer6 = ka("2001:db8:2::2");
	err = o->get_path(l.l, &peer6, NULL, &p);
	CHECK(err == 0 && strcmp(str(&p.gw), "2001:db8:a::1") == 0 && p.ifindex == up0, "IPv6 path: via %s dev %d",
	      str(&p.gw), p.ifindex);
	struct link_prefix l6 = pfx("fd00:1::", 48);
	memcpy(end, l6.addr.a, 16);
	memset(end + 6, 0xff, 10);
	err = o->local_addr_in(l.l, AF_INET6, l6.addr.a, end, &src);
	CHECK(err == 0 && strcmp(str(&src), "fd00:1::1") == 0, "IPv6 host address: %s", str(&src));
	CHECK(o->rule_add(l.l, AF_INET6, 220, 220) == 0, "IPv6 rule added");
	err = o->troute_add(l.l, &r6, false);
	CHECK(err == 0, "IPv6 route added (err %d)", err);
	r = out_has("ip -6 route show table 220", "fd00:2::/48");
	CHECK(r && strstr(r, "via 2001:db8:a::1") && strstr(r, "proto 150") && strstr(r, "src fd00:1::1"),
	      "ip -6 route show table 220: %s", r ? r : "(none)");

	/* A killed xiked's routes and rules go; the administrator's stay. */
	sh("ip route add 10.7.0.0/16 via 198.51.100.1 table 220 proto static && "
	   "ip rule add priority 300 lookup 300");
	err = o->flush(l.l);
	CHECK(err == 4, "flush: %d removed (10.2.0.0/24, fd00:2::/48, two rules)", err);
	CHECK(lines("ip route show table 220") == 1 && out_has("ip route show table 220", "10.7.0.0/16"),
	      "only the administrator's route is left in table 220");
	CHECK(lines("ip -6 route show table 220") == 0, "no IPv6 route left in table 220");
	CHECK(!out_has("ip rule show", "220:") && !out_has("ip -6 rule show", "220:") &&
	      out_has("ip rule show", "300:"), "our rules gone, the administrator's kept");
	CHECK(o->troute_del(l.l, &rt) == -ESRCH || o->troute_del(l.l, &rt) == -ENOENT, "deleting a gone route: an error");
	link_free(&l);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
