/* Message summaries for debug logs; see message_str.h. */
#include "daemon/message_str.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon/names.h"

struct out {
	char *buf;
	size_t len, off;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->off) {
		o->full = true;
		/* Truncated: say so instead of cutting a name in half. */
		if (o->len >= 4)
			memcpy(o->buf + o->len - 4, "...", 4);
		return;
	}
	o->off += (size_t)n;
}

const char *message_str(const struct ike_msg *m, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	struct names_buf nb;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	put(&o, "%s %s %u [", names_exchange(m->hdr.exchange, &nb),
	    ike_hdr_is_response(&m->hdr) ? "response" : "request", m->hdr.msg_id);
	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];

		if (p->type == PL_SK || p->type == PL_SKF) {
			if (m->decrypted)
				continue; /* its contents follow */
			if (p->type == PL_SKF && p->known)
				put(&o, " EF(%u/%u)", p->u.skf.frag_num, p->u.skf.total);
			else
				put(&o, " %s", names_payload(p->type, &nb));
		} else if (p->type == PL_NOTIFY && p->known) {
			put(&o, " N(%s)", names_notify(p->u.notify.type, &nb));
		} else if (p->type == PL_CP && p->known) {
			put(&o, " CP(%s)", names_cfg_type(p->u.cp.type, &nb));
		} else {
			put(&o, " %s", names_payload(p->type, &nb));
		}
	}
	put(&o, " ]");
	return buf;
}
