/*
 * IKE SA setup benchmark: an initiator process and a responder process,
 * each one xiked engine, joined by a datagram socketpair. The responder's
 * kernel is a null kernel_ops (it hands out SPIs and accepts states and
 * policies without storing them), so what is measured is xiked itself:
 *
 *   - IKE_SA_INIT + IKE_AUTH (PSK, one Child SA) setups per responder
 *     CPU-second (getrusage of the responder process);
 *   - the responder's resident memory per established IKE SA (VmRSS
 *     before and after N SAs, divided by N).
 *
 *   ike_bench [-n SAS] [-w WINDOW] [-g x25519|ecp256|...] [-u]
 *
 * -u makes the responder a route-based hub: if_id = %unique with
 * interface = xfrm-%d, so every IKE SA gets its own if_id and interface
 * (route_iface.h) from a null link_ops; what it adds per setup is the cost
 * of finding a free if_id and binding among all the spokes' bindings.
 *
 * Not a test: it prints numbers. Run by hand or tools/bench.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/rng.h"
#include "daemon/clock.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "netlink/kernel_ops.h"
#include "netlink/link.h"

/* ---- a kernel that remembers nothing ---- */

static uint32_t null_spi = 0x10000;
static int null_get_spi(void *k, const struct kaddr *s, const struct kaddr *d, uint8_t p,
			uint32_t r, uint32_t want, uint32_t *out)
{
	(void)k, (void)s, (void)d, (void)p, (void)r;
	*out = want ? want : htonl(null_spi++);
	return 0;
}
static int null_sa(void *k, const struct kernel_sa *sa)
{
	(void)k, (void)sa;
	return 0;
}
static int null_del_sa(void *k, const struct kaddr *d, uint32_t spi, uint8_t p, uint32_t m,
		       uint32_t mm)
{
	(void)k, (void)d, (void)spi, (void)p, (void)m, (void)mm;
	return 0;
}
static int null_query(void *k, const struct kaddr *d, uint32_t spi, uint8_t p, uint32_t m,
		      uint32_t mm, struct kernel_sa_stats *o)
{
	(void)k, (void)d, (void)spi, (void)p, (void)m, (void)mm;
	memset(o, 0, sizeof(*o));
	return 0;
}
static int null_policy(void *k, const struct kernel_policy *p)
{
	(void)k, (void)p;
	return 0;
}
static int null_del_policy(void *k, const struct ksel *s, enum kdir d, uint32_t m, uint32_t mm,
			   uint32_t i)
{
	(void)k, (void)s, (void)d, (void)m, (void)mm, (void)i;
	return 0;
}
static int null_flush(void *k)
{
	(void)k;
	return 0;
}
static const struct kernel_ops null_ops = {
	.get_spi = null_get_spi, .add_sa = null_sa, .update_sa = null_sa, .del_sa = null_del_sa,
	.query_sa = null_query, .add_policy = null_policy, .del_policy = null_del_policy,
	.flush_stale = null_flush,
};

/* ---- links that exist only as numbers (-u) ---- */

static int null_ifindex = 100;
static int null_find(void *l, const char *name, int *ifindex, bool *ours)
{
	(void)l, (void)name, (void)ifindex, (void)ours;
	return -ENODEV;
}
static int null_create(void *l, const struct link_spec *s, int *ifindex)
{
	(void)l, (void)s;
	*ifindex = null_ifindex++;
	return 0;
}
static int null_set_up(void *l, int ifindex, uint32_t mtu, bool ours)
{
	(void)l, (void)ifindex, (void)mtu, (void)ours;
	return 0;
}
static int null_dis(void *l, const char *name, uint8_t family)
{
	(void)l, (void)name, (void)family;
	return 0;
}
static int null_prefix(void *l, int ifindex, const struct link_prefix *p)
{
	(void)l, (void)ifindex, (void)p;
	return 0;
}
static int null_del(void *l, int ifindex)
{
	(void)l, (void)ifindex;
	return 0;
}
static const struct link_ops null_link_ops = {
	.find = null_find, .create = null_create, .set_up = null_set_up,
	.disable_policy = null_dis, .addr_add = null_prefix, .addr_del = null_prefix,
	.route_add = null_prefix, .route_del = null_prefix, .del = null_del,
};

/* ---- plumbing ---- */

static int sock_fd;

static int send_cb(void *ctx, const struct sockaddr_storage *from, const struct sockaddr_storage *to,
		   const uint8_t *buf, size_t len)
{
	(void)ctx, (void)from, (void)to;
	return send(sock_fd, buf, len, 0) < 0 ? -errno : 0;
}

static void mkaddr(struct sockaddr_storage *ss, const char *ip)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(500);
	inet_pton(AF_INET, ip, &s4->sin_addr);
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static struct engine *make_engine(struct loop *loop, struct kernel k, struct link lnk,
				  const char *text)
{
	struct xiked_config *cfg = NULL;
	char err[256];
	if (config_parse(text, strlen(text), "bench.conf", &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		exit(2);
	}
	struct engine_env env = {.loop = loop, .rng = rng_system(), .kernel = k, .send = send_cb,
				 .port = 500, .natt_port = 4500, .link = lnk};
	return engine_new(&env, cfg);
}

static const char *ike_for(const char *g)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "aes256gcm16-prfsha256-%s", g);
	return buf;
}

