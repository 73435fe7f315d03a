"""The overlays name their ingress as the one trusted proxy; the base trusts no one."""

from __future__ import annotations

import pytest

from libs.common.proxies import trusted_networks
from tests.deploy.test_manifests import K8S, _config, validate_k8s


@pytest.mark.parametrize("overlay", ["development", "production"])
def test_each_overlay_trusts_its_ingress_and_nothing_wider(overlay: str) -> None:
    config = _config(validate_k8s.render(K8S / "overlays" / overlay))
    networks = trusted_networks(config["ALPR_TRUSTED_PROXIES"])
    assert networks and all(network.num_addresses <= 65536 for network in networks)


def test_the_base_trusts_no_proxy() -> None:
    lines = (K8S / "base" / "config.env").read_text().splitlines()
    assert "ALPR_TRUSTED_PROXIES=" in lines
