"""A custom CA bundle: the scripted server on HTTPS with a certificate from a private CA."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.chat.config import LLMConfig
from runner.chat.errors import ConfigError
from runner.chat.session import build_session
from runner.chat.tls import ssl_context
from tests.chat.fakes import FakeIO, autocoder_exe, chat_env
from tests.chat.tls_server import Certificates, make_certificates, running_tls_model_server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def test_the_ca_bundle_from_the_config_file_is_trusted(tmp_path: Path, certs: Certificates) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "certs").mkdir()
    (home / "certs" / "company-ca.pem").write_bytes(certs.ca_file.read_bytes())
    # A relative path is taken from the config file's own directory.
    (home / ".autocoder.yaml").write_text("llm:\n  ca_bundle: certs/company-ca.pem\n")
    with running_tls_model_server(["hello over TLS"], certs) as server:
        done = subprocess.run(
            [autocoder_exe(), "chat", "hi", "-d", str(tmp_path), "--base-url", server.base_url],
            env=chat_env(home),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello over TLS" in done.stdout
    assert len(server.turn_requests) == 1


def test_without_the_ca_bundle_the_certificate_is_refused_clearly(
    tmp_path: Path, certs: Certificates
) -> None:
    with running_tls_model_server(["never served"], certs) as server:
        io = FakeIO()
        config = LLMConfig(base_url=server.base_url, model="scripted-model")
        chat = build_session(config, io, working_dir=tmp_path, environ={})
        try:
            assert chat.repl.run_once("hi") == 1
        finally:
            chat.close()
        assert server.requests == []
    assert f"the certificate of {server.base_url} (from the default) was not accepted" in io.text
    assert "CERTIFICATE_VERIFY_FAILED" in io.text
    assert "certifi's default bundle" in io.text
    assert "AUTOCODER_CA_BUNDLE" in io.text


def test_the_ca_bundle_from_the_environment(tmp_path: Path, certs: Certificates) -> None:
    with running_tls_model_server(["env CA works"], certs) as server:
        done = subprocess.run(
            [autocoder_exe(), "chat", "hi", "-d", str(tmp_path), "--base-url", server.base_url],
            env=chat_env(tmp_path, AUTOCODER_CA_BUNDLE=str(certs.ca_file)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "env CA works" in done.stdout


def test_a_missing_ca_bundle_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"CA bundle .*nope.pem \(from AUTOCODER_CA_BUNDLE\)"):
        ssl_context(str(tmp_path / "nope.pem"), source="AUTOCODER_CA_BUNDLE")
