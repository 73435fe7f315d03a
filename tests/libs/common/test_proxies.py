"""Whose address a request is: X-Forwarded-For believed only from ALPR_TRUSTED_PROXIES, read from the right."""

from __future__ import annotations

import pytest

from libs.common.proxies import believe_forwarded, forwarded_client, trusted_networks
from services.cli.main import proxy_options

INGRESS = trusted_networks("10.8.0.0/24, fd00::/64")


class TestTrustedNetworks:
    def test_empty_trusts_no_one(self) -> None:
        assert trusted_networks("") == () == trusted_networks(" , ")

    @pytest.mark.parametrize("setting", ["10.8.0.0/33", "ingress", "0.0.0.0/0", "::/0"])
    def test_what_is_not_a_narrow_cidr_is_refused(self, setting: str) -> None:
        with pytest.raises(ValueError, match="ALPR_TRUSTED_PROXIES"):
            trusted_networks(setting)


class TestForwardedClient:
    def test_an_untrusted_peer_is_the_client_whatever_it_forwards(self) -> None:
        assert forwarded_client("203.0.113.7", ["198.51.100.1"], INGRESS) == "203.0.113.7"
        assert forwarded_client("203.0.113.7", ["198.51.100.1"], ()) == "203.0.113.7"

    def test_from_the_ingress_the_nearest_untrusted_hop_is_the_client(self) -> None:
        # the caller wrote 1.2.3.4 itself; the ingress appended the address it took the connection from
        assert forwarded_client("10.8.0.5", ["1.2.3.4, 198.51.100.9"], INGRESS) == "198.51.100.9"
        assert forwarded_client("10.8.0.5", ["1.2.3.4", "198.51.100.9, 10.8.0.6"], INGRESS) == "198.51.100.9"

    def test_a_hop_that_is_not_an_address_stops_the_walk(self) -> None:
        assert forwarded_client("10.8.0.5", ["evil\x00, 10.8.0.6"], INGRESS) == "10.8.0.6"
        assert forwarded_client("10.8.0.5", ["unknown"], INGRESS) == "10.8.0.5"

    def test_ipv6_and_no_header(self) -> None:
        assert forwarded_client("fd00::1", ["[2001:db8::7]"], INGRESS) == "2001:db8::7"
        assert forwarded_client("10.8.0.5", [], INGRESS) == "10.8.0.5"

    def test_the_scope_carries_the_decision(self) -> None:
        scope = {"client": ("10.8.0.5", 4000), "headers": [(b"x-forwarded-for", b"198.51.100.9")]}
        believe_forwarded(scope, "10.8.0.0/24")
        assert scope["client"] == ("198.51.100.9", 0)
        spoofed = {"client": ("203.0.113.7", 4000), "headers": [(b"x-forwarded-for", b"198.51.100.9")]}
        believe_forwarded(spoofed, "10.8.0.0/24")
        assert spoofed["client"] == ("203.0.113.7", 4000)


class TestUvicornOptions:
    def test_no_trusted_proxy_reads_no_forwarding_header(self) -> None:
        assert proxy_options("") == {"proxy_headers": False, "forwarded_allow_ips": []}

    def test_uvicorn_trusts_the_same_networks(self) -> None:
        assert proxy_options("10.8.0.0/24") == {"proxy_headers": True, "forwarded_allow_ips": ["10.8.0.0/24"]}

    def test_a_bad_setting_stops_the_service(self) -> None:
        with pytest.raises(SystemExit):
            proxy_options("everyone")
