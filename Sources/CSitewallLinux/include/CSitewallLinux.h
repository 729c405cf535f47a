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

/* Installs a handler for `sig` that writes the signal's number (one byte) to `write_fd`, the only
 * async-signal-safe thing to do; Swift reads the pipe on a thread of its own (Lab/LabSignals.swift).
 * A dispatch signal source cannot do this on Linux: it needs the signal ignored, and a signal the
 * main thread ignores is dropped once a second source has been made for it. 0, or -1 with errno. */
int CSitewallLinux_forward_signal(int sig, int write_fd);

/* The last signal that handler caught, 0 if none yet. Set in the handler itself, so it is seen at
 * once, before the reading thread wakes: a child killed by the same Ctrl-C can fail the work first. */
int CSitewallLinux_signal_received(void);

/* 1 when `sig` is ignored (SIG_IGN), 0 when not, -1 with errno. */
int CSitewallLinux_signal_ignored(int sig);

/* mallopt(3) and its parameters: <malloc.h> is not in Swift's Glibc module. 1 when glibc took it. */
int CSitewallLinux_mallopt(int param, int value);
int CSitewallLinux_m_mmap_threshold(void);
int CSitewallLinux_m_trim_threshold(void);
int CSitewallLinux_m_top_pad(void);

#endif
