"""Alerts: hits raised at ingest, published on ALERTS, verified and disposed of by officers."""
