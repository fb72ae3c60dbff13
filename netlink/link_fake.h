/* netlink/link_fake.h: a recording fake of struct link_ops for unit tests.
 *
 * Keeps devices by name (find/create/del; create of a taken name is -EEXIST, as the
 * kernel answers NLM_F_EXCL), their up flag, mtu, addresses and routes (add twice is
 * -EEXIST, deleting a missing one -ESRCH), drops a device's addresses and routes with it,
 * and counts calls per op so tests can check "created once, removed once". Tests may add
 * devices xiked did not create (link_fake_add_existing) to check adoption.
 *
 * Policy-based routes (daemon/child_route.h): the fake keeps the table routes
 * and rules (protocol LINK_RTPROT_XIKED unless planted as someone else's),
 * answers get_path from paths the test sets per destination (default: on-link
 * through LINK_FAKE_DEFAULT_IFINDEX) unless a non-throw route of its tables
 * covers the destination (the kernel's rule lookup: that route answers), local_addr_in from host addresses the
 * test adds, and flush removes what carries LINK_RTPROT_XIKED.
 */
#ifndef XIKED_NETLINK_LINK_FAKE_H
#define XIKED_NETLINK_LINK_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink/link.h"

struct link_fake;

enum link_fake_op {
	LFAKE_CREATE,
	LFAKE_SET_UP,
	LFAKE_DISABLE_POLICY,
	LFAKE_ADDR_ADD,
	LFAKE_ADDR_DEL,
	LFAKE_ROUTE_ADD,
	LFAKE_ROUTE_DEL,
	LFAKE_DEL,
	LFAKE_GET_PATH,
	LFAKE_TROUTE_ADD,     /* NLM_F_EXCL adds */
	LFAKE_TROUTE_REPLACE, /* NLM_F_REPLACE adds */
	LFAKE_TROUTE_DEL,
	LFAKE_RULE_ADD,
	LFAKE_RULE_DEL,
	LFAKE_FLUSH,
	LFAKE_OP_COUNT
};

#define LINK_FAKE_DEV_MAX 64
#define LINK_FAKE_TROUTE_MAX 64
#define LINK_FAKE_DEFAULT_IFINDEX 2
#define LINK_FAKE_PREFIX_MAX 16

struct link_fake_dev {
	bool used;
	int ifindex;
	struct link_spec spec; /* as created (name only for pre-existing devices) */
	bool up, policy_disabled;
	bool ours;             /* alias LINK_ALIAS */
	uint32_t mtu;
	struct link_prefix addrs[LINK_FAKE_PREFIX_MAX], routes[LINK_FAKE_PREFIX_MAX];
	size_t n_addrs, n_routes;
};

/* Create a fake and plug it into *out; owned by *out (link_free frees it). NULL on ENOMEM. */
struct link_fake *link_fake_new(struct link *out);
/* A device that exists before xiked runs (adoption); its ifindex. ours: it carries
 * xiked's alias (left by a crashed xiked). */
int link_fake_add_existing(struct link_fake *f, const char *name, bool ours);
/* The device called name, or NULL. Borrowed until the next call on f. */
const struct link_fake_dev *link_fake_find(const struct link_fake *f, const char *name);
size_t link_fake_dev_count(const struct link_fake *f);
/* Calls of op so far (failed ones included). */
unsigned link_fake_calls(const struct link_fake *f, enum link_fake_op op);
/* Whether dev has a route to p. */
bool link_fake_has_route(const struct link_fake_dev *d, const char *prefix_text);

/* The kernel's route to dst ("192.0.2.2"): through gw ("" or NULL: on-link) and ifindex. */
void link_fake_set_path(struct link_fake *f, const char *dst, const char *gw, int ifindex);
/* No route to anything (get_path: -ENETUNREACH) while on. */
void link_fake_set_unreachable(struct link_fake *f, bool on);
/* An address of this host ("10.1.0.1"). */
void link_fake_add_host_addr(struct link_fake *f, const char *addr);
/* A route or rule a killed xiked left (protocol LINK_RTPROT_XIKED), or another program's. */
void link_fake_plant_troute(struct link_fake *f, const struct link_table_route *r, bool ours);
void link_fake_plant_rule(struct link_fake *f, uint8_t family, uint32_t prio, uint32_t table, bool ours);
/* Routes in table now (any protocol), rules now. */
size_t link_fake_troute_count(const struct link_fake *f, uint32_t table);
size_t link_fake_rule_count(const struct link_fake *f);
/* The route to prefix_text ("10.2.0.0/24") in table, or NULL. Borrowed. */
const struct link_table_route *link_fake_troute(const struct link_fake *f, uint32_t table,
						const char *prefix_text);
/* Whether rule (family, prio -> table) exists. */
bool link_fake_has_rule(const struct link_fake *f, uint8_t family, uint32_t prio, uint32_t table);

#endif
