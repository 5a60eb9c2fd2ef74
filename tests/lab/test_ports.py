"""The lab chooses its edges' ports so that nginx (TCP) and the HTTP/3 front (UDP, same number) can both bind."""
import socket

from edgeverify.lab import lab


class _Held:
    """Stands for a TCP socket the kernel bound to `port` (no TCP bind to a fixed number: another test may hold it)."""

    def __init__(self, port):
        self.port, self.closed = port, False

    def close(self):
        self.closed = True


def test_a_port_taken_over_udp_is_not_chosen_for_https(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        real = lab._bind_any
        handed = [real(), (_Held(busy), busy)]  # http: any free port; https: the UDP-busy number first
        sockets = [h[0] for h in handed]

        def bind_any():
            if handed:
                return handed.pop(0)
            s, port = real()
            sockets.append(s)
            return s, port

        monkeypatch.setattr(lab, "_bind_any", bind_any)
        http_port, https_port = lab._free_ports(2, udp_too=True)
        assert https_port != busy and http_port != https_port
        assert lab._udp_free(https_port)
        # every socket held while choosing is released once the ports are chosen (the fake one included)
        assert all(getattr(s, "closed", None) or s.fileno() == -1 for s in sockets)


def test_without_udp_the_first_two_ports_are_taken(monkeypatch):
    handed = [(_Held(41000), 41000), (_Held(41001), 41001)]
    monkeypatch.setattr(lab, "_bind_any", lambda: handed.pop(0))
    assert lab._free_ports(2) == [41000, 41001]


def test_udp_free_sees_a_bound_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        assert not lab._udp_free(s.getsockname()[1])
