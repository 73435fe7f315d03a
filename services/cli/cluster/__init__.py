"""`alpr up --cluster`: the production shape on one machine — three NATS servers in one JetStream cluster with
streams at replication 3, two replicas of gateway, records and audit behind their own ports, one recognizer
and one sharing, and the gateway's documented port spread over its replicas as a Kubernetes Service spreads it.
"""
