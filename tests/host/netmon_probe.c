/* tests/host/netmon_probe.c: netlink/netmon.c against the running kernel.
 *
 * In a network namespace of its own (root; exits 77, skipped, without), with two veth
 * "uplinks" (set up with ip(8): the test's fixture, not the code under test), it checks that
 *   - RTM_GETROUTE gives the preferred uplink's address as the source toward a peer;
 *   - the local addresses (RTM_GETADDR) hold both uplinks' addresses;
 *   - removing that address, bringing it back, and taking a link down each raise an event
 *     on the fd and change the route lookup's answer (the wifi/lte moves of roaming.sh);
 *   - without any route the lookup fails with an errno.
 * Prints one line per check and "N passed, N failed"; exit 1 on any failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/netmon.h"

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

/* Wait up to 2 s for the fd, then dispatch: whether a change was reported. */
static bool event(struct netmon *m)
{
	struct pollfd p = {.fd = netmon_fd(m), .events = POLLIN};
	bool changed = false;
	while (poll(&p, 1, changed ? 100 : 2000) > 0)
		changed |= netmon_dispatch(m);
	return changed;
}

static int skip_idx[2];
static bool skip(void *ctx, int ifindex)
{
	(void)ctx;
	return ifindex > 0 && (ifindex == skip_idx[0] || ifindex == skip_idx[1]);
}

static const char *source(struct netmon *m, int *err)
{
	static char buf[INET6_ADDRSTRLEN];
	struct sockaddr_storage dst = {0}, src = {0};
	struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;
	d4->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.2", &d4->sin_addr);
	*err = netmon_route_source(m, &dst, &src);
	if (*err != 0)
		return "-";
	inet_ntop(AF_INET, &((struct sockaddr_in *)&src)->sin_addr, buf, sizeof(buf));
	return buf;
}

static bool has_addr(struct netmon *m, const char *ip)
{
	struct sockaddr_storage a[16];
	size_t n = netmon_local_addrs(m, a, 16);
	for (size_t i = 0; i < n; i++) {
		char buf[INET6_ADDRSTRLEN] = "";
		if (a[i].ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&a[i])->sin_addr, buf, sizeof(buf));
		if (strcmp(buf, ip) == 0)
			return true;
	}
	return false;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET) != 0) {
		printf("skip: cannot create a network namespace (%s); run as root\n", strerror(errno));
		return 77;
	}
	if (sh("ip link set lo up && ip addr add 10.1.0.1/32 dev lo && "
	       "ip link add wifi type veth peer name wifi-r && ip link set wifi up && ip link set wifi-r up && "
	       "ip link add lte type veth peer name lte-r && ip link set lte up && ip link set lte-r up && "
	       "ip addr add 198.51.100.2/24 dev wifi && ip addr add 203.0.113.2/24 dev lte && "
	       "ip route add 192.0.2.0/24 via 198.51.100.1 dev wifi metric 10 && "
	       "ip route add 192.0.2.0/24 via 203.0.113.1 dev lte metric 20") != 0) {
		printf("skip: cannot set up veth uplinks\n");
		return 77;
	}
	struct netmon *m = NULL;
	int err = netmon_new(&m);
	CHECK(err == 0, "netmon_new (err %d)", err);
	if (err != 0)
		goto out;
	const char *s = source(m, &err);
	CHECK(err == 0 && strcmp(s, "198.51.100.2") == 0, "source toward the peer: wifi's %s (err %d)", s, err);
	CHECK(has_addr(m, "198.51.100.2") && has_addr(m, "203.0.113.2"), "local addresses: both uplinks");
	CHECK(!has_addr(m, "127.0.0.1"), "local addresses: not loopback");
	CHECK(!has_addr(m, "10.1.0.1"), "local addresses: not a global address on lo (a LAN address kept there)");

	sh("ip addr del 198.51.100.2/24 dev wifi");
	CHECK(event(m), "event: wifi's address removed");
	s = source(m, &err);
	CHECK(err == 0 && strcmp(s, "203.0.113.2") == 0, "source now lte's %s (err %d)", s, err);
	CHECK(!has_addr(m, "198.51.100.2"), "local addresses: wifi's gone");

	sh("ip addr add 198.51.100.2/24 dev wifi && ip route add 192.0.2.0/24 via 198.51.100.1 dev wifi metric 10");
	CHECK(event(m), "event: wifi's address and route back");
	s = source(m, &err);
	CHECK(err == 0 && strcmp(s, "198.51.100.2") == 0, "source wifi's %s again (err %d)", s, err);

	sh("ip link set wifi down");
	CHECK(event(m), "event: wifi's link down");
	s = source(m, &err);
	CHECK(err == 0 && strcmp(s, "203.0.113.2") == 0, "source lte's %s (err %d)", s, err);

	sh("ip link set lte down");
	CHECK(event(m), "event: lte's link down");
	s = source(m, &err);
	CHECK(err < 0, "no route at all: %s (err %d, %s)", s, err, strerror(-err));
	s = source(m, &err);
	CHECK(err < 0, "asked again, the same answer (err %d)", err);
	sh("ip link set lte up && ip route add 192.0.2.0/24 via 203.0.113.1 dev lte metric 20");
	CHECK(event(m), "event: lte back");
	s = source(m, &err);
	CHECK(err == 0 && strcmp(s, "203.0.113.2") == 0, "source lte's %s (err %d)", s, err);

	/* netmon_set_skip: a device the daemon made itself (route_iface) is no path change. */
	sh("ip link add xk0 type veth peer name xk0-r");
	/* Until quiet: lte's IPv6 link-local address still comes after DAD. */
	while (event(m))
		;
	skip_idx[0] = (int)if_nametoindex("xk0");
	skip_idx[1] = (int)if_nametoindex("xk0-r");
	netmon_set_skip(m, skip, NULL);
	sh("ip link set xk0 up && ip link set xk0-r up && ip addr add 10.77.0.1/30 dev xk0 && "
	   "ip route add 10.78.0.0/16 dev xk0");
	CHECK(!event(m), "skipped: link up, address and route on a skipped device");
	sh("ip link del xk0");
	CHECK(!event(m), "skipped: the skipped device removed");
	sh("ip addr add 203.0.113.9/24 dev lte");
	CHECK(event(m), "event: an address on lte while a skip hook is set");
	netmon_free(m);
	netmon_free(NULL);
out:
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
