/*
 * boundary-probe: run inside a bottle's agent, as the agent user, before the
 * operator gets the terminal. It tries every way out the bottle must not
 * have and prints one JSON object per line:
 *
 *   {"probe":"tcp","target":"outbound gateway 10.0.0.1:22","held":true,"detail":"..."}
 *
 * "held": true means the boundary held against that probe. Exit status: 0 when
 * every probe held, 1 when any got through, 2 on bad arguments.
 *
 * It is a static binary (built with musl in the sidecar bundle's image) so it
 * runs in any agent image, whatever libc or tools that image has, and does all
 * its network probes at once so the check costs about one timeout.
 *
 * Probes touch only the addresses they are given (the bottle's own networks
 * and this host). The route probe connect()s a UDP socket to documentation
 * addresses, which only asks the kernel for a route and sends nothing.
 *
 * -I prints the uid and gid it runs as (one per line) before any verdict.
 * -G names a gateway address no host holds: Docker gives a container on an
 * internal network a default route to the network's gateway address even
 * when the host takes no address there. A default route through such an
 * address leads nowhere, and the tcp and udp probes of that address prove
 * that nothing answers there; a default route through any other gateway is
 * a way out.
 *
 *   boundary-probe [-I] [-t MS] [-D MS] [-H MS] [-n NONCE] [-G DEAD_GATEWAY_IP]...
 *                  [-T LABEL=IP:PORT]... [-U LABEL=IP:PORT]... [-d NAME]...
 *                  [-p PROXY_IP:PORT -u UNROUTED_HOST]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#endif

#define MAX_NET 256
#define MAX_NAMES 64
#define NAME_LEN 256
#define MAX_SERVERS 4

#define MAX_DEAD 4

static int any_reached;
static struct in_addr dead[MAX_DEAD]; /* gateways no host holds (-G) */
static int n_dead;

static int is_dead(uint32_t gw_network_order) {
    for (int i = 0; i < n_dead; i++)
        if (dead[i].s_addr == gw_network_order)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- output */

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void result(const char *probe, const char *target, int held, const char *detail) {
    if (!held)
        any_reached = 1;
    printf("{\"probe\":");
    json_str(probe);
    printf(",\"target\":");
    json_str(target);
    printf(",\"held\":%s,\"detail\":", held ? "true" : "false");
    json_str(detail);
    printf("}\n");
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---------------------------------------------------------------- addresses */

/* "IP:PORT" or "[IPv6]:PORT" into a socket address. */
static int parse_addr(const char *text, struct sockaddr_storage *sa, socklen_t *len) {
    char host[64];
    const char *colon;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || end[1] != ':' || (size_t)(end - text - 1) >= sizeof host)
            return -1;
        memcpy(host, text + 1, end - text - 1);
        host[end - text - 1] = 0;
        colon = end + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || (size_t)(colon - text) >= sizeof host)
            return -1;
        memcpy(host, text, colon - text);
        host[colon - text] = 0;
    }
    char *rest;
    long port = strtol(colon + 1, &rest, 10);
    if (*rest || port <= 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return 0;
    }
    return -1;
}

/* ---------------------------------------------------------------- network probes */

enum kind { TCP, UDP, DNS };

struct net {
    enum kind kind;
    char target[320];
    char name[NAME_LEN]; /* DNS: the name asked for */
    struct sockaddr_storage sa;
    socklen_t salen;
    int fd;
    int done;
    uint16_t id; /* DNS query id */
};

static struct net nets[MAX_NET];
static int n_nets;

static const char *kind_name(enum kind k) { return k == TCP ? "tcp" : k == UDP ? "udp" : "dns"; }

static void finish(struct net *p, int held, const char *detail) {
    if (p->done)
        return;
    p->done = 1;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    result(kind_name(p->kind), p->target, held, detail);
}

/* An error on the way out: "no route" and the like held; a refusal means a
   host answered, so the address was reached. */
