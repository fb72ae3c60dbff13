/*
 * libFuzzer target for what xiked makes of rtnetlink messages
 * (netlink/netmon.c, netlink/link.c): RFC 4555 roaming asks the kernel
 * for routes (RTM_GETROUTE: RTA_PREFSRC) and addresses (RTM_GETADDR dump,
 * read through libnl's rtnl_addr objects), listens to address, link and
 * route events, and route-based interfaces are looked up by name
 * (RTM_GETLINK, libnl's rtnl_link: ifindex and alias).
 *
 * Input: one buffer as recv() returns it from a NETLINK_ROUTE socket: any
 * number of netlink messages back to back, walked as nl_recvmsgs walks it
 * (nlmsg_ok / nlmsg_next). Every message goes to every reader, whatever
 * its type: the event filter and the device it is about, the route answer parser, and for address and
 * link messages libnl's object parser (nl_msg_parse, the one
 * rtnl_addr_alloc_cache and rtnl_link_get_kernel use), whose rtnl_addr /
 * rtnl_link objects go to netmon_addr_usable / link_read.
 *
 * Checks, each a crash (abort) when violated: an address xiked takes is
 * AF_INET or AF_INET6 (route answer: of the message's rtm_family, and
 * never from a message of another type).
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/object.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "netlink/link.h"
#include "netlink/netmon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz_netmon: %s\n", what);
	abort();
}

static void check_family(const struct sockaddr_storage *ss)
{
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		die("an address of a bad family taken");
}

static void on_object(struct nl_object *obj, void *arg)
{
	(void)arg;
	const char *type = nl_object_get_type(obj);
	if (!type)
		return;
	if (strcmp(type, "route/addr") == 0) {
		struct sockaddr_storage ss;
		if (netmon_addr_usable((struct rtnl_addr *)obj, &ss))
			check_family(&ss);
	} else if (strcmp(type, "route/link") == 0) {
		int ifindex = -1;
		bool ours = true;
		link_read((struct rtnl_link *)obj, &ifindex, &ours);
		link_read((struct rtnl_link *)obj, &ifindex, NULL); /* lk_create's call */
	}
}

static void one(struct nlmsghdr *h)
{
	struct sockaddr_storage ss;
	if (netmon_msg_changes(h->nlmsg_type))
		(void)netmon_event_ifindex(h); /* is the event about one of our devices (netmon_set_skip) */
	if (netmon_route_answer(h, &ss)) {
		if (h->nlmsg_type != RTM_NEWROUTE)
			die("a route answer taken from another message type");
		check_family(&ss);
		const struct rtmsg *rtm = nlmsg_data(h);
		if (rtm->rtm_family != ss.ss_family)
			die("a route answer's address is not of its rtm_family");
	}
	/*
	 * libnl's object parsers, for the types xiked has libnl parse: addresses
	 * (rtnl_addr_alloc_cache) and links (rtnl_link_get_kernel). Routes are
	 * read raw above; libnl's own route parser is not used by xiked (and
	 * libnl 3.7's trusts RTA_VIA's length: negative memcpy size).
	 */
	switch (h->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWLINK:
	case RTM_DELLINK:
		break;
	default:
		return;
	}
	struct nl_msg *msg = nlmsg_convert(h);
	if (!msg)
		return;
	nlmsg_set_proto(msg, NETLINK_ROUTE);
	(void)nl_msg_parse(msg, on_object, NULL);
	nlmsg_free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private, aligned copy of exactly size octets, so that any read past the end is caught. */
	if (size > 65536)
		return 0;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int rem = (int)size;
	for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf; nlmsg_ok(h, rem);
	     h = nlmsg_next(h, &rem))
		one(h);
	free(buf);
	return 0;
}
