/*
 * ikedump: decode the IKEv2 messages in a pcap/pcapng capture, as text
 * or JSON (doc/ikedump.1).
 *
 * This file only drives: capture reading is ikedump_cap.c, every IKE
 * octet is parsed by the daemon's codec (daemon/message.h), names come
 * from daemon/names.h, output is ikedump_text.c or ikedump_jsonout.c, and
 * optional decryption is ikedump_keys.c.
 *
 * Exit status: 0 when the capture was read to its end and every frame on
 * the IKE ports decoded; 1 when it was read to its end but some frames
 * were malformed (each reported on stderr and in the output, decoding
 * went on); 2 on a usage error, an unreadable, unsupported, truncated or
 * corrupt capture file (frames before the damage are still printed), or
 * an unreadable key file.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ikev2.h"
#include "daemon/json.h"
#include "daemon/message.h"
#include "daemon/names.h"
#include "tools/ikedump_cap.h"
#include "tools/ikedump_jsonout.h"
#include "tools/ikedump_keys.h"
#include "tools/ikedump_retx.h"
#include "tools/ikedump_text.h"

#define IKEDUMP_EXIT_OK 0
#define IKEDUMP_EXIT_MALFORMED 1
#define IKEDUMP_EXIT_FATAL 2

struct ikedump {
	bool json;
	struct json_writer w;
	struct keys_db *keys;     /* owned; NULL without --keys */
	struct ike_msg *msg;      /* owned; reused per frame (about 12 KiB) */
	struct retx_set *seen;    /* owned: messages seen, for "(retransmission)" */
	unsigned long n_ike, n_malformed, n_unsupported, n_other;
};

static void ikedump_usage(FILE *f)
{
	fputs("usage: ikedump [--json] [--keys KEYFILE] CAPTURE | --help | --version\n"
	      "Decode the IKEv2 messages of a pcap or pcapng capture (\"-\" reads stdin).\n"
	      "  -j, --json       one JSON array, an object per frame (see ikedump(1))\n"
	      "  -k, --keys FILE  decrypt SK/SKF payloads with the keys in FILE:\n"
	      "                   ISPI RSPI ENCR SK_ei SK_er [SK_ai SK_ar] per line\n"
	      "  -h, --help       this text\n"
	      "  -V, --version    the version\n"
	      "A message seen again with identical content (same SPIs, message ID and\n"
	      "direction) is marked \"(retransmission)\".\n"
	      "Exit status: 0 all decoded, 1 malformed frames reported, 2 fatal error.\n",
	      f);
}

static void ikedump_undecoded(struct ikedump *d, const struct cap_packet *pkt, const char *layer,
			      const struct ike_hdr *hdr, bool unsupported, const char *why)
{
	if (unsupported) {
		d->n_unsupported++;
	} else {
		d->n_malformed++;
		fprintf(stderr, "ikedump: frame %" PRIu64 ": malformed %s%s: %s\n", pkt->frame,
			layer, strcmp(layer, "IKE") == 0 ? " message" : " packet", why);
	}
	if (d->json)
		jsonout_undecoded(&d->w, pkt, layer, hdr, unsupported, why);
	else
		text_undecoded(stdout, pkt, layer, hdr, unsupported, why);
}

