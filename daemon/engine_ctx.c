/* The engine's shared context (see engine_ctx.h). */
#include "daemon/engine_ctx.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/endpoint.h"
#include "daemon/ikev2.h"

/* ---- configuration references ---- */

struct cfg_ref *cfg_ref_get(struct cfg_ref *r)
{
	if (r)
		r->refs++;
	return r;
}

void cfg_ref_put(struct cfg_ref *r)
{
	if (r && --r->refs == 0) {
		config_free(r->cfg);
		free(r);
	}
}

struct cfg_ref *cfg_ref_new(struct xiked_config *cfg)
{
	struct cfg_ref *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cfg = cfg;
	r->refs = 1;
	return r;
}

/* ---- clock, SPIs, reqids ---- */

uint64_t engine_now(const struct engine *e)
{
	return loop_now(e->env.loop);
}

uint64_t engine_random_spi(struct engine *e)
{
	uint64_t v = 0;
	while (v == 0)
		rng_fill(e->env.rng, &v, sizeof(v));
	return v;
}

uint32_t engine_alloc_reqid(struct engine *e)
{
	uint32_t r = e->next_reqid++;
	if (e->next_reqid > XIKED_REQID_MAX)
		e->next_reqid = XIKED_REQID_BASE + 1;
	return r;
}

/* ---- routes ---- */

int engine_route_source(const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	int fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	socklen_t sl = dst->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6);
	struct sockaddr_storage d = *dst;
	endpoint_set_port(&d, IKE_PORT);
	int rc = 0;
	if (connect(fd, (const struct sockaddr *)&d, sl) != 0 ||
	    getsockname(fd, (struct sockaddr *)src, &sl) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int engine_source_for(struct engine *e, const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	if (e->env.route_source)
		return e->env.route_source(e->env.net_ctx, dst, src);
	return engine_route_source(dst, src);
}
