/*
 * Capture reading and IP/UDP decapsulation for ikedump (see
 * ikedump_cap.h).  Every header is read through a bounds-checked cursor
 * (design.md rule 2); a short or inconsistent header becomes CAP_MALFORMED
 * with both numbers (got vs. needed) in the reason.
 */
#include "tools/ikedump_cap.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/cursor.h"
#include "daemon/ikev2.h"

/* Ethertypes (IEEE 802; only those we follow). */
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
/* Tags we skip before giving up, so a looping tag stack ends. */
#define VLAN_TAGS_MAX 4

/* IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
#define IPPROTO_NUM_HOPOPTS 0
#define IPPROTO_NUM_UDP 17
#define IPPROTO_NUM_ROUTING 43
#define IPPROTO_NUM_FRAGMENT 44
#define IPPROTO_NUM_ESP 50
#define IPPROTO_NUM_AH 51
#define IPPROTO_NUM_DSTOPTS 60
/* IPv6 extension headers we walk before giving up. */
#define IPV6_EXT_MAX 8

#define UDP_HDR_LEN 8
#define IPV4_HDR_MIN 20
#define IPV6_HDR_LEN 40
/* RFC 3948 2.3: the NAT-keepalive is one octet, 0xFF. */
#define NATT_KEEPALIVE_OCTET 0xff
/* RFC 4303 2: SPI and sequence number. */
#define ESP_HDR_MIN 8

/* BSD loopback address family values seen in captures (pcap-linktype(7)). */
#define BSD_AF_INET 2
#define BSD_AF_INET6_A 24
#define BSD_AF_INET6_B 28
#define BSD_AF_INET6_C 30

struct cap_reader {
	pcap_t *pcap;
	int linktype;
	uint64_t frame;
};

