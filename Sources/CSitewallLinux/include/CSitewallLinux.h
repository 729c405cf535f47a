#ifndef C_SITEWALL_LINUX_H
#define C_SITEWALL_LINUX_H

/* setns(2) is declared only with _GNU_SOURCE, which Swift's Glibc module does not set:
 * the packet lab needs it to open sockets inside the lab's network namespaces. */
int CSitewallLinux_setns(int fd, int nstype);

/* CLONE_NEWNET as a plain constant for Swift. */
int CSitewallLinux_clone_newnet(void);

/* renameat2(RENAME_EXCHANGE) swaps two paths in one step (compile --all replaces its output folder
 * whole); glibc declares it only with _GNU_SOURCE. -1 with errno on failure. */
int CSitewallLinux_exchange(const char *a, const char *b);

/* syncfs(2): one flush for a folder of thousands of new files instead of an fsync each. */
int CSitewallLinux_syncfs(int fd);

#endif
