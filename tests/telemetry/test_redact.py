from hypothesis import given
from hypothesis import strategies as st

from mastra.telemetry import REDACTED, Redactor

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"


def test_env_secrets_are_redacted_by_name_convention():
    redactor = Redactor(env={"OPENAI_API_KEY": "key-value-123", "HOME": "/home/someone"})
    assert redactor.redact("using key-value-123 now") == f"using {REDACTED} now"
    assert redactor.redact("/home/someone") == "/home/someone"


def test_configured_env_names_and_literals():
    redactor = Redactor(
        ["literal-secret-1"], env={"DB_URL": "postgres://u:pw@h/db"}, env_names=["DB_URL"]
    )
    assert REDACTED in redactor.redact("dsn=postgres://u:pw@h/db")
    assert redactor.redact("x literal-secret-1 y") == f"x {REDACTED} y"


def test_token_shapes_without_configuration():
    redactor = Redactor(env={})
    for token in (KEY, "sk-ant-api03-" + "a" * 40, "gsk_" + "b" * 40, "AIza" + "c" * 35):
        assert token not in redactor.redact(f"key={token};")
    assert redactor.redact("Authorization: Bearer abc.def.ghi123") == f"Authorization: {REDACTED}"


def test_short_values_are_not_treated_as_secrets():
    redactor = Redactor(env={"SOME_TOKEN": "1"})
    assert redactor.redact("1 + 1") == "1 + 1"


def test_attribute_values_under_secret_names_are_replaced_whole():
    redactor = Redactor(env={})
    assert redactor.redact_value("api_key", "anything") == REDACTED
    assert redactor.redact_value("headers", {"Authorization": "x", "Accept": "json"}) == {
        "Authorization": REDACTED,
        "Accept": "json",
    }
    assert redactor.redact_value("args", [KEY, 3]) == [REDACTED, 3]


def test_add_secret_later():
    redactor = Redactor(env={})
    redactor.add_secret("resolved-late-secret")
    assert redactor.redact("resolved-late-secret") == REDACTED
    assert "secret" not in repr(redactor).replace("secrets", "")


@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
def test_secret_never_survives_in_any_surrounding_text(before, after):
    secret = "s3cr3t-Value-(with)[regex]*chars"
    out = Redactor([secret], env={}).redact(before + secret + after)
    assert secret not in out
