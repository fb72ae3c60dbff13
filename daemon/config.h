/*
 * The configuration file (doc/xiked.conf.5 is the full contract): an INI
 * file with a [daemon] section, [conn NAME] sections and [child CONN.NAME]
 * sections, parsed into the structs below. Loading is all or nothing: any
 * error gives "file:line: what is wrong" and no configuration, so the
 * daemon refuses to start, or keeps the running configuration on reload.
 * The parser checks on after an error, so all errors can be reported
 * (config_load_report(), xiked -t).
 */
#ifndef XIKED_CONFIG_H
#define XIKED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/config_id.h"
#include "daemon/cp.h"
#include "daemon/ikev2.h"
#include "daemon/log.h"
#include "daemon/proposal_config.h"
#include "daemon/timing.h"

struct secret;
struct privkey;
struct pubkey;
struct x509;

/* Longest connection or child name, characters ([A-Za-z0-9_-]). */
#define CONFIG_NAME_MAX 64
/* listen = addresses at most. */
#define CONFIG_LISTEN_MAX 16
/* Longest control socket path: sizeof(sun_path) with its NUL. */
#define CONFIG_PATH_MAX 108
/* Largest configuration or psk_file we read, octets. */
#define CONFIG_FILE_MAX (16u << 20)
#define CONFIG_PSK_FILE_MAX 4096
/* Largest cert, key, cacert or remote_pubkey file, octets. */
#define CONFIG_CRED_FILE_MAX (1u << 20)
/* cacert = lines per connection. */
#define CONFIG_CACERTS_MAX 32

#define CONFIG_CONTROL_DEFAULT "/run/xiked/xiked.sock"
/* Longest user = name (as useradd's 32). */
#define CONFIG_USER_MAX 32

enum config_auth {
	CONFIG_AUTH_NONE,
	CONFIG_AUTH_PSK,    /* RFC 7296 2.15 shared key MIC */
	CONFIG_AUTH_PUBKEY, /* signatures: RFC 7427 (method 14), or RSA/ECDSA (1, 9-11) */
};

enum config_mode {
	CONFIG_MODE_TUNNEL,
	CONFIG_MODE_TRANSPORT,
};

enum config_start {
	CONFIG_START_NONE, /* wait for the peer */
	CONFIG_START_INITIATE, /* bring the connection up at start-up */
	CONFIG_START_TRAP, /* install trap policies, negotiate on ACQUIRE (not yet used) */
};

/*
 * One traffic selector (RFC 7296 3.13.1): an address range, IP protocol
 * (0: any) and port range. dynamic: "%dynamic", the IKE SA's own address
 * (local_ts) or the peer's (remote_ts), substituted when the SA is set up;
 * type and addresses are then unset.
 */
struct ts_cfg {
	uint8_t type; /* TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE, 0 when dynamic */
	bool dynamic;
	uint8_t ip_proto;
	uint16_t start_port, end_port;
	uint8_t start[16], end[16]; /* first 4 octets used for IPv4 */
};

struct ts_cfg_list {
	struct ts_cfg *ts; /* owned */
	size_t n; /* >= 1 */
};

struct child_cfg {
	char name[CONFIG_NAME_MAX + 1];
	unsigned line; /* where it was defined, for messages */
	struct ts_cfg_list local_ts, remote_ts;
	struct proposal_cfg_list esp;
	enum config_mode mode;
};

/*
 * Lifetimes and rekeying (RFC 7296 2.8). Child SAs: the kernel expires them
 * at lifetime / lifetime_bytes / lifetime_packets (hard) and warns earlier
 * (soft: the limit less rekey_margin and a random part of rand_margin, as
 * strongSwan's margintime/rekeyfuzz), which starts the rekey. IKE SAs are
 * rekeyed by xiked's own timer at ike_lifetime less the same margins (or
 * reauthenticated with reauth). idle_timeout deletes a Child SA that
 * carried no traffic for that long. 0 = no limit / off.
 */
struct lifetime_cfg {
	uint32_t lifetime_s;       /* default 3600 */
	uint32_t rekey_margin_s;   /* default 540 */
	uint32_t rand_margin_s;    /* default = rekey_margin_s */
	uint32_t ike_lifetime_s;   /* default 14400 */
	uint32_t idle_timeout_s;   /* default 0 */
	uint64_t lifetime_bytes, lifetime_packets; /* default 0 */
	bool reauth;               /* default no: rekey the IKE SA in place */
};
/* Defaults: CONFIG_LIFETIME_DEFAULT, CONFIG_REKEY_MARGIN_DEFAULT, CONFIG_IKE_LIFETIME_DEFAULT
 * (daemon/timing.h). */