static void ikedump_ike(struct ikedump *d, const struct cap_packet *pkt)
{
	struct ike_msg *m = d->msg;
	struct payload_err err = { 0 };
	struct keys_result kr = { .state = KEYS_NONE };
	struct ike_hdr hdr;
	char why[PAYLOAD_WHY_LEN + 64];
	enum payload_status st;

	st = message_parse(m, pkt->data, pkt->len, &err);
	if (st != PAYLOAD_OK) {
		/* Show the header when it alone is readable, for context. */
		struct payload_err herr;
		bool have_hdr = message_parse_header(pkt->data, pkt->len, &hdr, &herr) == PAYLOAD_OK ||
				herr.status == PAYLOAD_BAD_MAJOR;

		if (st == PAYLOAD_BAD_MAJOR) {
			/* RFC 7296 2.5: another major version (IKEv1 is 1.0) is not malformed. */
			snprintf(why, sizeof(why), "IKE version %u.%u, not decoded", hdr.major,
				 hdr.minor);
			ikedump_undecoded(d, pkt, "IKE", &hdr, true, why);
			return;
		}
		snprintf(why, sizeof(why), "%s (%s)", err.why, payload_status_name(st));
		ikedump_undecoded(d, pkt, "IKE", have_hdr ? &hdr : NULL, false, why);
		return;
	}
	/* RFC 7296 3.1: Length is the whole message; over UDP it fills the datagram. */
	if (m->hdr.length != pkt->len) {
		snprintf(why, sizeof(why), "header Length %" PRIu32 " but the %s carries %zu octets",
			 m->hdr.length, pkt->non_esp_marker ? "datagram (after the non-ESP marker)"
							    : "datagram", pkt->len);
		ikedump_undecoded(d, pkt, "IKE", &m->hdr, false, why);
		return;
	}
	bool retx = retx_seen(d->seen, pkt->data, pkt->len);
	if (m->sk_index >= 0)
		keys_open(d->keys, m, &kr);
	d->n_ike++;
	if (d->json)
		jsonout_ike(&d->w, pkt, m, &kr, retx);
	else
		text_ike(stdout, pkt, m, &kr, retx);
}

static void ikedump_frame(struct ikedump *d, const struct cap_packet *pkt)
{
	switch (pkt->kind) {
	case CAP_IKE:
		ikedump_ike(d, pkt);
		return;
	case CAP_ESP_UDP:
	case CAP_ESP:
	case CAP_KEEPALIVE:
	case CAP_IP_FRAGMENT:
		d->n_other++;
		if (d->json)
			jsonout_packet(&d->w, pkt);
		else
			text_packet(stdout, pkt);
		return;
	case CAP_MALFORMED:
		ikedump_undecoded(d, pkt, pkt->layer ? pkt->layer : "frame", NULL, false, pkt->why);
		return;
	case CAP_OTHER:
		return;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "keys", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ikedump d = { 0 };
	struct cap_reader *r = NULL;
	const char *keyfile = NULL;
	char err[512];
	int rc = IKEDUMP_EXIT_FATAL, c;

	while ((c = getopt_long(argc, argv, "jk:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			d.json = true;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'h':
			ikedump_usage(stdout);
			return IKEDUMP_EXIT_OK;
		case 'V':
			puts("ikedump " IKEDUMP_VERSION);
			return IKEDUMP_EXIT_OK;
		default:
			ikedump_usage(stderr);
			return IKEDUMP_EXIT_FATAL;
		}
	}
	if (optind != argc - 1) {
		fputs("ikedump: expected exactly one capture file\n", stderr);
		ikedump_usage(stderr);
		return IKEDUMP_EXIT_FATAL;
	}
	d.msg = malloc(sizeof(*d.msg));
	d.seen = retx_new();
	if (!d.msg || !d.seen) {
		fputs("ikedump: out of memory\n", stderr);
		goto out;
	}
	if (keyfile) {
		d.keys = keys_load(keyfile, err, sizeof(err));
		if (!d.keys) {
			fprintf(stderr, "ikedump: %s\n", err);
			goto out;
		}
	}
	r = cap_open(argv[optind], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "ikedump: %s\n", err);
		goto out;
	}
	if (d.json) {
		json_writer_init_file(&d.w, stdout, JSON_PRETTY | JSON_OCTETS);
		json_arr_begin(&d.w);
	}
	for (;;) {
		struct cap_packet pkt;
		int n = cap_next(r, &pkt, err, sizeof(err));

		if (n == 0) {
			rc = d.n_malformed ? IKEDUMP_EXIT_MALFORMED : IKEDUMP_EXIT_OK;
			break;
		}
		if (n < 0) {
			fprintf(stderr, "ikedump: %s: %s\n", argv[optind], err);
			rc = IKEDUMP_EXIT_FATAL;
			break;
		}
		ikedump_frame(&d, &pkt);
	}
	/* Close the array even after a read error, so what was decoded stays valid JSON. */
	if (d.json)
		json_arr_end(&d.w);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("ikedump: error writing the output\n", stderr);
		rc = IKEDUMP_EXIT_FATAL;
	}
out:
	cap_free(r);
	keys_free(d.keys);
	retx_free(d.seen);
	free(d.msg);
	return rc;
}
