"""`piclient agent`: everything the box says to the maintainer's server, and what it does when asked.

Start-up and teardown live in ``main``; the parts are small modules named for what they hold:
``transport`` (the one HTTP seam), ``spool`` (store and forward), ``uplink`` (drains the spool),
``heartbeat``, ``screenshots``, ``live``, ``channel`` (the command poll held open at all times),
``commands`` (at-most-once runner) and ``actions`` (what
each command does), ``logupload``, ``catalog`` and ``progress`` (sync, timed by ``schedule``),
``tvlink`` (the launcher's control socket), ``system`` (health probes) and ``loops`` (threads).
"""
