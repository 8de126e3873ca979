"""CTF (Compact C Type Format) linking as GNU ld's libctf ``ctf_link`` does it.

``format`` reads v3 dictionaries and CTF archives, ``dedup`` merges the types of
every compilation unit, ``write`` serializes dictionaries and archives, ``link``
is the pass that drives them, ``early`` the look at the command line that starts
the merge before the link itself.  Links without ``.ctf`` import only ``early``.
"""
