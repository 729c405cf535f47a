#ifndef C_SITEWALL_LINUX_H
#define C_SITEWALL_LINUX_H

/* setns(2) is declared only with _GNU_SOURCE, which Swift's Glibc module does not set:
 * the packet lab needs it to open sockets inside the lab's network namespaces. */
int CSitewallLinux_setns(int fd, int nstype);

/* CLONE_NEWNET as a plain constant for Swift. */
int CSitewallLinux_clone_newnet(void);

#endif
