/* Comparing two configurations conn by conn (see config_diff.h). */
#include "daemon/config_diff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pubkey.h"
#include "crypto/secret.h"
#include "crypto/x509.h"
#include "daemon/endpoint.h"

/* Unset (AF_UNSPEC) equals unset; endpoint_same_addr says no to those. */
static bool addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family == AF_UNSPEC || b->ss_family == AF_UNSPEC)
		return a->ss_family == b->ss_family;
	return endpoint_same_addr(a, b);
}

static bool id_eq(const struct config_id *a, const struct config_id *b)
{
	return a->type == b->type && a->any == b->any && a->pattern == b->pattern &&
	       a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static bool certs_eq(struct x509 *const *a, size_t na, struct x509 *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!x509_equal(a[i], b[i]))
			return false;
	return true;
}

static bool pubkey_eq(const struct pubkey *a, const struct pubkey *b)
{
	if (!a || !b)
		return a == b;
	return pubkey_equal(a, b);
}

static bool auth_eq(const struct conn_cfg *a, const struct conn_cfg *b)
{
	/* A private key is the same when its public half is. */
	return a->local_auth == b->local_auth && a->remote_auth == b->remote_auth &&
	       secret_eq_ct(a->psk, b->psk) && a->rsa_pkcs1 == b->rsa_pkcs1 &&
	       secret_eq_ct(a->ppk, b->ppk) && a->ppk_required == b->ppk_required &&
	       a->ppk_id_len == b->ppk_id_len && memcmp(a->ppk_id, b->ppk_id, a->ppk_id_len) == 0 &&
	       pubkey_eq(a->key ? privkey_public(a->key) : NULL,
			 b->key ? privkey_public(b->key) : NULL) &&
	       certs_eq(a->certs, a->n_certs, b->certs, b->n_certs) &&
	       certs_eq(a->cacerts, a->n_cacerts, b->cacerts, b->n_cacerts) &&
	       pubkey_eq(a->remote_pubkey, b->remote_pubkey);
}

static bool proposals_eq(const struct proposal_cfg_list *a, const struct proposal_cfg_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct proposal_cfg *p = &a->p[i], *q = &b->p[i];
		if (p->protocol != q->protocol || p->n != q->n)
			return false;
		for (size_t j = 0; j < p->n; j++)
			if (p->t[j].type != q->t[j].type || p->t[j].id != q->t[j].id ||
			    p->t[j].keylen != q->t[j].keylen)
				return false;
	}
	return true;
}

static bool life_eq(const struct lifetime_cfg *a, const struct lifetime_cfg *b)
{
	return a->lifetime_s == b->lifetime_s && a->rekey_margin_s == b->rekey_margin_s &&
	       a->rand_margin_s == b->rand_margin_s && a->ike_lifetime_s == b->ike_lifetime_s &&
	       a->idle_timeout_s == b->idle_timeout_s && a->lifetime_bytes == b->lifetime_bytes &&
	       a->lifetime_packets == b->lifetime_packets && a->reauth == b->reauth;
}

static bool live_eq(const struct liveness_cfg *a, const struct liveness_cfg *b)
{
	return a->encap == b->encap && a->keepalive_s == b->keepalive_s && a->dpd_s == b->dpd_s &&
	       a->dpd_action == b->dpd_action && a->mobike == b->mobike &&
	       a->mobike_check == b->mobike_check && a->mobike_no_nats == b->mobike_no_nats;
}

static bool route_eq(const struct route_cfg *a, const struct route_cfg *b)
{
	if (a->if_id != b->if_id || a->if_id_unique != b->if_id_unique ||
	    strcmp(a->interface, b->interface) != 0 ||
	    strcmp(a->interface_link, b->interface_link) != 0 || strcmp(a->vti, b->vti) != 0 ||
	    a->mark != b->mark || a->mtu != b->mtu || a->routes != b->routes ||
	    a->n_addresses != b->n_addresses)
		return false;
	for (size_t i = 0; i < a->n_addresses; i++)
		if (a->addresses[i].plen != b->addresses[i].plen ||
		    !addr_eq(&a->addresses[i].addr, &b->addresses[i].addr))
			return false;
	return true;
}

static bool ts_list_eq(const struct ts_cfg_list *a, const struct ts_cfg_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct ts_cfg *p = &a->ts[i], *q = &b->ts[i];
		if (p->type != q->type || p->dynamic != q->dynamic || p->ip_proto != q->ip_proto ||
		    p->start_port != q->start_port || p->end_port != q->end_port ||
		    memcmp(p->start, q->start, sizeof(p->start)) != 0 ||
		    memcmp(p->end, q->end, sizeof(p->end)) != 0)
			return false;
	}
	return true;
}

static uint32_t child_diff(const struct child_cfg *a, const struct child_cfg *b)
{
	uint32_t w = 0;
	if (!proposals_eq(&a->esp, &b->esp))
		w |= CONFIG_CHG_ESP;
	if (!ts_list_eq(&a->local_ts, &b->local_ts) || !ts_list_eq(&a->remote_ts, &b->remote_ts))
		w |= CONFIG_CHG_SELECTORS;
	if (a->mode != b->mode)
		w |= CONFIG_CHG_MODE;
	return w;
}

