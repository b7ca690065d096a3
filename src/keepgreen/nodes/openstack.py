"""OpenStack clouds: one nova server per node, reached by ssh, deleted after its build.

A launch (``create``) follows Nodepool's OpenStack driver:

1. find the label's image and flavor by name, and check the project's compute limits
   (instances, cores, RAM) so a full quota is said plainly instead of failing in nova;
2. create the server with metadata tags: ``keepgreen_node_id``, ``keepgreen_provider`` and
   ``keepgreen_system_id`` (this site's id, kept in ``<site>/system-id``), so leak sweeps
   find every server this site made and never touch another site's on a shared cloud;
3. wait until it is ACTIVE (``launch-timeout``); ERROR ends the attempt with nova's fault;
4. attach a floating IP from the first external network if ``floating-ip`` is set;
5. wait until its sshd answers and its host key is read (``boot-timeout``), then check that
   the login key works.

A failed attempt deletes what it made and is retried up to ``launch-retries`` times, except
for problems no retry can fix (unknown image or flavor, exhausted quota). ``openstacksdk``
is imported only when a provider first talks to its cloud, so keepgreen runs without it.
"""

from __future__ import annotations

import importlib
import logging
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from keepgreen.domain.node import Node, NodeState, ResourceId
from keepgreen.nodes.leaks import plan_sweep
from keepgreen.nodes.openstack_config import CloudLabel

log = logging.getLogger(__name__)

NODE_TAG = "keepgreen_node_id"
PROVIDER_TAG = "keepgreen_provider"
SYSTEM_TAG = "keepgreen_system_id"
SYSTEM_ID_FILE = "system-id"
CONSOLE_LINES = 25  # of a server that never answered ssh, logged with the failure
MISSING_SDK = ("the openstack driver needs the openstacksdk package; install it with "
               "`pip install 'keepgreen[openstack]'`")


class OpenStackError(RuntimeError):
    """A launch or delete failed; the message says why, with the cloud's own words."""


class FinalError(OpenStackError):
    """A problem no retry fixes: unknown image or flavor, exhausted quota, bad cloud."""


class QuotaError(FinalError):
    """The project's compute limits leave no room for one more server of the flavor."""


def system_id(site: Path) -> str:
    """This site's id, made the first time: the tag that tells its servers from others'."""
    path = Path(site) / SYSTEM_ID_FILE
    if path.exists():
        found = path.read_text().strip()
        if found:
            return found
    path.parent.mkdir(parents=True, exist_ok=True)
    made = uuid.uuid4().hex
    partial = path.with_name(path.name + ".new")
    partial.write_text(made + "\n")
    partial.replace(path)
    return made


def sdk() -> Any:
    """The ``openstack`` package, or an ``OpenStackError`` naming what to install."""
    try:
        return importlib.import_module("openstack")
    except ImportError:
        raise OpenStackError(MISSING_SDK) from None


def connect(cloud: str, site: Path) -> Any:
    """A connection to ``cloud`` from clouds.yaml: ``<site>/clouds.yaml`` first, then the
    places openstacksdk always looks (``OS_CLIENT_CONFIG_FILE``, ``./clouds.yaml``,
    ``~/.config/openstack``, ``/etc/openstack``)."""
    openstack = sdk()
    loader = importlib.import_module("openstack.config.loader")
    files = [str(Path(site) / "clouds.yaml"), *loader.CONFIG_FILES]
    try:
        region = loader.OpenStackConfig(config_files=files).get_one(cloud=cloud)
    except openstack.exceptions.ConfigException as exc:
        raise FinalError(f"cloud {cloud!r} is not usable: {_said(exc)} (clouds.yaml is read "
                         f"from {Path(site) / 'clouds.yaml'} and openstacksdk's usual "
                         "places)") from None
    return openstack.connection.Connection(config=region)


