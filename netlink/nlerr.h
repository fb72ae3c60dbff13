/* netlink/nlerr.h: libnl's error codes (NLE_*) mapped to -errno at the boundary, one table
 * for the XFRM backend (xfrm.c) and the rtnetlink one (link.c): everything above netlink/
 * sees 0 / -errno only (doc/design.md, errors). */
#ifndef XIKED_NETLINK_NLERR_H
#define XIKED_NETLINK_NLERR_H

/* nle: a libnl result (negative NLE_* on failure). Returns 0 for nle >= 0, else the nearest
 * -errno; NLE_AGAIN is -ETIMEDOUT (a request socket's SO_RCVTIMEO ran out waiting for the
 * kernel's answer), an unknown code -EIO. */
int nlerr_errno(int nle);

#endif
