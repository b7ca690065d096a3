"""A small OpenStack cloud over HTTP on a loopback port, for openstacksdk to talk to unmodified.

It answers the calls the OpenStack provider makes, in the shapes the real services use:
Keystone v3 (version discovery, password tokens with a service catalog), Nova (version
discovery with microversions, servers, flavors, limits, keypairs), Glance v2 (images) and
Neutron v2.0 (networks, ports, floating IPs). Errors have each service's own body shape, so
the sdk reads the message out of them as it would from a real cloud.

A server's fixed address is ``fixed_address`` (by default 127.0.0.1, where the test runs a
real sshd) and a floating IP's is ``floating_address``; a floating-IP test makes the fixed
address one nobody connects to, so only the floating one reaches the sshd. ``mode`` says
what a new server does: ``active`` (BUILD, then ACTIVE on the next read), ``build`` (stays
BUILD) or ``error`` (goes to ERROR with ``fault``).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PROJECT = "f1e2d3c4b5a697887766554433221100"
USER = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
TOKEN = "gAAAAAfake-token"
NOVA_MAX = "2.96"
UPDATED = "2024-01-01T00:00:00Z"
UNREACHABLE = "10.255.0.5"  # a fixed address no test connects to


@dataclass
class Cloud:
    """The cloud's state; tests read and change it directly."""

    fixed_address: str = "127.0.0.1"
    floating_address: str = "127.0.0.1"
    mode: str = "active"
    console: str = "[    0.000000] Linux version 6.1.0\ncloud-init: no route to metadata\n"
    errors_next: int = 0  # how many of the next servers go to ERROR whatever the mode
    fault: str = "No valid host was found. There are not enough hosts available."
    limits: dict[str, int] = field(default_factory=lambda: {
        "maxTotalInstances": 10, "maxTotalCores": 20, "maxTotalRAMSize": 51200})
    flavors: list[dict[str, Any]] = field(default_factory=lambda: [
        _flavor("1", "m1.small", 2048, 1), _flavor("2", "m1.medium", 4096, 2),
        _flavor("3", "m1.large", 8192, 4)])
    images: list[dict[str, Any]] = field(default_factory=lambda: [
        _image("debian-12-generic")])
    networks: list[dict[str, Any]] = field(default_factory=lambda: [
        _network("private", external=False), _network("storage", external=False),
        _network("public", external=True)])
    keypairs: dict[str, str] = field(default_factory=lambda: {"keepgreen": "ssh-ed25519 A"})
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    ports: dict[str, dict[str, Any]] = field(default_factory=dict)
    floating_ips: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # "METHOD /path" of each request
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_server(self, name: str, metadata: dict[str, str]) -> str:
        """A server made by someone else (another site, or a crashed launcher)."""
        with self.lock:
            return self._new_server({"name": name, "metadata": metadata,
                                     "imageRef": self.images[0]["id"],
                                     "flavorRef": self.flavors[0]["id"]}, "ACTIVE")

    def _new_server(self, body: dict[str, Any], status: str) -> str:
        server_id = str(uuid.uuid4())
        flavor = next(f for f in self.flavors if f["id"] == body["flavorRef"])
        fixed = self.fixed_address
        port_id = str(uuid.uuid4())
        wanted = body.get("networks")
        asked = [n.get("uuid") for n in wanted] if isinstance(wanted, list) else []
        private = next(n for n in self.networks if (n["id"] in asked if asked
                                                    else not n["router:external"]))
        self.ports[port_id] = {"id": port_id, "device_id": server_id, "network_id":
                               private["id"], "device_owner": "compute:nova",
                               "fixed_ips": [{"ip_address": fixed}], "status": "ACTIVE",
                               "tenant_id": PROJECT, "project_id": PROJECT}
        self.servers[server_id] = {
            "id": server_id, "name": body["name"], "status": status,
            "metadata": dict(body.get("metadata") or {}), "key_name": body.get("key_name"),
            "tenant_id": PROJECT, "user_id": USER, "created": UPDATED, "updated": UPDATED,
            "image": {"id": body["imageRef"]},
            "flavor": {"original_name": flavor["name"], "ram": flavor["ram"],
                       "vcpus": flavor["vcpus"], "disk": flavor["disk"], "ephemeral": 0,
                       "swap": 0, "extra_specs": {}},
            "addresses": {private["name"]: [{"addr": fixed, "version": 4,
                                             "OS-EXT-IPS:type": "fixed"}]},
            "accessIPv4": "", "accessIPv6": "", "links": [], "OS-EXT-STS:vm_state":
                "building" if status == "BUILD" else "active",
            "OS-EXT-STS:task_state": None, "OS-EXT-STS:power_state": 0, "progress": 0,
            "tags": [], "locked": False, "config_drive": "", "hostId": "",
            "security_groups": [{"name": "default"}]}
        return server_id

    def used(self) -> dict[str, int]:
        ram = sum(s["flavor"]["ram"] for s in self.servers.values())
        cores = sum(s["flavor"]["vcpus"] for s in self.servers.values())
        return {"totalInstancesUsed": len(self.servers), "totalCoresUsed": cores,
                "totalRAMUsed": ram}


