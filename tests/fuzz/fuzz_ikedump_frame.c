/*
 * libFuzzer target for ikedump's per-frame path (tools/ikedump_cap.c
 * cap_decode(), then what tools/ikedump.c does with a frame: the codec,
 * and the text and JSON renderers). Input: octet 0 picks the link type
 * (one of those cap_linktype_supported() accepts), octet 1 the wire length
 * beyond the captured octets (a snaplen-truncated frame) and the output
 * format; the rest is the captured frame.
 *
 * Checks, each a crash (abort) when violated:
 *  - cap_decode() fills a packet whose data lies inside the frame, whose
 *    reason text is terminated, and whose layer is named when malformed;
 *  - the JSON renderer's output for the frame is valid JSON (read back
 *    with daemon/json.c; the writer (JSON_OCTETS) writes NUL octets of
 *    identities as \u0000, which that reader refuses by design, so such
 *    output is let pass).
 * Text output goes to /dev/null (its formatting still runs under
 * ASan/UBSan). Decryption (--keys) is not exercised: it needs an ICV the
 * fuzzer cannot forge.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/json.h"
#include "daemon/message.h"
#include "tools/ikedump_cap.h"
#include "tools/ikedump_jsonout.h"
#include "tools/ikedump_keys.h"
#include "tools/ikedump_text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
				DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP};
#define N_LINKTYPES (sizeof(linktypes) / sizeof(linktypes[0]))

static FILE *devnull;
static struct ike_msg msg;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_ikedump_frame: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		die("cannot open /dev/null");
	for (size_t i = 0; i < N_LINKTYPES; i++)
		if (!cap_linktype_supported(linktypes[i]))
			die("link type list out of date");
	return 0;
}

static void check_json(char *text, size_t len)
{
	struct json_value *v = NULL;
	char err[200];
	if (json_parse(text, len, 0, &v, err, sizeof(err)) != 0) {
		if (strstr(text, "\\u0000"))
			return;
		fprintf(stderr, "fuzz_ikedump_frame: %s\n%s\n", err, text);
		die("JSON output is not valid JSON");
	}
	if (v->type != JSON_OBJECT)
		die("JSON output for a frame is not an object");
	json_value_free(v);
}

/* As ikedump_frame()/ikedump_ike() in tools/ikedump.c. */
static void render(const struct cap_packet *pkt, bool json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = devnull;
	struct json_writer w;

	if (json) {
		out = open_memstream(&text, &len);
		if (!out)
			return;
		json_writer_init_file(&w, out, JSON_PRETTY | JSON_OCTETS);
	}
	switch (pkt->kind) {
	case CAP_IKE: {
		struct payload_err err;
		struct keys_result kr = {.state = KEYS_NONE};
		struct ike_hdr hdr;
		enum payload_status st = message_parse(&msg, pkt->data, pkt->len, &err);
		if (st != PAYLOAD_OK || msg.hdr.length != pkt->len) {
			struct payload_err herr;
			bool have = message_parse_header(pkt->data, pkt->len, &hdr, &herr) ==
						    PAYLOAD_OK ||
				    herr.status == PAYLOAD_BAD_MAJOR;
			bool unsupported = st == PAYLOAD_BAD_MAJOR;
			const char *why = st == PAYLOAD_OK ? "length mismatch" : err.why;
			if (json)
				jsonout_undecoded(&w, pkt, "IKE", have ? &hdr : NULL, unsupported,
						  why);
			else
				text_undecoded(out, pkt, "IKE", have ? &hdr : NULL, unsupported,
					       why);
			break;
		}
		keys_open(NULL, &msg, &kr);
		if (json)
			jsonout_ike(&w, pkt, &msg, &kr, false);
		else
			text_ike(out, pkt, &msg, &kr, false);
		break;
	}
	case CAP_ESP_UDP:
	case CAP_ESP:
	case CAP_KEEPALIVE:
	case CAP_IP_FRAGMENT:
		if (json)
			jsonout_packet(&w, pkt);
		else
			text_packet(out, pkt);
		break;
	case CAP_MALFORMED:
		if (json)
			jsonout_undecoded(&w, pkt, pkt->layer, NULL, false, pkt->why);
		else
			text_undecoded(out, pkt, pkt->layer, NULL, false, pkt->why);
		break;
	case CAP_OTHER:
		break;
	}
	if (json) {
		if (json_writer_len(&w) > 0 && !json_writer_ok(&w))
			die("JSON writer left containers open");
		fclose(out);
		if (len)
			check_json(text, len);
		free(text);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int lt = linktypes[data[0] % N_LINKTYPES];
	bool json = data[1] & 1;
	size_t extra = data[1] >> 1;
	size_t caplen = size - 2;
	/* A private copy of exactly caplen octets, so reads past the frame are caught. */
	uint8_t *frame = malloc(caplen ? caplen : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 2, caplen);

	struct cap_packet pkt;
	memset(&pkt, 0xa5, sizeof(pkt));
	pkt.frame = 1;
	pkt.ts_sec = 1700000000;
	pkt.ts_usec = 123456;
	cap_decode(lt, frame, caplen, caplen + extra, &pkt);
	if (pkt.frame != 1 || pkt.ts_sec != 1700000000 || pkt.ts_usec != 123456)
		die("cap_decode changed frame or time");
	if (pkt.kind > CAP_OTHER)
		die("bad kind");
	if (pkt.kind == CAP_IKE || pkt.kind == CAP_ESP_UDP) {
		if (pkt.data < frame || pkt.len > caplen ||
		    (size_t)(pkt.data - frame) > caplen - pkt.len)
			die("packet data outside the frame");
	}
	if (pkt.kind == CAP_MALFORMED && (!pkt.layer || !memchr(pkt.why, 0, sizeof(pkt.why))))
		die("malformed without layer or terminated reason");
	render(&pkt, json);
	free(frame);
	return 0;
}
