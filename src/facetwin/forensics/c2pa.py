"""C2PA Content Credentials: a signed statement inside each output that says it is synthetic.

A watermark survives re-encoding but carries few bits; a C2PA manifest names the software,
its version and the IPTC source type ``trainedAlgorithmicMedia`` in the form that
standard tools (c2patool, Content Credentials viewers, platforms) read, and it is bound
to the file by hashes, so any edit of the pixels or samples turns it invalid. The two
complement each other: the manifest can be stripped, the watermark proves nothing about
who made the file.

Signing uses a key that lives on the user's machine and nowhere else (see
``ensure_signing_key``): no account, no network, no timestamp authority. Other verifiers
therefore show the signer as untrusted, which C2PA keeps apart from integrity: the
manifest still validates. facetwin itself trusts a manifest when its certificate chains
to the local root kept beside the key, so "trusted" means "made with this machine's key".
Every c2pa call runs with settings that forbid network fetches (remote manifests, OCSP).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from facetwin._version import __version__
from facetwin.errors import InputNotFoundError, InvalidOptionError, OutputWriteError, SigningKeyError
from facetwin.forensics.provenance import DIGITAL_SOURCE_TYPE

log = logging.getLogger(__name__)
__all__ = [
    "SigningKey",
    "SigningKeyError",
    "ManifestReport",
    "default_key_dir",
    "ensure_signing_key",
    "load_signing_key",
    "sign_file",
    "sign_bytes",
    "read_manifest",
    "SIGNABLE_SUFFIXES",
    "PROVENANCE_LABEL",
    "TRAINED_ALGORITHMIC_MEDIA",
    "KEY_FILE",
    "CHAIN_FILE",
]

KEY_FILE = "signer.key"
CHAIN_FILE = "signer-chain.pem"

PROVENANCE_LABEL = "org.facetwin.provenance"
TRAINED_ALGORITHMIC_MEDIA = DIGITAL_SOURCE_TYPE  # one definition, in provenance.py

# What c2pa embeds into, by suffix. BMFF (MP4/M4V/MOV) gets a uuid box after ftyp;
# Matroska has no C2PA binding, so .mkv outputs cannot carry a manifest.
SIGNABLE_SUFFIXES: Mapping[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".m4v": "video/x-m4v",
    ".mov": "video/quicktime",
}

# Long enough that a key made today still signs years of outputs; the root outlives the
# signer so that chains stay valid for the signer's whole life.
_SIGNER_DAYS = 10 * 365
_ROOT_DAYS = 20 * 365
_CLOCK_SKEW = dt.timedelta(days=1)

# c2pa-rs fetches remote manifests and OCSP responses by default; an offline tool must not.
_OFFLINE = {"remote_manifest_fetch": False, "ocsp_fetch": False}
# No thumbnail: it would embed a second, small copy of the face (+80 KB, +35 ms for a 720p PNG).
_SIGN_SETTINGS = {"verify": _OFFLINE, "builder": {"thumbnail": {"enabled": False}}}

# Reader failures that mean "there is a manifest, but it is damaged or elsewhere", as
# opposed to "this file cannot be parsed at all"; c2pa prefixes each message with its kind.
_DAMAGED_MANIFEST_KINDS = frozenset(
    {"Assertion", "AssertionNotFound", "Decoding", "Json", "Manifest", "Signature", "Verify"}
)


@dataclass(frozen=True)
class SigningKey:
    """A loaded signing key: the ES256 private key and its chain (signer first, root last).

    The PEM fields stay out of ``repr`` so that logging a key never prints it.
    """

    directory: Path
    private_key_pem: bytes = field(repr=False)
    chain_pem: bytes = field(repr=False)
    signer: str
    root_sha256: str


@dataclass(frozen=True)
class ManifestReport:
    """What a file's C2PA manifest says, and whether it can be believed.

    ``present`` False with empty ``problems`` means the file carries no manifest; with
    problems it means the file could not be parsed. ``valid`` is C2PA integrity only
    (hashes and signature); an unknown signer does not affect it. ``trusted`` implies
    ``valid`` and adds that the signer chains to the local root.
    """

    present: bool
    valid: bool
    trusted: bool
    digital_source_type: str | None
    claim: dict | None
    signer: str | None
    problems: tuple[str, ...]


# --- the key ------------------------------------------------------------------------


def default_key_dir() -> Path:
    """``$FACETWIN_KEY_DIR``, else ``$XDG_CONFIG_HOME/facetwin/c2pa`` (``~/.config`` when unset).

    An environment variable first, so that tests, containers and users with several
    identities can point elsewhere without a config file.
    """
    override = os.environ.get("FACETWIN_KEY_DIR")
    if override:
        return Path(override).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if Path(config).is_absolute() else Path.home() / ".config"  # XDG: ignore relative
    return base / "facetwin" / "c2pa"


def ensure_signing_key(key_dir: Path | None = None) -> SigningKey:
    """The signing key in ``key_dir`` (default ``default_key_dir()``), made on first use.

    An existing key is always reused, never replaced: files signed earlier stay trusted
    only as long as their root is kept. A folder holding damaged or half a key raises
    rather than being overwritten, since it may be the only copy.

    Raises:
        SigningKeyError: the folder's files are not a usable key, or it cannot be written.
    """
    key_dir = Path(key_dir) if key_dir is not None else default_key_dir()
    if _holds_key_files(key_dir):
        log.info("signing with the key in %s", key_dir)
        return load_signing_key(key_dir)
    log.info("making a new signing key in %s (keep it: it proves these files are yours)", key_dir)
    try:
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _generation_lock(key_dir):
            if not _holds_key_files(key_dir):  # another process may have won the lock first
                _write_new_key(key_dir)
    except OSError as error:
        raise SigningKeyError(
            key_dir,
            f"cannot create a key there ({error.strerror or error})",
            "check that the folder is writable, or set FACETWIN_KEY_DIR",
        ) from error
    return load_signing_key(key_dir)


def load_signing_key(key_dir: Path) -> SigningKey:
    """Load and check an existing key, so that a broken one fails here and not mid-run.

    Raises:
        SigningKeyError: a file is missing, unreadable, not PEM, or the pair does not
            match; or the signer certificate has expired.
    """
    key_dir = Path(key_dir)
    key_pem = _read_key_file(key_dir, KEY_FILE)
    chain_pem = _read_key_file(key_dir, CHAIN_FILE)
    private_key = _parse_private_key(key_dir, key_pem)
    chain = _parse_chain(key_dir, chain_pem)
    _check_pair(key_dir, private_key, chain)
    return SigningKey(
        directory=key_dir,
        private_key_pem=key_pem,
        chain_pem=chain_pem,
        signer=chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
        root_sha256=chain[-1].fingerprint(hashes.SHA256()).hex(),
    )


def _holds_key_files(key_dir: Path) -> bool:
    return (key_dir / KEY_FILE).exists() or (key_dir / CHAIN_FILE).exists()


@contextlib.contextmanager
def _generation_lock(key_dir: Path) -> Iterator[None]:
    """Serialise first-use generation between processes (parallel jobs on a fresh machine).

    Without it two processes could each write their own pair and leave one's key beside
    the other's certificate. The lock dies with its process, so a crash leaves none stale.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; simultaneous first use there stays unguarded
        yield
        return
    with open(key_dir / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_new_key(key_dir: Path) -> None:
    """A fresh root and signer; the root's private key is dropped once it has signed.

    With the root key gone, nothing else can ever chain to this root, so trusting the
    root trusts exactly this one signer. The chain goes first and the key last: a folder
    interrupted in between holds no key and reads as damaged, not as a different key.
    """
    root_key = ec.generate_private_key(ec.SECP256R1())
    signer_key = ec.generate_private_key(ec.SECP256R1())
    identity = _identity()
    root = _root_certificate(root_key, identity)
    signer = _signer_certificate(signer_key, root, root_key, identity)
    chain = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in (signer, root))
    private = signer_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _atomic_write(key_dir / CHAIN_FILE, chain, mode=0o644)
    _atomic_write(key_dir / KEY_FILE, private, mode=0o600)


