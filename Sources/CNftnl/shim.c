#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CNftnl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <stdio.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* nft's page size: large batches go out in 2 MiB pages; one message may overrun a page by 64 KiB. */
#define BATCH_PAGE_SIZE (2 * 1024 * 1024)
#define MSG_MAX (65536 + 4096)

struct CNftnl_socket {
    struct mnl_socket *nl;
    uint32_t portid;
    uint32_t seq;
};

struct CNftnl_batch {
    struct nftnl_batch *batch;
    uint32_t seq;
    uint32_t messages;
};

CNftnl_socket *CNftnl_open(void) {
    CNftnl_socket *sock = calloc(1, sizeof(*sock));
    if (!sock) return NULL;
    sock->nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!sock->nl) { int e = errno; free(sock); errno = e; return NULL; }
    if (mnl_socket_bind(sock->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno; mnl_socket_close(sock->nl); free(sock); errno = e; return NULL;
    }
    /* CAP_ACK: an error carries the refused message's header only, not the whole message echoed
     * back (a refused 64 KiB element message would otherwise take 64 KiB of the receive buffer). */
    int one = 1, fd = mnl_socket_get_fd(sock->nl), flags = fcntl(fd, F_GETFL);
    if (mnl_socket_setsockopt(sock->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 ||
        mnl_socket_setsockopt(sock->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
        flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int e = errno; mnl_socket_close(sock->nl); free(sock); errno = e; return NULL;
    }
    sock->portid = mnl_socket_get_portid(sock->nl);
    sock->seq = 1;
    return sock;
}

void CNftnl_close(CNftnl_socket *sock) {
    if (!sock) return;
    mnl_socket_close(sock->nl);
    free(sock);
}

/* Waits up to a second for the socket to have data. */
static int wait_readable(CNftnl_socket *sock) {
    struct pollfd p = { .fd = mnl_socket_get_fd(sock->nl), .events = POLLIN };
    int r;
    while ((r = poll(&p, 1, 1000)) < 0 && errno == EINTR) {}
    if (r < 0) return -errno;
    return r == 0 ? -ETIMEDOUT : 0;
}

/* True when a buffer holds the last message (DONE or an error) of the reply to `seq`. */
static int ends_reply(const char *buf, ssize_t n, uint32_t seq) {
    const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
    int left = (int)n;
    for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left))
        if (m->nlmsg_seq == seq && (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR)) return 1;
    return 0;
}

/* Runs one request to completion (ACK or DONE), handing data messages to `cb`. */
static int talk(CNftnl_socket *sock, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
    uint32_t seq = nlh->nlmsg_seq;
    if (mnl_socket_sendto(sock->nl, nlh, nlh->nlmsg_len) < 0) return -errno;
    char *buf = malloc(MSG_MAX);
    if (!buf) return -ENOMEM;
    int ret, interrupted = 0;
    for (;;) {
        int w = wait_readable(sock);
        if (w < 0) { ret = w; break; }
        ssize_t n = mnl_socket_recvfrom(sock->nl, buf, MSG_MAX);
        if (n < 0) { if (errno == EAGAIN || errno == EINTR) continue; ret = -errno; break; }
        if (!interrupted) {
            ret = mnl_cb_run(buf, n, seq, sock->portid, cb, data);
            if (ret > 0) continue;
            if (ret == 0 || errno != EINTR) { ret = ret < 0 ? -errno : 0; break; }
            interrupted = 1;
        }
        /* The dump was marked interrupted (the ruleset changed under it): read it to its end, so that
         * the socket is clean for the next request, and report EINTR. */
        if (ends_reply(buf, n, seq)) { ret = -EINTR; break; }
    }
    free(buf);
    return ret;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data) {
    struct nftnl_gen *gen = nftnl_gen_alloc();
    if (!gen) return MNL_CB_ERROR;
    if (nftnl_gen_nlmsg_parse(nlh, gen) == 0) *(uint32_t *)data = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
    nftnl_gen_free(gen);
    return MNL_CB_OK;
}

int CNftnl_genid(CNftnl_socket *sock, uint32_t *genid) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    /* With a blocking-style wait, GETGEN must ask for an ACK or the loop never ends. */
    struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, sock->seq++);
    return talk(sock, nlh, gen_cb, genid);
}

