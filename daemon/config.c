/*
 * Configuration parser; see config.h and doc/xiked.conf.5. This file holds
 * the whole file's work: reading it, the sections' structure, staging and
 * the lookups; the other config_*.c files each interpret one part
 * (daemon/config_int.h lists them).
 *
 * Two passes: the lexer turns the text into sections of (key, value, line)
 * entries, then each section is interpreted. Connections may be referred to
 * by [child] sections anywhere in the file, so children are attached after
 * every connection is known. Everything is staged in a new xiked_config and
 * only handed out when the whole file is valid.
 */
#include "daemon/config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/secret.h"

void cfg_err(struct parse *ps, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	char full[768];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(full, sizeof(full), "%s:%u: %s", ps->name, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", ps->name, msg);
	/* The first error is the one err reports; all of them go to on_error. */
	if (ps->n_err++ == 0 && ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s", full);
	if (ps->on_error)
		ps->on_error(ps->on_error_ctx, full);
}

static int cmp_sec_idx(const void *a, const void *b, void *ctx)
{
	const struct section *secs = ctx;
	const struct section *x = &secs[*(const size_t *)a];
	const struct section *y = &secs[*(const size_t *)b];
	int r = strcmp(x->kind == SEC_CHILD ? x->conn : x->name,
		       y->kind == SEC_CHILD ? y->conn : y->name);

	if (r)
		return r;
	/* Within one name: the conn first, then its children in file order. */
	if (x->kind != y->kind)
		return x->kind == SEC_CONN ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_conn_idx(const void *a, const void *b, void *ctx)
{
	const struct conn_cfg *conns = ctx;

	return strcmp(conns[*(const size_t *)a].name, conns[*(const size_t *)b].name);
}

/*
 * Errors about the sections' structure (order: the conn and child sections
 * sorted by cmp_sec_idx), reported at the later line; a [conn] defined
 * again is marked dup.
 */
static void check_structure(struct parse *ps, const size_t *order, size_t n_order)
{
	for (size_t i = 0; i < n_order; i++) {
		const struct section *s = &ps->secs[order[i]];

		if (s->kind == SEC_CONN && i + 1 < n_order) {
			const struct section *nx = &ps->secs[order[i + 1]];

			if (nx->kind == SEC_CONN && strcmp(nx->name, s->name) == 0) {
				/* The first one (s: sorted by line within a name) stays. */
				cfg_err(ps, nx->line, "[conn %s] already defined at line %u", s->name,
					s->line);
				ps->secs[order[i + 1]].dup = true;
			}
		}
		if (s->kind == SEC_CHILD) {
			size_t j = i;

			while (j > 0 && ps->secs[order[j - 1]].kind == SEC_CHILD)
				j--;
			const struct section *head = j > 0 ? &ps->secs[order[j - 1]] : NULL;

			if (!head || strcmp(head->name, s->conn) != 0) {
				cfg_err(ps, s->line, "[child %s.%s]: no [conn %s] in this file", s->conn,
					s->name, s->conn);
			}
		}
	}
}

/*
 * Interprets the conns in file order, so the first error in the file is
 * reported first, each with its children (its neighbours in order).
 * -1: out of memory (reported).
 */
static int interpret_conns(struct parse *ps, const size_t *order, size_t n_order,
			   struct xiked_config *cfg)
{
	size_t *kid_start = calloc(ps->n_secs ? ps->n_secs : 1, sizeof(*kid_start));
	size_t *kid_count = calloc(ps->n_secs ? ps->n_secs : 1, sizeof(*kid_count));

	if (!kid_start || !kid_count) {
		free(kid_start);
		free(kid_count);
		cfg_err(ps, 0, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n_order;) {
		size_t conn = order[i], j = i + 1;

		while (j < n_order && ps->secs[order[j]].kind == SEC_CHILD)
			j++;
		kid_start[conn] = i + 1;
		kid_count[conn] = j - i - 1;
		i = j;
	}
	for (size_t i = 0; i < ps->n_secs; i++) {
		if (ps->secs[i].kind != SEC_CONN || ps->secs[i].dup)
			continue;
		if (cfg_interpret_conn(ps, &ps->secs[i], order + kid_start[i], kid_count[i],
				       &cfg->conns[cfg->n_conns]) == 0)
			cfg->n_conns++;
	}
	free(kid_start);
	free(kid_count);
	return 0;
}

static int build(struct parse *ps, struct xiked_config *cfg)
{
	size_t *order = NULL, n_order = 0, n_conns = 0;
	const struct section *daemon_sec = NULL;
	int rc = -1;

	cfg_daemon_defaults(&cfg->d);

	for (size_t i = 0; i < ps->n_secs; i++) {
		if (ps->secs[i].kind != SEC_DAEMON)
			continue;
		if (daemon_sec) {
			cfg_err(ps, ps->secs[i].line, "[daemon] already defined at line %u",
				daemon_sec->line);
			continue;
		}
		daemon_sec = &ps->secs[i];
	}
	/* Errors do not stop the checks: every error in the file is reported (cfg_err). */
	if (daemon_sec)
		cfg_interpret_daemon(ps, daemon_sec, &cfg->d);

	/*
	 * Group conns with their children by sorting section indexes by
	 * connection name: duplicates become neighbours and each conn's
	 * children follow it, in O(n log n) for large files.
	 */
	order = malloc((ps->n_secs ? ps->n_secs : 1) * sizeof(*order));
	if (!order) {
		cfg_err(ps, 0, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < ps->n_secs; i++) {
		if (ps->secs[i].kind != SEC_DAEMON)
			order[n_order++] = i;
		n_conns += ps->secs[i].kind == SEC_CONN;
	}
	qsort_r(order, n_order, sizeof(*order), cmp_sec_idx, ps->secs);

	check_structure(ps, order, n_order);

	cfg->conns = calloc(n_conns ? n_conns : 1, sizeof(*cfg->conns));
	cfg->by_name = calloc(n_conns ? n_conns : 1, sizeof(*cfg->by_name));
	if (!cfg->conns || !cfg->by_name) {
		cfg_err(ps, 0, "out of memory");
		goto out;
	}
	if (interpret_conns(ps, order, n_order, cfg) < 0)
		goto out;
	for (size_t i = 0; i < cfg->n_conns; i++) {
		cfg->by_name[i] = i;
		cfg->any_ppk |= cfg->conns[i].ppk != NULL;
	}
	qsort_r(cfg->by_name, cfg->n_conns, sizeof(*cfg->by_name), cmp_conn_idx, cfg->conns);
	rc = ps->n_err ? -1 : 0;
out:
	free(order);
	return rc;
}

/* config_parse(), also telling whether the text itself holds a psk = line. */
static int parse_text(struct parse *ps, const char *text, size_t len, struct xiked_config **out,
		      bool *inline_psk)
{
	struct xiked_config *cfg;
	int rc = -1;

	*out = NULL;
	if (ps->err && ps->errlen)
		ps->err[0] = '\0';
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		cfg_err(ps, 0, "out of memory");
		return -1;
	}
	/* build() runs after lexer errors too: they drop lines, not the checks of the rest. */
	int lrc = cfg_lex(ps, text, len);
	if (build(ps, cfg) < 0 || lrc < 0 || ps->n_err) {
		config_free(cfg);
		goto out;
	}
	*inline_psk = ps->has_psk;
	*out = cfg;
	rc = 0;
out:
	cfg_free_sections(ps);
	return rc;
}

int config_parse(const char *text, size_t len, const char *name, struct xiked_config **out,
		 char *err, size_t errlen)
{
	struct parse ps = { .name = name, .err = err, .errlen = errlen };
	bool inline_psk;

	return parse_text(&ps, text, len, out, &inline_psk);
}

unsigned config_load_report(const char *path, struct xiked_config **out, config_error_fn on_error,
			    void *ctx, char *err, size_t errlen)
{
	struct parse ps = { .name = path, .err = err, .errlen = errlen, .on_error = on_error,
			    .on_error_ctx = ctx };
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd;
	bool inline_psk = false;
	ssize_t n;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cfg_err(&ps, 0, "%s", strerror(errno));
		return ps.n_err;
	}
	if (fstat(fd, &st) < 0) {
		cfg_err(&ps, 0, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_err(&ps, 0, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > CONFIG_FILE_MAX) {
		cfg_err(&ps, 0, "larger than %u octets", CONFIG_FILE_MAX);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		cfg_err(&ps, 0, "out of memory");
		goto out;
	}
	while (len < (size_t)st.st_size &&
	       (n = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			cfg_err(&ps, 0, "%s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	/* psk_file keys are checked where they are read; this is about psk = lines. */
	if (parse_text(&ps, text, len, out, &inline_psk) == 0 && inline_psk &&
	    (st.st_mode & S_IROTH))
		log_msg(LOG_CFG, LOG_LVL_WARN,
			"%s: holds pre-shared keys but is readable by everyone (chmod 600)", path);
out:
	if (text) {
		crypto_wipe(text, len);
		free(text);
	}
	close(fd);
	return ps.n_err;
}

int config_load(const char *path, struct xiked_config **out, char *err, size_t errlen)
{
	return config_load_report(path, out, NULL, NULL, err, errlen) ? -1 : 0;
}

void config_free(struct xiked_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_conns; i++)
		cfg_conn_clear(&cfg->conns[i]);
	free(cfg->conns);
	free(cfg->by_name);
	free(cfg);
}

const struct conn_cfg *config_find_conn(const struct xiked_config *cfg, const char *name)
{
	size_t lo = 0, hi = cfg->n_conns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct conn_cfg *c = &cfg->conns[cfg->by_name[mid]];
		int r = strcmp(name, c->name);

		if (r == 0)
			return c;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct child_cfg *config_find_child(const struct conn_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_children; i++) {
		if (strcmp(c->children[i].name, name) == 0)
			return &c->children[i];
	}
	return NULL;
}
