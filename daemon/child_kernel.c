/* Child SA states and policies in the kernel (see child_kernel.h). */
#include "daemon/child_kernel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/fnv.h"
#include "daemon/child_route.h"
#include "daemon/endpoint.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/natt.h"
#include "daemon/route_iface.h"
#include "daemon/sa_event.h"
#include "daemon/spi_table.h"
#include "daemon/text.h"
#include "daemon/ts.h"

#define POLICY_SEL_MAX 64
#define REPLAY_WINDOW 32

size_t child_keymat_len(const struct esp_suite *s)
{
	struct esp_xfrm x;
	if (!esp_alg_xfrm(s, &x))
		return 0;
	return 2 * (x.enc_key_len + x.integ_key_len);
}

/* Route-based Child SAs (route_iface.h): a mark matches exactly. */
static uint32_t mark_mask(const struct child_sa *c)
{
	return c->mark ? 0xffffffffu : 0;
}

static struct kernel *kern(struct ikesa *sa)
{
	return &sa->e->env.kernel;
}

/* What the policy code needs: policies also exist without an IKE SA (trap policies). */
struct polctx {
	struct engine *e;
	const struct sockaddr_storage *local, *remote;
	const char *tag; /* log prefix */
};

static struct polctx polctx_of(struct ikesa *sa)
{
	return (struct polctx){sa->e, &sa->local, &sa->remote, ikesa_tag(sa)};
}

/* why: the reason's text, NULL for kernel_strerror's. */
static void log_kernel_error_why(struct engine *e, const char *tag, struct child_sa *c,
				 const char *what, int rc, const char *why)
{
	struct kernel *k = &e->env.kernel;
	const char *extack = k->ops->last_extack ? k->ops->last_extack(k->k) : NULL;
	if (!why)
		why = kernel_strerror(rc, IPPROTO_ESP);
	log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: Child SA %s: %s failed: %s%s%s%s", tag,
		c->cfg ? c->cfg->name : "?", what, why,
		extack ? " (kernel: " : "", extack ? extack : "", extack ? ")" : "");
	/* For the child-failed event (sa_event.h): "kernel: ENOSYS installing ...: why". */
	const char *ename = strerrorname_np(rc < 0 ? -rc : rc);
	snprintf(e->kernel_err, sizeof(e->kernel_err), "kernel: %s %s: %s%s%s%s",
		 ename ? ename : "error", what, why,
		 extack ? " (" : "", extack ? extack : "", extack ? ")" : "");
}

static void log_kernel_error_tag(struct engine *e, const char *tag, struct child_sa *c,
				 const char *what, int rc)
{
	log_kernel_error_why(e, tag, c, what, rc, NULL);
}

static void log_kernel_error(struct ikesa *sa, struct child_sa *c, const char *what, int rc)
{
	log_kernel_error_tag(sa->e, ikesa_tag(sa), c, what, rc);
}

int child_kernel_alloc_spi(struct ikesa *sa, struct child_sa *c)
{
	struct kaddr src, dst;
	kaddr_from_sockaddr(&sa->remote, &src);
	kaddr_from_sockaddr(&sa->local, &dst);
	int rc = kern(sa)->ops->get_spi(kern(sa)->k, &src, &dst, IPPROTO_ESP, c->reqid, 0, &c->spi_in);
	if (rc != 0) {
		/* xfrm_alloc_spi's ENOENT: every SPI of the range is held by a state. */
		log_kernel_error_why(sa->e, ikesa_tag(sa), c, "allocating an SPI", rc,
				     rc == -ENOENT ? "no free SPI in the kernel's range" : NULL);
		return rc;
	}
	c->spi_in_allocated = true;
	c->spi_in_dst = dst;
	return 0;
}

/*
 * The kernel deletes the larval state of an XFRM_MSG_ALLOCSPI after
 * net.core.xfrm_acq_expires seconds (30 by default) and reports a hard
 * expire for it. An exchange may take longer (retransmissions on a lossy
 * path, a slow peer): the peer knows the SPI already, so the same one is
 * reserved again (ALLOCSPI with min = max) at the current addresses. That
 * keeps it ours: no other ALLOCSPI, of this daemon or another, is handed it
 * before the install, and ESP for it is still dropped as for any larval
 * state. Should that fail, the install adds the state with XFRM_MSG_NEWSA
 * under the SPI (child_kernel_install).
 */
void child_kernel_larval_expired(struct ikesa *sa, struct child_sa *c)
{
	struct kaddr src, dst;
	uint32_t spi = 0;
	kaddr_from_sockaddr(&sa->remote, &src);
	kaddr_from_sockaddr(&sa->local, &dst);
	c->spi_in_allocated = false;
	int rc = kern(sa)->ops->get_spi(kern(sa)->k, &src, &dst, IPPROTO_ESP, c->reqid, c->spi_in, &spi);
	if (rc == 0 && spi != c->spi_in) {
		kern(sa)->ops->del_sa(kern(sa)->k, &dst, spi, IPPROTO_ESP, 0, 0);
		rc = -EEXIST;
	}
	if (rc != 0) {
		log_msg(LOG_KNL, LOG_LVL_WARN, "%s: Child SA %s: the reservation of SPI %08x expired "
			"(net.core.xfrm_acq_expires) and reserving it again failed: %s; it is added "
			"when the exchange completes", ikesa_tag(sa), c->cfg ? c->cfg->name : "?",
			ntohl(c->spi_in), kernel_strerror(rc, IPPROTO_ESP));
		return;
	}
	c->spi_in_allocated = true;
	c->spi_in_dst = dst;
	log_msg(LOG_KNL, LOG_LVL_INFO, "%s: Child SA %s: the reservation of SPI %08x expired "
		"(net.core.xfrm_acq_expires) before its exchange completed: reserved again",
		ikesa_tag(sa), c->cfg ? c->cfg->name : "?", ntohl(c->spi_in));
}

bool child_kernel_has_state(struct ikesa *sa, const struct child_sa *c, const struct kaddr *dst, uint32_t spi)
{
	struct kernel_sa_stats st;
	return kern(sa)->ops->query_sa(kern(sa)->k, dst, spi, IPPROTO_ESP, c->mark, mark_mask(c), &st) == 0;
}

