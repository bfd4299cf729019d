"""The officer and tool API, ``/api/v1``: REST over the node's services (docs/api.md)."""