static void finish_errno(struct net *p, int err) {
    char detail[160];
    /* A nameserver that is not there answers nothing: that is the boundary
       holding, not a host reached. */
    int reached = p->kind != DNS && (err == ECONNREFUSED || err == ECONNRESET);
    snprintf(detail, sizeof detail, "%s%s", reached ? "a host answered: " : "",
             strerror(err));
    finish(p, !reached, detail);
}

static int build_query(const char *name, uint16_t id, unsigned char *buf, size_t cap) {
    size_t n = 0;
    unsigned char head[12] = {id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(buf, head, sizeof head);
    n = sizeof head;
    const char *label = name;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        if (len == 0 || len > 63 || n + len + 6 > cap)
            return -1;
        buf[n++] = (unsigned char)len;
        memcpy(buf + n, label, len);
        n += len;
        label += len + (dot ? 1 : 0);
    }
    buf[n++] = 0;
    buf[n++] = 0, buf[n++] = 1; /* A */
    buf[n++] = 0, buf[n++] = 1; /* IN */
    return (int)n;
}

static void start(struct net *p, const char *payload, size_t payload_len) {
    int type = p->kind == TCP ? SOCK_STREAM : SOCK_DGRAM;
    p->fd = socket(p->sa.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        finish_errno(p, errno);
        return;
    }
    if (connect(p->fd, (struct sockaddr *)&p->sa, p->salen) < 0) {
        if (p->kind == TCP && errno == EINPROGRESS)
            return;
        finish_errno(p, errno);
        return;
    }
    if (p->kind == TCP) {
        finish(p, 0, "connected");
        return;
    }
    if (send(p->fd, payload, payload_len, 0) < 0)
        finish_errno(p, errno);
}

static void on_ready(struct net *p) {
    if (p->kind == TCP) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0)
            finish(p, 0, "connected");
        else
            finish_errno(p, err);
        return;
    }
    unsigned char buf[512];
    ssize_t got = recv(p->fd, buf, sizeof buf, 0);
    if (got < 0) {
        if (errno != EAGAIN)
            finish_errno(p, errno);
        return;
    }
    if (p->kind == UDP) {
        finish(p, 0, "a host answered the datagram");
        return;
    }
    /* DNS: an answer with records means the name resolved. */
    if (got < 12 || ((buf[0] << 8) | buf[1]) != p->id)
        return;
    int rcode = buf[3] & 0x0f;
    int answers = (buf[6] << 8) | buf[7];
    char detail[200];
    if (rcode == 0 && answers > 0) {
        snprintf(detail, sizeof detail, "%s resolved (%d answer record(s))", p->name, answers);
        finish(p, 0, detail);
    } else {
        snprintf(detail, sizeof detail, "no answer for %s (rcode %d)", p->name, rcode);
        finish(p, 1, detail);
    }
}

static void run_nets(const char *nonce, int timeout_ms, int dns_timeout_ms) {
    unsigned char query[300];
    for (int i = 0; i < n_nets; i++) {
        struct net *p = &nets[i];
        if (p->kind == DNS) {
            int len = build_query(p->name, p->id, query, sizeof query);
            if (len < 0) {
                finish(p, 1, "name not asked: not a valid DNS name");
                continue;
            }
            start(p, (const char *)query, (size_t)len);
        } else {
            start(p, nonce, strlen(nonce));
        }
    }
    long begun = now_ms();
    for (;;) {
        struct pollfd fds[MAX_NET];
        int map[MAX_NET], n = 0;
        long now = now_ms(), left = -1;
        for (int i = 0; i < n_nets; i++) {
            if (nets[i].done)
                continue;
            /* A resolver may forward and wait on its upstream: names get longer. */
            int wait = nets[i].kind == DNS ? dns_timeout_ms : timeout_ms;
            long remaining = begun + wait - now;
            if (remaining <= 0) {
                char detail[80];
                snprintf(detail, sizeof detail, "no answer within %d ms", wait);
                finish(&nets[i], 1, detail);
                continue;
            }
            if (left < 0 || remaining < left)
                left = remaining;
            fds[n].fd = nets[i].fd;
            fds[n].events = nets[i].kind == TCP ? POLLOUT : POLLIN;
            fds[n].revents = 0;
            map[n++] = i;
        }
        if (n == 0)
            break;
        if (poll(fds, n, (int)left) < 0 && errno != EINTR)
            break;
        for (int j = 0; j < n; j++)
            if (fds[j].revents)
                on_ready(&nets[map[j]]);
    }
    for (int i = 0; i < n_nets; i++)
        finish(&nets[i], 1, "not asked: poll failed");
}