/* What to do when dead peer detection gives up on the peer (RFC 7296 2.4). */
enum config_dpd_action {
	CONFIG_DPD_CLEAR,   /* delete the IKE SA and its Child SAs */
	CONFIG_DPD_RESTART, /* delete, then initiate the conn again */
	CONFIG_DPD_TRAP,    /* delete, then install the conn's trap policies */
};

/*
 * NAT traversal (RFC 7296 2.23, RFC 3948) and liveness (2.4): encap = yes
 * floats to the NAT-T port and UDP-encapsulates ESP even without a NAT;
 * keepalive is the NAT keepalive interval when we are behind a NAT; dpd
 * the idle time before an empty INFORMATIONAL probes the peer. 0 = off.
 */
struct liveness_cfg {
	bool encap;                      /* default no */
	uint32_t keepalive_s;            /* default 20 */
	uint32_t dpd_s;                  /* default 30 */
	enum config_dpd_action dpd_action; /* default clear */
	/* RFC 4555 MOBIKE: announce MOBIKE_SUPPORTED and move by UPDATE_SA_ADDRESSES. */
	bool mobike;                     /* default yes */
	bool mobike_check;               /* responder: return routability check first; no */
	bool mobike_no_nats;             /* initiator: NO_NATS_ALLOWED in updates; no */
};
/* Defaults: CONFIG_KEEPALIVE_DEFAULT, CONFIG_DPD_DEFAULT (daemon/timing.h). */

/*
 * Route-based VPN (daemon/route_iface.h): the Child SAs' states and
 * policies carry an XFRM interface id (if_id, XFRMA_IF_ID) or a mark (VTI),
 * so the kernel picks them by the interface a packet is routed through, not
 * by the selectors alone. xiked creates (or adopts) the interface, brings it
 * up with mtu and addresses, routes the remote traffic selectors through it,
 * and removes only what it created.
 */
#define CONFIG_ADDRESSES_MAX 8
#define CONFIG_IFNAME_MAX 16 /* IFNAMSIZ with its NUL */
/* if_id = %unique hands out ids from here up (below it: for static if_id = N). */
#define CONFIG_IF_ID_UNIQUE_BASE 0x10000u
struct config_prefix {
	struct sockaddr_storage addr; /* port unset */
	uint8_t plen;
};
struct route_cfg {
	uint32_t if_id;              /* if_id = N; 0 = none */
	bool if_id_unique;           /* if_id = %unique: one per IKE SA */
	char interface[CONFIG_IFNAME_MAX]; /* xfrm interface name, "%d" = the if_id; "" = none */
	char interface_link[CONFIG_IFNAME_MAX]; /* IFLA_XFRM_LINK device; "" = none */
	char vti[CONFIG_IFNAME_MAX]; /* VTI name; "" = none */
	uint32_t mark;               /* mark = N on SAs and policies (VTI ikey/okey); 0 = none */
	uint32_t mtu;                /* 0 = the kernel's default */
	struct config_prefix addresses[CONFIG_ADDRESSES_MAX];
	size_t n_addresses;
	bool routes;                 /* default yes: route the remote TS through the interface */
};

/*
 * unique = (strongSwan's uniqueids): what a new IKE SA whose peer
 * authenticated with the identity of an established one of the same conn
 * does to it (daemon/unique.h).
 */
/*
 * Remote access (RFC 7296 2.19, 3.15; daemon/task_config.c). Gateway:
 * pool = prefixes virtual IPs are leased from (daemon/addr_pool.h), dns =
 * servers, split = the networks the client sends through the tunnel
 * (INTERNAL_IP4/6_SUBNET), dns_domain = the domains those servers answer
 * for (RFC 8598), all sent in CFG_REPLY to a client that asks. Client:
 * vip = %config (IPv4 and IPv6), %config4 or %config6 asks for them.
 */
