# TCP over loopback in one process (bind, listen, getsockname, connect, accept, send, recv,
# getpeername, getsockopt) and UDP (sendto, recvfrom): the socket calls whose lengths travel
# through pointers.
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
port = s.getsockname()[1]
c = socket.socket(); c.connect(("127.0.0.1", port))
a, peer = s.accept()
c.sendall(b"hello over tcp")
print(a.recv(100), peer[0], a.getsockname()[0], c.getpeername()[0], s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u2.sendto(b"dgram", udp.getsockname())
data, addr = udp.recvfrom(100); print(data, addr[0])