static int add_net(enum kind kind, const char *spec) {
    if (n_nets >= MAX_NET)
        return -1;
    struct net *p = &nets[n_nets];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->fd = -1;
    const char *eq = strrchr(spec, '=');
    const char *addr = eq ? eq + 1 : spec;
    if (parse_addr(addr, &p->sa, &p->salen) < 0)
        return -1;
    if (eq)
        snprintf(p->target, sizeof p->target, "%.*s %s", (int)(eq - spec), spec, addr);
    else
        snprintf(p->target, sizeof p->target, "%s", addr);
    n_nets++;
    return 0;
}

/* A nameserver the probe may ask: this namespace's own (loopback, where the
   engine's resolver sits) or the bottle's bundle (-p). The probe never sends
   to an address outside the bottle; a resolv.conf that names one is itself a
   way out, reported without asking it. */
static int may_ask(const char *server, const char *bundle) {
    if (strncmp(server, "127.", 4) == 0 || strcmp(server, "::1") == 0)
        return 1;
    size_t n = strlen(server);
    return bundle && strncmp(bundle, server, n) == 0 && bundle[n] == ':';
}

/* Each name is asked of every nameserver in /etc/resolv.conf, as the agent's
   resolver would (127.0.0.1 when there is none, as glibc does). */
static void add_dns(char names[][NAME_LEN], int n_names, const char *bundle) {
    char servers[MAX_SERVERS][64];
    int n_servers = 0;
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (f) {
        char line[256], ip[64];
        while (fgets(line, sizeof line, f) && n_servers < MAX_SERVERS)
            if (sscanf(line, " nameserver %63s", ip) == 1)
                snprintf(servers[n_servers++], sizeof servers[0], "%s", ip);
        fclose(f);
    }
    if (n_servers == 0)
        snprintf(servers[n_servers++], sizeof servers[0], "127.0.0.1");
    for (int s = 0; s < n_servers; s++)
        if (!may_ask(servers[s], bundle)) {
            char target[100];
            snprintf(target, sizeof target, "nameserver %s", servers[s]);
            result("dns", target, 0,
                   "the agent's resolv.conf names a nameserver outside the bottle (not asked)");
            servers[s][0] = 0;
        }
    srand((unsigned)(now_ms() ^ getpid()));
    for (int i = 0; i < n_names; i++)
        for (int s = 0; s < n_servers; s++) {
            char spec[200];
            if (!servers[s][0])
                continue;
            if (strchr(servers[s], ':'))
                snprintf(spec, sizeof spec, "nameserver=[%s]:53", servers[s]);
            else
                snprintf(spec, sizeof spec, "nameserver=%s:53", servers[s]);
            if (add_net(DNS, spec) < 0)
                continue;
            struct net *p = &nets[n_nets - 1];
            snprintf(p->name, sizeof p->name, "%s", names[i]);
            snprintf(p->target, sizeof p->target, "%s via nameserver %s", names[i], servers[s]);
            p->id = (uint16_t)rand();
        }
}

/* ---------------------------------------------------------------- routes */

/* 1 when an IPv4 route leads through a gateway that is not -G. */
static int live_gateway_v4;

