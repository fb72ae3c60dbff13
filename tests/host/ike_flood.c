/*
 * A bounded IKE_SA_INIT flood for the DoS test (tests/host/xiked_flood.sh):
 * well-formed requests (aes256gcm16/prfsha256/x25519, random SPIs, KE and
 * nonces) sent over a raw socket from many spoofed source addresses, as an
 * attacker who never sees the answers would. It stops by itself after
 * COUNT datagrams or SECONDS, whichever comes first. Only for test
 * namespaces made by the test itself.
 *
 *   ike_flood DST_IP SRC_BASE_IP N_SOURCES COUNT SECONDS [RATE]
 *
 * RATE (datagrams per second, default unlimited) spreads the flood in time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/message.h"

static size_t build_init(uint8_t *buf, size_t cap)
{
	uint64_t spi;
	uint8_t ke[32], nonce[32];
	if (getrandom(&spi, sizeof(spi), 0) != sizeof(spi) ||
	    getrandom(ke, sizeof(ke), 0) != sizeof(ke) ||
	    getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce))
		return 0;
	struct ike_hdr h = {.spi_i = spi | 1, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_INITIATOR};
	struct ike_transform xf[] = {
		{.type = TRANS_ENCR, .id = ENCR_AES_GCM_16, .key_len = 256},
		{.type = TRANS_PRF, .id = PRF_HMAC_SHA2_256},
		{.type = TRANS_DH, .id = DH_CURVE25519},
	};
	struct ike_proposal p = {.num = 1, .protocol = PROTO_IKE, .n_transforms = 3,
				 .transforms = xf};
	struct ike_sa sa = {.n_proposals = 1, .proposals = &p};
	struct ike_builder b;
	size_t len = 0;
	message_build_init(&b, buf, cap, &h);
	payload_build_sa(&b, &sa);
	payload_build_ke(&b, &(struct ike_ke){.group = DH_CURVE25519, .data = {ke, sizeof(ke)}});
	payload_build_nonce(&b, &(struct ike_nonce){{nonce, sizeof(nonce)}});
	return message_build_finish(&b, &len) == 0 ? len : 0;
}

int main(int argc, char **argv)
{
	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: ike_flood DST_IP SRC_BASE_IP N_SOURCES COUNT SECONDS [RATE]\n");
		return 2;
	}
	struct in_addr dst, base;
	if (inet_pton(AF_INET, argv[1], &dst) != 1 || inet_pton(AF_INET, argv[2], &base) != 1) {
		fprintf(stderr, "ike_flood: bad address\n");
		return 2;
	}
	unsigned long n_src = strtoul(argv[3], NULL, 10), count = strtoul(argv[4], NULL, 10);
	unsigned long seconds = strtoul(argv[5], NULL, 10);
	unsigned long rate = argc == 7 ? strtoul(argv[6], NULL, 10) : 0;
	if (n_src == 0 || n_src > 65536 || count == 0 || count > 1000000 || seconds == 0 ||
	    seconds > 600) {
		fprintf(stderr, "ike_flood: out of range (sources 1-65536, count <= 1e6, <= 600 s)\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "ike_flood: raw socket: %s\n", strerror(errno));
		return 1;
	}
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst};
	uint8_t pkt[2048];
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long sent = 0, failed = 0;
	for (unsigned long i = 0; i < count; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
		if (el >= (double)seconds)
			break;
		if (rate && i > el * (double)rate) {
			/* ahead of the rate: wait a little */
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
			i--;
			continue;
		}
		size_t ike = build_init(pkt + 28, sizeof(pkt) - 28);
		if (!ike)
			return 1;
		struct iphdr *ip = (struct iphdr *)pkt;
		struct udphdr *udp = (struct udphdr *)(pkt + 20);
		memset(pkt, 0, 28);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons((uint16_t)(28 + ike)); /* the kernel fills id and checksum */
		ip->saddr = htonl(ntohl(base.s_addr) + (uint32_t)(i % n_src));
		ip->daddr = dst.s_addr;
		udp->source = htons(500);
		udp->dest = htons(500);
		udp->len = htons((uint16_t)(8 + ike)); /* UDP checksum 0: none (IPv4) */
		if (sendto(fd, pkt, 28 + ike, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			failed++;
		else
			sent++;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
	printf("flood: %lu IKE_SA_INIT sent from %lu sources in %.2f s (%.0f/s), %lu send errors\n",
	       sent, n_src, secs, secs > 0 ? sent / secs : 0.0, failed);
	close(fd);
	return 0;
}