/* Selector pairs of c in the outbound orientation; count or -errno. */
static int child_selectors(struct child_sa *c, struct ksel *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n_local_ts; i++)
		for (size_t j = 0; j < c->n_remote_ts; j++) {
			if (c->local_ts[i].type != c->remote_ts[j].type)
				continue;
			int k = ts_to_ksel(&c->local_ts[i], &c->remote_ts[j], out + n, cap - n);
			if (k < 0)
				return k;
			n += (size_t)k;
		}
	return (int)n;
}

static void reverse(const struct ksel *s, struct ksel *r)
{
	*r = *s;
	r->src = s->dst;
	r->dst = s->src;
	r->src_plen = s->dst_plen;
	r->dst_plen = s->src_plen;
	r->sport = s->dport;
	r->sport_mask = s->dport_mask;
	r->dport = s->sport;
	r->dport_mask = s->sport_mask;
}

/* The policy of direction dir (index 0 out, 1 in, 2 fwd) for outbound selector s. */
static void make_policy(const struct polctx *pc, struct child_sa *c, const struct ksel *s,
			int dir, struct kernel_policy *p)
{
	struct kaddr l, r;
	kaddr_from_sockaddr(pc->local, &l);
	kaddr_from_sockaddr(pc->remote, &r);
	*p = (struct kernel_policy){0};
	if (dir == 0) {
		p->sel = *s;
		p->dir = KDIR_OUT;
		p->tmpl_src = l;
		p->tmpl_dst = r;
	} else {
		reverse(s, &p->sel);
		p->dir = dir == 1 ? KDIR_IN : KDIR_FWD;
		p->tmpl_src = r;
		p->tmpl_dst = l;
	}
	p->priority = kernel_policy_priority(&p->sel);
	p->has_tmpl = true;
	p->tmpl_proto = IPPROTO_ESP;
	p->tmpl_mode = c->mode == CONFIG_MODE_TUNNEL ? KMODE_TUNNEL : KMODE_TRANSPORT;
	p->reqid = c->reqid;
	p->if_id = c->if_id;
	p->mark = c->mark;
	p->mark_mask = mark_mask(c);
}

static int dirs(const struct child_sa *c)
{
	/* fwd policies only matter for forwarded (tunnelled) traffic. */
	return c->mode == CONFIG_MODE_TUNNEL ? 3 : 2;
}

/* The kernel's identity of a policy (selector, direction, mark, if_id), hashed (FNV-1a). */
static uint64_t policy_key(const struct kernel_policy *p)
{
	const struct ksel *s = &p->sel;
	uint32_t words[] = {s->src.family, s->src_plen, s->dst_plen, s->proto, s->sport, s->sport_mask,
			    s->dport, s->dport_mask, p->dir, p->mark, p->mark_mask, p->if_id};
	uint64_t h = fnv64(FNV64_OFFSET, s->src.a, sizeof(s->src.a));
	h = fnv64(h, s->dst.a, sizeof(s->dst.a));
	return fnv64(h, words, sizeof(words));
}

static struct child_sa *policy_holders(struct engine *e, uint32_t reqid);

/*
 * NEWPOLICY answered EEXIST: another tunnel holds these selectors. One
 * log line names it (the policy index says which reqid, its holders which
 * conn and peer); the caller answers the peer TS_UNACCEPTABLE.
 */
static void log_collision(const struct polctx *pc, struct child_sa *c, const struct kernel_policy *p)
{
	char tag[96];
	snprintf(tag, sizeof(tag), "%s", pc->tag); /* ikesa_tag() below reuses its buffer */
	uintptr_t reqid = (uintptr_t)spi_table_get(pc->e->policy_by_sel, policy_key(p));
	struct child_sa *h = reqid ? policy_holders(pc->e, (uint32_t)reqid) : NULL;
	char sel[128], src[64], dst[64], who[2048] = "a policy xiked did not install";
	snprintf(sel, sizeof(sel), "%s/%u === %s/%u", kaddr_to_string(&p->sel.src, src, sizeof(src)),
		 p->sel.src_plen, kaddr_to_string(&p->sel.dst, dst, sizeof(dst)), p->sel.dst_plen);
	if (h && h->ike) {
		struct ikesa *o = h->ike;
		struct config_id id = {.type = o->peer_id_type, .len = o->peer_id_len};
		char raw[CONFIG_ID_MAX * 4 + 64], idtext[CONFIG_ID_MAX * 4 + 8];
		memcpy(id.data, o->peer_id, o->peer_id_len < sizeof(id.data) ? o->peer_id_len : sizeof(id.data));
		config_id_format(&id, raw, sizeof(raw));
		text_escape(raw, strlen(raw), idtext, sizeof(idtext));
		snprintf(who, sizeof(who), "conn '%s' (Child SA %s, peer '%s', IKE SA %s)",
			 o->conn ? o->conn->name : "?", h->cfg ? h->cfg->name : "?", idtext, ikesa_tag(o));
	} else if (h) {
		snprintf(who, sizeof(who), "the trap of conn '%s'", h->cfg ? h->cfg->name : "?");
	}
	log_msg(LOG_KNL, LOG_LVL_WARN, "%s: Child SA %s: refused: its traffic selectors (%s) are "
		"held by %s", tag, c->cfg ? c->cfg->name : "?", sel, who);
	/* Truncated on purpose: who may be long; the log line above has it all. */
	size_t kl = sizeof(pc->e->kernel_err);
	int kn = snprintf(pc->e->kernel_err, kl, "kernel: EEXIST: traffic selectors %s held by ", sel);
	if (kn > 0 && (size_t)kn < kl)
		snprintf(pc->e->kernel_err + kn, kl - (size_t)kn, "%.*s", (int)(kl - (size_t)kn - 1), who);
}

/*
 * Deletes c's first `count` policies (in the order hold_policies adds
 * them; SIZE_MAX: all). The kernel deletes a policy by selector, whoever
 * added it: a failed install must remove only what it added, never the
 * policies of another tunnel with the same selectors (NEWPOLICY's EEXIST).
 */
