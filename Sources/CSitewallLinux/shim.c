#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include "CSitewallLinux.h"

int CSitewallLinux_setns(int fd, int nstype) { return setns(fd, nstype); }

int CSitewallLinux_clone_newnet(void) { return CLONE_NEWNET; }

int CSitewallLinux_exchange(const char *a, const char *b) {
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int CSitewallLinux_syncfs(int fd) { return syncfs(fd); }

static volatile int forward_fd = -1;
static volatile sig_atomic_t received = 0;

static void forward(int sig) {
    int saved = errno;
    received = sig;
    unsigned char byte = (unsigned char)sig;
    if (write(forward_fd, &byte, 1) < 0) { /* a full pipe already holds a signal to handle */ }
    errno = saved;
}

int CSitewallLinux_forward_signal(int sig, int write_fd) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    forward_fd = write_fd;
    return sigaction(sig, &action, NULL);
}

int CSitewallLinux_signal_received(void) { return received; }

int CSitewallLinux_signal_ignored(int sig) {
    struct sigaction current;
    if (sigaction(sig, NULL, &current) != 0) return -1;
    return current.sa_handler == SIG_IGN;
}

int CSitewallLinux_mallopt(int param, int value) { return mallopt(param, value); }
int CSitewallLinux_m_mmap_threshold(void) { return M_MMAP_THRESHOLD; }
int CSitewallLinux_m_trim_threshold(void) { return M_TRIM_THRESHOLD; }
int CSitewallLinux_m_top_pad(void) { return M_TOP_PAD; }