CNftnl_batch *CNftnl_batch_new(uint32_t first_seq) {
    CNftnl_batch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->batch = nftnl_batch_alloc(BATCH_PAGE_SIZE, MSG_MAX);
    if (!b->batch) { free(b); return NULL; }
    b->seq = first_seq ? first_seq : 1;
    return b;
}

void CNftnl_batch_free(CNftnl_batch *b) {
    if (!b) return;
    nftnl_batch_free(b->batch);
    free(b);
}

static struct nlmsghdr *hdr(CNftnl_batch *b, uint16_t type, uint16_t family, uint16_t flags, uint32_t seq) {
    return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->batch), type, family, flags, seq);
}

static uint32_t done(CNftnl_batch *b, uint32_t seq) {
    nftnl_batch_update(b->batch);
    b->messages++;
    return seq;
}

struct nlmsghdr *CNftnl_batch_message(CNftnl_batch *b, uint16_t type, uint16_t family, uint16_t flags, uint32_t *seq) {
    *seq = b->seq++;
    return hdr(b, type, family, flags, *seq);
}

void CNftnl_batch_next(CNftnl_batch *b) { done(b, 0); }

uint32_t CNftnl_batch_begin(CNftnl_batch *b, int use_genid, uint32_t genid) {
    uint32_t seq = b->seq++;
    struct nlmsghdr *nlh = nftnl_batch_begin(nftnl_batch_buffer(b->batch), seq);
    if (use_genid) mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(genid));
    return done(b, seq);
}

uint32_t CNftnl_batch_end(CNftnl_batch *b) {
    uint32_t seq = b->seq++;
    nftnl_batch_end(nftnl_batch_buffer(b->batch), seq);
    return done(b, seq);
}

uint32_t CNftnl_batch_messages(const CNftnl_batch *b) { return b->messages; }

int CNftnl_batch_set_genid(CNftnl_batch *b, uint32_t genid) {
    struct iovec first;
    if (nftnl_batch_iovec_len(b->batch) < 1) return -EINVAL;
    nftnl_batch_iovec(b->batch, &first, 1);
    struct nlmsghdr *nlh = first.iov_base;
    if (first.iov_len < sizeof(*nlh) || nlh->nlmsg_type != NFNL_MSG_BATCH_BEGIN) return -EINVAL;
    struct nlattr *attr;
    mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
        if (mnl_attr_get_type(attr) == NFTA_GEN_ID && mnl_attr_get_payload_len(attr) == sizeof(uint32_t)) {
            uint32_t value = htonl(genid);
            memcpy(mnl_attr_get_payload(attr), &value, sizeof(value));
            return 0;
        }
    }
    return -ENOENT;
}

uint32_t CNftnl_batch_next_seq(const CNftnl_batch *b) { return b->seq; }

size_t CNftnl_batch_bytes(CNftnl_batch *b) {
    int n = nftnl_batch_iovec_len(b->batch);
    struct iovec iov[n];
    nftnl_batch_iovec(b->batch, iov, n);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += iov[i].iov_len;
    return total;
}

/* Writes NEWSETELEM messages for all elements of `s`, split where one would overflow. */
static void elements(CNftnl_batch *b, struct nftnl_set *s, uint16_t family, uint32_t seq) {
    struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
    if (!it) return;
    /* A dump can end with an empty element message; sent back, the kernel refuses it (EINVAL). */
    if (!nftnl_set_elems_iter_cur(it)) { nftnl_set_elems_iter_destroy(it); return; }
    int more;
    do {
        struct nlmsghdr *nlh = hdr(b, NFT_MSG_NEWSETELEM, family, NLM_F_CREATE, seq);
        more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it);
        nftnl_batch_update(b->batch);
        b->messages++;
    } while (more > 0);
    nftnl_set_elems_iter_destroy(it);
}

uint32_t CNftnl_batch_set_elements(CNftnl_batch *b, struct nftnl_set *s, uint16_t family, uint32_t seq) {
    if (seq == 0) seq = b->seq++;
    elements(b, s, family, seq);
    return seq;
}

