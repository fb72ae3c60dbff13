/*
 * Least privilege after start-up (issue 13.3): once the IKE ports are bound
 * and every socket is open, xiked keeps only CAP_NET_ADMIN (XFRM and
 * rtnetlink: SAs, policies, interfaces, routes; the disable_policy sysctls
 * of xfrm/VTI interfaces, which the kernel grants with CAP_NET_ADMIN alone)
 * and CAP_NET_BIND_SERVICE (ports 500/4500), in its effective, permitted
 * and bounding sets (the bounding set only with CAP_SETPCAP, which a
 * service manager may already have taken), and none ambient or inheritable.
 * With [daemon] user = NAME it also becomes that user and group (with its
 * supplementary groups), keeping those two capabilities.
 */
#ifndef XIKED_PRIVS_H
#define XIKED_PRIVS_H

#include <stddef.h>

/*
 * Drops as above; user may be NULL or "" (stay root). A process without
 * any capability (not started as root) is left as it is. 0, or -1 with
 * a message in err.
 */
int privs_drop(const char *user, char *err, size_t errlen);

#endif
