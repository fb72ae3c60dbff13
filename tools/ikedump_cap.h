/*
 * ikedump_cap: read a capture file (pcap or pcapng, through libpcap) and
 * take each frame apart down to what rides in UDP 500/4500, labelling
 * what is not an IKE message.
 *
 * Link types: Ethernet (with 802.1Q/802.1ad tags), Linux cooked v1 and
 * v2 (SLL, SLL2), raw IP (DLT_RAW, DLT_IPV4, DLT_IPV6), BSD loopback
 * (DLT_NULL, DLT_LOOP).  Network: IPv4 (options skipped via IHL), IPv6
 * (hop-by-hop, routing, destination options and AH extension headers
 * skipped; the fragment header is reported).  IP fragments are labelled,
 * never reassembled.
 *
 * Classification of UDP payloads (RFC 3948 2.1-2.3, RFC 7296 2.23):
 *   - either port 4500: a single 0xFF octet is a NAT-keepalive; four zero
 *     octets (the non-ESP marker) precede an IKE message; anything else
 *     of at least 8 octets is ESP in UDP (SPI, sequence number).
 *   - else either port 500: the payload is an IKE message.
 * ESP as IP protocol 50 is labelled too.  Everything else is CAP_OTHER.
 */
#ifndef XIKED_TOOLS_IKEDUMP_CAP_H
#define XIKED_TOOLS_IKEDUMP_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cap_kind {
	CAP_IKE,         /* data/len: the IKE message (non-ESP marker removed) */
	CAP_ESP_UDP,     /* ESP in UDP: esp_spi, esp_seq, len = ESP octets */
	CAP_ESP,         /* ESP as IP protocol 50: esp_spi, esp_seq */
	CAP_KEEPALIVE,   /* RFC 3948 2.3 NAT-keepalive */
	CAP_IP_FRAGMENT, /* frag_* set; not reassembled */
	CAP_MALFORMED,   /* why[] says what was wrong (got vs. needed) */
	CAP_OTHER,       /* not IKE/ESP traffic: the caller skips it */
};

struct cap_packet {
	uint64_t frame;       /* 1-based index in the capture file */
	int64_t ts_sec;       /* capture time, seconds since the epoch (UTC) */
	uint32_t ts_usec;     /* and microseconds */
	size_t caplen, wirelen;
	enum cap_kind kind;
	int family;           /* AF_INET, AF_INET6, or 0 if the IP header was not reached */
	uint8_t src[16], dst[16]; /* 4 or 16 octets used by family */
	uint8_t ip_proto;     /* upper-layer protocol (after IPv6 extensions) */
	bool have_ports;
	uint16_t sport, dport;
	bool non_esp_marker;  /* CAP_IKE: came on 4500 behind the marker */
	const uint8_t *data;  /* borrowed from the capture's buffer: valid until next read */
	size_t len;
	uint32_t esp_spi, esp_seq;
	uint32_t frag_id;     /* IPv4 16-bit or IPv6 32-bit identification */
	uint32_t frag_offset; /* octets */
	bool frag_more;
	const char *layer;    /* CAP_MALFORMED: "link", "IPv4", "IPv6", "UDP", "ESP" (static) */
	char why[160];        /* CAP_MALFORMED: reason */
};

/*
 * Take apart one captured frame of link type LINKTYPE (a DLT_* value).
 * P (borrowed) holds CAPLEN captured octets of a WIRELEN-octet frame.
 * Fills every field of PKT except frame and ts_*; PKT->data points into
 * P.  Never reads outside P[0..caplen).
 */
void cap_decode(int linktype, const uint8_t *p, size_t caplen, size_t wirelen,
		struct cap_packet *pkt);

/* True when LINKTYPE is one cap_decode() understands. */
bool cap_linktype_supported(int linktype);

struct cap_reader;

/*
 * Open PATH ("-" for stdin).  On failure returns NULL and writes a
 * message to err[0..errlen).  Caller owns the reader.
 */
struct cap_reader *cap_open(const char *path, char *err, size_t errlen);

/*
 * Read and decode the next frame into PKT (PKT->data valid until the next
 * call).  Returns 1 for a frame, 0 at the clean end of the file, -1 when
 * the file is truncated or corrupt (message in err).
 */
int cap_next(struct cap_reader *r, struct cap_packet *pkt, char *err, size_t errlen);

/* The link type's name, e.g. "EN10MB". */
const char *cap_linktype_name(const struct cap_reader *r);

/* Closes the file and frees. NULL-safe. */
void cap_free(struct cap_reader *r);

#endif
