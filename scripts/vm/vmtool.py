#!/usr/bin/env python3
"""Host-side helpers for scripts/test-vm.sh, standard library only.

  vmtool.py vmlinux BZIMAGE OUT     write the ELF kernel found xz-compressed inside BZIMAGE
  vmtool.py cpio DIR OUT [NODE...]  write DIR as a newc initramfs; NODE = path:c|b:major:minor:mode
  vmtool.py is-static FILE          exit 0 when FILE is an ELF without a program interpreter
"""
import lzma
import os
import stat
import struct
import sys

XZ_MAGIC = b"\xfd7zXZ\x00"


def die(msg):
    sys.exit(f"vmtool: {msg}")


def extract_vmlinux(bzimage, out):
    """Debian's bzImage carries the kernel as one xz stream after the real-mode setup code and
    the decompressor; its payload is the ELF vmlinux. qemu boots that ELF directly via PVH,
    which skips the in-guest decompression that costs seconds under TCG."""
    with open(bzimage, "rb") as f:
        data = f.read()
    start = data.find(XZ_MAGIC)
    while start >= 0:
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        try:
            # Whatever follows the stream (the decompressor's tail, padding) lands in unused_data.
            elf = dec.decompress(data[start:])
        except lzma.LZMAError:
            elf = b""
        if dec.eof and elf[:4] == b"\x7fELF":
            if not has_pvh_note(elf):
                die(f"{bzimage}: its ELF kernel has no PVH entry note, qemu cannot boot it directly")
            tmp = out + ".tmp"
            with open(tmp, "wb") as f:
                f.write(elf)
            os.replace(tmp, out)
            return
        start = data.find(XZ_MAGIC, start + 1)
    die(f"{bzimage}: no xz stream holding an ELF kernel found (kernel compressed otherwise?)")


def has_pvh_note(elf):
    """qemu boots an ELF kernel only through the Xen PVH entry (note "Xen", type 18)."""
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    PT_NOTE, XEN_ELFNOTE_PHYS32_ENTRY = 4, 18
    for i in range(phnum):
        ptype, _flags, off, _vaddr, _paddr, size = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if ptype != PT_NOTE:
            continue
        pos, end = off, off + size
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12 : pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def newc_entry(out, name, ino, mode, nlink, mtime, body, rdev=(0, 0)):
    name_b = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, nlink, mtime, len(body), 0, 0, rdev[0], rdev[1], len(name_b), 0)
    out.write(b"070701" + b"".join(b"%08X" % v for v in fields))
    out.write(name_b)
    out.write(b"\0" * (-(110 + len(name_b)) % 4))
    out.write(body)
    out.write(b"\0" * (-len(body) % 4))


def write_cpio(root, out_path, nodes):
    """Everything is owned by root in the archive, whoever builds it; the guest chowns what
    its unprivileged user needs. Hard links keep one body (on the first name): the kernel's
    unpacker links later names to it."""
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames) + sorted(filenames):
            paths.append(os.path.join(dirpath, n))
    links = {}
    for p in paths:
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            links.setdefault((st.st_dev, st.st_ino), []).append(p)
    next_ino = 1
    inos = {}
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as out:
        for p in paths:
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            nlink, body = 1, b""
            key = (st.st_dev, st.st_ino)
            if key in inos:
                ino = inos[key]
            else:
                ino = inos[key] = next_ino
                next_ino += 1
            if stat.S_ISREG(st.st_mode):
                group = links.get(key)
                if group:
                    nlink = len(group)
                if not group or group[0] == p:
                    with open(p, "rb") as f:
                        body = f.read()
            elif stat.S_ISLNK(st.st_mode):
                body = os.readlink(p).encode()
            elif stat.S_ISDIR(st.st_mode):
                nlink = 2
            else:
                die(f"{p}: unsupported file type for the initramfs (mode {st.st_mode:o})")
            newc_entry(out, rel, ino, st.st_mode, nlink, int(st.st_mtime), body)
        for spec in nodes:
            try:
                path, kind, major, minor, perm = spec.split(":")
                ftype = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[kind]
                mode = ftype | int(perm, 8)
                rdev = (int(major), int(minor))
            except (ValueError, KeyError):
                die(f"bad node spec {spec!r}, want path:c|b:major:minor:mode")
            newc_entry(out, path.lstrip("/"), next_ino, mode, 1, 0, b"", rdev)
            next_ino += 1
        newc_entry(out, "TRAILER!!!", 0, 0, 1, 0, b"")
    os.replace(tmp, out_path)


def is_static(path):
    """ELF64 or ELF32 (armv7), little-endian: no PT_INTERP program header."""
    with open(path, "rb") as f:
        hdr = f.read(64)
        if hdr[:4] != b"\x7fELF" or hdr[4] not in (1, 2) or hdr[5] != 1:
            return False
        if hdr[4] == 2:
            phoff, = struct.unpack_from("<Q", hdr, 32)
            phentsize, phnum = struct.unpack_from("<HH", hdr, 54)
        else:
            phoff, = struct.unpack_from("<I", hdr, 28)
            phentsize, phnum = struct.unpack_from("<HH", hdr, 42)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    PT_INTERP = 3
    return all(struct.unpack_from("<I", ph, i * phentsize)[0] != PT_INTERP for i in range(phnum))


def main(argv):
    if len(argv) == 4 and argv[1] == "vmlinux":
        extract_vmlinux(argv[2], argv[3])
    elif len(argv) >= 4 and argv[1] == "cpio":
        write_cpio(argv[2], argv[3], argv[4:])
    elif len(argv) == 3 and argv[1] == "is-static":
        sys.exit(0 if is_static(argv[2]) else 1)
    else:
        die(__doc__)


if __name__ == "__main__":
    main(sys.argv)