static void dotted(uint32_t network_order, char *out, size_t cap) {
    unsigned char *b = (unsigned char *)&network_order;
    snprintf(out, cap, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

/* Any route through a gateway leads somewhere, not only 0.0.0.0/0 (two /1s do
   the same); one through a -G address leads nowhere. */
static void probe_route_table(void) {
    char line[512], detail[200];
    int found = 0, dead_only = 0;
    FILE *f = fopen("/proc/net/route", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char iface[64], dest[16], gw[16], mask[16];
            unsigned flags;
            if (sscanf(line, "%63s %15s %15s %x %*s %*s %*s %15s", iface, dest, gw, &flags,
                       mask) != 5 ||
                strcmp(iface, "Iface") == 0 /* the header */ || !(flags & 0x2 /* RTF_GATEWAY */))
                continue;
            /* /proc/net/route prints addresses in network order, as hex */
            uint32_t g = (uint32_t)strtoul(gw, NULL, 16);
            uint32_t d = (uint32_t)strtoul(dest, NULL, 16);
            uint32_t m = (uint32_t)strtoul(mask, NULL, 16);
            if (is_dead(g)) {
                dead_only = 1;
                continue;
            }
            char gws[20], ds[20], ms[20];
            dotted(g, gws, sizeof gws), dotted(d, ds, sizeof ds), dotted(m, ms, sizeof ms);
            snprintf(detail, sizeof detail, "a route to %s/%s via %s dev %s", ds, ms, gws, iface);
            result("route", "IPv4 routes through a gateway", 0, detail);
            found = live_gateway_v4 = 1;
            break;
        }
        fclose(f);
    }
    if (!found)
        result("route", "IPv4 routes through a gateway", 1,
               dead_only ? "only through the internal gateway address, which no host holds"
                         : "none in /proc/net/route");
    found = 0;
    f = fopen("/proc/net/ipv6_route", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char dest[40], plen[4], hop[40], iface[64];
            unsigned flags;
            /* dest plen src splen nexthop metric refcnt use flags iface */
            if (sscanf(line, "%39s %3s %*s %*s %39s %*s %*s %*s %x %63s", dest, plen, hop,
                       &flags, iface) != 5 ||
                (flags & 0x0200) /* RTF_REJECT */)
                continue;
            int deflt = strspn(dest, "0") == 32 && strcmp(plen, "00") == 0;
            if (!deflt && !(flags & 0x2 /* RTF_GATEWAY */))
                continue;
            snprintf(detail, sizeof detail, "a %s dev %s", deflt ? "default route" : "route via a gateway",
                     iface);
            result("route", "IPv6 routes through a gateway", 0, detail);
            found = 1;
            break;
        }
        fclose(f);
    }
    if (!found)
        result("route", "IPv6 routes through a gateway", 1, "none in /proc/net/ipv6_route");
}

/* The kernel's own answer (every table, policy routing included): which
   gateway would a packet to ``addr`` take? rtnetlink needs no capability. 0 and
   *gw = 0 for an on-link route, ENETUNREACH for none, another errno when the
   kernel cannot be asked. */
