/*
 * libFuzzer target for the parsers of kernel messages in
 * netlink/xfrm_msg.c. Input: one buffer as recv() returns it from a
 * NETLINK_XFRM socket (request answers, dumps or events): any number of
 * netlink messages back to back.
 *
 * The buffer is walked the way netlink/xfrm.c walks it (nlmsg_ok /
 * nlmsg_next, which check nlmsg_len against the bytes left) and every
 * message goes to every parser, whatever its type (each must refuse the
 * types it does not handle). What xfrm.c then does with a parsed dump
 * entry is done too: flush_stale builds XFRM_MSG_DELSA and
 * XFRM_MSG_DELPOLICY requests from what it parsed.
 *
 * Checks, each a crash (abort) when violated:
 *  - parsed addresses are AF_INET, AF_INET6 or unset; a policy has at
 *    most XFRM_PARSE_MAX_TMPL templates;
 *  - the extended-ack text is always terminated within the caller's
 *    buffer, also for a 1-octet buffer;
 *  - a MAPPING event's new address makes an XFRM_MSG_MIGRATE request
 *    (what the daemon does with it, natt.c and MOBIKE's child_kernel_migrate)
 *    whenever the event names two addresses of one family;
 *  - selectors: after one xfrm_sel_to_ksel / xfrm_sel_from_ksel pass
 *    (which normalizes host bits and port masks), a second pass gives the
 *    same xfrm_selector, byte for byte (policies are deleted by their
 *    selector: the kernel compares it whole).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <sys/socket.h>

#include "netlink/xfrm_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz_xfrm_msg: %s\n", what);
	abort();
}

static void check_addr(const struct kaddr *a)
{
	if (a->family != 0 && a->family != AF_INET && a->family != AF_INET6)
		die("parsed address with a bad family");
}

static void check_sel(const struct xfrm_selector *xs)
{
	struct ksel k1, k2;
	struct xfrm_selector x1, x2;

	xfrm_sel_to_ksel(xs, &k1);
	check_addr(&k1.src);
	check_addr(&k1.dst);
	if (xfrm_sel_from_ksel(&k1, &x1) != 0)
		return; /* not a selector we would ever send */
	xfrm_sel_to_ksel(&x1, &k2);
	if (xfrm_sel_from_ksel(&k2, &x2) != 0)
		die("normalized selector refused");
	if (memcmp(&x1, &x2, sizeof(x1)) != 0)
		die("selector conversion is not a fixed point");
}

/* The selector of the last ACQUIRE in the buffer (a Child SA's traffic selector). */
static struct ksel last_sel;

static void one(struct nlmsghdr *h)
{
	struct xfrm_sa_brief sa;
	struct xfrm_policy_brief pol;
	struct xfrm_expire_ev ex;
	struct xfrm_acquire_ev acq;
	struct xfrm_mapping_ev map;
	struct nl_msg *req;
	char ack[128], tiny[1];

	if (xfrm_parse_sa(h, &sa) == 0) {
		check_addr(&sa.src);
		check_addr(&sa.dst);
		/* flush_stale: delete what the dump showed */
		if (xfrm_msg_said(XFRM_MSG_DELSA, &sa.dst, sa.spi, sa.proto, sa.mark, sa.mark_mask,
				  &req) == 0)
			xfrm_msg_free(req);
	}
	if (xfrm_parse_policy(h, &pol) == 0) {
		if (pol.ntmpl > XFRM_PARSE_MAX_TMPL)
			die("too many templates");
		check_sel(&pol.sel);
		if (xfrm_msg_delpolicy_index(&pol.sel, pol.index, pol.dir, pol.ptype, pol.mark,
					     pol.mark_mask, pol.if_id, &req) == 0)
			xfrm_msg_free(req);
	}
	if (xfrm_parse_expire(h, &ex) == 0)
		check_addr(&ex.dst);
	if (xfrm_parse_acquire(h, &acq) == 0) {
		struct xfrm_selector xs;
		check_addr(&acq.sel.src);
		check_addr(&acq.sel.dst);
		if (xfrm_sel_from_ksel(&acq.sel, &xs) == 0) {
			check_sel(&xs);
			last_sel = acq.sel; /* the Child SA's selector, for the migrate below */
		}
	}
	if (xfrm_parse_mapping(h, &map) == 0) {
		check_addr(&map.dst);
		check_addr(&map.old_addr);
		check_addr(&map.new_addr);
		/* The inbound state follows the peer: from old_addr to new_addr (RFC 3948, 4555). */
		struct kernel_migrate km = {
			.sel = last_sel, .dir = KDIR_IN, .old_src = map.old_addr, .old_dst = map.dst,
			.new_src = map.new_addr, .new_dst = map.dst, .proto = map.proto,
			.mode = KMODE_TUNNEL, .reqid = map.reqid, .encap = true,
			.encap_sport = map.new_port, .encap_dport = 4500,
		};
		int rc = xfrm_msg_migrate(&km, &req);
		if (rc == 0)
			xfrm_msg_free(req);
		else if (map.old_addr.family != 0 && map.old_addr.family == map.dst.family &&
			 map.new_addr.family == map.dst.family &&
			 (map.proto == IPPROTO_ESP || map.proto == IPPROTO_AH) &&
			 xfrm_sel_from_ksel(&last_sel, &(struct xfrm_selector){0}) == 0)
			die("migrate refused for a mapping of one family");
	}
	bool got = xfrm_parse_extack(h, ack, sizeof(ack));
	if (memchr(ack, 0, sizeof(ack)) == NULL || (got && ack[0] == '\0'))
		die("extack text not terminated, or empty but reported");
	(void)xfrm_parse_extack(h, tiny, sizeof(tiny));
	if (tiny[0] != '\0')
		die("extack overflowed a 1-octet buffer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private, aligned copy of exactly size octets (as the receive buffer
	 * is aligned), so that any read past the end is caught. */
	if (size > 65536)
		return 0;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&last_sel, 0, sizeof(last_sel));
	int rem = (int)size;
	for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf; nlmsg_ok(h, rem);
	     h = nlmsg_next(h, &rem))
		one(h);
	free(buf);
	return 0;
}
