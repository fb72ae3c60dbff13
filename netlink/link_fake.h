/* netlink/link_fake.h: a recording fake of struct link_ops for unit tests.
 *
 * Keeps devices by name (find/create/del; create of a taken name is -EEXIST, as the
 * kernel answers NLM_F_EXCL), their up flag, mtu, addresses and routes (add twice is
 * -EEXIST, deleting a missing one -ESRCH), drops a device's addresses and routes with it,
 * and counts calls per op so tests can check "created once, removed once". Tests may add
 * devices xiked did not create (link_fake_add_existing) to check adoption.
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
	LFAKE_OP_COUNT
};

#define LINK_FAKE_DEV_MAX 64
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

#endif