static int route_get_v4(struct in_addr addr, uint32_t *gw) {
    struct {
        uint32_t len;
        uint16_t type, flags;
        uint32_t seq, pid;
        unsigned char family, dst_len, src_len, tos, table, protocol, scope, kind;
        uint32_t rt_flags;
        uint16_t rta_len, rta_type;
        uint32_t dst;
    } req;
    memset(&req, 0, sizeof req);
    req.len = sizeof req;
    req.type = 26; /* RTM_GETROUTE */
    req.flags = 1; /* NLM_F_REQUEST */
    req.seq = 1;
    req.family = AF_INET;
    req.dst_len = 32;
    req.rta_len = 8;
    req.rta_type = 1; /* RTA_DST */
    req.dst = addr.s_addr;
    *gw = 0;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */);
    if (fd < 0)
        return errno;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    unsigned char buf[4096];
    ssize_t got = -1;
    if (send(fd, &req, sizeof req, 0) >= 0)
        got = recv(fd, buf, sizeof buf, 0);
    int err = errno;
    close(fd);
    if (got < 16)
        return got < 0 ? err : EIO;
    uint32_t len;
    uint16_t type;
    memcpy(&len, buf, 4), memcpy(&type, buf + 4, 2);
    if (type == 2 /* NLMSG_ERROR */) {
        int32_t code;
        memcpy(&code, buf + 16, 4);
        return code ? -code : EIO;
    }
    if (type != 24 /* RTM_NEWROUTE */ || len > (uint32_t)got || len < 28)
        return EIO;
    for (uint32_t off = 28; off + 4 <= len;) {
        uint16_t alen, atype;
        memcpy(&alen, buf + off, 2), memcpy(&atype, buf + off + 2, 2);
        if (alen < 4 || off + alen > len)
            break;
        if (atype == 5 /* RTA_GATEWAY */ && alen >= 8)
            memcpy(gw, buf + off + 4, 4);
        off += (alen + 3u) & ~3u;
    }
    return 0;
}

/* Where a packet to a documentation address would go. Nothing is sent: the
   kernel is asked (rtnetlink, else a UDP connect(), which only looks the route up). */
static void probe_route_lookup(const char *addr, const char *target) {
    struct sockaddr_storage sa;
    socklen_t len;
    char detail[120];
    parse_addr(addr, &sa, &len);
    if (sa.ss_family == AF_INET) {
        uint32_t gw;
        int err = route_get_v4(((struct sockaddr_in *)&sa)->sin_addr, &gw);
        if (err == 0) {
            char gws[20];
            dotted(gw, gws, sizeof gws);
            if (gw && is_dead(gw))
                result("route", target, 1,
                       "routed only to the internal gateway address, which no host holds");
            else {
                snprintf(detail, sizeof detail, "the kernel routes it %s%s",
                         gw ? "via " : "on-link", gw ? gws : "");
                result("route", target, 0, detail);
            }
            return;
        }
        if (err == ENETUNREACH || err == EHOSTUNREACH) {
            result("route", target, 1, strerror(err));
            return;
        }
        /* no rtnetlink here (some sandboxes): fall back to connect() */
    }
    int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        result("route", target, 1, strerror(errno));
        return;
    }
    if (connect(fd, (struct sockaddr *)&sa, len) == 0) {
        int live = sa.ss_family == AF_INET6 || live_gateway_v4;
        result("route", target, !live,
               live ? "the kernel has a route to outside addresses"
                    : "routed only to the internal gateway address, which no host holds");
    } else
        result("route", target, 1, strerror(errno));
    close(fd);
}

/* A -G address nobody holds has no complete neighbour entry after the probes
   asked for it: one that has is held by someone, whatever its ports said. */
static void probe_dead_gateways(void) {
    char line[256], detail[200], ip[64], hw[64];
    unsigned flags;
    for (int i = 0; i < n_dead; i++) {
        char want[20], target[80];
        dotted(dead[i].s_addr, want, sizeof want);
        snprintf(target, sizeof target, "internal gateway address %s", want);
        int held = 1;
        FILE *f = fopen("/proc/net/arp", "r");
        if (f) {
            while (fgets(line, sizeof line, f))
                if (sscanf(line, "%63s %*s %x %63s", ip, &flags, hw) == 3 &&
                    strcmp(ip, want) == 0 && (flags & 0x2 /* ATF_COM */)) {
                    snprintf(detail, sizeof detail, "a host answers for it (%s)", hw);
                    held = 0;
                }
            fclose(f);
        }
        result("route", target, held, held ? "no host answers for it" : detail);
    }
}

/* ---------------------------------------------------------------- privileges */