static void del_policies(const struct polctx *pc, struct child_sa *c, size_t count)
{
	struct kernel *k = &pc->e->env.kernel;
	struct ksel sels[POLICY_SEL_MAX];
	int n = child_selectors(c, sels, POLICY_SEL_MAX);
	for (int i = 0; i < n; i++)
		for (int d = 0; d < dirs(c) && count; d++, count--) {
			struct kernel_policy p;
			make_policy(pc, c, &sels[i], d, &p);
			int rc = k->ops->del_policy(k->k, &p.sel, p.dir, p.mark, p.mark_mask, p.if_id);
			if (rc != 0 && rc != -ENOENT)
				log_kernel_error_tag(pc->e, pc->tag, c, "deleting a policy", rc);
			uint64_t key = policy_key(&p);
			if ((uintptr_t)spi_table_get(pc->e->policy_by_sel, key) == c->reqid)
				spi_table_del(pc->e->policy_by_sel, key);
		}
}

/*
 * Policies belong to a reqid, not to one Child SA: a rekeyed SA and its
 * successor share them (design.md rule 12: policies stay during a rekey), and
 * so do a trap (start = trap) and the Child SA its ACQUIRE brought up. The
 * engine keeps the holders of each reqid's policies in a list (reqid_next);
 * the first installs them, the last removes them. XFRM_MSG_MIGRATE moves
 * states by reqid, so the list also says whose states a move may carry.
 */
static struct child_sa *policy_holders(struct engine *e, uint32_t reqid)
{
	return spi_table_get(e->policy_refs, reqid);
}

static void set_policy_holders(struct engine *e, uint32_t reqid, struct child_sa *first)
{
	spi_table_del(e->policy_refs, reqid);
	if (first)
		spi_table_add(e->policy_refs, reqid, first);
}

static int hold_policies(const struct polctx *pc, struct child_sa *c)
{
	struct kernel *k = &pc->e->env.kernel;
	struct child_sa *first = policy_holders(pc->e, c->reqid);
	if (!first) {
		struct ksel sels[POLICY_SEL_MAX];
		int n = child_selectors(c, sels, POLICY_SEL_MAX);
		if (n <= 0) {
			log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: Child SA %s: traffic selectors need more "
				"than %d kernel policies", pc->tag, c->cfg->name, POLICY_SEL_MAX);
			return n < 0 ? n : -EINVAL;
		}
		size_t added = 0;
		for (int i = 0; i < n; i++)
			for (int d = 0; d < dirs(c); d++, added++) {
				struct kernel_policy p;
				make_policy(pc, c, &sels[i], d, &p);
				int rc = k->ops->add_policy(k->k, &p);
				if (rc == -EEXIST) {
					log_collision(pc, c, &p);
				} else if (rc != 0) {
					log_kernel_error_tag(pc->e, pc->tag, c, "installing a policy", rc);
				}
				if (rc != 0) {
					del_policies(pc, c, added);
					return rc;
				}
				uint64_t key = policy_key(&p);
				spi_table_del(pc->e->policy_by_sel, key); /* a stale entry: the kernel had none */
				spi_table_add(pc->e->policy_by_sel, key, (void *)(uintptr_t)c->reqid);
			}
	}
	c->reqid_next = first;
	set_policy_holders(pc->e, c->reqid, c);
	c->holds_policies = true;
	return 0;
}

static void release_policies(const struct polctx *pc, struct child_sa *c)
{
	if (!c->holds_policies)
		return;
	c->holds_policies = false;
	struct child_sa *first = policy_holders(pc->e, c->reqid), **pp = &first;
	while (*pp && *pp != c)
		pp = &(*pp)->reqid_next;
	if (*pp)
		*pp = c->reqid_next;
	c->reqid_next = NULL;
	if (!first)
		del_policies(pc, c, SIZE_MAX);
	set_policy_holders(pc->e, c->reqid, first);
}

int child_kernel_hold_policies(struct engine *e, const struct sockaddr_storage *local,
			       const struct sockaddr_storage *remote, const char *tag,
			       struct child_sa *c)
{
	struct polctx pc = {e, local, remote, tag};
	return hold_policies(&pc, c);
}

void child_kernel_release_policies(struct engine *e, const struct sockaddr_storage *local,
				   const struct sockaddr_storage *remote, const char *tag,
				   struct child_sa *c)
{
	struct polctx pc = {e, local, remote, tag};
	release_policies(&pc, c);
}

/*
 * Kernel lifetimes (RFC 7296 2.8): hard at the configured limits, soft
 * earlier by rekey_margin plus a random part of rand_margin so that the
 * peers rarely rekey at once (2.8.1). Byte and packet soft limits move by
 * the same fraction. The jitter is drawn once per Child SA.
 */
static void set_lifetimes(struct ikesa *sa, struct child_sa *c, struct kernel_sa *k)
{
	const struct lifetime_cfg *l = &sa->conn->life;
	if (!c->jitter_drawn) {
		uint32_t r = 0;
		if (l->rand_margin_s) {
			rng_fill(sa->e->env.rng, &r, sizeof(r));
			r %= l->rand_margin_s + 1;
		}
		c->jitter_s = l->rekey_margin_s + r;
		c->jitter_drawn = true;
	}
	uint64_t life = l->lifetime_s;
	if (life) {
		k->hard_add_s = life;
		k->soft_add_s = life > c->jitter_s ? life - c->jitter_s : 1;
	}
	/* Volume limits: soft = hard * (1 - margin/lifetime), or 90% without a time limit. */
	uint64_t num = life ? life - (life > c->jitter_s ? c->jitter_s : life - 1) : 9;
	uint64_t den = life ? life : 10;
	if (l->lifetime_bytes) {
		k->hard_bytes = l->lifetime_bytes;
		k->soft_bytes = l->lifetime_bytes / den * num + l->lifetime_bytes % den * num / den;
	}
	if (l->lifetime_packets) {
		k->hard_packets = l->lifetime_packets;
		k->soft_packets =
			l->lifetime_packets / den * num + l->lifetime_packets % den * num / den;
	}
}

