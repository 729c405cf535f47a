#define _GNU_SOURCE
#include <sched.h>
#include "CSitewallLinux.h"

int CSitewallLinux_setns(int fd, int nstype) { return setns(fd, nstype); }

int CSitewallLinux_clone_newnet(void) { return CLONE_NEWNET; }
