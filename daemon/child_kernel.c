/* Child SA states and policies in the kernel (see child_kernel.h). */
#include "daemon/child_kernel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
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

static void to_kaddr(const struct sockaddr_storage *ss, struct kaddr *k)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(k->a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(k->a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

static struct kernel *kern(struct ikesa *sa)
{
	return &sa->e->env.kernel;
}

static void log_kernel_error(struct ikesa *sa, struct child_sa *c, const char *what, int rc)
{
	const char *extack = kern(sa)->ops->last_extack ? kern(sa)->ops->last_extack(kern(sa)->k)
							: NULL;
	log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: Child SA %s: %s failed: %s%s%s%s", ikesa_tag(sa),
		c->cfg ? c->cfg->name : "?", what, kernel_strerror(rc, IPPROTO_ESP),
		extack ? " (kernel: " : "", extack ? extack : "", extack ? ")" : "");
}

int child_kernel_alloc_spi(struct ikesa *sa, struct child_sa *c)
{
	struct kaddr src, dst;
	to_kaddr(&sa->remote, &src);
	to_kaddr(&sa->local, &dst);
	int rc = kern(sa)->ops->get_spi(kern(sa)->k, &src, &dst, IPPROTO_ESP, c->reqid, &c->spi_in);
	if (rc != 0) {
		log_kernel_error(sa, c, "allocating an SPI", rc);
		return rc;
	}
	c->spi_in_allocated = true;
	return 0;
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
static void make_policy(struct ikesa *sa, struct child_sa *c, const struct ksel *s, int dir,
			struct kernel_policy *p)
{
	struct kaddr l, r;
	to_kaddr(&sa->local, &l);
	to_kaddr(&sa->remote, &r);
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
}

static int dirs(const struct child_sa *c)
{
	/* fwd policies only matter for forwarded (tunnelled) traffic. */
	return c->mode == CONFIG_MODE_TUNNEL ? 3 : 2;
}

static void del_policies(struct ikesa *sa, struct child_sa *c)
{
	struct ksel sels[POLICY_SEL_MAX];
	int n = child_selectors(c, sels, POLICY_SEL_MAX);
	size_t left = c->n_policies_installed;
	for (int i = 0; i < n && left; i++)
		for (int d = 0; d < dirs(c) && left; d++, left--) {
			struct kernel_policy p;
			make_policy(sa, c, &sels[i], d, &p);
			int rc = kern(sa)->ops->del_policy(kern(sa)->k, &p.sel, p.dir, 0, 0, 0);
			if (rc != 0 && rc != -ENOENT)
				log_kernel_error(sa, c, "deleting a policy", rc);
		}
	c->n_policies_installed = 0;
}

static void fill_sa(struct ikesa *sa, struct child_sa *c, bool inbound, const struct esp_xfrm *x,
		    const uint8_t *enc, const uint8_t *integ, struct kernel_sa *k)
{
	*k = (struct kernel_sa){0};
	if (inbound) {
		to_kaddr(&sa->remote, &k->src);
		to_kaddr(&sa->local, &k->dst);
		k->spi = c->spi_in;
		k->replay_window = REPLAY_WINDOW;
	} else {
		to_kaddr(&sa->local, &k->src);
		to_kaddr(&sa->remote, &k->dst);
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
}

int child_kernel_install(struct ikesa *sa, struct child_sa *c, const struct secret *keymat)
{
	struct esp_xfrm x;
	if (!esp_alg_xfrm(&c->suite, &x) || keymat->len != child_keymat_len(&c->suite))
		return -EINVAL;
	/* RFC 7296 2.17: initiator-to-responder keys first, encryption before integrity. */
	const uint8_t *ir_enc = keymat->data, *ir_int = ir_enc + x.enc_key_len;
	const uint8_t *ri_enc = ir_int + x.integ_key_len, *ri_int = ri_enc + x.enc_key_len;
	const uint8_t *in_enc = sa->initiator ? ri_enc : ir_enc;
	const uint8_t *in_int = sa->initiator ? ri_int : ir_int;
	const uint8_t *out_enc = sa->initiator ? ir_enc : ri_enc;
	const uint8_t *out_int = sa->initiator ? ir_int : ri_int;
	struct kernel_sa k;
	int rc;

	fill_sa(sa, c, true, &x, in_enc, x.integ_name ? in_int : NULL, &k);
	rc = c->spi_in_allocated ? kern(sa)->ops->update_sa(kern(sa)->k, &k)
				 : kern(sa)->ops->add_sa(kern(sa)->k, &k);
	if (rc != 0) {
		log_kernel_error(sa, c, "installing the inbound SA", rc);
		goto fail;
	}
	c->installed_in = true;
	fill_sa(sa, c, false, &x, out_enc, x.integ_name ? out_int : NULL, &k);
	rc = kern(sa)->ops->add_sa(kern(sa)->k, &k);
	if (rc != 0) {
		log_kernel_error(sa, c, "installing the outbound SA", rc);
		goto fail;
	}
	c->installed_out = true;

	struct ksel sels[POLICY_SEL_MAX];
	int n = child_selectors(c, sels, POLICY_SEL_MAX);
	if (n <= 0) {
		rc = n < 0 ? n : -EINVAL;
		log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: Child SA %s: traffic selectors need more than %d "
			"kernel policies", ikesa_tag(sa), c->cfg->name, POLICY_SEL_MAX);
		goto fail;
	}
	for (int i = 0; i < n; i++)
		for (int d = 0; d < dirs(c); d++) {
			struct kernel_policy p;
			make_policy(sa, c, &sels[i], d, &p);
			rc = kern(sa)->ops->add_policy(kern(sa)->k, &p);
			if (rc != 0) {
				log_kernel_error(sa, c, "installing a policy", rc);
				goto fail;
			}
			c->n_policies_installed++;
		}
	crypto_wipe(&k, sizeof(k));
	return 0;
fail:
	crypto_wipe(&k, sizeof(k));
	child_kernel_uninstall(sa, c);
	return rc;
}

void child_kernel_uninstall(struct ikesa *sa, struct child_sa *c)
{
	struct kaddr dst;
	del_policies(sa, c);
	if (c->installed_out) {
		to_kaddr(&sa->remote, &dst);
		kern(sa)->ops->del_sa(kern(sa)->k, &dst, c->spi_out, IPPROTO_ESP, 0, 0);
		c->installed_out = false;
	}
	if (c->installed_in || c->spi_in_allocated) {
		to_kaddr(&sa->local, &dst);
		int rc = kern(sa)->ops->del_sa(kern(sa)->k, &dst, c->spi_in, IPPROTO_ESP, 0, 0);
		if (rc != 0 && rc != -ENOENT && c->installed_in)
			log_kernel_error(sa, c, "deleting the inbound SA", rc);
		c->installed_in = c->spi_in_allocated = false;
	}
}