def _identity() -> str:
    """user@host, so that a certificate says whose machine made a file."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # containers may run as a uid with no passwd entry
        user = "user"
    return f"{user}@{socket.gethostname() or 'localhost'}"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "facetwin"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _root_certificate(root_key: ec.EllipticCurvePrivateKey, identity: str) -> x509.Certificate:
    name = _name(f"facetwin local root {identity}")
    start = dt.datetime.now(dt.timezone.utc) - _CLOCK_SKEW
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=_ROOT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )


def _signer_certificate(
    signer_key: ec.EllipticCurvePrivateKey,
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    identity: str,
) -> x509.Certificate:
    """The end-entity certificate, shaped as c2pa-rs's certificate profile demands.

    c2pa-rs rejects a self-signed signer, a CA signer, and one without an accepted
    extended key usage (emailProtection is one; anyExtendedKeyUsage is refused).
    """
    start = dt.datetime.now(dt.timezone.utc) - _CLOCK_SKEW
    return (
        x509.CertificateBuilder()
        .subject_name(_name(f"facetwin local signer {identity}"))
        .issuer_name(root.subject)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=_SIGNER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )


def _atomic_write(path: Path, data: bytes, *, mode: int) -> None:
    """Write via a temporary file and ``os.replace``; the mode is set before the data lands."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_key_file(key_dir: Path, name: str) -> bytes:
    path = key_dir / name
    if not path.exists():
        other = CHAIN_FILE if name == KEY_FILE else KEY_FILE
        if not (key_dir / other).exists():
            raise SigningKeyError(key_dir, "there is no key", "call ensure_signing_key to make one")
        raise SigningKeyError(key_dir, f"{other} is there but {name} is missing")
    try:
        return path.read_bytes()
    except OSError as error:
        raise SigningKeyError(
            key_dir, f"cannot read {name} ({error.strerror or error})", "check the file's permissions"
        ) from error


