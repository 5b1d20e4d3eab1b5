"""piclient: a TV box for an elderly parent, looked after from far away.

Importing this package touches no hardware and no network: everything that does is built in
``main`` functions and passed in.
"""

__version__ = "0.1.0"
