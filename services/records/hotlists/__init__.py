"""Hotlists: importing agency lists and matching reads against them."""
