"""Finds the server through its discovery endpoint, then reads Tank.Level (asyncua): python opcua_client.py ADDRESS PORT"""
import asyncio
import sys


async def main():
    from asyncua import Client

    async with Client(f"opc.tcp://{sys.argv[1]}:{sys.argv[2]}/", timeout=3) as client:
        servers = await client.find_servers()
        print("found", servers[0].ApplicationUri)
        level = await client.nodes.objects.get_child(["2:Tank", "2:Level"])
        print("read Tank.Level", await level.read_value())


asyncio.run(main())
