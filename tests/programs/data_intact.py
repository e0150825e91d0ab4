#!/usr/bin/env python3
"""data_intact.py LIBRARY... -- loads each shared library into this (python3) process with
ctypes and checks that the bytes of its non-code sections that share an executable segment
with its code (.rodata, .eh_frame, .dynsym, .gnu.hash... of a file linked without separate code
pages, such as libLLVM) are in memory exactly as in the file.  Run under the library with
INTERCEPT_ALL_OBJS=1 it shows whether the patcher took data bytes 0f 05 for syscall sites and
wrote jumps over them.  Prints the differing sections; exit 1 on any difference, 77 when no
given library exists.  It only reads memory and files.
"""
import ctypes
import os
import struct
import sys

SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
PT_LOAD, PF_X = 1, 1


def sections_in_exec_segments(data):
    """(name, vaddr, offset, size) of non-code SHF_ALLOC sections inside executable PT_LOADs."""
    (phoff, shoff) = struct.unpack_from('<QQ', data, 0x20)
    (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from('<HHHHH', data, 0x36)
    segs = []
    for i in range(phnum):
        p_type, p_flags, p_off, p_vaddr, _, p_filesz, _, _ = struct.unpack_from(
            '<IIQQQQQQ', data, phoff + i * phentsize)
        if p_type == PT_LOAD and p_flags & PF_X:
            segs.append((p_vaddr, p_filesz))
    shdrs = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize) for i in range(shnum)]
    strtab_off = shdrs[shstrndx][4]
    out = []
    for name_off, sh_type, flags, addr, off, size, *_ in shdrs:
        if not flags & SHF_ALLOC or flags & SHF_EXECINSTR or sh_type == 8 or size == 0:
            continue                              # 8: SHT_NOBITS
        if not any(v <= addr and addr + size <= v + n for v, n in segs):
            continue
        end = data.index(b'\0', strtab_off + name_off)
        out.append((data[strtab_off + name_off:end].decode(), addr, off, size))
    return out


def load_base(path):
    real = os.path.realpath(path)
    with open('/proc/self/maps') as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and os.path.realpath(parts[5]) == real and int(parts[2], 16) == 0:
                return int(parts[0].split('-')[0], 16)
    return None


def main(paths):
    present = [p for p in paths if os.path.exists(p)]
    if not present:
        print('SKIP: none of the libraries exists:', ' '.join(paths))
        return 77
    failed = False
    for path in present:
        ctypes.CDLL(path, mode=os.RTLD_LAZY | ctypes.RTLD_LOCAL)
        base = load_base(path)
        if base is None:
            print(f'FAIL: {path}: not found in /proc/self/maps after loading')
            failed = True
            continue
        with open(path, 'rb') as f:
            data = f.read()
        secs = sections_in_exec_segments(data)
        bad = 0
        for name, addr, off, size in secs:
            mem = ctypes.string_at(base + addr, size)
            if mem != data[off:off + size]:
                diffs = sum(1 for a, b in zip(mem, data[off:off + size]) if a != b)
                print(f'FAIL: {path}: section {name} differs from the file in {diffs} bytes')
                bad += 1
        print(f'{path}: {len(secs)} non-code sections in executable segments, {bad} changed')
        failed |= bad > 0
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