static void fill_sa(struct ikesa *sa, struct child_sa *c, bool inbound, const struct esp_xfrm *x,
		    const uint8_t *enc, const uint8_t *integ, struct kernel_sa *k)
{
	*k = (struct kernel_sa){0};
	if (inbound) {
		kaddr_from_sockaddr(&sa->remote, &k->src);
		kaddr_from_sockaddr(&sa->local, &k->dst);
		k->spi = c->spi_in;
		k->replay_window = REPLAY_WINDOW;
	} else {
		kaddr_from_sockaddr(&sa->local, &k->src);
		kaddr_from_sockaddr(&sa->remote, &k->dst);
		k->spi = c->spi_out;
	}
	k->proto = IPPROTO_ESP;
	k->mode = c->mode == CONFIG_MODE_TUNNEL ? KMODE_TUNNEL : KMODE_TRANSPORT;
	k->reqid = c->reqid;
	k->enc_alg = x->enc_name;
	k->enc_key = enc;
	k->enc_key_len = x->enc_key_len;
	k->icv_bits = x->icv_bits;
	k->integ_alg = x->integ_name;
	k->integ_key = integ;
	k->integ_key_len = x->integ_key_len;
	k->integ_trunc_bits = x->integ_trunc_bits;
	k->esn = c->suite.esn;
	k->inbound = inbound;
	k->if_id = c->if_id;
	k->mark = c->mark;
	k->mark_mask = mark_mask(c);
	if (natt_encap(sa)) {
		/* RFC 3948: ESP in UDP between the IKE SA's current (NAT-T) ports. */
		k->encap = true;
		k->encap_sport = endpoint_port(inbound ? &sa->remote : &sa->local);
		k->encap_dport = endpoint_port(inbound ? &sa->local : &sa->remote);
	}
	set_lifetimes(sa, c, k);
}

static int install_out(struct ikesa *sa, struct child_sa *c, const struct esp_xfrm *x,
		       const uint8_t *enc, const uint8_t *integ)
{
	struct kernel_sa k;
	fill_sa(sa, c, false, x, enc, x->integ_name ? integ : NULL, &k);
	int rc = kern(sa)->ops->add_sa(kern(sa)->k, &k);
	struct kaddr out_at = k.dst;
	crypto_wipe(&k, sizeof(k));
	if (rc != 0) {
		log_kernel_error(sa, c, "installing the outbound SA", rc);
		return rc;
	}
	c->installed_out = true;
	c->out_at = out_at;
	return 0;
}

int child_kernel_install(struct ikesa *sa, struct child_sa *c, const struct secret *keymat,
			 bool we_initiated, bool defer_out)
{
	struct esp_xfrm x;
	if (!esp_alg_xfrm(&c->suite, &x) || keymat->len != child_keymat_len(&c->suite))
		return -EINVAL;
	/*
	 * RFC 7296 2.17: initiator-to-responder keys first, encryption before
	 * integrity; the initiator is the one of the exchange that made the
	 * Child SA (IKE_AUTH or CREATE_CHILD_SA), not of the IKE SA.
	 */
	const uint8_t *ir_enc = keymat->data, *ir_int = ir_enc + x.enc_key_len;
	const uint8_t *ri_enc = ir_int + x.integ_key_len, *ri_int = ri_enc + x.enc_key_len;
	const uint8_t *in_enc = we_initiated ? ri_enc : ir_enc;
	const uint8_t *in_int = we_initiated ? ri_int : ir_int;
	const uint8_t *out_enc = we_initiated ? ir_enc : ri_enc;
	const uint8_t *out_int = we_initiated ? ir_int : ri_int;
	struct kernel_sa k;
	int rc;

	/* Before the states: they carry the binding's if_id or mark. */
	if ((rc = route_iface_attach(sa, c)) != 0)
		return rc;
	uint64_t now = engine_now(sa->e);
	fill_sa(sa, c, true, &x, in_enc, x.integ_name ? in_int : NULL, &k);
	c->soft_ms = k.soft_add_s ? now + k.soft_add_s * 1000 : 0;
	c->hard_ms = k.hard_add_s ? now + k.hard_add_s * 1000 : 0;
	if (c->spi_in_allocated && !kaddr_eq(&c->spi_in_dst, &k.dst)) {
		/*
		 * The IKE SA moved (MOBIKE, NAT) while this Child SA was being
		 * negotiated: the larval state sits at the old address, where
		 * XFRM_MSG_UPDSA cannot reach it from the new one. Add the SA
		 * anew and drop the larval state.
		 */
		kern(sa)->ops->del_sa(kern(sa)->k, &c->spi_in_dst, c->spi_in, IPPROTO_ESP, 0, 0);
		c->spi_in_allocated = false;
	}
	rc = c->spi_in_allocated ? kern(sa)->ops->update_sa(kern(sa)->k, &k)
				 : kern(sa)->ops->add_sa(kern(sa)->k, &k);
	if (c->spi_in_allocated && (rc == -ESRCH || rc == -ENOENT)) {
		/* The larval state expired and its hard expire is not read yet: add the SA. */
		log_msg(LOG_KNL, LOG_LVL_INFO, "%s: Child SA %s: the reservation of SPI %08x expired "
			"(net.core.xfrm_acq_expires): adding the SA under it", ikesa_tag(sa),
			c->cfg->name, ntohl(c->spi_in));
		c->spi_in_allocated = false;
		rc = kern(sa)->ops->add_sa(kern(sa)->k, &k);
	}
	struct kaddr in_at = k.dst;
	crypto_wipe(&k, sizeof(k));
	if (rc != 0) {
		log_kernel_error(sa, c, "installing the inbound SA", rc);
		goto fail;
	}
	c->installed_in = true;
	c->in_at = in_at;
	if (defer_out) {
		/* Kept (wiping type) until child_kernel_install_out(). */
		secret_free(c->pending_out);
		c->pending_out = secret_new(x.enc_key_len + x.integ_key_len);
		if (!c->pending_out) {
			rc = -ENOMEM;
			goto fail;
		}
		memcpy(c->pending_out->data, out_enc, x.enc_key_len);
		memcpy(c->pending_out->data + x.enc_key_len, out_int, x.integ_key_len);
	} else if ((rc = install_out(sa, c, &x, out_enc, out_int)) != 0) {
		goto fail;
	}
	struct polctx pc = polctx_of(sa);
	if ((rc = hold_policies(&pc, c)) != 0)
		goto fail;
	route_iface_add_routes(sa, c);
	child_route_add(sa->e, sa->conn, &sa->local, &sa->remote, ikesa_tag(sa), c);
	secret_free(c->keymat);
	c->keymat = secret_new(keymat->len);
	if (c->keymat) {
		memcpy(c->keymat->data, keymat->data, keymat->len);
		c->keymat_we_initiated = we_initiated;
	}
	return 0;
fail:
	child_kernel_uninstall(sa, c);
	return rc;
}

