"""An OPC UA server (asyncua) with Tank.Level = 42.5: python opcua_server.py ADDRESS PORT"""
import asyncio
import sys

from asyncua import Server


async def main():
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://{sys.argv[1]}:{sys.argv[2]}/")
    index = await server.register_namespace("urn:sitewall:interop")
    tank = await server.nodes.objects.add_object(index, "Tank")
    await tank.add_variable(index, "Level", 42.5)
    async with server:
        await asyncio.sleep(3600)


asyncio.run(main())