def _flavor(flavor_id: str, name: str, ram: int, vcpus: int) -> dict[str, Any]:
    return {"id": flavor_id, "name": name, "ram": ram, "vcpus": vcpus, "disk": 20,
            "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": False, "swap": 0,
            "rxtx_factor": 1.0, "os-flavor-access:is_public": True, "description": None,
            "extra_specs": {}, "links": []}


def _image(name: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "name": name, "status": "active",
            "visibility": "public", "disk_format": "qcow2", "container_format": "bare",
            "min_disk": 0, "min_ram": 0, "size": 1 << 30, "owner": PROJECT,
            "protected": False, "tags": [], "created_at": UPDATED, "updated_at": UPDATED,
            "self": "", "file": "", "schema": "/v2/schemas/image"}


def _network(name: str, *, external: bool) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "name": name, "status": "ACTIVE",
            "router:external": external, "admin_state_up": True, "shared": external,
            "subnets": [], "tenant_id": PROJECT, "project_id": PROJECT, "mtu": 1450,
            "description": "", "tags": []}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        cloud = self.server.cloud
        with cloud.lock:
            cloud.calls.append(f"{method} {split.path}")
            if split.path.startswith("/identity") or self.headers.get("X-Auth-Token") == TOKEN:
                status, payload, headers = _route(self, method, split.path.rstrip("/"),
                                                  query, body)
            else:
                status, payload, headers = 401, {"error": {
                    "code": 401, "title": "Unauthorized",
                    "message": "The request you have made requires authentication."}}, {}
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    cloud: Cloud


Reply = tuple[int, Any, dict[str, str]]


def _route(handler: _Handler, method: str, path: str, query: dict[str, str],
           body: dict[str, Any]) -> Reply:
    base = f"http://127.0.0.1:{handler.server.server_address[1]}"
    cloud = handler.server.cloud
    for prefix, service in (("/identity", _identity), ("/compute", _compute),
                            ("/image", _glance), ("/network", _neutron)):
        if path == prefix or path.startswith(prefix + "/"):
            return service(cloud, base, handler, method, path[len(prefix):], query, body)
    return 404, {"error": {"code": 404, "message": f"no service at {path}"}}, {}


def _version(id_: str, href: str, **extra: str) -> dict[str, Any]:
    return {"id": id_, "status": "CURRENT", "updated": UPDATED,
            "links": [{"rel": "self", "href": href}], **extra}


def _identity(cloud: Cloud, base: str, handler: _Handler, method: str, path: str,
              query: dict[str, str], body: dict[str, Any]) -> Reply:
    v3 = _version("v3.14", f"{base}/identity/v3/")
    v3["status"] = "stable"
    v3["media-types"] = [{"base": "application/json",
                          "type": "application/vnd.openstack.identity-v3+json"}]
    if method == "GET" and path == "":
        return 300, {"versions": {"values": [v3]}}, {}
    if method == "GET" and path == "/v3":
        return 200, {"version": v3}, {}
    if method == "POST" and path == "/v3/auth/tokens":
        password = body.get("auth", {}).get("identity", {}).get("password", {})
        if password.get("user", {}).get("password") != "secret":
            return 401, {"error": {"code": 401, "title": "Unauthorized",
                                   "message": "The request you have made requires "
                                              "authentication."}}, {}
        return 201, {"token": _token(base)}, {"X-Subject-Token": TOKEN}
    return 404, {"error": {"code": 404, "title": "Not Found",
                           "message": f"Could not find {path}."}}, {}


