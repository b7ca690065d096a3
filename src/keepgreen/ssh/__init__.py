"""The SSH port: git over SSH and Gerrit's ``gerrit ...`` commands, an adapter over the
same services the REST API uses."""