/* Responder: answer until the initiator says stop, then report. */
static int responder(const char *group, size_t n, bool hub)
{
	struct clock clk = clock_boottime();
	struct loop *loop = loop_new(&clk);
	char conf[1024];
	snprintf(conf, sizeof(conf),
		 /* One source address for all: the DoS limits (dos.h) would throttle it. */
		 "[daemon]\nlog = error\ncookie_threshold = 1000000\nhalf_open_max = 1000000\n"
		 "half_open_per_ip = 1000000\n[conn any]\nlocal_addr = 192.0.2.2\nremote_addr = %%any\n"
		 "local_id = b.example\nremote_id = %%any\nauth = psk\npsk = \"bench\"\n"
		 "ike = %s\nesp = aes256gcm16\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/16\n%s",
		 ike_for(group), hub ? "if_id = %unique\ninterface = xfrm-%d\n" : "");
	struct kernel k = {.ops = &null_ops};
	struct link lnk = {.ops = hub ? &null_link_ops : NULL};
	struct engine *e = make_engine(loop, k, lnk, conf);
	struct sockaddr_storage me, peer;
	mkaddr(&me, "192.0.2.2");
	mkaddr(&peer, "192.0.2.1");
	long rss0 = rss_kib();
	double cpu0 = cpu_s();
	static uint8_t buf[65536];
	for (;;) {
		ssize_t r = recv(sock_fd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		if (r == 4 && memcmp(buf, "STOP", 4) == 0)
			break;
		engine_receive(e, &me, &peer, buf, (size_t)r);
	}
	double cpu = cpu_s() - cpu0;
	long rss = rss_kib() - rss0;
	size_t sas = engine_ike_sa_count(e);
	printf("responder: %zu IKE SAs (%s, PSK, 1 Child SA each%s) in %.3f CPU-s: %.0f setups "
	       "per CPU-second\n",
	       sas, group, hub ? ", if_id = %unique hub" : "", cpu, sas / cpu);
	printf("responder: resident memory +%ld KiB for %zu IKE SAs: %.2f KiB per IKE SA\n", rss,
	       sas, sas ? (double)rss / sas : 0.0);
	fflush(stdout);
	(void)n;
	engine_free(e);
	loop_free(loop);
	return 0;
}

static int initiator(const char *group, size_t n, size_t window)
{
	struct clock clk = clock_boottime();
	struct loop *loop = loop_new(&clk);
	/* One conn per SA: engine_up refuses a second SA for a conn that is up. */
	size_t cap = 512 + n * 300;
	char *conf = malloc(cap);
	size_t off = (size_t)snprintf(conf, cap, "[daemon]\nlog = error\n");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(conf + off, cap - off,
					"[conn c%zu]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
					"local_id = a%zu.example\nremote_id = b.example\nauth = psk\n"
					"psk = \"bench\"\nike = %s\nesp = aes256gcm16\n"
					"local_ts = 10.1.%zu.0/24\nremote_ts = 10.2.0.0/24\n",
					i, i, ike_for(group), i % 256);
	struct kernel k = {.ops = &null_ops};
	struct engine *e = make_engine(loop, k, (struct link){0}, conf);
	free(conf);
	struct sockaddr_storage me, peer;
	mkaddr(&me, "192.0.2.1");
	mkaddr(&peer, "192.0.2.2");
	static uint8_t buf[65536];
	size_t started = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (e->stats.ike_established + e->stats.ike_failed < n) {
		while (started < n && started - e->stats.ike_established < window) {
			char name[32], err[128];
			snprintf(name, sizeof(name), "c%zu", started++);
			if (engine_up(e, name, err, sizeof(err)) != 0)
				fprintf(stderr, "up %s: %s\n", name, err);
		}
		ssize_t r = recv(sock_fd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		engine_receive(e, &me, &peer, buf, (size_t)r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("initiator: %llu established, %llu failed in %.2f s wall\n",
	       (unsigned long long)e->stats.ike_established, (unsigned long long)e->stats.ike_failed,
	       wall);
	fflush(stdout);
	send(sock_fd, "STOP", 4, 0);
	engine_free(e);
	loop_free(loop);
	return e ? 0 : 1;
}

int main(int argc, char **argv)
{
	size_t n = 10000, window = 64;
	const char *group = "x25519";
	bool hub = false;
	int opt;
	while ((opt = getopt(argc, argv, "n:w:g:u")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (opt == 'w')
			window = strtoul(optarg, NULL, 10);
		else if (opt == 'g')
			group = optarg;
		else if (opt == 'u')
			hub = true;
		else {
			fprintf(stderr, "usage: ike_bench [-n SAS] [-w WINDOW] [-g GROUP] [-u]\n");
			return 2;
		}
	}
	crypto_init();
	log_set_level(LOG_LVL_ERROR);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) {
		perror("socketpair");
		return 1;
	}
	int rcvbuf = 4 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		sock_fd = sv[1];
		_exit(responder(group, n, hub));
	}
	close(sv[1]);
	sock_fd = sv[0];
	int rc = initiator(group, n, window);
	int st = 0;
	waitpid(pid, &st, 0);
	return rc || !WIFEXITED(st) || WEXITSTATUS(st);
}
