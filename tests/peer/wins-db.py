#!/usr/bin/python3
"""List the records of an nmbd WINS database (state/wins.tdb).

usage: wins-db.py [--json] [--name NAME[#TT]] WINS_TDB

nmbd keeps the WINS version ID only in wins.tdb, so this is how tests observe
it. The file can be read while nmbd runs.

Default output: one record per line, tab-separated, no header:

    name  type  version  state  rtype  nb_flags  owner  ips

  name      upper-case NetBIOS name without padding; bytes outside printable
            ASCII, and the backslash, are written as \\xHH
  type      name type (suffix byte), two hex digits
  version   version ID, (id_high << 32) | id_low, decimal
  state     ACTIVE, RELEASED, TOMBSTONED or DELETED
  rtype     UNIQUE, NGROUP, SGROUP or MHOMED
  nb_flags  NB flags word, four hex digits
  owner     IPv4 address of the owning WINS server
  ips       comma-separated IPv4 addresses ("-" when there are none)

--json prints the same records as a JSON list.

Record layout (Samba source3/nmbd/nmbd_winsserver.c):
  key   65 bytes: the name, NUL-padded to 64 bytes, then the type byte
  value tdb_pack "wbddddddd", little-endian: u16 nb_flags, u8 source,
        u32 death_time, u32 refresh_time, u32 id_low, u32 id_high,
        u32 owner (network byte order in memory), u32 wins_flags,
        u32 ip count, then that many 4-byte IPv4 addresses.
  wins_flags: bits 0-1 record type, bits 2-3 state, 0x80 static.
Other keys (such as the database version marker) are skipped.

Reads the file with the tdb module (Debian: python3-tdb, installed for
/usr/bin/python3) and otherwise parses the output of `tdbdump` (tdb-tools).
"""

import json
import os
import socket
import struct
import subprocess
import sys

KEY_LEN = 65
HEADER = struct.Struct("<HBIIIIIII")
RECORD_TYPES = ("UNIQUE", "NGROUP", "SGROUP", "MHOMED")
STATES = ("ACTIVE", "RELEASED", "TOMBSTONED", "DELETED")


def pairs_from_module(path):
    import tdb

    db = tdb.Tdb(path, 0, tdb.DEFAULT, os.O_RDONLY)
    try:
        return [(bytes(k), bytes(db[k])) for k in db.keys()]
    finally:
        db.close()


def tdbdump_string(text):
    """Decode one quoted tdbdump string: every byte that is not printable, a
    quote or a backslash is written as a backslash and two hex digits."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "\\":
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(text[i]))
            i += 1
    return bytes(out)


def pairs_from_tdbdump(path):
    dump = subprocess.run(["tdbdump", path], check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE).stdout.decode("latin-1")
    pairs = []
    key = None
    for line in dump.splitlines():
        for label in ("key(", "data("):
            if line.startswith(label):
                size = int(line[len(label):line.index(")")])
                value = tdbdump_string(line[line.index('"') + 1:line.rindex('"')])
                if len(value) != size:
                    raise ValueError("tdbdump: length mismatch in %r" % line)
                if label == "key(":
                    key = value
                else:
                    pairs.append((key, value))
    return pairs


def read_pairs(path):
    try:
        return pairs_from_module(path)
    except ImportError:
        return pairs_from_tdbdump(path)


def ipv4(raw):
    return socket.inet_ntoa(raw)


def decode(key, value):
    if len(key) != KEY_LEN or len(value) < HEADER.size:
        return None
    (nb_flags, _source, _death, _refresh, id_low, id_high, owner, wins_flags,
     count) = HEADER.unpack_from(value)
    if len(value) < HEADER.size + 4 * count:
        return None
    ips = [ipv4(value[HEADER.size + 4 * i:HEADER.size + 4 * i + 4]) for i in range(count)]
    return {
        "name": key[:64].split(b"\0", 1)[0].rstrip(b" "),
        "type": key[64],
        "version": (id_high << 32) | id_low,
        "state": STATES[(wins_flags >> 2) & 3],
        "rtype": RECORD_TYPES[wins_flags & 3],
        "nb_flags": nb_flags,
        "owner": ipv4(struct.pack("<I", owner)),
        "ips": ips,
    }


def escape_name(raw):
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else "\\x%02X" % b for b in raw)


def main(args):
    as_json = False
    wanted = None
    paths = []
    while args:
        arg = args.pop(0)
        if arg == "--json":
            as_json = True
        elif arg == "--name":
            spec = args.pop(0).upper()
            name, _, suffix = spec.partition("#")
            wanted = (name.encode("latin-1"), int(suffix or "00", 16))
        else:
            paths.append(arg)
    if len(paths) != 1:
        sys.stderr.write(__doc__)
        return 2
    records = [r for r in (decode(k, v) for k, v in read_pairs(paths[0])) if r]
    if wanted:
        records = [r for r in records if (r["name"], r["type"]) == wanted]
    records.sort(key=lambda r: (r["name"], r["type"]))
    if as_json:
        for r in records:
            r["name"] = escape_name(r["name"])
        print(json.dumps(records, indent=1))
        return 0
    for r in records:
        print("\t".join([
            escape_name(r["name"]), "%02x" % r["type"], str(r["version"]), r["state"],
            r["rtype"], "%04x" % r["nb_flags"], r["owner"], ",".join(r["ips"]) or "-",
        ]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
