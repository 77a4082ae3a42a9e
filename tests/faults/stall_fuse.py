#!/usr/bin/env python3
"""Mounts a FUSE filesystem that never answers, then holds /dev/fuse open.

usage: stall_fuse.py MOUNTPOINT [file|dir]

The kernel queues every request (INIT first) on the descriptor and waits
for a reply that never comes, so stat/statfs/access/open on the mount block
in the kernel: a stalled FUSE mount, with no FUSE library. Run it in a
private mount namespace and kill it to end the stall.
"""
import ctypes
import os
import sys
import time

target, kind = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "dir")
fd = os.open("/dev/fuse", os.O_RDWR)
rootmode = "40000" if kind == "dir" else "100000"
opts = f"fd={fd},rootmode={rootmode},user_id=0,group_id=0,allow_other"
# mount(2) itself: mount(8) would hand "fuse" to a mount.fuse helper.
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"stall", target.encode(), b"fuse", 0, opts.encode()) != 0:
    sys.exit(f"mount fuse on {target}: {os.strerror(ctypes.get_errno())}")
print("stalled", flush=True)
while True:
    time.sleep(3600)