def _token(base: str) -> dict[str, Any]:
    domain = {"id": "default", "name": "Default"}

    def entry(kind: str, name: str, url: str) -> dict[str, Any]:
        return {"type": kind, "name": name, "id": uuid.uuid4().hex, "endpoints": [
            {"id": uuid.uuid4().hex, "interface": "public", "region": "RegionOne",
             "region_id": "RegionOne", "url": url}]}

    return {"methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
            "issued_at": UPDATED, "audit_ids": ["fake"],
            "user": {"id": USER, "name": "ci", "domain": domain, "password_expires_at": None},
            "project": {"id": PROJECT, "name": "ci", "domain": domain},
            "roles": [{"id": uuid.uuid4().hex, "name": "member"}],
            "catalog": [entry("identity", "keystone", f"{base}/identity"),
                        entry("compute", "nova", f"{base}/compute/v2.1"),
                        entry("image", "glance", f"{base}/image"),
                        entry("network", "neutron", f"{base}/network")]}


def _nova_error(status: int, message: str) -> Reply:
    kind = {400: "badRequest", 403: "forbidden", 404: "itemNotFound"}.get(status, "computeFault")
    return status, {kind: {"code": status, "message": message}}, {}


def _compute(cloud: Cloud, base: str, handler: _Handler, method: str, path: str,
             query: dict[str, str], body: dict[str, Any]) -> Reply:
    v21 = _version("v2.1", f"{base}/compute/v2.1/", version=NOVA_MAX, min_version="2.1")
    if path == "":
        return 200, {"versions": [v21]}, {}
    if not path.startswith("/v2.1"):
        return _nova_error(404, "Not found")
    path = path[len("/v2.1"):]
    wanted = handler.headers.get("OpenStack-API-Version", "compute 2.1").split()[-1]
    microversion = tuple(int(n) for n in wanted.split("."))
    if path == "":
        return 200, {"version": v21}, {}
    if method == "GET" and path == "/limits":
        absolute = {"maxServerMeta": 128, "maxTotalKeypairs": 100, "maxServerGroups": 10,
                    "maxServerGroupMembers": 10, **cloud.limits, **cloud.used()}
        return 200, {"limits": {"absolute": absolute, "rate": []}}, {}
    if method == "GET" and path in ("/flavors", "/flavors/detail"):
        return 200, {"flavors": cloud.flavors}, {}
    if found := re.fullmatch(r"/flavors/([^/]+)", path):
        flavor = next((f for f in cloud.flavors if f["id"] == found.group(1)), None)
        if flavor is None:
            return _nova_error(404, f"Flavor {found.group(1)} could not be found.")
        return 200, {"flavor": flavor}, {}
    if found := re.fullmatch(r"/os-keypairs/([^/]+)", path):
        if found.group(1) not in cloud.keypairs:
            return _nova_error(404, f"Keypair {found.group(1)} not found for user {USER}")
        return 200, {"keypair": {"name": found.group(1), "type": "ssh",
                                 "public_key": cloud.keypairs[found.group(1)]}}, {}
    if method == "GET" and path == "/os-keypairs":
        return 200, {"keypairs": [{"keypair": {"name": n, "type": "ssh", "public_key": k}}
                                  for n, k in cloud.keypairs.items()]}, {}
    if method == "POST" and path == "/servers":
        return _create_server(cloud, body.get("server") or {}, microversion)
    if method == "GET" and path in ("/servers", "/servers/detail"):
        return 200, {"servers": [_shown(cloud, s) for s in cloud.servers.values()]}, {}
    if found := re.fullmatch(r"/servers/([^/]+)/action", path):
        if found.group(1) not in cloud.servers:
            return _nova_error(404, f"Instance {found.group(1)} could not be found.")
        if "os-getConsoleOutput" in body:
            length = (body["os-getConsoleOutput"] or {}).get("length")
            lines = cloud.console.splitlines(keepends=True)
            return 200, {"output": "".join(lines[-int(length):] if length else lines)}, {}
        return _nova_error(400, "There is no such action")
    if found := re.fullmatch(r"/servers/([^/]+)", path):
        server_id = found.group(1)
        if server_id not in cloud.servers:
            return _nova_error(404, f"Instance {server_id} could not be found.")
        if method == "DELETE":
            del cloud.servers[server_id]
            for port_id in [p for p, port in cloud.ports.items()
                            if port["device_id"] == server_id]:
                del cloud.ports[port_id]
                for ip in cloud.floating_ips.values():
                    if ip["port_id"] == port_id:  # neutron disassociates, keeps the IP
                        ip.update(port_id=None, fixed_ip_address=None, status="DOWN")
            return 204, None, {}
        server = cloud.servers[server_id]
        failing = server["status"] == "BUILD" and cloud.errors_next > 0
        if failing:
            cloud.errors_next -= 1
        if server["status"] == "BUILD" and cloud.mode == "active" and not failing:
            server.update({"status": "ACTIVE", "OS-EXT-STS:vm_state": "active"})
        elif server["status"] == "BUILD" and (cloud.mode == "error" or failing):
            server.update({"status": "ERROR", "OS-EXT-STS:vm_state": "error",
                           "fault": {"code": 500, "created": UPDATED,
                                     "message": cloud.fault}})
        return 200, {"server": _shown(cloud, server)}, {}
    return _nova_error(404, f"The resource could not be found: {path}")