static const char *cap_names[] = {
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
    "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin",
    "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace",
    "sys_pacct", "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time",
    "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
    "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read",
    "perfmon", "bpf", "checkpoint_restore"};

static void append_caps(char *out, size_t cap, const char *set, uint64_t bits) {
    if (!bits)
        return;
    size_t n = strlen(out);
    n += snprintf(out + n, cap > n ? cap - n : 0, "%s%s:", n ? "; " : "", set);
    for (int i = 0; i < 64 && n < cap; i++)
        if (bits & (1ULL << i)) {
            if (i < (int)(sizeof cap_names / sizeof cap_names[0]))
                n += snprintf(out + n, cap - n, " %s", cap_names[i]);
            else
                n += snprintf(out + n, cap - n, " cap_%d", i);
        }
}

static void probe_privileges(void) {
    struct {
        uint32_t version;
        int pid;
    } hdr = {0x20080522, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
    struct {
        uint32_t effective, permitted, inheritable;
    } data[2];
    memset(data, 0, sizeof data);
    char detail[600] = "";
    if (syscall(SYS_capget, &hdr, data) < 0) {
        snprintf(detail, sizeof detail, "capget failed: %s", strerror(errno));
        result("capabilities", "agent process", 0, detail);
    } else {
        uint64_t eff = data[0].effective | (uint64_t)data[1].effective << 32;
        uint64_t prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
        uint64_t inh = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
        uint64_t bnd = 0, amb = 0;
        for (int i = 0; i < 64; i++) {
            int r = prctl(PR_CAPBSET_READ, i, 0, 0, 0);
            if (r < 0)
                break;
            if (r == 1)
                bnd |= 1ULL << i;
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1)
                amb |= 1ULL << i;
        }
        append_caps(detail, sizeof detail, "effective", eff);
        append_caps(detail, sizeof detail, "permitted", prm);
        append_caps(detail, sizeof detail, "inheritable", inh);
        append_caps(detail, sizeof detail, "ambient", amb);
        append_caps(detail, sizeof detail, "bounding", bnd);
        int none = !(eff | prm | inh | amb | bnd);
        result("capabilities", "agent process", none, none ? "none held" : detail);
    }
    int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    result("no_new_privs", "agent process", nnp == 1,
           nnp == 1 ? "set" : nnp == 0 ? "not set" : strerror(errno));
}

/* ---------------------------------------------------------------- engine sockets */

static const char *engine_sockets[] = {
    "/var/run/docker.sock",           "/run/docker.sock",
    "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock",
    "/run/podman/podman.sock",         "/var/run/podman/podman.sock",
    "/run/crio/crio.sock",             "/var/run/crio/crio.sock",
    "/run/buildkit/buildkitd.sock",    "/run/k3s/containerd/containerd.sock",
    "/var/run/balena-engine.sock",     "/run/docker/docker.sock"};

static const char *socket_names[] = {"docker.sock", "containerd.sock", "podman.sock",
                                     "crio.sock",   "buildkitd.sock",  "balena-engine.sock"};

static int is_socket(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Mount points in /proc/self/mountinfo escape spaces and such as \ooo. */
static void unescape(char *s) {
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = 0;
}

static void probe_sockets(void) {
    char detail[300];
    for (size_t i = 0; i < sizeof engine_sockets / sizeof engine_sockets[0]; i++)
        if (is_socket(engine_sockets[i])) {
            snprintf(detail, sizeof detail, "an engine socket is at %s", engine_sockets[i]);
            result("engine-socket", "mounted sockets", 0, detail);
            return;
        }
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (f) {
        char line[4096], point[2048];
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "%*s %*s %*s %*s %2047s", point) != 1)
                continue;
            unescape(point);
            if (is_socket(point)) {
                snprintf(detail, sizeof detail, "a socket is mounted at %s", point);
                result("engine-socket", "mounted sockets", 0, detail);
                fclose(f);
                return;
            }
            /* a mounted directory holding an engine's socket (-v /var/run:/x) */
            for (size_t i = 0; i < sizeof socket_names / sizeof socket_names[0]; i++) {
                char inner[2200];
                snprintf(inner, sizeof inner, "%s/%s", strcmp(point, "/") ? point : "",
                         socket_names[i]);
                if (is_socket(inner)) {
                    snprintf(detail, sizeof detail, "an engine socket is at %s", inner);
                    result("engine-socket", "mounted sockets", 0, detail);
                    fclose(f);
                    return;
                }
            }
        }
        fclose(f);
    }
    result("engine-socket", "mounted sockets", 1, "no engine socket and no mounted socket");
}

