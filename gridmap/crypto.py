"""ID numbers and telephone numbers encrypted at rest (issue 10, Deliver 3).

- A value is stored as "<key id>$<base64 of nonce + AES-256-GCM ciphertext>"
  (cryptography's AESGCM), the column's name bound in as associated data, so a value
  copied into another column does not decrypt. Keys come from GRIDCARE_FIELD_KEYS, the
  first one encrypting, every one decrypting: a new key is put first, `manage.py
  rotate_field_keys` re-encrypts every value with it, then the old key can go.
- Exact search and equality (the guardian-sharing rule R15, a re-import finding the same
  guardian, a break-glass by ID number) use a keyed hash of the normalised value:
  "<key id>$<HMAC-SHA256 hex>" with the first of GRIDCARE_INDEX_KEYS; rotating that key
  recomputes them all in the same command.
- Models declare `EncryptedCharField`: Python sees the plain value, the database the
  ciphertext. The set-based importers call `encrypt_many` / `index_many` on whole
  columns before their COPY (bench/: the cost per row is measured).

Masking for display (first 6 and last 4 of an ID number, first 3 and last 4 of a
telephone) is `mask_id` / `mask_phone`; who sees what unmasked is gridmap.access's."""

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection, models

SEPARATOR = "$"


@cache
def _keys(setting: str) -> tuple[tuple[str, bytes], ...]:
    keys = tuple(getattr(settings, setting))
    if not keys:
        raise ImproperlyConfigured(f"{setting} is empty")
    for kid, key in keys:
        if SEPARATOR in kid or len(key) != 32:
            raise ImproperlyConfigured(f"{setting}: key {kid!r} must be 32 bytes, its id without '$'")
    return keys


def keys_reset() -> None:
    """Forget the cached keys (after the settings change, e.g. in a rotation test)."""
    _keys.cache_clear()
    _cipher.cache_clear()


@cache
def _cipher(kid: str) -> AESGCM:
    return AESGCM(dict(_keys("GRIDCARE_FIELD_KEYS"))[kid])


def current_key_id() -> str:
    return _keys("GRIDCARE_FIELD_KEYS")[0][0]


def current_index_key_id() -> str:
    return _keys("GRIDCARE_INDEX_KEYS")[0][0]


def encrypt(value: str, column: str) -> str:
    """The stored form of a non-empty value ('' stays '')."""
    if not value:
        return value
    kid = current_key_id()
    nonce = os.urandom(12)
    sealed = _cipher(kid).encrypt(nonce, value.encode(), column.encode())
    return kid + SEPARATOR + base64.b64encode(nonce + sealed).decode()


def decrypt(stored: str, column: str) -> str:
    if not stored:
        return stored
    kid, _, body = stored.partition(SEPARATOR)
    if not body:
        raise ValueError(f"{column}: a stored value that is not encrypted")
    raw = base64.b64decode(body)
    return _cipher(kid).decrypt(raw[:12], raw[12:], column.encode()).decode()


def encrypt_many(values: Iterable[str], column: str) -> list[str]:
    """A whole column, for a COPY: one key lookup, a fresh nonce per value."""
    kid = current_key_id()
    cipher, ad, prefix = _cipher(kid), column.encode(), kid + SEPARATOR
    out = []
    for value in values:
        if not value:
            out.append(value or "")
            continue
        nonce = os.urandom(12)
        out.append(prefix + base64.b64encode(nonce + cipher.encrypt(nonce, value.encode(), ad)).decode())
    return out


def normalised(value: str) -> str:
    return "".join(value.split()).upper()


def index(value: str | None) -> str:
    """The keyed hash an exact search and an equality use ('' for no value)."""
    if not value:
        return ""
    kid, key = _keys("GRIDCARE_INDEX_KEYS")[0]
    return kid + SEPARATOR + hmac.new(key, normalised(value).encode(), hashlib.sha256).hexdigest()


def index_many(values: Iterable[str | None]) -> list[str]:
    return [index(v) for v in values]


def mask_id(value: str) -> str:
    """An ID number as most people see it: the region and the last four (R35)."""
    if not value:
        return value
    return value[:6] + "*" * max(len(value) - 10, 0) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value: str) -> str:
    """A telephone number as most people see it: the first three and the last four."""
    digits = value or ""
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


class EncryptedCharField(models.TextField):
    """Plain text in Python, "<key id>$<ciphertext>" in the database (see above). Cannot
    be filtered on: search the companion index column (`crypto.index`)."""

    def __init__(self, *args, column_label: str = "", **kwargs):
        self.column_label = column_label
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["column_label"] = self.column_label
        return name, path, args, kwargs

    @property
    def index_field(self) -> str | None:
        """The companion "<name>_index" column, when the model has one."""
        name = f"{self.name}_index"
        return name if any(f.name == name for f in self.model._meta.fields) else None

    def _label(self) -> str:
        return self.column_label or f"{self.model._meta.db_table}.{self.column}"

    def from_db_value(self, value, expression, connection):
        return decrypt(value, self._label()) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value, self._label()) if value else value

    def get_lookup(self, lookup_name):
        """Only `isnull` means anything on a ciphertext: a filter on the value would
        silently find nothing, so it is refused (search the index column)."""
        if lookup_name != "isnull":
            raise FieldError(f"{self.model.__name__}.{self.name} is encrypted: filter on its index "
                             f"column with gridmap.crypto.index(value), not with __{lookup_name}")
        return super().get_lookup(lookup_name)


def encrypted_columns() -> list[tuple[type[models.Model], EncryptedCharField]]:
    """Every encrypted column of every installed model."""
    return [(model, f) for model in apps.get_models() for f in model._meta.fields
            if isinstance(f, EncryptedCharField)]


def rotate(batch: int = 5000) -> dict[str, int]:
    """Re-encrypt every value with the current key and recompute every index with the
    current index key, set-based per batch (COPY into a stage, one UPDATE). A model may
    define `after_index_rotation()` for what it derives from an index (a guardian's key).
    Run in one transaction by the command. Returns the values rewritten per column."""
    done: dict[str, int] = {}
    with connection.cursor() as cursor:
        for model, f in encrypted_columns():
            table, label, index_column = model._meta.db_table, f._label(), f.index_field
            last, count = 0, 0
            while True:
                cursor.execute(f"SELECT id, {f.column} FROM {table} WHERE id > %s AND {f.column} <> '' "
                               f"ORDER BY id LIMIT %s", [last, batch])
                rows = cursor.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                plain = [decrypt(stored, label) for _, stored in rows]
                cursor.execute("CREATE TEMP TABLE stage_rotate (id bigint, value text, idx text)")
                with cursor.cursor.copy("COPY stage_rotate (id, value, idx) FROM STDIN") as copy:
                    for (row_id, _), sealed, idx in zip(rows, encrypt_many(plain, label),
                                                        index_many(plain), strict=True):
                        copy.write_row((row_id, sealed, idx))
                sets = f"{f.column} = s.value" + (f", {index_column} = s.idx" if index_column else "")
                cursor.execute(f"UPDATE {table} t SET {sets} FROM stage_rotate s WHERE s.id = t.id")
                cursor.execute("DROP TABLE stage_rotate")
                count += len(rows)
            done[label] = count
    for model in {model for model, _ in encrypted_columns()}:
        if hasattr(model, "after_index_rotation"):
            model.after_index_rotation()
    return done