uint32_t CNftnl_rule_add(CNftnl_batch *b, struct nftnl_rule *r) {
    if (!r) return 0;
    uint16_t family = (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
    uint32_t seq = b->seq++;
    struct nlmsghdr *nlh = hdr(b, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND, seq);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    return done(b, seq);
}

/* Socket buffers sized to the batch (send) and to an error for every message of it (receive):
 * each error is an skb of its own (about 1 KiB of buffer with its overhead), and should the
 * kernel echo whole messages after all, the batch's own bytes bound that. Only root may force a
 * buffer past the system limit; the plain setting is the fallback. */
static int size_buffers(CNftnl_socket *sock, size_t bytes, uint32_t messages) {
    int fd = mnl_socket_get_fd(sock->nl);
    size_t want_snd = bytes + 65536, want_rcv = bytes + (size_t)messages * 1536 + 262144;
    int snd = want_snd > INT32_MAX / 2 ? INT32_MAX / 2 : (int)want_snd;
    int rcv = want_rcv > INT32_MAX / 2 ? INT32_MAX / 2 : (int)want_rcv;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd)) < 0) return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) < 0) return -errno;
    return 0;
}

struct drain { CNftnl_error *errors; size_t max; int count; };

static int error_cb(const struct nlmsghdr *nlh, void *data) {
    struct drain *d = data;
    const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
    if (err->error != 0) {
        if ((size_t)d->count < d->max) {
            d->errors[d->count].seq = err->msg.nlmsg_seq;
            d->errors[d->count].error = -err->error;
        }
        d->count++;
    }
    return MNL_CB_OK;
}

int CNftnl_send(CNftnl_socket *sock, CNftnl_batch *b, CNftnl_error *errors, size_t max) {
    int n = nftnl_batch_iovec_len(b->batch);
    struct iovec iov[n];
    nftnl_batch_iovec(b->batch, iov, n);
    size_t bytes = 0;
    for (int i = 0; i < n; i++) bytes += iov[i].iov_len;
    int sized = size_buffers(sock, bytes, b->messages);
    if (sized < 0) return sized;
    struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
    struct msghdr msg = { .msg_name = &addr, .msg_namelen = sizeof(addr), .msg_iov = iov, .msg_iovlen = n };
    if (sendmsg(mnl_socket_get_fd(sock->nl), &msg, 0) < 0) return -errno;
    /* The kernel handles a batch synchronously: every reply is queued when sendmsg returns. */
    struct drain d = { errors, max, 0 };
    mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = error_cb };
    char *buf = malloc(MSG_MAX);
    if (!buf) return -ENOMEM;
    for (;;) {
        ssize_t got = recv(mnl_socket_get_fd(sock->nl), buf, MSG_MAX, MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            /* ENOBUFS: replies were lost, so the outcome is unknown. */
            return -e;
        }
        mnl_cb_run2(buf, got, 0, sock->portid, NULL, &d, ctl, NLMSG_MIN_TYPE);
    }
    free(buf);
    return d.count;
}

/* ---- snapshot and replay ---- */

struct growbuf { uint8_t *data; size_t len, cap; int failed; };

static void append(struct growbuf *g, const void *p, size_t n) {
    if (g->failed) return;
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 65536;
        while (cap < g->len + n) cap *= 2;
        uint8_t *d = realloc(g->data, cap);
        if (!d) { g->failed = 1; return; }
        g->data = d; g->cap = cap;
    }
    memcpy(g->data + g->len, p, n);
    g->len += n;
}

struct dumpctx { struct growbuf *out; const char *table; struct growbuf *set_names; uint16_t family; };

static int keep_cb(const struct nlmsghdr *nlh, void *data) {
    struct dumpctx *c = data;
    append(c->out, nlh, NLMSG_ALIGN(nlh->nlmsg_len));
    return MNL_CB_OK;
}

/* Every nf_tables object message names its table in attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE,
 * NFTA_SET_TABLE, ...). The kernel does not filter every dump by table (chain dumps ignore it),
 * so the snapshot keeps only the messages of the one table and family it asked for. */
static int of_table(const struct nlmsghdr *nlh, const struct dumpctx *c) {
    const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
    if (nfg->nfgen_family != c->family) return 0;
    const struct nlattr *attr;
    mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
        if (mnl_attr_get_type(attr) != 1) continue;
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) return 0;
        return strcmp(mnl_attr_get_str(attr), c->table) == 0;
    }
    return 0;
}