/* ---------------------------------------------------------------- egress */

/* Send ``request`` to the proxy and read until ``heads`` answer heads have come. */
static int ask_proxy(const struct sockaddr_storage *sa, socklen_t len, const char *request,
                     int heads, char *answer, size_t cap, int timeout_ms, char *err,
                     size_t errcap) {
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errcap, "%s", strerror(errno));
        return -1;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)sa, len) < 0 ||
        send(fd, request, strlen(request), MSG_NOSIGNAL) < 0) {
        snprintf(err, errcap, "egress not reachable: %s", strerror(errno));
        close(fd);
        return -1;
    }
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t got = recv(fd, answer + n, cap - 1 - n, 0);
        if (got <= 0)
            break;
        n += (size_t)got;
        answer[n] = 0;
        const char *end = answer;
        int seen = 0;
        while (seen < heads && (end = strstr(end, "\r\n\r\n")) != NULL)
            seen++, end += 4;
        if (seen >= heads)
            break;
    }
    answer[n] = 0;
    close(fd);
    if (n == 0) {
        snprintf(err, errcap, "egress sent no answer");
        return -1;
    }
    return 0;
}

static int header_is(const char *head, const char *name, const char *value) {
    size_t nlen = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':') {
            h += nlen + 1;
            while (*h == ' ')
                h++;
            return strncasecmp(h, value, strlen(value)) == 0;
        }
    }
    return 0;
}

