"""The lab chooses its edges' ports so that nginx (TCP) and the HTTP/3 front (UDP, same number) can both bind."""
import socket

from edgeverify.lab import lab


def test_a_port_taken_over_udp_is_not_chosen_for_https(monkeypatch):
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    busy = taken.getsockname()[1]
    real_bind = socket.socket.bind
    handed = iter([0, busy])  # http: any; https: the UDP-busy number first

    def bind(self, address):
        if self.type == socket.SOCK_STREAM and address == ("127.0.0.1", 0):
            nxt = next(handed, 0)
            return real_bind(self, ("127.0.0.1", nxt))
        return real_bind(self, address)

    monkeypatch.setattr(socket.socket, "bind", bind)
    try:
        http_port, https_port = lab._free_ports(2, udp_too=True)
    finally:
        taken.close()
    assert https_port != busy and http_port != https_port
    assert lab._udp_free(https_port)


def test_udp_free_sees_a_bound_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        assert not lab._udp_free(s.getsockname()[1])
