"""Whose address a request is: `X-Forwarded-For` is believed only from the proxies `ALPR_TRUSTED_PROXIES` names.

A header is the caller's to write. Only a proxy we run (the ingress) appends the address it took the
connection from, so the chain is read from the right while each hop is a trusted proxy; the first hop that
is not one is the client. From any other peer the header is ignored and the socket peer is the client.
uvicorn's `forwarded_allow_ips` is set from the same setting (`alpr serve`), so both read the chain alike.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """The CIDRs of a comma-separated `ALPR_TRUSTED_PROXIES`; ValueError names an entry that is not one."""
    networks = []
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"ALPR_TRUSTED_PROXIES: {entry!r} is not an address or CIDR") from None
        if networks[-1].prefixlen == 0:
            raise ValueError(f"ALPR_TRUSTED_PROXIES: {entry!r} would trust every address")
    return tuple(networks)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def _trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def forwarded_client(peer: str, forwarded_for: Iterable[str], networks: tuple[Network, ...]) -> str:
    """The client's address: `peer` unless it is a trusted proxy, then the nearest hop that is not one."""
    if not networks or not _trusted(_address(peer), networks):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # not an address: written by whoever a trusted proxy took it from, so that hop is all we know
            return client
        client = str(address)
        if not _trusted(address, networks):
            return client
    return client


def believe_forwarded(scope: Scope, setting: str) -> None:
    """Put the client's address in the ASGI scope, so every `request.client` of this request is it."""
    client = scope.get("client")
    networks = trusted_networks(setting)
    if not networks or not client:
        return
    forwarded_for = [value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"]
    address = forwarded_client(client[0], forwarded_for, networks)
    if address != client[0]:
        scope["client"] = (address, 0)
