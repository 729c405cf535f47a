#!/usr/bin/env python3
"""Request/response over TCP for the packet-path benchmark: `serve ADDR PORT` echoes 64-byte
messages; `send ADDR PORT SECONDS` prints transactions per second. Lab addresses only."""
import socket, sys, time

def serve(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    conn, _ = s.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(64)
        if not data:
            return
        conn.sendall(data)

def send(addr, port, seconds):
    c = socket.create_connection((addr, port), timeout=5)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    payload = b"x" * 64
    count = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        c.sendall(payload)
        got = 0
        while got < 64:
            got += len(c.recv(64 - got))
        count += 1
    c.close()
    print(count / seconds)

if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