def _parse_private_key(key_dir: Path, pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:  # TypeError: a passphrase-protected key
        raise SigningKeyError(key_dir, f"{KEY_FILE} is not an unencrypted PEM private key ({error})") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyError(key_dir, f"{KEY_FILE} is not a P-256 (ES256) key")
    return key


def _parse_chain(key_dir: Path, pem: bytes) -> list[x509.Certificate]:
    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError as error:
        raise SigningKeyError(key_dir, f"{CHAIN_FILE} is not a PEM certificate chain ({error})") from error
    if len(chain) < 2:
        raise SigningKeyError(key_dir, f"{CHAIN_FILE} holds {len(chain)} certificate(s), not a signer and its root")
    if chain[-1].issuer != chain[-1].subject:
        raise SigningKeyError(key_dir, f"{CHAIN_FILE} does not end with a root certificate")
    return chain


def _check_pair(key_dir: Path, private_key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]) -> None:
    if chain[0].public_key() != private_key.public_key():
        raise SigningKeyError(key_dir, f"{KEY_FILE} does not belong to the first certificate in {CHAIN_FILE}")
    if chain[0].not_valid_after_utc <= dt.datetime.now(dt.timezone.utc):
        raise SigningKeyError(key_dir, f"the signer certificate expired on {chain[0].not_valid_after_utc:%Y-%m-%d}")


# --- signing ------------------------------------------------------------------------