static int table_cb(const struct nlmsghdr *nlh, void *data) {
    struct dumpctx *c = data;
    if (of_table(nlh, c)) append(c->out, nlh, NLMSG_ALIGN(nlh->nlmsg_len));
    return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data) {
    struct dumpctx *c = data;
    if (!of_table(nlh, c)) return MNL_CB_OK;
    append(c->out, nlh, NLMSG_ALIGN(nlh->nlmsg_len));
    struct nftnl_set *s = nftnl_set_alloc();
    if (!s) { c->out->failed = 1; return MNL_CB_ERROR; }
    if (nftnl_set_nlmsg_parse(nlh, s) == 0) {
        const char *name = nftnl_set_get_str(s, NFTNL_SET_NAME);
        append(c->set_names, name, strlen(name) + 1);
    }
    nftnl_set_free(s);
    return MNL_CB_OK;
}

/* A dump request for one table: `build` (may be NULL) writes the table attribute the kernel filters on. */
static int dump(CNftnl_socket *sock, struct dumpctx *c, uint16_t type, mnl_cb_t cb,
                void (*build)(struct nlmsghdr *, const char *, const char *), const char *set) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, c->family, NLM_F_DUMP, sock->seq++);
    if (build) build(nlh, c->table, set);
    int ret = talk(sock, nlh, cb, c);
    return ret < 0 ? ret : (c->out->failed ? -ENOMEM : 0);
}

static void build_table_attr(struct nlmsghdr *nlh, const char *table, const char *unused) {
    (void)unused;
    mnl_attr_put_strz(nlh, 1, table);
}

static void build_elems(struct nlmsghdr *nlh, const char *table, const char *set) {
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
}

int CNftnl_snapshot(CNftnl_socket *sock, uint16_t family, const char *table, uint8_t **out, size_t *out_len) {
    struct growbuf g = {0}, names = {0};
    struct dumpctx c = { &g, table, &names, family };
    int ret;
    *out = NULL;
    *out_len = 0;
    if ((ret = dump(sock, &c, NFT_MSG_GETTABLE, table_cb, NULL, NULL)) < 0) goto fail;
    if (g.len == 0) { free(names.data); return 0; }
    /* Order as the kernel needs them back: objects and chains before the sets whose elements may
     * refer to them (verdict maps jump to chains), rules last. */
    if ((ret = dump(sock, &c, NFT_MSG_GETOBJ, table_cb, build_table_attr, NULL)) < 0) goto fail;
    if ((ret = dump(sock, &c, NFT_MSG_GETFLOWTABLE, table_cb, build_table_attr, NULL)) < 0 && ret != -EOPNOTSUPP) goto fail;
    if ((ret = dump(sock, &c, NFT_MSG_GETCHAIN, table_cb, build_table_attr, NULL)) < 0) goto fail;
    if ((ret = dump(sock, &c, NFT_MSG_GETSET, set_cb, build_table_attr, NULL)) < 0) goto fail;
    for (size_t off = 0; off < names.len; off += strlen((char *)names.data + off) + 1)
        if ((ret = dump(sock, &c, NFT_MSG_GETSETELEM, table_cb, build_elems, (char *)names.data + off)) < 0) goto fail;
    if ((ret = dump(sock, &c, NFT_MSG_GETRULE, table_cb, build_table_attr, NULL)) < 0) goto fail;
    free(names.data);
    *out = g.data;
    *out_len = g.len;
    return 0;
fail:
    free(g.data);
    free(names.data);
    return ret;
}

void CNftnl_free(void *p) { free(p); }

int CNftnl_dump_all(CNftnl_socket *sock, uint8_t **out, size_t *out_len) {
    struct growbuf g = {0};
    struct dumpctx c = { &g, NULL, NULL, 0 };
    char buf[MNL_SOCKET_BUFFER_SIZE];
    int ret = 0;
    *out = NULL;
    *out_len = 0;
    uint16_t types[] = { NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && ret >= 0; i++) {
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, types[i], NFPROTO_UNSPEC, NLM_F_DUMP, sock->seq++);
        ret = talk(sock, nlh, keep_cb, &c);
    }
    if (ret < 0) { free(g.data); return ret; }
    if (g.failed) { free(g.data); return -ENOMEM; }
    *out = g.data;
    *out_len = g.len;
    return 0;
}
