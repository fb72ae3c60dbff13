/* Applying a reload to the running engine (see reload.h). */
#include "daemon/reload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/json.h"
#include "daemon/log.h"
#include "daemon/spi_table.h"
#include "daemon/trap.h"

int reload_report_init(struct reload_report *r, const struct config_diff *d)
{
	memset(r, 0, sizeof(*r));
	r->v = calloc(d->n ? d->n : 1, sizeof(*r->v));
	if (!r->v)
		return -ENOMEM;
	r->n = d->n;
	for (size_t i = 0; i < d->n; i++) {
		const struct config_diff_conn *c = &d->v[i];
		const struct conn_cfg *conn = c->new_conn ? c->new_conn : c->old_conn;
		snprintf(r->v[i].name, sizeof(r->v[i].name), "%s", conn->name);
		r->v[i].kind = c->kind;
		r->v[i].what = c->what;
	}
	r->added = d->added;
	r->removed = d->removed;
	r->changed = d->changed;
	r->unchanged = d->unchanged;
	r->daemon_restart = d->daemon_restart;
	return 0;
}

void reload_report_free(struct reload_report *r)
{
	if (!r)
		return;
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Finding a conn's entry by name: new conns by their index, removed ones through old_to. */
struct finder {
	struct engine *e;
	const struct xiked_config *old;
	const struct config_diff *d;
	struct reload_report *r;
	size_t *old_to;   /* old conn index -> entry, SIZE_MAX when not removed */
	unsigned *any_sa; /* per entry: IKE SAs of that name in any state */
};

static struct reload_conn *entry_of(struct finder *f, const char *name, size_t *idx)
{
	const struct xiked_config *now = f->e->cfg->cfg;
	const struct conn_cfg *c = config_find_conn(now, name);
	size_t i = SIZE_MAX;
	if (c) {
		i = (size_t)(c - now->conns);
	} else if ((c = config_find_conn(f->old, name))) {
		i = f->old_to[c - f->old->conns];
	}
	if (i >= f->r->n)
		return NULL; /* a conn of an older configuration whose SA is going */
	if (idx)
		*idx = i;
	return &f->r->v[i];
}

static void count_sa(uint64_t key, void *val, void *ctx)
{
	(void)key;
	struct finder *f = ctx;
	const struct ikesa *sa = val;
	size_t i;
	struct reload_conn *rc = entry_of(f, sa->conn->name, &i);
	if (!rc)
		return;
	f->any_sa[i]++;
	/* Up or on its way up: what a removal deletes and a change leaves running. */
	if (sa->state <= IKESA_ESTABLISHED &&
	    (rc->kind == CONFIG_DIFF_REMOVED || rc->kind == CONFIG_DIFF_CHANGED))
		rc->ike_sas++;
}

static void trap_removed(void *ctx, const char *name)
{
	struct reload_conn *rc = entry_of(ctx, name, NULL);
	if (rc)
		rc->traps_removed++;
}

void reload_apply(struct engine *e, const struct xiked_config *old, const struct config_diff *d,
		  struct reload_report *r)
{
	struct finder f = {e, old, d, r, NULL, NULL};
	f.old_to = malloc((old->n_conns ? old->n_conns : 1) * sizeof(*f.old_to));
	f.any_sa = calloc(d->n ? d->n : 1, sizeof(*f.any_sa));
	if (f.old_to && f.any_sa) {
		for (size_t i = 0; i < old->n_conns; i++)
			f.old_to[i] = SIZE_MAX;
		for (size_t i = d->n_new; i < d->n; i++)
			f.old_to[d->v[i].old_conn - old->conns] = i;
		spi_table_each(e->by_spi, count_sa, &f);
	} else {
		log_msg(LOG_CFG, LOG_LVL_ERROR, "reload: out of memory: SAs and traps not counted");
		free(f.old_to);
		free(f.any_sa);
		f.old_to = NULL;
		f.any_sa = NULL;
	}
	/* Traps first: a removed or changed conn's ACQUIREs stop before its SAs go. */
	trap_reload(e, f.old_to ? trap_removed : NULL, &f);
	for (size_t i = 0; i < d->n; i++) {
		const struct config_diff_conn *dc = &d->v[i];
		struct reload_conn *rc = &r->v[i];
		char err[sizeof(rc->error)];
		if (dc->kind == CONFIG_DIFF_REMOVED) {
			/* RFC 7296 1.4.1: a Delete for each IKE SA, as `xikectl down` sends. */
			if (!f.any_sa || f.any_sa[i])
				engine_down(e, rc->name, err, sizeof(err));
			continue;
		}
		if (dc->kind == CONFIG_DIFF_UNCHANGED)
			continue;
		const struct conn_cfg *c = dc->new_conn;
		if (c->start == CONFIG_START_TRAP)
			rc->traps_installed = (unsigned)trap_install_start(e, c->name);
		bool had_sa = f.any_sa ? f.any_sa[i] != 0 : engine_conn_sa(e, c->name) != NULL;
		if (c->start == CONFIG_START_INITIATE && !had_sa) {
			if (engine_up(e, c->name, err, sizeof(err)) == 0) {
				rc->initiated = true;
			} else {
				snprintf(rc->error, sizeof(rc->error), "%s", err);
				log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: cannot initiate: %s", c->name, err);
			}
		}
	}
	free(f.old_to);
	free(f.any_sa);
}

/* Every error of a failed reload is logged; err (the caller's message) holds the first. */
static void log_config_error(void *ctx, const char *msg)
{
	(void)ctx;
	log_msg(LOG_CFG, LOG_LVL_ERROR, "%s", msg);
}

int reload_file(struct engine *e, const char *path, struct reload_report *r, char *err,
		size_t errlen)
{
	struct xiked_config *cfg = NULL;
	memset(r, 0, sizeof(*r));
	unsigned n = config_load_report(path, &cfg, log_config_error, NULL, err, errlen);
	if (n > 1) {
		size_t len = strlen(err);
		snprintf(err + len, errlen - len, " (and %u more errors)", n - 1);
	}
	if (n)
		return -1;
	if (engine_reload(e, cfg, r) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* ---- the report ---- */

static const char *plural(unsigned n)
{
	return n == 1 ? "" : "s";
}

/* A line being written: never past len, always terminated. */
struct line_buf {
	char *buf;
	size_t len, off;
	unsigned acts;
};

__attribute__((format(printf, 2, 3))) static void put(struct line_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->buf + b->off, b->len - b->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->off = (size_t)n < b->len - b->off ? b->off + (size_t)n : b->len - 1;
}

/* One of what was done: after ": ", then comma-separated. */
static const char *act(struct line_buf *b)
{
	return b->acts++ ? ", " : ": ";
}

/*
 * The text line of entry c into buf: "KIND NAME", for a changed conn what
 * changed in parentheses, then what was done.
 */
static void conn_line(const struct reload_conn *c, char *buf, size_t len)
{
	static const char *const kinds[] = {"added", "removed", "changed", "unchanged"};
	struct line_buf b = {buf, len, 0, 0};
	char what[256];
	put(&b, "%s %s", kinds[c->kind], c->name);
	if (c->kind == CONFIG_DIFF_CHANGED) {
		config_diff_what_text(c->what, what, sizeof(what));
		put(&b, " (%s)", what);
	}
	if (c->traps_removed && c->traps_installed)
		put(&b, "%strap policies re-installed", act(&b));
	else if (c->traps_installed)
		put(&b, "%strap policies installed", act(&b));
	else if (c->traps_removed)
		put(&b, "%strap policies removed", act(&b));
	if (c->kind == CONFIG_DIFF_REMOVED && c->ike_sas)
		put(&b, "%s%u IKE SA%s deleted", act(&b), c->ike_sas, plural(c->ike_sas));
	if (c->kind == CONFIG_DIFF_CHANGED && c->ike_sas)
		put(&b, "%s%u IKE SA%s kept with the previous settings until re-established",
		    act(&b), c->ike_sas, plural(c->ike_sas));
	if (c->initiated)
		put(&b, "%sinitiating", act(&b));
	if (c->error[0])
		put(&b, "%snot initiated: %s", act(&b), c->error);
}

void reload_report_lines(const struct reload_report *r, void (*line)(void *ctx, const char *text),
			 void *ctx)
{
	char buf[512];
	bool any = false;
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].kind == CONFIG_DIFF_UNCHANGED)
			continue;
		conn_line(&r->v[i], buf, sizeof(buf));
		line(ctx, buf);
		any = true;
	}
	if (r->daemon_restart) {
		size_t off = 0;
		for (uint32_t b = 1; b && off < sizeof(buf); b <<= 1) {
			const char *n = (r->daemon_restart & b) ? config_diff_daemon_name(b) : NULL;
			if (n)
				off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
							off ? ", " : "[daemon] ", n);
		}
		if (off < sizeof(buf))
			snprintf(buf + off, sizeof(buf) - off, ": changed, applies at the next start");
		line(ctx, buf);
		any = true;
	}
	if (!any) {
		snprintf(buf, sizeof(buf), "no changes (%zu connection%s)", r->unchanged,
			 r->unchanged == 1 ? "" : "s");
		line(ctx, buf);
	}
}

