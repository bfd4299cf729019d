"""TAXII 2.1 over the node's cyber notifications: the object index, reading and writing.

``index`` keeps ``taxii_objects`` in step with the bodies the node stores; ``reading`` lists
collections and objects for a principal; ``writing`` turns a TAXII envelope into one cyber
notification. The edge is ``parley.api.taxii_routes``.
"""
