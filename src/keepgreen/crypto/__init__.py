"""Project key pairs and the PKCS#1 OAEP encryption of Zuul secrets (the ``cryptography``
package underneath)."""
