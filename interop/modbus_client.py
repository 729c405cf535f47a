"""Reads two holding registers (pymodbus): python modbus_client.py ADDRESS PORT"""
import sys

from pymodbus.client import ModbusTcpClient

client = ModbusTcpClient(sys.argv[1], port=int(sys.argv[2]), timeout=2, retries=0)
if not client.connect():
    print("no connection")
    sys.exit(1)
print("read holding registers", client.read_holding_registers(0, count=2).registers)