def sign_file(path: Path, claim: dict, key: SigningKey, *, mime: str | None = None, title: str | None = None) -> None:
    """Embed a signed manifest marking ``path`` as AI-made, replacing the file in place.

    The manifest holds a ``c2pa.actions.v2`` assertion (``c2pa.created`` with source type
    ``trainedAlgorithmicMedia``) and ``claim`` under ``PROVENANCE_LABEL``. The signed copy
    is written beside the file and renamed over it, so an interrupted or failed signing
    leaves the original untouched. Pixels and samples are not re-encoded.

    ``mime`` and ``title`` default to those of the file's name; a writer signing its
    temporary file before renaming it gives both.

    Raises:
        InputNotFoundError: no such file.
        InvalidOptionError: ``claim`` is not a JSON object.
        OutputWriteError: the suffix is not in ``SIGNABLE_SUFFIXES``, c2pa cannot parse
            the file, or the folder cannot be written.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(path)
    mime = mime or SIGNABLE_SUFFIXES.get(path.suffix.lower())
    if mime is None:
        raise OutputWriteError(
            path,
            f"C2PA manifests can be embedded only in {', '.join(SIGNABLE_SUFFIXES)} files",
            "write the output in one of those formats",
        )
    manifest = _manifest_definition(title or path.name, _checked_claim(claim))
    _sign_beside(path, mime, manifest, key)


def sign_bytes(data: bytes, mime: str, claim: dict, key: SigningKey, *, title: str) -> bytes:
    """``sign_file`` in memory: the signed copy of ``data`` (for PNGs written atomically)."""
    import io

    manifest = _manifest_definition(title, _checked_claim(claim))
    source, dest = io.BytesIO(data), io.BytesIO()
    try:
        _c2pa_sign(source, dest, mime, manifest, key)
    except c2pa.C2paError as error:
        raise OutputWriteError(Path(title), f"C2PA signing failed ({error})") from error
    return dest.getvalue()


def _checked_claim(claim: dict) -> dict:
    """The claim as JSON will store it, so that what is signed is what reads back."""
    if not isinstance(claim, dict):
        raise InvalidOptionError("claim", claim, "a dict")
    try:
        return json.loads(json.dumps(claim, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidOptionError("claim", claim, f"JSON-serialisable ({error})") from error


def _manifest_definition(title: str, claim: dict) -> dict:
    agent = {"name": "facetwin", "version": __version__}
    # The claim says what the content is: made by a model, or (a detection dataset's
    # original) recorded by a camera and only re-encoded and watermarked here.
    source_type = claim.get("digital_source_type") or TRAINED_ALGORITHMIC_MEDIA
    created = {"action": "c2pa.created", "digitalSourceType": source_type, "softwareAgent": agent}
    if claim.get("dataset_original"):
        created["description"] = (
            "real footage re-encoded for a facetwin detection dataset; watermarked like "
            "the dataset's fakes so that the mark cannot tell them apart"
        )
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [created]}},
            {"label": PROVENANCE_LABEL, "data": claim},
        ],
    }


def _sign_beside(path: Path, mime: str, manifest: dict, key: SigningKey) -> None:
    """Sign into a temporary file in the same folder, then rename it over ``path``."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".c2pa.tmp", dir=path.parent)
    except OSError as error:
        raise OutputWriteError(path, error.strerror or str(error)) from error
    try:
        # w+b: c2pa reads the signed copy back to check it before returning.
        with os.fdopen(fd, "w+b") as dest, open(path, "rb") as source:
            _c2pa_sign(source, dest, mime, manifest, key)
            dest.flush()
            os.fsync(dest.fileno())
        shutil.copymode(path, tmp)  # mkstemp made it 0600; keep the original's mode
        os.replace(tmp, path)
    except c2pa.C2paError as error:
        Path(tmp).unlink(missing_ok=True)
        raise OutputWriteError(
            path, f"C2PA signing failed ({error})", "check that the file is a complete, valid image or video"
        ) from error
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise OutputWriteError(path, error.strerror or str(error)) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _c2pa_sign(source: Any, dest: Any, mime: str, manifest: dict, key: SigningKey) -> None:
    # ta_url None: no timestamp authority, which would need the network.
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, key.chain_pem, key.private_key_pem, None)
    with (
        c2pa.Signer.from_info(info) as signer,
        c2pa.Context.from_dict(_SIGN_SETTINGS) as context,
        c2pa.Builder(manifest, context=context) as builder,
    ):
        builder.sign(signer, mime, source, dest)


# --- reading ------------------------------------------------------------------------