def _create_server(cloud: Cloud, server: dict[str, Any], microversion: tuple[int, ...]
                   ) -> Reply:
    if "networks" not in server and microversion >= (2, 37):
        return _nova_error(400, "Invalid input for field/attribute server. Value: ... "
                                "'networks' is a required property")
    networks = server.get("networks")
    if isinstance(networks, list):
        for wanted in networks:
            if not any(n["id"] == wanted.get("uuid") for n in cloud.networks):
                return _nova_error(400, f"Network {wanted.get('uuid')} could not be found.")
    elif networks not in (None, "auto", "none"):
        return _nova_error(400, "Invalid input for field/attribute networks.")
    if not any(i["id"] == server.get("imageRef") for i in cloud.images):
        return _nova_error(400, f"Can not find requested image {server.get('imageRef')}")
    if not any(f["id"] == server.get("flavorRef") for f in cloud.flavors):
        return _nova_error(400, f"Flavor {server.get('flavorRef')} could not be found.")
    key_name = server.get("key_name")
    if key_name and key_name not in cloud.keypairs:
        return _nova_error(400, "Invalid key_name provided.")
    used = cloud.used()
    if used["totalInstancesUsed"] >= cloud.limits["maxTotalInstances"]:
        return _nova_error(403, "Quota exceeded for instances: Requested 1, but already "
                                f"used {used['totalInstancesUsed']} of "
                                f"{cloud.limits['maxTotalInstances']} instances")
    server_id = cloud._new_server(server, "BUILD")
    return 202, {"server": {"id": server_id, "links": [], "adminPass": "x",
                            "OS-DCF:diskConfig": "MANUAL",
                            "security_groups": [{"name": "default"}]}}, {}


def _shown(cloud: Cloud, server: dict[str, Any]) -> dict[str, Any]:
    shown = dict(server)
    addresses = {name: list(entries) for name, entries in server["addresses"].items()}
    for ip in cloud.floating_ips.values():
        port = cloud.ports.get(ip["port_id"] or "")
        if port is not None and port["device_id"] == server["id"]:
            network = next(n["name"] for n in cloud.networks if n["id"] == port["network_id"])
            addresses[network].append({"addr": ip["floating_ip_address"], "version": 4,
                                       "OS-EXT-IPS:type": "floating"})
    shown["addresses"] = addresses
    return shown


def _glance(cloud: Cloud, base: str, handler: _Handler, method: str, path: str,
            query: dict[str, str], body: dict[str, Any]) -> Reply:
    v2 = _version("v2.15", f"{base}/image/v2/")
    if path == "":
        return 300, {"versions": [v2]}, {}
    if method == "GET" and path == "/v2/images":
        images = [i for i in cloud.images if query.get("name") in (None, i["name"])]
        return 200, {"images": images, "schema": "/v2/schemas/images",
                     "first": "/v2/images"}, {}
    if found := re.fullmatch(r"/v2/images/([^/]+)", path):
        image = next((i for i in cloud.images if i["id"] == found.group(1)), None)
        if image is None:
            return 404, {"code": 404, "title": "Not Found",
                         "message": f"No image found with ID {found.group(1)}"}, {}
        return 200, image, {}
    return 404, {"code": 404, "title": "Not Found", "message": "Not found"}, {}


