/*
 * The task manager: the only owner of message IDs, the window (size 1),
 * retransmission and the response cache (RFC 7296 2.1-2.4). It builds,
 * protects (SK) and sends our requests, matches responses to them, and runs
 * the responder tasks for the peer's requests.
 */
#ifndef XIKED_TASK_MANAGER_H
#define XIKED_TASK_MANAGER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/message.h"

struct engine;
struct ikesa;
struct task;

/*
 * Appends t and the tasks linked after it (ownership taken) to sa's queue
 * and initiates if idle, which may destroy sa when the exchange cannot be
 * started. t NULL (a constructor out of memory) queues nothing, logs and
 * gives -ENOMEM.
 */
int tm_queue(struct ikesa *sa, struct task *t);
/* Starts the next queued exchange if none is in flight. */
void tm_initiate(struct ikesa *sa);
/*
 * A message for sa (header already parsed into h; raw borrowed). local and
 * remote are the addresses it travelled between: responses go back that
 * way (RFC 7296 2.11). May destroy sa.
 */
void tm_receive(struct ikesa *sa, const struct ike_hdr *h, const uint8_t *raw, size_t len,
		const struct sockaddr_storage *local, const struct sockaddr_storage *remote);
/* Frees queued and active tasks and the cached messages; cancels the timer. */
void tm_clear(struct ikesa *sa);
/*
 * Drops the queued tasks, keeping the exchange in flight (its response
 * still completes it: an IKE rekey the peer has made must be adopted).
 */
void tm_drop_queued(struct ikesa *sa);
/* Whether a request of ours is in flight or queued. */
int tm_busy(const struct ikesa *sa);
/*
 * Sends, once and without retransmission, a protected INFORMATIONAL request
 * holding one notify under the next message ID: for an SA about to be
 * destroyed, e.g. AUTHENTICATION_FAILED to a responder whose AUTH failed
 * at us (RFC 7296 2.21.2). Not while a request of ours is in flight.
 */
void tm_send_notify_once(struct ikesa *sa, uint16_t notify);

/*
 * Sends an unprotected notify-only response (IKE_SA_INIT errors, INVALID_MAJOR_VERSION)
 * to a request we keep no state for. h is the request's header.
 */
void tm_send_stateless_notify(struct engine *e, const struct ike_hdr *h, uint8_t exchange,
			      uint16_t notify, const void *data, size_t data_len,
			      const struct sockaddr_storage *local,
			      const struct sockaddr_storage *remote);

#endif