def read_manifest(path: Path, trust_dir: Path | None = None) -> ManifestReport:
    """Read and validate a file's C2PA manifest; never raises for what the file contains.

    Trust is checked against the root certificate in ``trust_dir`` (default
    ``default_key_dir()``); only its ``CHAIN_FILE`` is needed, so copying that one public
    file lets another machine recognise this machine's outputs.

    Raises:
        InputNotFoundError: no such file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(path)
    anchor, trust_problems = _trust_anchor(trust_dir)
    try:
        store = _read_store(path, anchor)
    except c2pa.C2paError as error:
        return _unreadable_report(error, trust_problems)
    except OSError as error:
        return _absent(f"cannot read the file ({error.strerror or error})")
    if store is None:
        return _absent()
    return _report(store, anchor is not None, trust_problems)


def _trust_anchor(trust_dir: Path | None) -> tuple[str | None, tuple[str, ...]]:
    """The local root as PEM, or None; a missing default folder is no problem, other gaps are."""
    folder = Path(trust_dir) if trust_dir is not None else default_key_dir()
    chain_path = folder / CHAIN_FILE
    if not chain_path.is_file():
        if trust_dir is None:
            return None, ()
        return None, (f"trust not checked: no {CHAIN_FILE} in {folder}",)
    try:
        chain = _parse_chain(folder, chain_path.read_bytes())
    except (OSError, SigningKeyError) as error:
        return None, (f"trust not checked: {error}",)
    return chain[-1].public_bytes(serialization.Encoding.PEM).decode("ascii"), ()


def _read_store(path: Path, anchor: str | None) -> dict | None:
    """The manifest store as c2pa's JSON, or None when the file has none."""
    settings: dict[str, Any] = {"verify": {**_OFFLINE, "verify_trust": True}}
    if anchor is not None:
        # trust_anchors, not user_anchors: only the local root counts, nothing bundled.
        settings["trust"] = {"trust_anchors": anchor}
    mime = SIGNABLE_SUFFIXES.get(path.suffix.lower())  # a hint; c2pa checks the bytes
    with c2pa.Context.from_dict(settings) as context, open(path, "rb") as stream:
        reader = c2pa.Reader.try_create(mime, stream, None, context)
        if reader is None:
            return None
        with reader:
            return json.loads(reader.json())


def _absent(*problems: str) -> ManifestReport:
    return ManifestReport(False, False, False, None, None, None, tuple(problems))


def _unreadable_report(error: c2pa.C2paError, trust_problems: tuple[str, ...]) -> ManifestReport:
    """A manifest c2pa could not even decode is present and invalid; an unparsable file is neither."""
    message = str(error).strip()
    kind = message.split(":", 1)[0]
    if kind in ("Remote", "RemoteManifest"):
        problem = f"the manifest is stored at a remote URL and was not fetched (reading is offline): {message}"
        return ManifestReport(True, False, False, None, None, None, (problem, *trust_problems))
    if kind in _DAMAGED_MANIFEST_KINDS:
        problem = f"manifest damaged or unreadable: {message}"
        return ManifestReport(True, False, False, None, None, None, (problem, *trust_problems))
    return _absent(f"file could not be parsed for C2PA: {message}")


def _report(store: dict, anchored: bool, trust_problems: tuple[str, ...]) -> ManifestReport:
    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    state = store.get("validation_state")
    problems = tuple(_status_line(status) for status in store.get("validation_status") or ())
    valid = state in ("Valid", "Trusted")
    if not valid and not problems:
        problems = (f"validation state {state!r}",)
    return ManifestReport(
        present=True,
        valid=valid,
        trusted=anchored and state == "Trusted",
        digital_source_type=_digital_source_type(manifest),
        claim=_assertion_data(manifest, PROVENANCE_LABEL),
        signer=_signer_name(manifest),
        problems=problems + trust_problems,
    )


def _status_line(status: Mapping[str, Any]) -> str:
    code = status.get("code", "unknown")
    explanation = status.get("explanation")
    return f"{code}: {explanation}" if explanation else str(code)


def _assertions(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in manifest.get("assertions") or () if isinstance(a, Mapping)]


def _assertion_data(manifest: Mapping[str, Any], label: str) -> dict | None:
    for assertion in _assertions(manifest):
        if assertion.get("label") == label and isinstance(assertion.get("data"), dict):
            return assertion["data"]
    return None


def _digital_source_type(manifest: Mapping[str, Any]) -> str | None:
    """The source type of the first action naming one (v1 or v2 actions assertion)."""
    for assertion in _assertions(manifest):
        if assertion.get("label") not in ("c2pa.actions", "c2pa.actions.v2"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or ():
            if isinstance(action, Mapping) and action.get("digitalSourceType"):
                return str(action["digitalSourceType"])
    return None


def _signer_name(manifest: Mapping[str, Any]) -> str | None:
    info = manifest.get("signature_info") or {}
    return info.get("common_name") or info.get("issuer")