def _neutron_error(status: int, kind: str, message: str) -> Reply:
    return status, {"NeutronError": {"type": kind, "message": message, "detail": ""}}, {}


def _matches(item: dict[str, Any], query: dict[str, str]) -> bool:
    for key, wanted in query.items():
        if key in ("fields", "limit", "marker", "sort_key", "sort_dir"):
            continue
        value = item.get(key)
        shown = str(value) if not isinstance(value, bool) else str(value)
        if shown.lower() != wanted.lower():
            return False
    return True


def _neutron(cloud: Cloud, base: str, handler: _Handler, method: str, path: str,
             query: dict[str, str], body: dict[str, Any]) -> Reply:
    if path == "":
        return 200, {"versions": [_version("v2.0", f"{base}/network/v2.0/")]}, {}
    if path == "/v2.0":
        return 200, {"resources": []}, {}
    if method == "GET" and path == "/v2.0/networks":
        return 200, {"networks": [n for n in cloud.networks if _matches(n, query)]}, {}
    if found := re.fullmatch(r"/v2.0/networks/([^/]+)", path):
        network = next((n for n in cloud.networks if n["id"] == found.group(1)), None)
        if network is None:
            return _neutron_error(404, "NetworkNotFound",
                                  f"Network {found.group(1)} could not be found.")
        return 200, {"network": network}, {}
    if method == "GET" and path == "/v2.0/ports":
        return 200, {"ports": [p for p in cloud.ports.values() if _matches(p, query)]}, {}
    if method == "GET" and path == "/v2.0/floatingips":
        return 200, {"floatingips": [ip for ip in cloud.floating_ips.values()
                                     if _matches(ip, query)]}, {}
    if method == "POST" and path == "/v2.0/floatingips":
        return _create_ip(cloud, body.get("floatingip") or {})
    if found := re.fullmatch(r"/v2.0/floatingips/([^/]+)", path):
        if found.group(1) not in cloud.floating_ips:
            return _neutron_error(404, "FloatingIPNotFound",
                                  f"Floating IP {found.group(1)} could not be found")
        if method == "DELETE":
            del cloud.floating_ips[found.group(1)]
            return 204, None, {}
        return 200, {"floatingip": cloud.floating_ips[found.group(1)]}, {}
    return _neutron_error(404, "HTTPNotFound", f"The resource could not be found: {path}")


def _create_ip(cloud: Cloud, wanted: dict[str, Any]) -> Reply:
    network = next((n for n in cloud.networks if n["id"] == wanted.get("floating_network_id")),
                   None)
    if network is None or not network["router:external"]:
        return _neutron_error(400, "BadRequest", "Bad floatingip request: network "
                                                 f"{wanted.get('floating_network_id')} is "
                                                 "not a valid external network.")
    port = cloud.ports.get(wanted.get("port_id") or "")
    ip_id = str(uuid.uuid4())
    cloud.floating_ips[ip_id] = {
        "id": ip_id, "floating_ip_address": cloud.floating_address,
        "floating_network_id": network["id"], "port_id": port["id"] if port else None,
        "fixed_ip_address": port["fixed_ips"][0]["ip_address"] if port else None,
        "status": "ACTIVE" if port else "DOWN", "router_id": None,
        "description": wanted.get("description", ""), "tenant_id": PROJECT,
        "project_id": PROJECT, "tags": [], "created_at": UPDATED, "updated_at": UPDATED}
    return 201, {"floatingip": cloud.floating_ips[ip_id]}, {}


@contextmanager
def serve(cloud: Cloud | None = None) -> Iterator[tuple[Cloud, str]]:
    """Run the cloud on a free loopback port; yields it and its Keystone URL."""
    state = cloud or Cloud()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.cloud = state
    # A short poll, so shutting down at the end of each test takes milliseconds, not 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,),
                              name="fake-openstack", daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/identity"
    finally:
        server.shutdown()
        server.server_close()


def clouds_yaml(name: str, auth_url: str) -> str:
    """A clouds.yaml entry for the fake, as a site would write one for its cloud."""
    return (f"clouds:\n  {name}:\n    auth:\n      auth_url: {auth_url}\n"
            "      username: ci\n      password: secret\n      project_name: ci\n"
            "      user_domain_name: Default\n      project_domain_name: Default\n"
            "    region_name: RegionOne\n    identity_api_version: 3\n")