class OpenStackProvider:
    """Nodes that are servers in one OpenStack project. Keeps the ``Provider`` port's
    contract; ``connection`` makes the cloud connection (``connect`` by default)."""

    def __init__(self, name: str, cloud: str, labels: Sequence[CloudLabel], *, site: Path,
                 state_dir: Path, max_servers: int = 10, launch_timeout: float = 3600,
                 boot_timeout: float = 60, launch_retries: int = 3,
                 networks: Sequence[str] = (), floating_ip: bool = False,
                 key_name: str = "", private_key: Path | None = None,
                 username: str = "root", connection_port: int = 22, poll: float = 2.0,
                 connection: Callable[[], Any] | None = None) -> None:
        self.name = name
        self.cloud = cloud
        self.specs = {label.name: label for label in labels}
        self.labels = tuple(self.specs)
        self.site = Path(site)
        self.state_dir = Path(state_dir)
        self.max_servers = max_servers
        self.launch_timeout = launch_timeout
        self.boot_timeout = boot_timeout
        self.launch_retries = max(1, launch_retries)
        self.networks = tuple(networks)
        self.floating_ip = floating_ip
        self.key_name = key_name
        self.private_key = private_key
        self.username = username
        self.connection_port = connection_port
        self.poll = poll
        self.system_id = system_id(self.site)
        self._connect = connection or (lambda: connect(self.cloud, self.site))
        self._conn: Any = None
        self._suspects: frozenset[ResourceId] = frozenset()
        self._lock = threading.Lock()

    # --- the provider port -----------------------------------------------------------------

    def preflight(self) -> str | None:
        """Why no launch can work here (openstacksdk missing), or None."""
        try:
            sdk()
        except OpenStackError as exc:
            return str(exc)
        return None

    def create(self, label: str, node_id: str) -> Node:
        spec = self.specs.get(label)
        if spec is None:
            raise ValueError(f"provider {self.name!r} has no label {label!r}; "
                             f"it offers {', '.join(self.labels)}")
        created = time.time()
        conn = self._connection()
        image = self._find(f"looking up image {spec.image}",
                           lambda: conn.image.find_image(spec.image, ignore_missing=False))
        if image is None:
            raise FinalError(f"cloud {self.cloud} has no image {spec.image!r} (label {label})")
        flavor = self._flavor(conn, spec)
        if self.key_name and self._find(f"looking up keypair {self.key_name}", lambda: conn
                                        .compute.find_keypair(self.key_name,
                                                              ignore_missing=False)) is None:
            raise FinalError(f"cloud {self.cloud} has no keypair {self.key_name!r}; create "
                             "it with `openstack keypair create --public-key FILE NAME`")
        networks = [self._network(conn, name) for name in self.networks]
        last: OpenStackError | None = None
        for attempt in range(1, self.launch_retries + 1):
            self._check_quota(conn, flavor)
            try:
                return self._launch(conn, spec, node_id, image.id, flavor.id, networks,
                                    created)
            except FinalError:
                raise
            except OpenStackError as exc:
                last = exc
                log.warning("provider %s: launch %d of %d of node %s failed: %s", self.name,
                            attempt, self.launch_retries, node_id, exc)
        assert last is not None
        if self.launch_retries == 1:
            raise last
        raise OpenStackError(f"{self.launch_retries} launches in cloud {self.cloud} failed; "
                             f"the last: {last}")

    def delete(self, node: Node) -> None:
        """Delete the node's floating IPs and server, whatever of them is left."""
        conn = self._connection()
        for ip in self._call("listing floating IPs",
                             lambda: list(conn.network.ips(
                                 description=self._ip_description(node.id)))):
            self._call(f"releasing floating IP {ip.floating_ip_address}",
                       partial(conn.network.delete_ip, ip.id, ignore_missing=True))
        for server in self._servers(conn):
            if (server.metadata or {}).get(NODE_TAG) == node.id:
                self._call(f"deleting server {server.id}",
                           partial(conn.compute.delete_server, server.id,
                                   ignore_missing=True))
        (self.state_dir / f"known_hosts-{node.id}").unlink(missing_ok=True)

    def list_resources(self) -> list[ResourceId]:
        conn = self._connection()
        found = [ResourceId("server", server.id, (server.metadata or {}).get(NODE_TAG))
                 for server in self._servers(conn)]
        prefix = self._ip_description("")
        for ip in self._call("listing floating IPs", lambda: list(conn.network.ips())):
            if (ip.description or "").startswith(prefix):
                found.append(ResourceId("floating-ip", ip.id,
                                        ip.description[len(prefix):] or None))
        return sorted(found)

    def sweep(self, known_ids: Collection[str],
              cleanup_ids: Collection[str] = ()) -> list[ResourceId]:
        """Delete leaked servers and floating IPs; returns what was deleted.

        Everything of a node in ``cleanup_ids`` goes now (the server asks for that at start,
        when no node of the process before it is wanted); a resource of a node not in
        ``known_ids`` goes when it is seen a second time in a row.
        """
        plan = plan_sweep(self.list_resources(), known_ids, cleanup_ids, self._suspects)
        self._suspects = plan.suspects
        for node_id in sorted({r.node_id for r in plan.delete if r.node_id}):
            self.delete(Node(id=node_id, label="", provider=self.name,
                             state=NodeState.DELETING, host=""))
        return [r for r in plan.delete if r.node_id]

    def ssh_command(self, node: Node) -> list[str]:
        """The argv prefix that runs a command on the node, its host key checked strictly."""
        argv = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={self._known_hosts(node)}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=5", "-p", str(node.port)]
        if node.private_key is not None:
            argv += ["-o", "IdentitiesOnly=yes", "-i", str(node.private_key)]
        return [*argv, f"{node.username}@{node.host}"]

    # --- one launch ------------------------------------------------------------------------

    def _launch(self, conn: Any, spec: CloudLabel, node_id: str, image_id: str,
                flavor_id: str, networks: list[str], created: float) -> Node:
        attrs: dict[str, Any] = {
            "name": f"{self.name}-{spec.name}-{node_id}", "image_id": image_id,
            "flavor_id": flavor_id,
            "metadata": {NODE_TAG: node_id, PROVIDER_TAG: self.name,
                         SYSTEM_TAG: self.system_id}}
        # Without named networks nova picks one ("auto", compute API 2.37 and later).
        attrs["networks"] = [{"uuid": network} for network in networks] or "auto"
        if self.key_name:
            attrs["key_name"] = self.key_name
        server = self._call("creating a server", lambda: conn.compute.create_server(**attrs))
        node = Node(id=node_id, label=spec.name, provider=self.name,
                    state=NodeState.BUILDING, host="")
        try:
            server = self._wait_active(conn, server.id)
            host = self._attach_ip(conn, server, node_id) if self.floating_ip \
                else _address(server)
            if not host:
                raise OpenStackError(f"server {server.id} is ACTIVE but has no IP address")
            node = Node(id=node_id, label=spec.name, provider=self.name,
                        state=NodeState.READY, host=host, port=self.connection_port,
                        username=self.username, private_key=self.private_key,
                        created_at=created)
            try:
                host_key = self._wait_ssh(node)
            except OpenStackError:
                self._log_console(conn, server.id, node_id)
                raise
            return replace(node, host_key=host_key, ready_at=time.time())
        except BaseException:
            # Nothing of a failed attempt may stay behind; the delete's own failure would
            # hide why the launch failed, so it is only logged (the sweep retries it).
            try:
                self.delete(node)
            except OpenStackError as exc:
                log.warning("provider %s: cleanup of node %s failed: %s", self.name,
                            node_id, exc)
            raise

    def _wait_active(self, conn: Any, server_id: str) -> Any:
        deadline = time.monotonic() + self.launch_timeout
        status = "BUILD"
        while True:
            server = self._call(f"reading server {server_id}",
                                lambda: conn.compute.get_server(server_id))
            status = str(server.status or "").upper()
            if status == "ACTIVE":
                return server
            if status == "ERROR":
                fault = (server.fault or {}).get("message") or "no fault given"
                raise OpenStackError(f"server {server_id} went to ERROR in cloud "
                                     f"{self.cloud}: {fault}")
            if time.monotonic() >= deadline:
                raise OpenStackError(f"server {server_id} was not ACTIVE within the "
                                     f"launch-timeout of {self.launch_timeout:g} seconds "
                                     f"(still {status})")
            time.sleep(self.poll)

    def _attach_ip(self, conn: Any, server: Any, node_id: str) -> str:
        external = next(iter(self._call("listing external networks", lambda: list(
            conn.network.networks(is_router_external=True)))), None)
        if external is None:
            raise FinalError(f"cloud {self.cloud} has no external network for floating IPs")
        port = next(iter(self._call("listing the server's ports", lambda: list(
            conn.network.ports(device_id=server.id)))), None)
        if port is None:
            raise OpenStackError(f"server {server.id} has no network port for a floating IP")
        ip = self._call("creating a floating IP", lambda: conn.network.create_ip(
            floating_network_id=external.id, port_id=port.id,
            description=self._ip_description(node_id)))
        return str(ip.floating_ip_address)

    def _wait_ssh(self, node: Node) -> str:
        deadline = time.monotonic() + self.boot_timeout
        problem: str | None = "no answer"
        while True:
            left = max(1, round(deadline - time.monotonic()))
            key = self._keyscan(node, min(left, 5))
            if key:
                problem = self._login(replace(node, host_key=key))
                if problem is None:
                    return key
            else:
                problem = f"no ssh host key from {node.host}:{node.port}"
            if time.monotonic() >= deadline:
                raise OpenStackError(f"node {node.id} did not answer ssh within the "
                                     f"boot-timeout of {self.boot_timeout:g} seconds: "
                                     f"{problem}")
            time.sleep(self.poll)

    def _log_console(self, conn: Any, server_id: str, node_id: str) -> None:
        """Log the end of the console of a server that never answered ssh: what its boot
        said is usually why (no network, a full disk, cloud-init failing)."""
        try:
            found = conn.compute.get_server_console_output(server_id, length=CONSOLE_LINES)
        except sdk().exceptions.SDKException as exc:
            log.warning("provider %s: no console of node %s: %s", self.name, node_id,
                        _said(exc))
            return
        lines = str((found or {}).get("output") or "").splitlines()[-CONSOLE_LINES:]
        log.warning("provider %s: node %s never answered ssh; the end of its console:\n%s",
                    self.name, node_id, "\n".join(lines) or "(empty)")

    def _keyscan(self, node: Node, timeout: int) -> str:
        result = _run(["ssh-keyscan", "-T", str(timeout), "-p", str(node.port), node.host],
                      timeout + 5)
        keys = {}
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3 and not line.startswith("#"):
                keys[parts[1]] = f"{parts[1]} {parts[2]}"
        for kind in ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "ssh-rsa"):
            if kind in keys:
                return keys[kind]
        return next(iter(keys.values()), "")

    def _login(self, node: Node) -> str | None:
        if node.private_key is None:
            return None  # no key-file to check it with (the site config requires one)
        result = _run([*self.ssh_command(node), "true"], 15)
        if result.returncode == 0:
            return None
        last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])
        return f"ssh {node.username}@{node.host} failed: {last[-1]}"

    # --- cloud look-ups --------------------------------------------------------------------

    def _flavor(self, conn: Any, spec: CloudLabel) -> Any:
        if spec.flavor:
            flavor = self._find(f"looking up flavor {spec.flavor}", lambda: conn.compute
                                .find_flavor(spec.flavor, ignore_missing=False))
            if flavor is None:
                raise FinalError(f"cloud {self.cloud} has no flavor {spec.flavor!r} "
                                 f"(label {spec.name})")
            if flavor.ram < spec.min_ram:
                raise FinalError(f"flavor {spec.flavor} has {flavor.ram} MiB of RAM; label "
                                 f"{spec.name} asks for at least {spec.min_ram}")
            return flavor
        flavors = self._call("listing flavors", lambda: list(conn.compute.flavors()))
        fitting = sorted((f for f in flavors if f.ram >= spec.min_ram),
                         key=lambda f: (f.ram, f.vcpus, f.name))
        if not fitting:
            raise FinalError(f"cloud {self.cloud} has no flavor with at least "
                             f"{spec.min_ram} MiB of RAM (label {spec.name})")
        return fitting[0]

    def _network(self, conn: Any, name: str) -> str:
        network = self._find(f"looking up network {name}",
                             lambda: conn.network.find_network(name, ignore_missing=False))
        if network is None:
            raise FinalError(f"cloud {self.cloud} has no network {name!r}")
        return str(network.id)

    def _check_quota(self, conn: Any, flavor: Any) -> None:
        limits = self._call("reading compute limits", lambda: conn.compute.get_limits())
        absolute = limits.absolute
        full = [f"{what} {used} of {limit} used" for what, used, limit, need in (
            ("instances", absolute.instances_used, absolute.instances, 1),
            ("cores", absolute.total_cores_used, absolute.total_cores, flavor.vcpus),
            ("RAM (MiB)", absolute.total_ram_used, absolute.total_ram, flavor.ram))
            if limit is not None and limit >= 0 and (used or 0) + (need or 0) > limit]
        if full:
            raise QuotaError(f"cloud {self.cloud} quota is exhausted for a {flavor.name} "
                             f"server: {', '.join(full)}; no server was created")

    def _servers(self, conn: Any) -> list[Any]:
        """This provider's servers in the cloud, by their tags."""
        servers = self._call("listing servers",
                             lambda: list(conn.compute.servers(details=True)))
        return [s for s in servers
                if (s.metadata or {}).get(SYSTEM_TAG) == self.system_id
                and (s.metadata or {}).get(PROVIDER_TAG) == self.name]

    def _ip_description(self, node_id: str) -> str:
        # With node_id "" this is the prefix every floating IP of this provider has.
        return f"keepgreen {self.system_id} {self.name} {node_id}"

    def _connection(self) -> Any:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        """Run one cloud call; its failure becomes one sentence with the cloud's words."""
        return self._find(what, call, missing_is_none=False)

    def _find(self, what: str, call: Callable[[], Any], *, missing_is_none: bool = True
              ) -> Any:
        """Like ``_call``, for a look-up by name or id: None when the cloud has none."""
        errors = sdk().exceptions
        auth = importlib.import_module("keystoneauth1.exceptions")
        try:
            return call()
        except errors.NotFoundException as exc:
            if missing_is_none:
                return None
            raise OpenStackError(f"cloud {self.cloud}: {what} failed: {_said(exc)}") from None
        except auth.Unauthorized as exc:
            raise FinalError(f"cloud {self.cloud} refused the credentials of its clouds.yaml "
                             f"entry: {_said(exc)}") from None
        except (errors.SDKException, auth.ClientException) as exc:
            said = _said(exc)
            kind = QuotaError if "quota exceeded" in said.lower() else OpenStackError
            raise kind(f"cloud {self.cloud}: {what} failed: {said}") from None

    def _known_hosts(self, node: Node) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / f"known_hosts-{node.id}"
        partial = path.with_name(f"{path.name}.{threading.get_ident()}")
        partial.write_text(node.known_hosts_line + "\n")
        partial.replace(path)
        return path


def _address(server: Any) -> str:
    """The server's address: its access IPv4, else a floating, else a fixed IPv4, else v6."""
    if server.access_ipv4:
        return str(server.access_ipv4)
    found = [a for addresses in (server.addresses or {}).values() for a in addresses]
    order = sorted(found, key=lambda a: (a.get("OS-EXT-IPS:type") != "floating",
                                         a.get("version", 4) != 4))
    return str(order[0]["addr"]) if order else ""


def _said(exc: BaseException) -> str:
    """The cloud's own message of an openstacksdk error, on one line."""
    text = str(getattr(exc, "details", None) or getattr(exc, "message", None) or exc)
    # keystoneauth appends urllib3's whole retry story to "Unable to establish connection".
    text = text.split(": HTTPConnectionPool(")[0].split(": HTTPSConnectionPool(")[0]
    return " ".join(text.split()) or type(exc).__name__


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", "timed out")
