/*
 * daemon/endpoint.h: small helpers for the IKE endpoints the daemon keeps
 * as struct sockaddr_storage (AF_INET or AF_INET6; anything else is never
 * equal to anything and prints as "?").
 */
#ifndef XIKED_DAEMON_ENDPOINT_H
#define XIKED_DAEMON_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The port in host order (0 for an unknown family). */
uint16_t endpoint_port(const struct sockaddr_storage *ss);
/* Sets the port (host order); an unknown family is left alone. */
void endpoint_set_port(struct sockaddr_storage *ss, uint16_t port);
/* Same family and address, ports aside. */
bool endpoint_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Same family, address and port. */
bool endpoint_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* "192.0.2.1[500]", "2001:db8::1[4500]" into buf; returns buf. */
const char *endpoint_str(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif
