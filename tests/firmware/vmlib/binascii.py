"""``binascii`` as the ESP32 port's C module behaves: any buffer, ``str`` included.

The WebAssembly port freezes a pure-Python binascii whose ``a2b_base64`` rejects ``str``;
the board's C module reads a ``str`` through the buffer protocol, and aioble's
``security.load_secrets`` relies on it (it decodes the JSON strings it saved).
"""

_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _buf(data):
    return data.encode() if isinstance(data, str) else bytes(data)


def hexlify(data, sep=None):
    h = "".join(f"{b:02x}" for b in _buf(data))
    if sep:
        s = sep.decode() if isinstance(sep, bytes) else sep
        h = s.join(h[i : i + 2] for i in range(0, len(h), 2))
    return h.encode()


def unhexlify(data):
    s = _buf(data)
    if len(s) % 2:
        raise ValueError("odd-length string")
    return bytes(int(s[i : i + 2], 16) for i in range(0, len(s), 2))


def b2a_base64(data, newline=True):
    b = _buf(data)
    out = bytearray()
    for i in range(0, len(b), 3):
        chunk = b[i : i + 3]
        n = int.from_bytes(chunk + b"\0" * (3 - len(chunk)), "big")
        quad = bytes(_B64[(n >> s) & 63] for s in (18, 12, 6, 0))
        out += quad[: len(chunk) + 1] + b"=" * (3 - len(chunk))
    if newline:
        out += b"\n"
    return bytes(out)


def a2b_base64(data):
    s = bytes(c for c in _buf(data) if c in _B64)
    out = bytearray()
    for i in range(0, len(s), 4):
        quad = s[i : i + 4]
        n = 0
        for c in quad:
            n = (n << 6) | _B64.index(c)
        n <<= 6 * (4 - len(quad))
        out += n.to_bytes(3, "big")[: max(0, len(quad) - 1)]
    return bytes(out)
