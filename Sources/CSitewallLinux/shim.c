#define _GNU_SOURCE
#include <fcntl.h>
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
