"""Sends Modbus/TCP requests segment by segment and prints each answer:
python modbus_raw.py ADDRESS PORT CASE

Cases (each request asks unit 1; holding register 0):
  read        read holding registers (3), one request in one segment
  write       write single register (6), one request in one segment
  split-read  the read in two segments, split before its function code (5 + 7 bytes)
  split-write the write in two segments, split before its function code
  read-write  a read and a write in one segment
  write-read  a write and a read in one segment
A segment boundary is kept by TCP_NODELAY and a pause between the sends.
"""
import socket
import struct
import sys
import time

address, port, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def request(transaction, function, data):
    pdu = bytes([function]) + data
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, 1) + pdu


READ = request(1, 3, struct.pack(">HH", 0, 2))
WRITE = request(2, 6, struct.pack(">HH", 0, 4321))
segments = {
    "read": [READ],
    "write": [WRITE],
    "split-read": [READ[:5], READ[5:]],
    "split-write": [WRITE[:5], WRITE[5:]],
    "read-write": [READ + WRITE],
    "write-read": [WRITE + READ],
}[case]

sock = socket.create_connection((address, port), timeout=3)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i, segment in enumerate(segments):
    if i:
        time.sleep(0.3)
    sock.sendall(segment)
print("sent", case)
answers = b""
deadline = time.time() + 4
while time.time() < deadline:
    try:
        chunk = sock.recv(512)
    except socket.timeout:
        break
    if not chunk:
        break
    answers += chunk
while len(answers) >= 8:
    length = struct.unpack(">H", answers[4:6])[0]
    transaction, function = struct.unpack(">H", answers[0:2])[0], answers[7]
    print(f"answered transaction {transaction} function {function}")
    answers = answers[6 + length:]
