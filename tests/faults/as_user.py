#!/usr/bin/env python3
"""Runs a command as another uid/gid with no supplementary groups.

usage: python3 -S as_user.py UID GID CMD [ARG...]

setpriv (util-linux) reads /etc/passwd through NSS even for numeric ids,
so it blocks forever when /etc/passwd is a FIFO, the very fault under test;
this drops privileges with plain system calls and reads no file.
"""
import os
import sys

uid, gid = int(sys.argv[1]), int(sys.argv[2])
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
os.execvp(sys.argv[3], sys.argv[3:])
