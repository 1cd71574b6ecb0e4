"""Engineer-side readiness: the AWS VPN client needs TCP 35001 on 127.0.0.1 for the SAML reply.

The browser posts the SAML response to http://127.0.0.1:35001 after sign-in; if another program
holds that port, the client reports "no available ports". We test by binding 127.0.0.1 only,
never all interfaces, and release the socket at once.
"""

from __future__ import annotations

import errno
import socket

VPN_PORT = 35001


def port_free(port: int = VPN_PORT) -> tuple[bool, str]:
    """Bind to 127.0.0.1 only (never all interfaces) to see whether the AWS client can."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return False, f"127.0.0.1:{port} is in use by another program"
        return False, f"cannot bind 127.0.0.1:{port}: {exc.strerror}"
    finally:
        sock.close()
    return True, f"127.0.0.1:{port} is free"