int child_kernel_install_out(struct ikesa *sa, struct child_sa *c)
{
	struct esp_xfrm x;
	if (!c->pending_out || !esp_alg_xfrm(&c->suite, &x))
		return 0;
	int rc = install_out(sa, c, &x, c->pending_out->data, c->pending_out->data + x.enc_key_len);
	secret_free(c->pending_out);
	c->pending_out = NULL;
	return rc;
}

void child_kernel_uninstall_out(struct ikesa *sa, struct child_sa *c)
{
	secret_free(c->pending_out);
	c->pending_out = NULL;
	if (!c->installed_out)
		return;
	kern(sa)->ops->del_sa(kern(sa)->k, &c->out_at, c->spi_out, IPPROTO_ESP, c->mark, mark_mask(c));
	c->installed_out = false;
}

/* The kernel's own counters of c's states (zeros for what is missing). */
static void query_raw(struct ikesa *sa, struct child_sa *c, struct kernel_sa_stats *in,
		      struct kernel_sa_stats *out)
{
	*in = *out = (struct kernel_sa_stats){0};
	if (c->installed_in) {
		if (kern(sa)->ops->query_sa(kern(sa)->k, &c->in_at, c->spi_in, IPPROTO_ESP, c->mark, mark_mask(c), in) != 0)
			*in = (struct kernel_sa_stats){0};
	}
	if (c->installed_out) {
		if (kern(sa)->ops->query_sa(kern(sa)->k, &c->out_at, c->spi_out, IPPROTO_ESP, c->mark, mark_mask(c), out) != 0)
			*out = (struct kernel_sa_stats){0};
	}
}

