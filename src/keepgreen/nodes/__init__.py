"""The node pool: short-lived build nodes, the providers they come from, leak cleanup.

``model`` and ``leaks`` are the pure vocabulary and rules; ``local`` is the embedded
provider that makes isolated nodes on this machine from Linux namespaces.
"""