#define CONFIG_POOLS_MAX 8
struct cp_cfg {
	struct cp_prefix pools[CONFIG_POOLS_MAX];
	size_t n_pools;
	struct cp_prefix dns[CP_DNS_MAX];
	size_t n_dns;
	struct cp_prefix split[CP_SUBNETS_MAX];
	size_t n_split;
	char domains[CP_DOMAINS_MAX][CP_DOMAIN_LEN + 1];
	size_t n_domains;
	bool vip4, vip6; /* vip = %config / %config4 / %config6 */
};

enum config_unique {
	CONFIG_UNIQUE_REPLACE, /* the old one is deleted (default) */
	CONFIG_UNIQUE_KEEP,    /* the new one is refused: AUTHENTICATION_FAILED */
	CONFIG_UNIQUE_NEVER,   /* both stay; INITIAL_CONTACT is ignored too */
};

struct conn_cfg {
	char name[CONFIG_NAME_MAX + 1];
	unsigned line;
	/* Ports are unset (0). AF_UNSPEC: local: left to the routing table;
	 * remote: %any, responder only. */
	struct sockaddr_storage local_addr, remote_addr;
	struct config_id local_id, remote_id;
	/* How we prove our identity and how the peer proves its (auth = sets
	 * both; local_auth = and remote_auth = each one). */
	enum config_auth local_auth, remote_auth;
	struct secret *psk; /* owned; set when either auth is CONFIG_AUTH_PSK */
	/*
	 * RFC 8784 post-quantum preshared key (ppk =, ppk_file =), owned, or
	 * NULL; ppk_id its PPK_ID octets; ppk_required: no IKE SA without it.
	 */
	struct secret *ppk;
	uint8_t ppk_id[CONFIG_ID_MAX];
	uint16_t ppk_id_len;
	bool ppk_required;
	/*
	 * local_auth = pubkey: our private key, and (cert =) our certificate
	 * certs[0] followed by the intermediate CA certificates of that file,
	 * sent to complete the peer's chain; without cert the peer gets our
	 * raw public key (RFC 7670). rsa_pkcs1: sign with RSA PKCS#1 v1.5
	 * instead of RSASSA-PSS (rsa_padding = pkcs1).
	 */
	struct privkey *key;  /* owned */
	struct x509 **certs;  /* owned, n_certs of them */
	size_t n_certs;
	bool rsa_pkcs1;
	/*
	 * remote_auth = pubkey: the CA certificates the peer's chain must end
	 * at (cacert =, repeatable), and/or the peer's pinned raw public key
	 * (remote_pubkey =).
	 */
	struct x509 **cacerts; /* owned, n_cacerts of them */
	size_t n_cacerts;
	struct pubkey *remote_pubkey; /* owned */
	struct proposal_cfg_list ike;
	enum config_start start;
	struct lifetime_cfg life;
	struct liveness_cfg live;
	/*
	 * RFC 7383: fragmentation = yes (default) announces
	 * IKEV2_FRAGMENTATION_SUPPORTED; fragment_size is the largest IP
	 * datagram of a fragment (0: [daemon]'s, see struct daemon_cfg).
	 */
	bool fragmentation;
	uint16_t fragment_size;
	/* Child SAs one IKE SA may hold; beyond, NO_ADDITIONAL_SAS (RFC 7296 3.10.1). */
	uint32_t max_child_sas; /* default 128 */
	enum config_unique unique; /* one IKE SA per peer identity (daemon/unique.h) */
	struct route_cfg route;
	struct cp_cfg cp;
	struct child_cfg *children; /* owned, >= 1, in file order */
	size_t n_children;
};