void child_kernel_query(struct ikesa *sa, struct child_sa *c, struct kernel_sa_stats *in,
			struct kernel_sa_stats *out)
{
	query_raw(sa, c, in, out);
	in->bytes += c->carried_bytes_in;
	in->packets += c->carried_packets_in;
	out->bytes += c->carried_bytes_out;
	out->packets += c->carried_packets_out;
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/*
 * Around a move of sa's Child SAs: XFRM_MSG_MIGRATE clones a state with
 * its counters at zero (xfrm_state_clone keeps only the add time), and a
 * delete and add starts from zero too. carry_begin adds what the counters
 * hold before to carried_*, carry_end takes off what they hold after, so
 * the totals go on whatever the kernel keeps.
 */
static void carry_begin(struct ikesa *sa)
{
	for (struct child_sa *c = sa->children; c; c = c->next) {
		struct kernel_sa_stats in, out;
		query_raw(sa, c, &in, &out);
		c->carried_bytes_in += in.bytes;
		c->carried_packets_in += in.packets;
		c->carried_bytes_out += out.bytes;
		c->carried_packets_out += out.packets;
	}
}

static void carry_end(struct ikesa *sa)
{
	for (struct child_sa *c = sa->children; c; c = c->next) {
		struct kernel_sa_stats in, out;
		query_raw(sa, c, &in, &out);
		c->carried_bytes_in = minus(c->carried_bytes_in, in.bytes);
		c->carried_packets_in = minus(c->carried_packets_in, in.packets);
		c->carried_bytes_out = minus(c->carried_bytes_out, out.bytes);
		c->carried_packets_out = minus(c->carried_packets_out, out.packets);
	}
}

void child_kernel_uninstall(struct ikesa *sa, struct child_sa *c)
{
	struct kaddr dst;
	struct polctx pc = polctx_of(sa);
	release_policies(&pc, c);
	secret_free(c->pending_out);
	c->pending_out = NULL;
	secret_free(c->keymat);
	c->keymat = NULL;
	metrics_child_gone(sa, c); /* what it carried, before its states go */
	if (c->installed_out) {
		kern(sa)->ops->del_sa(kern(sa)->k, &c->out_at, c->spi_out, IPPROTO_ESP, c->mark, mark_mask(c));
		c->installed_out = false;
	}
	if (c->installed_in || c->spi_in_allocated) {
		/* Each state where it is: installed ones move with MIGRATE, a larval one stays. */
		dst = c->installed_in ? c->in_at : c->spi_in_dst;
		int rc = kern(sa)->ops->del_sa(kern(sa)->k, &dst, c->spi_in, IPPROTO_ESP, c->mark, mark_mask(c));
		if (rc != 0 && rc != -ENOENT && rc != -ESRCH && c->installed_in)
			log_kernel_error(sa, c, "deleting the inbound SA", rc);
		c->installed_in = c->spi_in_allocated = false;
	}
	child_route_del(sa->e, c);
	route_iface_detach(sa->e, c);
}

/*
 * A state added again keeps the deadlines it had: its add-time lifetimes
 * count from the new state's creation, so they get what was left.
 */
static void keep_deadlines(struct ikesa *sa, const struct child_sa *c, struct kernel_sa *k)
{
	uint64_t now = engine_now(sa->e);
	if (c->soft_ms && k->soft_add_s)
		k->soft_add_s = c->soft_ms > now + 1000 ? (c->soft_ms - now) / 1000 : 1;
	if (c->hard_ms && k->hard_add_s)
		k->hard_add_s = c->hard_ms > now + 2000 ? (c->hard_ms - now) / 1000 : 2;
}

/* Delete the state k->spi from old_dst and add k (the current addresses) again. */
static int readd_state(struct ikesa *sa, const struct child_sa *c, const struct kaddr *old_dst,
		       struct kernel_sa *k)
{
	keep_deadlines(sa, c, k);
	kern(sa)->ops->del_sa(kern(sa)->k, old_dst, k->spi, IPPROTO_ESP, c->mark, mark_mask(c));
	return kern(sa)->ops->add_sa(kern(sa)->k, k);
}

/* child_kernel_refresh; readd: delete and add even when only ports (or encapsulation) changed. */
static int refresh_one(struct ikesa *sa, struct child_sa *c, const struct sockaddr_storage *old_local,
		       const struct sockaddr_storage *old_remote, bool readd)
{
	struct esp_xfrm x;
	if (!c->keymat || !esp_alg_xfrm(&c->suite, &x) ||
	    c->keymat->len != child_keymat_len(&c->suite))
		return -ENOKEY;
	const uint8_t *ir_enc = c->keymat->data, *ir_int = ir_enc + x.enc_key_len;
	const uint8_t *ri_enc = ir_int + x.integ_key_len, *ri_int = ri_enc + x.enc_key_len;
	bool wi = c->keymat_we_initiated;
	/*
	 * Only the ports moved: XFRM_MSG_UPDSA takes the new encapsulation in
	 * place (xfrm_state_update). An address is part of the state's key or
	 * of the policies' templates: delete and add again, policies too.
	 */
	bool moved = !endpoint_same_addr(old_local, &sa->local) || !endpoint_same_addr(old_remote, &sa->remote);
	bool again = moved || readd;
	struct polctx old_pc = {sa->e, old_local, old_remote, ikesa_tag(sa)};
	struct kaddr dst;
	struct kernel_sa k;
	int rc = 0, r;
	if (moved)
		release_policies(&old_pc, c);
	if (c->installed_in) {
		fill_sa(sa, c, true, &x, wi ? ri_enc : ir_enc, x.integ_name ? (wi ? ri_int : ir_int) : NULL,
			&k);
		/* Deleted where it is (in_at), added where the IKE SA now is. */
		r = again ? readd_state(sa, c, &c->in_at, &k) : kern(sa)->ops->update_sa(kern(sa)->k, &k);
		dst = k.dst;
		crypto_wipe(&k, sizeof(k));
		if (r != 0) {
			log_kernel_error(sa, c, "updating the inbound SA", r);
			c->installed_in = false;
			rc = r;
		} else {
			c->in_at = dst;
		}
	}
	if (c->installed_out) {
		fill_sa(sa, c, false, &x, wi ? ir_enc : ri_enc, x.integ_name ? (wi ? ir_int : ri_int) : NULL,
			&k);
		r = again ? readd_state(sa, c, &c->out_at, &k) : kern(sa)->ops->update_sa(kern(sa)->k, &k);
		dst = k.dst;
		crypto_wipe(&k, sizeof(k));
		if (r != 0) {
			log_kernel_error(sa, c, "updating the outbound SA", r);
			c->installed_out = false;
			rc = r;
		} else {
			c->out_at = dst;
		}
	}
	if (moved) {
		struct polctx pc = polctx_of(sa);
		if ((r = hold_policies(&pc, c)) != 0)
			rc = r;
		child_route_move(sa->e, sa->conn, &sa->local, &sa->remote, ikesa_tag(sa), c);
	}
	return rc;
}

int child_kernel_refresh(struct ikesa *sa, struct child_sa *c,
			 const struct sockaddr_storage *old_local,
			 const struct sockaddr_storage *old_remote)
{
	return refresh_one(sa, c, old_local, old_remote, false);
}

/* Whether c's policies were already moved for an earlier Child SA of sa with the same reqid. */
static bool reqid_seen(const struct ikesa *sa, const struct child_sa *c)
{
	for (const struct child_sa *d = sa->children; d && d != c; d = d->next)
		if (d->reqid == c->reqid && d->holds_policies)
			return true;
	return false;
}

/* XFRM_MSG_MIGRATE of every policy of c's reqid (and with them, the first state of each). */
static int migrate_policies(struct ikesa *sa, struct child_sa *c, const struct kaddr *ol,
			    const struct kaddr *or, bool encap)
{
	struct kernel *k = kern(sa);
	struct polctx pc = polctx_of(sa);
	struct ksel sels[POLICY_SEL_MAX];
	struct kaddr nl, nr;
	uint16_t lp = endpoint_port(&sa->local), rp = endpoint_port(&sa->remote);
	int n = child_selectors(c, sels, POLICY_SEL_MAX), rc = 0;
	kaddr_from_sockaddr(&sa->local, &nl);
	kaddr_from_sockaddr(&sa->remote, &nr);
	for (int i = 0; i < n; i++)
		for (int d = 0; d < dirs(c); d++) {
			struct kernel_policy p;
			make_policy(&pc, c, &sels[i], d, &p);
			bool out = d == 0;
			struct kernel_migrate m = {
				.sel = p.sel,
				.dir = p.dir,
				.if_id = p.if_id,
				.old_src = out ? *ol : *or,
				.old_dst = out ? *or : *ol,
				.new_src = out ? nl : nr,
				.new_dst = out ? nr : nl,
				.proto = IPPROTO_ESP,
				.mode = p.tmpl_mode,
				.reqid = c->reqid,
				.encap = encap,
				.encap_sport = out ? lp : rp,
				.encap_dport = out ? rp : lp,
				.km_local = nl,
				.km_remote = nr,
			};
			int r = k->ops->migrate(k->k, &m);
			if (r != 0) {
				log_kernel_error(sa, c, "migrating a policy (XFRM_MSG_MIGRATE)", r);
				rc = r;
			}
		}
	return n < 0 ? n : rc;
}

/*
 * A state the policy migrations did not move (a reqid's second state
 * while a rekey completes, or a failed migrate) is added again under the
 * new addresses from the kept keys: it loses its replay state, but it is
 * one that is about to go anyway.
 */
static int readd_unmoved(struct ikesa *sa, struct child_sa *c, bool inbound, const struct kaddr *old_dst)
{
	struct kernel *k = kern(sa);
	struct kernel_sa_stats st;
	struct kaddr dst;
	struct esp_xfrm x;
	struct kaddr src;
	kaddr_from_sockaddr(inbound ? &sa->local : &sa->remote, &dst);
	kaddr_from_sockaddr(inbound ? &sa->remote : &sa->local, &src);
	uint32_t spi = inbound ? c->spi_in : c->spi_out;
	if (k->ops->query_sa(k->k, &dst, spi, IPPROTO_ESP, c->mark, mark_mask(c), &st) == 0 && kaddr_eq(&st.src, &src)) {
		*(inbound ? &c->in_at : &c->out_at) = dst; /* MIGRATE moved it */
		return 0;
	}
	if (!c->keymat || !esp_alg_xfrm(&c->suite, &x) || c->keymat->len != child_keymat_len(&c->suite))
		return -ENOKEY;
	const uint8_t *ir_enc = c->keymat->data, *ir_int = ir_enc + x.enc_key_len;
	const uint8_t *ri_enc = ir_int + x.integ_key_len, *ri_int = ri_enc + x.enc_key_len;
	bool wi = c->keymat_we_initiated;
	bool first = wi != inbound; /* the initiator-to-responder keys */
	struct kernel_sa ks;
	fill_sa(sa, c, inbound, &x, first ? ir_enc : ri_enc,
		x.integ_name ? (first ? ir_int : ri_int) : NULL, &ks);
	int r = readd_state(sa, c, old_dst, &ks);
	crypto_wipe(&ks, sizeof(ks));
	if (r != 0) {
		log_kernel_error(sa, c, inbound ? "moving the inbound SA" : "moving the outbound SA", r);
		return r;
	}
	*(inbound ? &c->in_at : &c->out_at) = dst;
	log_msg(LOG_KNL, LOG_LVL_INFO, "%s: Child SA %s: %s SA %08x added again at the new "
		"address (not moved by XFRM_MSG_MIGRATE)", ikesa_tag(sa), c->cfg->name,
		inbound ? "inbound" : "outbound", ntohl(spi));
	return 0;
}

/*
 * The IKE SA that sa replaces by reauthentication shares sa's reqids (its
 * Child SAs keep the policies): XFRM_MSG_MIGRATE picks
 * the first state of a reqid at the old addresses, which may be one of its
 * Child SAs'. While it still sits on the old path it moves with sa, its
 * states where MIGRATE left them or added again, so that its Delete finds
 * them (fuzz_engine: regress-roam-during-reauth).
 */
static void follow_sibling(struct ikesa *sa, const struct sockaddr_storage *old_local,
			   const struct sockaddr_storage *old_remote)
{
	uint64_t key = sa->reauth_of ? sa->reauth_of : sa->predecessor;
	struct ikesa *p = key ? engine_find(sa->e, key) : NULL;
	if (!p || p == sa || !endpoint_same_addr(&p->local, old_local) || !endpoint_same_addr(&p->remote, old_remote))
		return;
	uint32_t nat = EXT_NATT | EXT_NAT_LOCAL | EXT_NAT_REMOTE;
	p->local = sa->local;
	p->remote = sa->remote;
	p->ext = (p->ext & ~nat) | (sa->ext & nat);
	for (struct child_sa *c = p->children; c; c = c->next) {
		if (c->installed_in && readd_unmoved(p, c, true, &c->in_at) != 0)
			c->installed_in = false;
		if (c->installed_out && readd_unmoved(p, c, false, &c->out_at) != 0)
			c->installed_out = false;
	}
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: follows its replacement %016" PRIx64 " to the new path "
		"(its Delete is under way)", ikesa_tag(p), ikesa_local_spi(sa));
}

