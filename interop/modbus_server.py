"""A Modbus/TCP server (pymodbus) with holding registers 1..10 set to 1234: python modbus_server.py ADDRESS PORT"""
import asyncio
import sys

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartAsyncTcpServer

store = ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, [1234] * 10))
context = ModbusServerContext(devices=store, single=True)
asyncio.run(StartAsyncTcpServer(context=context, address=(sys.argv[1], int(sys.argv[2]))))