struct daemon_cfg {
	struct sockaddr_storage listen[CONFIG_LISTEN_MAX]; /* none: all addresses */
	size_t n_listen;
	char control[CONFIG_PATH_MAX];
	struct log_levels log_levels; /* log = LEVEL, GROUP=LEVEL... (log.h) */
	char keylog[CONFIG_PATH_MAX]; /* keylog = FILE (daemon/keylog.h); "" = off (default) */
	uint16_t port; /* IKE_PORT unless configured */
	uint16_t natt_port; /* IKE_NATT_PORT unless configured */
	/*
	 * DoS protection (RFC 7296 2.6): above cookie_threshold half-open IKE
	 * SAs, IKE_SA_INIT requests must echo a stateless cookie before any DH
	 * work; half_open_max caps them in total, half_open_per_ip per source
	 * address; half_open_timeout_s drops those not established in time.
	 */
	uint32_t cookie_threshold;   /* default 10 */
	uint32_t half_open_max;      /* default 5000 */
	uint32_t half_open_per_ip;   /* default 20 */
	uint32_t half_open_timeout_s; /* default 30 */
	/* IKE SAs, half-open or established, one source may open (dos.h). */
	uint32_t ike_sa_per_ip;      /* default 1000 */
	/*
	 * Authentication failures (dos.h): after auth_fail_limit of them a
	 * source or claimed identity backs off 1 s, 2 s, 4 s... up to
	 * auth_backoff_max_s (0: no back-off).
	 */
	uint32_t auth_fail_limit;    /* default 5 */
	uint32_t auth_backoff_max_s; /* default 60 */
	/* RFC 7383 reassembly memory: in total and per source (octets, dos.h). */
	uint64_t frag_mem_max;       /* default 16 MiB */
	uint64_t frag_mem_per_ip;    /* default 1 MiB */
	/*
	 * Retransmission (RFC 7296 2.1, 2.4): first timeout, then times
	 * retransmit_base (tenths: 18 = 1.8) per try; after retransmit_tries the
	 * peer is declared dead. strongSwan's defaults: 4 s, 1.8, 5 (~165 s).
	 */
	uint32_t retransmit_timeout_ms; /* default 4000 */
	uint32_t retransmit_base_tenths; /* default 18 */
	uint32_t retransmit_tries;      /* default 5 */
	/* RFC 7383 2.5.1: largest IP datagram of a fragment; 0 (default) = 576 IPv4, 1280 IPv6. */
	uint16_t fragment_size;
	/*
	 * Routes of policy-based tunnel-mode Child SAs (daemon/child_route.h):
	 * xiked's routing table and the priority of its one ip rule
	 * ("lookup route_table"). route_table 0: no such routes. Read at start.
	 */
	uint32_t route_table;         /* default 220 (as strongSwan) */
	uint32_t route_rule_priority; /* default 220 */
	/* metrics = ADDR:PORT: the metrics HTTP listener (metrics_http.h); AF_UNSPEC = off. */
	struct sockaddr_storage metrics;
	/* The user xiked runs as after start-up (daemon/privs.h); "" = stay root. Read at start. */
	char user[CONFIG_USER_MAX + 1];
};

struct xiked_config {
	struct daemon_cfg d;
	struct conn_cfg *conns; /* owned, in file order */
	size_t n_conns;
	size_t *by_name; /* private: conns indexes sorted by name */
	bool any_ppk;    /* some conn has a ppk: a responder answers USE_PPK (RFC 8784 3) */
};

/*
 * Loads path (borrowed). 0 and *out (free with config_free), or -1 with
 * the first error, "path:line: message", in err and *out NULL. Warns
 * (LOG_CFG) when a file holding a pre-shared key is readable by everyone.
 */
int config_load(const char *path, struct xiked_config **out, char *err, size_t errlen);
/*
 * config_load() that checks on after an error and hands every error
 * ("path:line: message", borrowed for the call) to on_error (if not NULL),
 * in the order found: the lexer's, then [daemon]'s, the sections' structure,
 * then each conn in file order (within a conn each group of keys stops at
 * its first error). Returns the number of errors (0: *out is set); err gets
 * the first one. For xiked -t and start-up.
 */
typedef void (*config_error_fn)(void *ctx, const char *msg);
unsigned config_load_report(const char *path, struct xiked_config **out, config_error_fn on_error,
			    void *ctx, char *err, size_t errlen);
/*
 * Parses text[0..len) (borrowed), naming it `name` in messages; relative
 * psk_file paths are taken from name's directory. Same results as
 * config_load().
 */
int config_parse(const char *text, size_t len, const char *name, struct xiked_config **out,
		 char *err, size_t errlen);
/* Frees cfg and wipes its secrets. NULL-safe. */
void config_free(struct xiked_config *cfg);

/* Connection by name (O(log n)), borrowed from cfg; NULL if none. */
const struct conn_cfg *config_find_conn(const struct xiked_config *cfg, const char *name);
/* Child of c by name, borrowed; NULL if none. */
const struct child_cfg *config_find_child(const struct conn_cfg *c, const char *name);

/* "psk", "pubkey", "none". */
const char *config_auth_name(enum config_auth a);
/* Writes ts as text ("10.1.0.0/24", "10.1.0.1-10.1.0.9[tcp/443]", "%dynamic"). */
int config_ts_format(const struct ts_cfg *ts, char *buf, size_t len);

#endif