static void what_array(struct json_writer *w, const char *key, uint32_t bits,
		       const char *(*name)(uint32_t))
{
	json_key(w, key);
	json_arr_begin(w);
	for (uint32_t b = 1; b; b <<= 1)
		if ((bits & b) && name(b))
			json_str(w, name(b));
	json_arr_end(w);
}

/* Lines joined by newlines into a growing buffer (oom: what fitted is dropped). */
struct joined {
	char *s;
	size_t len;
	bool oom;
};

static void join_line(void *ctx, const char *text)
{
	struct joined *j = ctx;
	size_t n = strlen(text);
	char *p = j->oom ? NULL : realloc(j->s, j->len + n + 2);
	if (!p) {
		j->oom = true;
		return;
	}
	j->s = p;
	if (j->len)
		j->s[j->len++] = '\n';
	memcpy(j->s + j->len, text, n + 1);
	j->len += n;
}

void reload_report_json(const struct reload_report *r, struct json_writer *w)
{
	static const char *const keys[] = {"added", "removed", "changed"};
	for (int k = CONFIG_DIFF_ADDED; k <= CONFIG_DIFF_CHANGED; k++) {
		json_key(w, keys[k]);
		json_arr_begin(w);
		for (size_t i = 0; i < r->n; i++) {
			const struct reload_conn *c = &r->v[i];
			if ((int)c->kind != k)
				continue;
			json_obj_begin(w);
			json_kv_str(w, "name", c->name);
			if (k == CONFIG_DIFF_CHANGED)
				what_array(w, "what", c->what, config_diff_what_name);
			if (k == CONFIG_DIFF_REMOVED)
				json_kv_uint(w, "ike_sas_deleted", c->ike_sas);
			if (k == CONFIG_DIFF_CHANGED)
				json_kv_uint(w, "ike_sas_kept", c->ike_sas);
			json_kv_uint(w, "traps_installed", c->traps_installed);
			json_kv_uint(w, "traps_removed", c->traps_removed);
			if (k != CONFIG_DIFF_REMOVED)
				json_kv_bool(w, "initiated", c->initiated);
			if (c->error[0])
				json_kv_str(w, "error", c->error);
			json_obj_end(w);
		}
		json_arr_end(w);
	}
	json_kv_uint(w, "unchanged", r->unchanged);
	what_array(w, "restart_needed", r->daemon_restart, config_diff_daemon_name);
	/* The text form too, so that every client shows the same lines as the log. */
	struct joined j = {0};
	reload_report_lines(r, join_line, &j);
	json_kv_str(w, "message", j.s && !j.oom ? j.s : "");
	free(j.s);
}