/*
 * Finds a state of spi that was at *at after a MIGRATE from old to now: if
 * it is no longer at *at but at now, *at follows.
 */
static void locate_state(struct kernel *k, const struct child_sa *h, uint32_t spi, struct kaddr *at,
			 const struct kaddr *old, const struct kaddr *now)
{
	struct kernel_sa_stats st;
	if (!kaddr_eq(at, old) || kaddr_eq(old, now) ||
	    k->ops->query_sa(k->k, at, spi, IPPROTO_ESP, h->mark, mark_mask(h), &st) == 0)
		return;
	if (k->ops->query_sa(k->k, now, spi, IPPROTO_ESP, h->mark, mark_mask(h), &st) == 0)
		*at = *now;
}

/*
 * XFRM_MSG_MIGRATE moves the first state of a reqid at the old addresses,
 * not a chosen SPI: it may carry the state of another holder of the reqid
 * (a reauthenticated or rekeyed IKE SA's Child SA that stays on the old
 * path). Their states are found again by SPI, so that they are deleted
 * where they are.
 */
static void locate_holders(struct ikesa *sa, const struct child_sa *c, const struct kaddr *ol,
			   const struct kaddr *or, const struct kaddr *nl, const struct kaddr *nr)
{
	struct kernel *k = kern(sa);
	for (struct child_sa *h = policy_holders(sa->e, c->reqid); h; h = h->reqid_next) {
		if (h->ike == sa)
			continue;
		if (h->installed_in)
			locate_state(k, h, h->spi_in, &h->in_at, ol, nl);
		if (h->installed_out)
			locate_state(k, h, h->spi_out, &h->out_at, or, nr);
	}
}

static int migrate_children(struct ikesa *sa, const struct sockaddr_storage *old_local,
			    const struct sockaddr_storage *old_remote, bool old_encap);

int child_kernel_migrate(struct ikesa *sa, const struct sockaddr_storage *old_local,
			 const struct sockaddr_storage *old_remote, bool old_encap)
{
	carry_begin(sa);
	int rc = migrate_children(sa, old_local, old_remote, old_encap);
	carry_end(sa);
	return rc;
}

