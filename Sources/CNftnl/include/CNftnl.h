#ifndef C_NFTNL_SHIM_H
#define C_NFTNL_SHIM_H

/* A thin shim over libnftnl and libmnl for sitewall's netlink backend. It encodes nf_tables
 * objects into one batch, sends it, and reports which messages the kernel refused; it also
 * dumps a table as raw messages and replays such a dump, for rollback. All policy logic stays
 * in Swift: the shim never decides what a rule means. */

#include <stddef.h>
#include <stdint.h>

/* libnftnl's own API and the kernel's constants, for Swift to build and read objects with
 * (as swift-nio's CNIOLinux exports the system headers it needs). */
#include <netinet/in.h> /* first: the kernel's headers then leave the libc's definitions alone */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

typedef struct CNftnl_socket CNftnl_socket;
typedef struct CNftnl_batch CNftnl_batch;

/* One refused message: the sequence number it was sent with and the kernel's errno. */
typedef struct {
    uint32_t seq;
    int error;
} CNftnl_error;

/* Opens a non-blocking NETLINK_NETFILTER socket in the caller's network namespace; NULL and errno on failure. */
CNftnl_socket *CNftnl_open(void);
void CNftnl_close(CNftnl_socket *sock);

/* The ruleset generation id; 0 on success, -errno on failure. */
int CNftnl_genid(CNftnl_socket *sock, uint32_t *genid);

/* A batch in 2 MiB pages (as nft), sequence numbers counting from `first_seq`. */
CNftnl_batch *CNftnl_batch_new(uint32_t first_seq);
void CNftnl_batch_free(CNftnl_batch *b);
/* Starts the batch; with `use_genid`, the kernel refuses it (ERESTART) if the ruleset changed since `genid`. */
uint32_t CNftnl_batch_begin(CNftnl_batch *b, int use_genid, uint32_t genid);
/* Ends the batch; without an end the kernel validates and aborts it (a dry run). */
uint32_t CNftnl_batch_end(CNftnl_batch *b);
uint32_t CNftnl_batch_messages(const CNftnl_batch *b);
/* Binds a begun batch to another ruleset generation (a batch encoded once, sent again); 0 or -errno. */
int CNftnl_batch_set_genid(CNftnl_batch *b, uint32_t genid);
/* The sequence number the next message will get. */
uint32_t CNftnl_batch_next_seq(const CNftnl_batch *b);
size_t CNftnl_batch_bytes(CNftnl_batch *b);

/* Starts a message of `type` under a new sequence number (stored in *seq), for Swift to fill with a
 * libnftnl nlmsg_build_payload function; CNftnl_batch_next then closes it. */
struct nlmsghdr *CNftnl_batch_message(CNftnl_batch *b, uint16_t type, uint16_t family, uint16_t flags, uint32_t *seq);
void CNftnl_batch_next(CNftnl_batch *b);
/* NEWSETELEM messages for every element of `s`, split where one would overflow, all under `seq`
 * (0: a new sequence number); returns the sequence number used. */
uint32_t CNftnl_batch_set_elements(CNftnl_batch *b, struct nftnl_set *s, uint16_t family, uint32_t seq);

/* Adds a rule built with libnftnl (the caller keeps and frees it); its sequence number, 0 on failure. */
uint32_t CNftnl_rule_add(CNftnl_batch *b, struct nftnl_rule *r);

/* Sends the batch and drains the replies. Returns 0 when the kernel refused nothing,
 * -errno when sending failed, or the number of refused messages (up to `max` stored). */
int CNftnl_send(CNftnl_socket *sock, CNftnl_batch *b, CNftnl_error *errors, size_t max);

/* Dumps one table (table, objects, flowtables, chains, sets with elements, rules, in that order)
 * as raw netlink messages into a malloc'd buffer (free with CNftnl_free); 0, or -errno. Only that
 * table's messages are kept (the kernel does not filter every dump). An absent table gives an
 * empty buffer. */
int CNftnl_snapshot(CNftnl_socket *sock, uint16_t family, const char *table, uint8_t **out, size_t *out_len);
void CNftnl_free(void *p);
/* Dumps every table, chain and rule of every family (to find what else sees the same traffic). */
int CNftnl_dump_all(CNftnl_socket *sock, uint8_t **out, size_t *out_len);

#endif
