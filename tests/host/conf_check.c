/*
 * conf_check FILE...: runs each file through the daemon's configuration
 * loader (config_load, as `xiked -c FILE` does at start-up) and prints
 * "FILE: ok" or its file:line error. Exit 0 when every file loads, 1
 * otherwise. tests/host/docs_check.sh feeds it the example configurations
 * of the README, xiked.conf(5) and doc/xiked.conf.example.
 */
#include <stdio.h>

#include "crypto/rng.h"
#include "daemon/config.h"

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: conf_check FILE...\n");
		return 2;
	}
	if (crypto_init() != 0) {
		fprintf(stderr, "conf_check: crypto libraries failed to initialise\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		struct xiked_config *cfg = NULL;
		char err[512];

		if (config_load(argv[i], &cfg, err, sizeof(err)) != 0) {
			printf("%s\n", err);
			rc = 1;
			continue;
		}
		printf("%s: ok\n", argv[i]);
		config_free(cfg);
	}
	return rc;
}
