/* Dropping capabilities and the root user after start-up; see privs.h. */
#include "daemon/privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"

int privs_drop(const char *user, char *err, size_t errlen)
{
	bool setpcap;
	int r;

	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE) {
		if (user && *user) {
			snprintf(err, errlen, "user = %s: xiked has no capabilities to switch users",
				 user);
			return -1;
		}
		log_msg(LOG_DMN, LOG_LVL_DEBUG, "no capabilities held: nothing to drop");
		return 0;
	}
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_ALL);
	capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
		      CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, -1);
	if (user && *user) {
		struct passwd *pw;

		errno = 0;
		pw = getpwnam(user);
		if (!pw) {
			snprintf(err, errlen, "user = %s: %s", user,
				 errno ? strerror(errno) : "no such user");
			return -1;
		}
		/*
		 * The bounding set first, while CAP_SETPCAP is there (it limits
		 * only what an exec could gain); then setgid/setuid, which need
		 * CAP_SETGID/CAP_SETUID, still in the permitted set here.
		 */
		if (setpcap && capng_apply(CAPNG_SELECT_BOUNDS) != 0) {
			snprintf(err, errlen, "dropping the bounding set failed: %s", strerror(errno));
			return -1;
		}
		r = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid, CAPNG_INIT_SUPP_GRP);
		if (r != 0) {
			snprintf(err, errlen, "user = %s: cannot switch to uid %u gid %u (capng_change_id "
				 "%d: %s)%s", user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, r,
				 strerror(errno),
				 capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) ? ""
				 : "; without CAP_SETUID (under systemd use User= instead)");
			return -1;
		}
		/* capng_change_id leaves the ambient set alone: nothing to pass on to a child. */
		capng_apply(CAPNG_SELECT_AMBIENT);
		log_msg(LOG_DMN, LOG_LVL_INFO, "running as %s (uid %u, gid %u) with CAP_NET_ADMIN and "
			"CAP_NET_BIND_SERVICE", user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
		return 0;
	}
	r = capng_apply(setpcap ? CAPNG_SELECT_ALL : (CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT));
	if (r != 0) {
		snprintf(err, errlen, "dropping capabilities failed (capng_apply %d: %s)", r,
			 strerror(errno));
		return -1;
	}
	log_msg(LOG_DMN, LOG_LVL_INFO, "keeping only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE");
	return 0;
}
