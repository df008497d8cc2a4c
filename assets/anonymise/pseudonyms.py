"""Keyed pseudonyms: the same person gets the same pseudonym in every round and file.

A plain hash of a name can be reversed by hashing a list of names; an HMAC cannot
without the key, which is kept apart from the data (UK GDPR Art. 4(5)). The key is
never logged, returned, shown in a repr or pickled.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NoReturn

from assets.text_folding import normalise_name
from schemas.contract import ROLES, role_slug

MIN_KEY_BYTES = 16
PSEUDONYM_HEX_DIGITS = 6
WITHDRAWN_PERSON = "[person]"


class Pseudonymiser:
    """Turns names into person references and `[<role>-<6 hex>]` pseudonyms."""

    __slots__ = ("__key", "_refs")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise TypeError("the pseudonymisation key must be bytes")
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
        self.__key = bytes(key)
        self._refs: dict[str, str] = {}

    def __repr__(self) -> str:
        return "Pseudonymiser(key=<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Pseudonymiser holds the key and is never pickled")

    def person_ref(self, name: str) -> str:
        """HMAC-SHA256 (hex) of the normalised name: stable across rounds, files and roles."""
        normalised = normalise_name(name)
        if not normalised:
            raise ValueError("cannot pseudonymise an empty name")
        ref = self._refs.get(normalised)
        if ref is None:
            ref = hmac.new(self.__key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()
            self._refs[normalised] = ref
        return ref

    def pseudonym(self, name: str, role: str) -> str:
        """`[<role>-<6 hex>]`; the hex comes from the person alone, so a role change keeps it."""
        slug = role_slug(role)
        if slug is None:
            raise ValueError(f"role is not one of {', '.join(ROLES)}")
        return f"[{slug}-{self.person_ref(name)[:PSEUDONYM_HEX_DIGITS]}]"
