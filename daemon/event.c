/* The event bus and each conn's last error; see event.h. */
#include "daemon/event.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/fnv.h"
#include "daemon/json.h"

struct listener {
	event_fn fn;
	void *ctx;
	bool gone; /* unsubscribed while the list was being walked */
};

/* A conn's last error, chained in its hash bucket; the name follows the struct. */
struct conn_error {
	struct conn_error *next;
	uint64_t hash;
	struct event_error err;
	char name[];
};

struct event_bus {
	struct listener *l;
	size_t n, cap;
	unsigned walking; /* emit depth: removals only mark while > 0 */
	struct conn_error **buckets;
	size_t n_buckets, n_errors; /* n_buckets a power of two */
};

static const char *const type_names[EV_TYPE_COUNT] = {
	[EV_IKE_UP] = "ike-up",
	[EV_IKE_DOWN] = "ike-down",
	[EV_IKE_REKEYED] = "ike-rekey",
	[EV_IKE_FAILED] = "ike-failed",
	[EV_AUTH_FAILED] = "auth-failed",
	[EV_CHILD_UP] = "child-up",
	[EV_CHILD_DOWN] = "child-down",
	[EV_CHILD_REKEYED] = "child-rekey",
	[EV_CHILD_FAILED] = "child-failed",
	[EV_MOBIKE_MOVE] = "ike-move",
	[EV_DPD_DEAD] = "dpd-dead",
	[EV_COLLISION] = "collision",
};

const char *event_type_name(enum event_type t)
{
	return (unsigned)t < EV_TYPE_COUNT ? type_names[t] : "?";
}

struct event_bus *event_bus_new(void)
{
	struct event_bus *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->n_buckets = 16;
	b->buckets = calloc(b->n_buckets, sizeof(*b->buckets));
	if (!b->buckets) {
		free(b);
		return NULL;
	}
	return b;
}

void event_bus_free(struct event_bus *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_buckets; i++) {
		struct conn_error *c = b->buckets[i];
		while (c) {
			struct conn_error *next = c->next;
			free(c);
			c = next;
		}
	}
	free(b->buckets);
	free(b->l);
	free(b);
}

int event_subscribe(struct event_bus *b, event_fn fn, void *ctx)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 4;
		struct listener *nl = realloc(b->l, nc * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		b->l = nl;
		b->cap = nc;
	}
	b->l[b->n++] = (struct listener){.fn = fn, .ctx = ctx};
	return 0;
}

static void compact(struct event_bus *b)
{
	size_t j = 0;
	for (size_t i = 0; i < b->n; i++)
		if (!b->l[i].gone)
			b->l[j++] = b->l[i];
	b->n = j;
}

void event_unsubscribe(struct event_bus *b, event_fn fn, void *ctx)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (b->l[i].fn == fn && b->l[i].ctx == ctx)
			b->l[i].gone = true;
	if (!b->walking)
		compact(b);
}

bool event_is_error(const struct event *ev)
{
	return ev->type == EV_IKE_FAILED || ev->type == EV_AUTH_FAILED ||
	       ev->type == EV_CHILD_FAILED || ev->type == EV_DPD_DEAD;
}

/* FNV-1a of a conn name. */
static uint64_t name_hash(const char *s)
{
	return fnv64(FNV64_OFFSET, s, strlen(s));
}

static struct conn_error **find_error(const struct event_bus *b, const char *conn, uint64_t h)
{
	struct conn_error **pp = &b->buckets[h & (b->n_buckets - 1)];
	while (*pp && ((*pp)->hash != h || strcmp((*pp)->name, conn) != 0))
		pp = &(*pp)->next;
	return pp;
}

/* Doubles the buckets at load 1 (conns with an error; at most the configured ones, mostly). */
static void grow(struct event_bus *b)
{
	size_t nn = b->n_buckets * 2;
	struct conn_error **nb = calloc(nn, sizeof(*nb));
	if (!nb)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < b->n_buckets; i++) {
		struct conn_error *c = b->buckets[i];
		while (c) {
			struct conn_error *next = c->next;
			c->next = nb[c->hash & (nn - 1)];
			nb[c->hash & (nn - 1)] = c;
			c = next;
		}
	}
	free(b->buckets);
	b->buckets = nb;
	b->n_buckets = nn;
}