static void cap_malformed(struct cap_packet *pkt, const char *layer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cap_malformed(struct cap_packet *pkt, const char *layer, const char *fmt, ...)
{
	va_list ap;

	pkt->kind = CAP_MALFORMED;
	pkt->layer = layer;
	va_start(ap, fmt);
	vsnprintf(pkt->why, sizeof(pkt->why), fmt, ap);
	va_end(ap);
}

/* Payload of the transport layer: UDP 500/4500 or ESP. */
static void cap_decode_udp(struct rd *c, struct cap_packet *pkt)
{
	uint16_t sport, dport, ulen;
	size_t avail = rd_left(c);

	if (!rd_u16(c, &sport) || !rd_u16(c, &dport) || !rd_u16(c, &ulen) ||
	    !rd_skip(c, 2)) {
		cap_malformed(pkt, "UDP", "truncated UDP header: %zu octets, need %d", avail, UDP_HDR_LEN);
		return;
	}
	pkt->have_ports = true;
	pkt->sport = sport;
	pkt->dport = dport;
	if (ulen < UDP_HDR_LEN) {
		cap_malformed(pkt, "UDP", "UDP length %u below the header's %d octets", ulen, UDP_HDR_LEN);
		return;
	}
	if (ulen > avail) {
		cap_malformed(pkt, "UDP", "UDP length %u exceeds the %zu octets the IP packet holds",
			      ulen, avail);
		return;
	}
	/* Ignore IP padding beyond the UDP datagram. */
	size_t plen = (size_t)ulen - UDP_HDR_LEN;
	const uint8_t *pl = c->p;

	if (sport == IKE_NATT_PORT || dport == IKE_NATT_PORT) {
		/* RFC 3948 2.2/2.3: marker, keepalive or ESP. */
		if (plen == 1 && pl[0] == NATT_KEEPALIVE_OCTET) {
			pkt->kind = CAP_KEEPALIVE;
			pkt->data = pl;
			pkt->len = plen;
			return;
		}
		if (plen >= IKE_NON_ESP_MARKER_LEN &&
		    pl[0] == 0 && pl[1] == 0 && pl[2] == 0 && pl[3] == 0) {
			pkt->kind = CAP_IKE;
			pkt->non_esp_marker = true;
			pkt->data = pl + IKE_NON_ESP_MARKER_LEN;
			pkt->len = plen - IKE_NON_ESP_MARKER_LEN;
			return;
		}
		struct rd e = rd_init(pl, plen);

		if (!rd_u32(&e, &pkt->esp_spi) || !rd_u32(&e, &pkt->esp_seq)) {
			cap_malformed(pkt, "UDP", "UDP 4500 payload of %zu octets: neither keepalive, "
				      "non-ESP marker nor ESP (needs %d)", plen, ESP_HDR_MIN);
			return;
		}
		pkt->kind = CAP_ESP_UDP;
		pkt->data = pl;
		pkt->len = plen;
		return;
	}
	if (sport == IKE_PORT || dport == IKE_PORT) {
		pkt->kind = CAP_IKE;
		pkt->data = pl;
		pkt->len = plen;
		return;
	}
	pkt->kind = CAP_OTHER;
}

static void cap_decode_transport(struct rd *c, struct cap_packet *pkt)
{
	switch (pkt->ip_proto) {
	case IPPROTO_NUM_UDP:
		cap_decode_udp(c, pkt);
		return;
	case IPPROTO_NUM_ESP: {
		size_t avail = rd_left(c);

		pkt->data = c->p;
		pkt->len = avail;
		if (!rd_u32(c, &pkt->esp_spi) || !rd_u32(c, &pkt->esp_seq)) {
			cap_malformed(pkt, "ESP", "truncated ESP header: %zu octets, need %d",
				      avail, ESP_HDR_MIN);
			return;
		}
		pkt->kind = CAP_ESP;
		return;
	}
	default:
		pkt->kind = CAP_OTHER;
	}
}

static void cap_decode_ipv4(struct rd *c, struct cap_packet *pkt)
{
	size_t avail = rd_left(c);
	const uint8_t *start = c->p;
	uint8_t vihl, tos, ttl, proto;
	uint16_t total, id, frag, csum;

	if (!rd_u8(c, &vihl) || !rd_u8(c, &tos) || !rd_u16(c, &total) ||
	    !rd_u16(c, &id) || !rd_u16(c, &frag) || !rd_u8(c, &ttl) ||
	    !rd_u8(c, &proto) || !rd_u16(c, &csum) ||
	    !rd_copy(c, pkt->src, 4) || !rd_copy(c, pkt->dst, 4)) {
		cap_malformed(pkt, "IPv4", "truncated IPv4 header: %zu octets, need %d", avail, IPV4_HDR_MIN);
		return;
	}
	pkt->family = AF_INET;
	pkt->ip_proto = proto;
	if (vihl >> 4 != 4) {
		cap_malformed(pkt, "IPv4", "IPv4 header with version %u", vihl >> 4);
		return;
	}
	size_t hlen = (size_t)(vihl & 0x0f) * 4;

	/* RFC 791: IHL counts 32-bit words, at least 5. */
	if (hlen < IPV4_HDR_MIN) {
		cap_malformed(pkt, "IPv4", "IPv4 IHL %zu octets, below %d", hlen, IPV4_HDR_MIN);
		return;
	}
	if (total < hlen) {
		cap_malformed(pkt, "IPv4", "IPv4 total length %u below its header length %zu", total, hlen);
		return;
	}
	if (total > avail) {
		cap_malformed(pkt, "IPv4", "IPv4 total length %u but only %zu octets captured%s", total,
			      avail, pkt->caplen < pkt->wirelen ? " (snap length cut the frame)" : "");
		return;
	}
	if (hlen > IPV4_HDR_MIN && !rd_skip(c, hlen - IPV4_HDR_MIN)) {
		cap_malformed(pkt, "IPv4", "IPv4 options: IHL %zu, %zu octets captured", hlen, avail);
		return;
	}
	/* Frame padding after the datagram is not ours. */
	struct rd body = rd_init(start + hlen, (size_t)total - hlen);

	/* RFC 791: MF flag 0x2000, offset in 8-octet units. */
	if (frag & 0x3fff) {
		pkt->kind = CAP_IP_FRAGMENT;
		pkt->frag_id = id;
		pkt->frag_offset = (uint32_t)(frag & 0x1fff) * 8;
		pkt->frag_more = (frag & 0x2000) != 0;
		pkt->data = body.p;
		pkt->len = rd_left(&body);
		return;
	}
	cap_decode_transport(&body, pkt);
}

static void cap_decode_ipv6(struct rd *c, struct cap_packet *pkt)
{
	size_t avail = rd_left(c);
	uint32_t vtcfl;
	uint16_t plen;
	uint8_t next, hlim;

	if (!rd_u32(c, &vtcfl) || !rd_u16(c, &plen) || !rd_u8(c, &next) ||
	    !rd_u8(c, &hlim) || !rd_copy(c, pkt->src, 16) ||
	    !rd_copy(c, pkt->dst, 16)) {
		cap_malformed(pkt, "IPv6", "truncated IPv6 header: %zu octets, need %d", avail, IPV6_HDR_LEN);
		return;
	}
	pkt->family = AF_INET6;
	pkt->ip_proto = next;
	if (vtcfl >> 28 != 6) {
		cap_malformed(pkt, "IPv6", "IPv6 header with version %u", vtcfl >> 28);
		return;
	}
	if (plen > rd_left(c)) {
		/* A zero payload length means a jumbogram (RFC 2675): not on our ports. */
		cap_malformed(pkt, "IPv6", "IPv6 payload length %u but only %zu octets captured%s", plen,
			      rd_left(c),
			      pkt->caplen < pkt->wirelen ? " (snap length cut the frame)" : "");
		return;
	}
	struct rd body = rd_init(c->p, plen);

	/* RFC 8200 4: walk the extension headers we can skip. */
	for (int i = 0;; i++) {
		uint8_t nh, hlen8;

		if (next != IPPROTO_NUM_HOPOPTS && next != IPPROTO_NUM_ROUTING &&
		    next != IPPROTO_NUM_DSTOPTS && next != IPPROTO_NUM_AH &&
		    next != IPPROTO_NUM_FRAGMENT)
			break;
		if (i == IPV6_EXT_MAX) {
			cap_malformed(pkt, "IPv6", "more than %d IPv6 extension headers", IPV6_EXT_MAX);
			return;
		}
		size_t left = rd_left(&body);

		if (!rd_u8(&body, &nh) || !rd_u8(&body, &hlen8)) {
			cap_malformed(pkt, "IPv6", "truncated IPv6 extension header %u: %zu octets, need 2",
				      next, left);
			return;
		}
		if (next == IPPROTO_NUM_FRAGMENT) {
			/* RFC 8200 4.5: offset(13) res(2) M(1), identification(32). */
			uint16_t offm;
			uint32_t ident;

			if (!rd_u16(&body, &offm) || !rd_u32(&body, &ident)) {
				cap_malformed(pkt, "IPv6", "truncated IPv6 fragment header: %zu octets, need 8",
					      left);
				return;
			}
			pkt->ip_proto = nh;
			pkt->kind = CAP_IP_FRAGMENT;
			pkt->frag_id = ident;
			pkt->frag_offset = (uint32_t)(offm >> 3) * 8;
			pkt->frag_more = (offm & 1) != 0;
			pkt->data = body.p;
			pkt->len = rd_left(&body);
			return;
		}
		/* RFC 4302 2.2: AH counts 32-bit words minus 2; others 8-octet units minus 1. */
		size_t ext_len = next == IPPROTO_NUM_AH ? ((size_t)hlen8 + 2) * 4
							: ((size_t)hlen8 + 1) * 8;

		if (!rd_skip(&body, ext_len - 2)) {
			cap_malformed(pkt, "IPv6", "IPv6 extension header %u of %zu octets, %zu left",
				      next, ext_len, left);
			return;
		}
		next = nh;
		pkt->ip_proto = next;
	}
	cap_decode_transport(&body, pkt);
}

static void cap_decode_ethertype(uint16_t et, struct rd *c, struct cap_packet *pkt)
{
	switch (et) {
	case ETHERTYPE_IPV4:
		cap_decode_ipv4(c, pkt);
		return;
	case ETHERTYPE_IPV6:
		cap_decode_ipv6(c, pkt);
		return;
	default:
		pkt->kind = CAP_OTHER;
	}
}

/* Raw IP: the version nibble says which. */
static void cap_decode_rawip(struct rd *c, struct cap_packet *pkt)
{
	const uint8_t *p = c->p;

	if (rd_left(c) < 1) {
		cap_malformed(pkt, "IP", "empty raw IP frame");
		return;
	}
	if (p[0] >> 4 == 4)
		cap_decode_ipv4(c, pkt);
	else if (p[0] >> 4 == 6)
		cap_decode_ipv6(c, pkt);
	else
		pkt->kind = CAP_OTHER;
}

bool cap_linktype_supported(int linktype)
{
	switch (linktype) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

void cap_decode(int linktype, const uint8_t *p, size_t caplen, size_t wirelen,
		struct cap_packet *pkt)
{
	struct rd c = rd_init(p, caplen);
	uint16_t et;

	uint64_t frame = pkt->frame;
	int64_t sec = pkt->ts_sec;
	uint32_t usec = pkt->ts_usec;

	*pkt = (struct cap_packet){ .frame = frame, .ts_sec = sec, .ts_usec = usec,
				    .caplen = caplen, .wirelen = wirelen, .kind = CAP_OTHER };
	switch (linktype) {
	case DLT_EN10MB:
		/* dst(6) src(6) ethertype(2), then any 802.1Q/802.1ad tags. */
		if (!rd_skip(&c, 12) || !rd_u16(&c, &et)) {
			cap_malformed(pkt, "link", "truncated Ethernet header: %zu octets, need 14", caplen);
			return;
		}
		for (int i = 0; et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ; i++) {
			if (i == VLAN_TAGS_MAX) {
				pkt->kind = CAP_OTHER;
				return;
			}
			if (!rd_skip(&c, 2) || !rd_u16(&c, &et)) {
				cap_malformed(pkt, "link", "truncated 802.1Q tag in a %zu-octet frame", caplen);
				return;
			}
		}
		cap_decode_ethertype(et, &c, pkt);
		return;
	case DLT_LINUX_SLL:
		/* packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2). */
		if (!rd_skip(&c, 14) || !rd_u16(&c, &et)) {
			cap_malformed(pkt, "link", "truncated Linux cooked header: %zu octets, need 16",
				      caplen);
			return;
		}
		cap_decode_ethertype(et, &c, pkt);
		return;
	case DLT_LINUX_SLL2:
		/* protocol(2) reserved(2) ifindex(4) ARPHRD(2) type(1) addr len(1) addr(8). */
		if (!rd_u16(&c, &et) || !rd_skip(&c, 18)) {
			cap_malformed(pkt, "link", "truncated Linux cooked v2 header: %zu octets, need 20",
				      caplen);
			return;
		}
		cap_decode_ethertype(et, &c, pkt);
		return;
	case DLT_RAW:
		cap_decode_rawip(&c, pkt);
		return;
	case DLT_IPV4:
		cap_decode_ipv4(&c, pkt);
		return;
	case DLT_IPV6:
		cap_decode_ipv6(&c, pkt);
		return;
	case DLT_NULL:
	case DLT_LOOP: {
		/* A 4-octet address family, host order of the capturing machine
		 * (DLT_NULL) or network order (DLT_LOOP): accept either. */
		uint8_t af[4];

		if (!rd_copy(&c, af, sizeof(af))) {
			cap_malformed(pkt, "link", "truncated loopback header: %zu octets, need 4", caplen);
			return;
		}
		uint8_t v = af[0] ? af[0] : af[3];

		if (v == BSD_AF_INET)
			cap_decode_ipv4(&c, pkt);
		else if (v == BSD_AF_INET6_A || v == BSD_AF_INET6_B || v == BSD_AF_INET6_C)
			cap_decode_ipv6(&c, pkt);
		else
			pkt->kind = CAP_OTHER;
		return;
	}
	default:
		pkt->kind = CAP_OTHER;
	}
}

struct cap_reader *cap_open(const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct cap_reader *r = NULL;
	pcap_t *p;

	if (strcmp(path, "-") == 0) {
		p = pcap_open_offline(path, perr);
	} else {
		/* Open it ourselves so a missing file is not reported as a format problem. */
		FILE *f = fopen(path, "rb");

		if (!f) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return NULL;
		}
		p = pcap_fopen_offline(f, perr);
		if (!p)
			fclose(f);
	}
	if (!p) {
		snprintf(err, errlen, "%s: not a readable pcap/pcapng capture: %s", path, perr);
		return NULL;
	}
	int lt = pcap_datalink(p);

	if (!cap_linktype_supported(lt)) {
		const char *n = pcap_datalink_val_to_name(lt);

		snprintf(err, errlen, "%s: unsupported link type %d (%s)", path, lt, n ? n : "?");
		pcap_close(p);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		pcap_close(p);
		return NULL;
	}
	r->pcap = p;
	r->linktype = lt;
	return r;
}

int cap_next(struct cap_reader *r, struct cap_packet *pkt, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(r->pcap, &h, &data);

	if (rc == PCAP_ERROR_BREAK)
		return 0;
	if (rc != 1) {
		/* libpcap says "truncated dump file; tried to read N ..." etc. */
		snprintf(err, errlen, "capture unreadable after frame %" PRIu64 ": %s", r->frame,
			 pcap_geterr(r->pcap));
		return -1;
	}
	r->frame++;
	pkt->frame = r->frame;
	pkt->ts_sec = h->ts.tv_sec;
	pkt->ts_usec = (uint32_t)h->ts.tv_usec;
	/* libpcap guarantees data holds caplen octets; caplen > len is a corrupt header. */
	cap_decode(r->linktype, data, h->caplen, h->len < h->caplen ? h->caplen : h->len, pkt);
	return 1;
}

const char *cap_linktype_name(const struct cap_reader *r)
{
	const char *n = pcap_datalink_val_to_name(r->linktype);

	return n ? n : "unknown";
}

void cap_free(struct cap_reader *r)
{
	if (!r)
		return;
	pcap_close(r->pcap);
	free(r);
}