uint32_t config_diff_conns(const struct conn_cfg *a, const struct conn_cfg *b)
{
	uint32_t w = 0;
	if (!addr_eq(&a->local_addr, &b->local_addr) || !addr_eq(&a->remote_addr, &b->remote_addr))
		w |= CONFIG_CHG_ADDRESSES;
	if (!id_eq(&a->local_id, &b->local_id) || !id_eq(&a->remote_id, &b->remote_id))
		w |= CONFIG_CHG_IDENTITIES;
	if (!auth_eq(a, b))
		w |= CONFIG_CHG_AUTH;
	if (!proposals_eq(&a->ike, &b->ike))
		w |= CONFIG_CHG_IKE;
	if (!life_eq(&a->life, &b->life))
		w |= CONFIG_CHG_LIFETIMES;
	if (!live_eq(&a->live, &b->live))
		w |= CONFIG_CHG_LIVENESS;
	if (a->fragmentation != b->fragmentation || a->fragment_size != b->fragment_size)
		w |= CONFIG_CHG_FRAGMENTATION;
	if (!route_eq(&a->route, &b->route))
		w |= CONFIG_CHG_ROUTE;
	if (a->start != b->start)
		w |= CONFIG_CHG_START;
	/* struct cp_cfg is filled from zero (interpret_cp), so it compares as bytes */
	if (memcmp(&a->cp, &b->cp, sizeof(a->cp)) != 0)
		w |= CONFIG_CHG_REMOTE_ACCESS;
	/* Children by name: one only in either file is a change of the set. */
	for (size_t i = 0; i < a->n_children; i++) {
		const struct child_cfg *o = config_find_child(b, a->children[i].name);
		if (o)
			w |= child_diff(&a->children[i], o);
		else
			w |= CONFIG_CHG_CHILDREN;
	}
	for (size_t i = 0; i < b->n_children; i++)
		if (!config_find_child(a, b->children[i].name))
			w |= CONFIG_CHG_CHILDREN;
	return w;
}

bool config_diff_same_policies(const struct conn_cfg *ca, const struct child_cfg *a,
			       const struct conn_cfg *cb, const struct child_cfg *b)
{
	if (ca == cb && a == b)
		return true;
	return addr_eq(&ca->local_addr, &cb->local_addr) &&
	       addr_eq(&ca->remote_addr, &cb->remote_addr) && route_eq(&ca->route, &cb->route) &&
	       (child_diff(a, b) & (CONFIG_CHG_SELECTORS | CONFIG_CHG_MODE)) == 0;
}

int config_diff(const struct xiked_config *old, const struct xiked_config *new,
		struct config_diff *out)
{
	memset(out, 0, sizeof(*out));
	size_t cap = new->n_conns + old->n_conns;
	out->v = calloc(cap ? cap : 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < new->n_conns; i++) {
		const struct conn_cfg *n = &new->conns[i];
		const struct conn_cfg *o = config_find_conn(old, n->name);
		struct config_diff_conn *d = &out->v[out->n++];
		d->new_conn = n;
		d->old_conn = o;
		if (!o) {
			d->kind = CONFIG_DIFF_ADDED;
			out->added++;
			continue;
		}
		d->what = config_diff_conns(o, n);
		d->kind = d->what ? CONFIG_DIFF_CHANGED : CONFIG_DIFF_UNCHANGED;
		if (d->what)
			out->changed++;
		else
			out->unchanged++;
	}
	out->n_new = out->n;
	for (size_t i = 0; i < old->n_conns; i++) {
		if (config_find_conn(new, old->conns[i].name))
			continue;
		struct config_diff_conn *d = &out->v[out->n++];
		d->kind = CONFIG_DIFF_REMOVED;
		d->old_conn = &old->conns[i];
		out->removed++;
	}
	const struct daemon_cfg *a = &old->d, *b = &new->d;
	bool listen_eq = a->n_listen == b->n_listen;
	for (size_t i = 0; listen_eq && i < a->n_listen; i++)
		listen_eq = endpoint_same(&a->listen[i], &b->listen[i]);
	if (!listen_eq)
		out->daemon_restart |= CONFIG_DCHG_LISTEN;
	if (a->port != b->port || a->natt_port != b->natt_port)
		out->daemon_restart |= CONFIG_DCHG_PORTS;
	if (strcmp(a->control, b->control) != 0)
		out->daemon_restart |= CONFIG_DCHG_CONTROL;
	if (a->route_table != b->route_table || a->route_rule_priority != b->route_rule_priority)
		out->daemon_restart |= CONFIG_DCHG_ROUTE_TABLE;
	if (strcmp(a->user, b->user) != 0)
		out->daemon_restart |= CONFIG_DCHG_USER;
	return 0;
}

void config_diff_free(struct config_diff *d)
{
	if (!d)
		return;
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static const char *const what_names[CONFIG_CHG_COUNT] = {
	"addresses", "identities", "auth", "ike", "lifetimes", "liveness", "fragmentation",
	"route", "start", "children", "esp", "selectors", "mode", "remote_access",
};

static const char *const daemon_names[CONFIG_DCHG_COUNT] = {"listen", "port", "control",
							    "route_table", "user"};

static const char *bit_name(uint32_t bit, const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (bit == 1u << i)
			return names[i];
	return NULL;
}

const char *config_diff_what_name(uint32_t bit)
{
	return bit_name(bit, what_names, CONFIG_CHG_COUNT);
}

const char *config_diff_daemon_name(uint32_t bit)
{
	return bit_name(bit, daemon_names, CONFIG_DCHG_COUNT);
}

int config_diff_what_text(uint32_t what, char *buf, size_t len)
{
	size_t off = 0;
	int total = 0;
	if (len)
		buf[0] = 0;
	for (unsigned i = 0; i < CONFIG_CHG_COUNT; i++) {
		if (!(what & (1u << i)))
			continue;
		int n = snprintf(buf + off, len > off ? len - off : 0, "%s%s", total ? ", " : "",
				 what_names[i]);
		if (n < 0)
			return n;
		total += n;
		off = (size_t)total < len ? (size_t)total : len;
	}
	return total;
}