static void note_error(struct event_bus *b, const struct event *ev, uint64_t wall_ms)
{
	uint64_t h = name_hash(ev->conn);
	struct conn_error **pp = find_error(b, ev->conn, h);
	struct conn_error *c = *pp;
	if (!c) {
		size_t len = strlen(ev->conn);
		c = calloc(1, sizeof(*c) + len + 1);
		if (!c)
			return;
		memcpy(c->name, ev->conn, len + 1);
		c->hash = h;
		*pp = c;
		if (++b->n_errors > b->n_buckets)
			grow(b);
	}
	c->err.type = ev->type;
	c->err.wall_ms = wall_ms;
	snprintf(c->err.reason, sizeof(c->err.reason), "%s", ev->reason ? ev->reason : "");
}

const struct event_error *event_last_error(const struct event_bus *b, const char *conn)
{
	if (!b)
		return NULL;
	struct conn_error *c = *find_error(b, conn, name_hash(conn));
	return c ? &c->err : NULL;
}

void event_clear_error(struct event_bus *b, const char *conn)
{
	if (!b)
		return;
	struct conn_error **pp = find_error(b, conn, name_hash(conn));
	struct conn_error *c = *pp;
	if (c) {
		*pp = c->next;
		free(c);
		b->n_errors--;
	}
}

uint64_t event_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void event_emit(struct event_bus *b, const struct event *ev)
{
	if (!b || !ev->conn)
		return;
	if (event_is_error(ev))
		note_error(b, ev, event_wall_ms());
	b->walking++;
	/* Listeners subscribed during the walk (a new monitor) see the next event. */
	size_t n = b->n;
	for (size_t i = 0; i < n; i++)
		if (!b->l[i].gone)
			b->l[i].fn(b->l[i].ctx, ev);
	if (--b->walking == 0)
		compact(b);
}

const char *event_time_text(uint64_t wall_ms, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;
	if (!gmtime_r(&s, &tm)) {
		snprintf(buf, len, "?");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(wall_ms % 1000));
	return buf;
}

static void kv_addr(struct json_writer *w, const char *key, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN];
	if (!ss)
		return;
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
	else
		return;
	json_kv_str(w, key, a);
}

static void kv_hex(struct json_writer *w, const char *key, uint64_t v, int digits)
{
	char b[24];
	snprintf(b, sizeof(b), "%0*" PRIx64, digits, v);
	json_kv_str(w, key, b);
}

void event_json(const struct event *ev, uint64_t wall_ms, struct json_writer *w)
{
	char t[40];
	json_obj_begin(w);
	json_kv_str(w, "event", event_type_name(ev->type));
	json_kv_str(w, "time", event_time_text(wall_ms, t, sizeof(t)));
	json_kv_str(w, "conn", ev->conn);
	if (ev->child)
		json_kv_str(w, "child", ev->child);
	if (ev->ike_id)
		json_kv_uint(w, "ike_id", ev->ike_id);
	json_kv_bool(w, "initiator", ev->initiator);
	if (ev->spi_i)
		kv_hex(w, "spi_i", ev->spi_i, 16);
	if (ev->spi_r)
		kv_hex(w, "spi_r", ev->spi_r, 16);
	kv_addr(w, "local", ev->local);
	kv_addr(w, "remote", ev->remote);
	if (ev->remote_id && ev->remote_id[0])
		json_kv_str(w, "remote_id", ev->remote_id);
	if (ev->new_ike_id)
		json_kv_uint(w, "new_ike_id", ev->new_ike_id);
	if (ev->new_spi_i)
		kv_hex(w, "new_spi_i", ev->new_spi_i, 16);
	if (ev->new_spi_r)
		kv_hex(w, "new_spi_r", ev->new_spi_r, 16);
	if (ev->reqid)
		json_kv_uint(w, "reqid", ev->reqid);
	if (ev->spi_in)
		kv_hex(w, "spi_in", ev->spi_in, 8);
	if (ev->spi_out)
		kv_hex(w, "spi_out", ev->spi_out, 8);
	if (ev->old_spi_in)
		kv_hex(w, "old_spi_in", ev->old_spi_in, 8);
	if (ev->old_spi_out)
		kv_hex(w, "old_spi_out", ev->old_spi_out, 8);
	if (ev->reason && ev->reason[0])
		json_kv_str(w, "reason", ev->reason);
	json_obj_end(w);
}