static int migrate_children(struct ikesa *sa, const struct sockaddr_storage *old_local,
			    const struct sockaddr_storage *old_remote, bool old_encap)
{
	struct kernel *k = kern(sa);
	bool moved = !endpoint_same_addr(old_local, &sa->local) || !endpoint_same_addr(old_remote, &sa->remote);
	bool encap = natt_encap(sa);
	int rc = 0, r;
	/*
	 * MIGRATE cannot take UDP encapsulation away, and it moves tunnel
	 * templates only (transport-mode selectors hold the addresses):
	 * otherwise, and when only ports moved (XFRM_MSG_UPDSA in place), the
	 * states are installed again (child_kernel_refresh). Encapsulation
	 * turned on at the same addresses is a MIGRATE too (new encap).
	 */
	bool all_tunnel = true;
	for (struct child_sa *c = sa->children; c; c = c->next)
		if (c->mode != CONFIG_MODE_TUNNEL)
			all_tunnel = false;
	bool encap_off = old_encap && !encap;
	if ((!moved && old_encap == encap) || encap_off || !all_tunnel || !k->ops->migrate) {
		/* XFRM_MSG_UPDSA changes no encapsulation in place: off means add again. */
		for (struct child_sa *c = sa->children; c; c = c->next)
			if (c->installed_in || c->installed_out)
				if ((r = refresh_one(sa, c, old_local, old_remote, encap_off)) != 0)
					rc = r;
		return rc;
	}
	struct kaddr ol, or, nl, nr;
	kaddr_from_sockaddr(old_local, &ol);
	kaddr_from_sockaddr(old_remote, &or);
	kaddr_from_sockaddr(&sa->local, &nl);
	kaddr_from_sockaddr(&sa->remote, &nr);
	for (struct child_sa *c = sa->children; c; c = c->next) {
		if (!c->holds_policies || reqid_seen(sa, c))
			continue;
		if ((r = migrate_policies(sa, c, &ol, &or, encap)) != 0)
			rc = r;
		locate_holders(sa, c, &ol, &or, &nl, &nr);
	}
	for (struct child_sa *c = sa->children; c; c = c->next) {
		if (c->installed_in && (r = readd_unmoved(sa, c, true, &c->in_at)) != 0) {
			c->installed_in = false;
			rc = r;
		}
		if (c->installed_out && (r = readd_unmoved(sa, c, false, &c->out_at)) != 0) {
			c->installed_out = false;
			rc = r;
		}
	}
	/* The routes to the remote selectors follow the new path to the peer. */
	for (struct child_sa *c = sa->children; moved && c; c = c->next)
		child_route_move(sa->e, sa->conn, &sa->local, &sa->remote, ikesa_tag(sa), c);
	if (rc == 0)
		log_msg(LOG_KNL, LOG_LVL_DEBUG, "%s: Child SAs migrated", ikesa_tag(sa));
	follow_sibling(sa, old_local, old_remote);
	return rc;
}

/* ---- a Child SA goes ---- */

void child_kernel_remove(struct ikesa *sa, struct child_sa *c)
{
	/*
	 * An installed Child SA goes: not one a rekey replaced (the initiator
	 * marks it rekeyed, the responder knows it by its successor, which
	 * lives beside it), nor a collision's loser.
	 */
	bool replaced = c->rekey == CHILD_REKEY_REPLACED || c->rekey == CHILD_REKEY_REDUNDANT;
	for (struct child_sa *s = sa->children; !replaced && c->spi_in && s; s = s->next)
		replaced = s != c && s->replaces == c->spi_in && s->state == CHILD_INSTALLED;
	if (c->installed_ms && (c->state == CHILD_INSTALLED || c->state == CHILD_DELETING) &&
	    !replaced) {
		const char *why = c->down_why;
		if (!why && (sa->state == IKESA_DELETING || sa->state == IKESA_DESTROYING))
			sa_event_child(sa, c, NULL, EV_CHILD_DOWN, "IKE SA down: %s",
				       sa->end_reason ? sa->end_reason : "deleted");
		else
			sa_event_child(sa, c, NULL, EV_CHILD_DOWN, "%s", why ? why : "deleted");
	}
	timer_cancel(sa->e->env.loop, &c->retry_timer);
	timer_cancel(sa->e->env.loop, &c->idle_timer);
	ikesa_unlink_child(sa, c);
	/*
	 * A rekey's responder installs the successor's outbound state when the
	 * old SA goes (make-before-break, see child_kernel.h), and before the
	 * old outbound state is removed: in between, the policy would have no
	 * outbound state, and the kernel would drop the packets and raise an
	 * ACQUIRE (RFC 7296 2.8: the new SA takes over, then the old one is
	 * deleted).
	 */
	if (sa->state != IKESA_DESTROYING && c->spi_in)
		for (struct child_sa *s = sa->children; s; s = s->next)
			if (s->replaces == c->spi_in && s->pending_out && s->rekey != CHILD_REKEY_REDUNDANT &&
			    child_kernel_install_out(sa, s) == 0)
				log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s: sending on %08x now",
					ikesa_tag(sa), s->cfg->name, ntohl(s->spi_out));
	/*
	 * The same across IKE SAs for a reauthentication's responder
	 * (task_reauth.h); a rekey's successor of c waits in its place.
	 */
	for (struct child_sa *s = sa->children; c->heir && s; s = s->next)
		if (s->replaces == c->spi_in && s->rekey != CHILD_REKEY_REDUNDANT &&
		    s->state == CHILD_INSTALLED &&
		    !s->heir) {
			s->heir = c->heir;
			c->heir = 0;
		}
	struct ikesa *hs;
	struct child_sa *h = c->heir ? ikesa_find_child_any(sa->e, c->heir, &hs) : NULL;
	if (h && h->pending_out && !sa->e->shutting_down && child_kernel_install_out(hs, h) == 0) {
		timer_cancel(sa->e->env.loop, &h->out_timer);
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s: sending on %08x now", ikesa_tag(hs),
			h->cfg->name, ntohl(h->spi_out));
	}
	timer_cancel(sa->e->env.loop, &c->out_timer);
	child_kernel_uninstall(sa, c);
	free(c);
}
