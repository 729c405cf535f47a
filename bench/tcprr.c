/* TCP request/response load for the packet-path benchmark (make bench), in C so that the
 * generator is not what limits the figure: `tcprr serve ADDR PORT` echoes 64-byte messages on every
 * connection (a process each); `tcprr send ADDR PORT SECONDS CONNECTIONS` keeps one message in
 * flight on each connection and prints transactions per second. Lab addresses only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SIZE 64
#define MAX_CONNECTIONS 64

static void die(const char *what) {
    perror(what);
    exit(1);
}

static struct sockaddr_in address(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) die("inet_pton");
    return a;
}

static int exact(int fd, char *buffer, int reading) {
    int done = 0;
    while (done < SIZE) {
        ssize_t n = reading ? read(fd, buffer + done, SIZE - done) : write(fd, buffer + done, SIZE - done);
        if (n <= 0) return -1;
        done += (int)n;
    }
    return 0;
}

static void serve(const char *ip, int port) {
    struct sockaddr_in a = address(ip, port);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (s < 0) die("socket");
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(s, MAX_CONNECTIONS) < 0) die("listen");
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        if (fork() == 0) {
            char buffer[SIZE];
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            while (exact(c, buffer, 1) == 0 && exact(c, buffer, 0) == 0) {}
            _exit(0);
        }
        close(c);
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void send_load(const char *ip, int port, double seconds, int count) {
    struct sockaddr_in a = address(ip, port);
    struct pollfd fds[MAX_CONNECTIONS];
    char buffer[SIZE];
    int one = 1;
    memset(buffer, 'x', sizeof buffer);
    for (int i = 0; i < count; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (exact(c, buffer, 0) < 0) die("write");
        fds[i].fd = c;
        fds[i].events = POLLIN;
    }
    long transactions = 0;
    double start = now(), end = start + seconds;
    while (now() < end) {
        if (poll(fds, (nfds_t)count, 1000) < 0) die("poll");
        for (int i = 0; i < count; i++) {
            if (!(fds[i].revents & POLLIN)) continue;
            if (exact(fds[i].fd, buffer, 1) < 0 || exact(fds[i].fd, buffer, 0) < 0) die("echo");
            transactions++;
        }
    }
    printf("%.0f\n", (double)transactions / (now() - start));
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "serve") == 0) serve(argv[2], atoi(argv[3]));
    if (argc == 6 && strcmp(argv[1], "send") == 0) {
        int count = atoi(argv[5]);
        if (count < 1 || count > MAX_CONNECTIONS) count = 1;
        send_load(argv[2], atoi(argv[3]), atof(argv[4]), count);
        return 0;
    }
    fprintf(stderr, "usage: tcprr serve ADDR PORT | tcprr send ADDR PORT SECONDS CONNECTIONS\n");
    return 64;
}