static void probe_egress(const char *proxy, const char *host, int timeout_ms) {
    struct sockaddr_storage sa;
    socklen_t len;
    char request[600], answer[8192], err[200], detail[300], target[300];
    if (parse_addr(proxy, &sa, &len) < 0) {
        result("egress", proxy, 0, "not an address");
        return;
    }
    const char *forms[2][2] = {{"http", "GET http://%s/ HTTP/1.1\r\nHost: %s\r\n"
                                        "Connection: close\r\n\r\n"},
                               {"https", "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n"
                                         "GET / HTTP/1.1\r\nHost: %s\r\n"
                                         "Connection: close\r\n\r\n"}};
    for (int i = 0; i < 2; i++) {
        snprintf(target, sizeof target, "%s://%s via egress %s", forms[i][0], host, proxy);
        snprintf(request, sizeof request, forms[i][1], host, host, host);
        if (ask_proxy(&sa, len, request, i + 1, answer, sizeof answer, timeout_ms, err,
                      sizeof err) < 0) {
            result("egress", target, 0, err);
            continue;
        }
        /* A CONNECT is accepted first; the refusal comes inside the tunnel. */
        char *head = answer;
        if (i == 1 && strncmp(head, "HTTP/1.1 200", 12) == 0) {
            char *next = strstr(head, "\r\n\r\n");
            head = next ? next + 4 : head + strlen(head);
        }
        char status[120];
        snprintf(status, sizeof status, "%.*s", (int)strcspn(head, "\r\n"), head);
        int refused = strncmp(head, "HTTP/1.1 403", 12) == 0 &&
                      header_is(head, "X-Bot-Bottle-Egress", "denied");
        snprintf(detail, sizeof detail, "%s: %s",
                 refused ? "refused by egress" : "egress did not refuse it",
                 *status ? status : "(no status line)");
        result("egress", target, refused, detail);
    }
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    int timeout_ms = 25, dns_timeout_ms = 60, http_timeout_ms = 3000, opt;
    const char *nonce = "bot-bottle-boundary-probe", *proxy = NULL, *unrouted = NULL;
    static char names[MAX_NAMES][NAME_LEN];
    int n_names = 0;
    while ((opt = getopt(argc, argv, "IG:t:D:H:n:T:U:d:p:u:")) != -1) {
        switch (opt) {
        case 'I': /* the user it runs as, first: saves the backend an exec of id */
            printf("%u\n%u\n", (unsigned)getuid(), (unsigned)getgid());
            break;
        case 'G':
            if (n_dead < MAX_DEAD && inet_pton(AF_INET, optarg, &dead[n_dead]) == 1)
                n_dead++;
            else {
                fprintf(stderr, "boundary-probe: bad gateway %s (want an IPv4 address)\n", optarg);
                return 2;
            }
            break;
        case 't': timeout_ms = atoi(optarg); break;
        case 'D': dns_timeout_ms = atoi(optarg); break;
        case 'H': http_timeout_ms = atoi(optarg); break;
        case 'n': nonce = optarg; break;
        case 'T':
        case 'U':
            if (add_net(opt == 'T' ? TCP : UDP, optarg) < 0) {
                fprintf(stderr, "boundary-probe: bad target %s (want LABEL=IP:PORT)\n", optarg);
                return 2;
            }
            break;
        case 'd':
            if (n_names < MAX_NAMES && strlen(optarg) < NAME_LEN)
                snprintf(names[n_names++], sizeof names[0], "%s", optarg);
            else
                result("dns", optarg, 0, "not asked: too many names or too long a name");
            break;
        case 'p': proxy = optarg; break;
        case 'u': unrouted = optarg; break;
        default:
            fprintf(stderr, "usage: boundary-probe [-t MS] [-D MS] [-H MS] [-n NONCE] [-T LABEL=IP:PORT]... "
                            "[-U LABEL=IP:PORT]... [-d NAME]... [-p IP:PORT -u HOST]\n");
            return 2;
        }
    }
    if (timeout_ms <= 0 || dns_timeout_ms <= 0 || http_timeout_ms <= 0 || (proxy == NULL) != (unrouted == NULL)) {
        fprintf(stderr, "boundary-probe: -t, -D and -H must be positive; -p and -u go together\n");
        return 2;
    }
    /* egress answers over HTTP in its own time: ask it from a child while the
       rest runs, and print its verdicts after the others. */
    int pipefd[2] = {-1, -1};
    pid_t child = -1;
    fflush(stdout);
    if (proxy && pipe(pipefd) == 0 && (child = fork()) == 0) {
        close(pipefd[0]);
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[1]);
        probe_egress(proxy, unrouted, http_timeout_ms);
        fflush(stdout);
        _exit(any_reached ? 1 : 0);
    }
    if (child > 0)
        close(pipefd[1]);
    add_dns(names, n_names, proxy);
    probe_route_table();
    probe_route_lookup("192.0.2.1:9", "route lookup to 192.0.2.1");
    probe_route_lookup("[2001:db8::1]:9", "route lookup to 2001:db8::1");
    probe_privileges();
    probe_sockets();
    run_nets(nonce, timeout_ms, dns_timeout_ms);
    probe_dead_gateways();
    fflush(stdout);
    if (child > 0) {
        char buf[4096];
        ssize_t got;
        while ((got = read(pipefd[0], buf, sizeof buf)) > 0)
            fwrite(buf, 1, (size_t)got, stdout);
        close(pipefd[0]);
        int status = 0;
        if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            any_reached = 1; /* a verdict that got through, or a probe that died */
    } else if (proxy) {
        probe_egress(proxy, unrouted, http_timeout_ms);
    }
    fflush(stdout);
    return any_reached ? 1 : 0;
}
