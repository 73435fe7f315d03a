"""Partner agencies and the inter-agency agreements that bound what they may receive."""
