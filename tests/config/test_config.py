"""Finding, reading and validating fsartifacts.yaml and skelebot.yaml (real files in tmp_path)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from fsartifacts.config.file import find_config
from fsartifacts.config.load import load_config
from fsartifacts.config.model import Config, config_as_dict
from fsartifacts.config.problems import ConfigValidationError
from fsartifacts.config.values import parse_size
from fsartifacts.errors import ConfigError
from fsartifacts.redaction import is_secret_key, redacted
from fsartifacts.sizes import MiB
from fsartifacts.stores.artifactory.settings import AuthSettings

S3_REPO = """
repository:
  s3:
    bucket: my-bucket
    region: us-east-1
  artifacts:
    - name: model
      file: models/model.pkl
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(folder: Path, environ: dict[str, str] | None = None, **kwargs: object) -> Config:
    return load_config(start=folder, environ=environ or {}, **kwargs)  # type: ignore[arg-type]


def config_error(folder: Path, text: str, name: str = "fsartifacts.yaml", **kw: object) -> str:
    """Load ``text`` expecting a ConfigError; return its one-line message."""
    write(folder, name, text)
    with pytest.raises(ConfigError) as caught:
        load(folder, **kw)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- lookup


def test_walks_up_to_the_nearest_config_folder(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", S3_REPO)
    inner = tmp_path / "project"
    write(inner, "fsartifacts.yaml", S3_REPO)
    deep = inner / "pkg"
    deep.mkdir(parents=True)
    assert find_config(deep, None, {}) == (inner / "fsartifacts.yaml").resolve()
    config = load(deep)
    assert config.root == inner.resolve()
    assert config.path == (inner / "fsartifacts.yaml").resolve()


def test_fsartifacts_yaml_wins_over_skelebot_yaml_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", S3_REPO)
    write(tmp_path, "skelebot.yaml", "name: x\ncomponents: {}\n")
    config = load(tmp_path)
    assert config.flavour == "fsartifacts"
    assert any("skelebot.yaml is ignored" in w for w in config.warnings)


def test_skelebot_yaml_alone_is_found(tmp_path: Path) -> None:
    write(tmp_path, "skelebot.yaml", "components:\n" + textwrap.indent(S3_REPO, "  "))
    assert find_config(tmp_path, None, {}).name == "skelebot.yaml"
    assert load(tmp_path).flavour == "skelebot"


def test_explicit_config_beats_the_variable_and_the_walk(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", S3_REPO)
    other = write(tmp_path, "conf/other.yaml", S3_REPO.replace("my-bucket", "other-bucket"))
    env_file = write(tmp_path, "env/fsartifacts.yaml", S3_REPO.replace("my-bucket", "env-bucket"))
    environ = {"FSARTIFACTS_CONFIG": str(env_file)}
    assert find_config(tmp_path, "conf/other.yaml", environ) == other.resolve()
    config = load(tmp_path, environ, explicit="conf/other.yaml")
    assert config.repository.s3 is not None
    assert config.repository.s3.bucket == "other-bucket"
    assert config.root == other.parent.resolve()
    by_env = load(tmp_path, environ)
    assert by_env.repository.s3 is not None
    assert by_env.repository.s3.bucket == "env-bucket"
    by_path = load_config(other, environ={})
    assert by_path.path == other.resolve()


def test_explicit_folder_means_the_config_inside_it(tmp_path: Path) -> None:
    write(tmp_path, "proj/fsartifacts.yaml", S3_REPO)
    assert find_config(tmp_path, "proj", {}) == (tmp_path / "proj/fsartifacts.yaml").resolve()


def test_missing_explicit_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--config: no such file .*nope\.yaml"):
        find_config(tmp_path, "nope.yaml", {})
    with pytest.raises(ConfigError, match=r"\$FSARTIFACTS_CONFIG: no such file"):
        find_config(tmp_path, None, {"FSARTIFACTS_CONFIG": "gone.yaml"})


def test_no_config_anywhere_says_where_it_looked_and_how_to_fix(tmp_path: Path) -> None:
    start = tmp_path / "empty"
    start.mkdir()
    with pytest.raises(ConfigError) as caught:
        find_config(start, None, {})
    message = str(caught.value)
    assert str(start.resolve()) in message
    assert "create fsartifacts.yaml" in message
    assert "--config" in message
    assert "\n" not in message


def test_flavour_of_an_oddly_named_file_comes_from_its_content(tmp_path: Path) -> None:
    skelebot_like = write(
        tmp_path,
        "ci.yaml",
        """
        name: proj
        components:
          repository:
            s3: {bucket: b, region: r}
            artifacts: [{name: m, file: m.pkl}]
        """,
    )
    assert load_config(skelebot_like, environ={}).flavour == "skelebot"
    ours = write(tmp_path, "mine.yaml", S3_REPO)
    assert load_config(ours, environ={}).flavour == "fsartifacts"


# --------------------------------------------------------------------------- environments


def test_environment_overlay_replaces_whole_top_level_keys(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", S3_REPO + "transfer: {jobs: 3, attempts: 7}\n")
    write(
        tmp_path,
        "fsartifacts-dev.yaml",
        """
        repository:
          url: file://./.artifacts
          artifacts:
            - {name: other, file: other.bin}
        """,
    )
    config = load(tmp_path, env_name="dev")
    assert config.env == "dev"
    assert config.repository.kind == "url"
    assert config.repository.s3 is None  # the whole repository key was replaced
    assert [a.name for a in config.repository.artifacts] == ["other"]
    assert config.transfer.jobs == 3  # keys the overlay does not hold stay
    assert config.transfer.attempts == 7


def test_environment_from_variable_and_the_flag_wins(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", S3_REPO)
    write(tmp_path, "fsartifacts-ci.yaml", "transfer: {jobs: 11}\n")
    write(tmp_path, "fsartifacts-prod.yaml", "transfer: {jobs: 22}\n")
    assert load(tmp_path, {"FSARTIFACTS_ENV": "ci"}).transfer.jobs == 11
    assert load(tmp_path, {"FSARTIFACTS_ENV": "ci"}, env_name="prod").transfer.jobs == 22


def test_missing_environment_file_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", S3_REPO)
    with pytest.raises(ConfigError, match=r"no fsartifacts-qa\.yaml next to .*-e/--env"):
        load(tmp_path, env_name="qa")
    with pytest.raises(ConfigError, match="not a usable environment name"):
        load(tmp_path, env_name="../etc")


def test_skelebot_environment_overlay(tmp_path: Path) -> None:
    write(
        tmp_path,
        "skelebot.yaml",
        """
        name: proj
        components:
          repository:
            s3: {bucket: prod-bucket, region: us-east-1}
            artifacts: [{name: model, file: model.pkl}]
        """,
    )
    write(
        tmp_path,
        "skelebot-local.yaml",
        """
        components:
          repository:
            artifactory: {url: http://localhost:8081/artifactory, repo: ml, path: p}
            artifacts: [{name: model, file: model.pkl}]
        """,
    )
    config = load(tmp_path, env_name="local")
    assert config.repository.kind == "artifactory"
    assert config.repository.artifactory is not None
    assert config.repository.artifactory.url == "http://localhost:8081/artifactory"


# --------------------------------------------------------------------------- YAML and ${VAR}


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "repository:\n  s3:\n    bucket: [oops\n  artifacts: x\n")
    assert "fsartifacts.yaml" in message
    assert "line " in message
    assert "YAML syntax error" in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "top level must be a mapping" in config_error(tmp_path, "- a\n- b\n")


def test_empty_file_says_what_is_missing(tmp_path: Path) -> None:
    assert "repository: required field" in config_error(tmp_path, "")


def test_variables_are_expanded_with_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        repository:
          s3:
            bucket: ${BUCKET}/models
            region: ${REGION:-eu-west-1}
            profile: ${PROFILE:-dev}
            endpoint_url: http://127.0.0.1:${PORT}
          artifacts:
            - name: model
              file: ${MODEL_DIR:-models}/m.pkl
        """,
    )
    environ = {"BUCKET": "b", "PORT": "9000", "PROFILE": ""}
    config = load(tmp_path, environ)
    assert config.repository.s3 is not None
    assert config.repository.s3.as_dict() == {
        "bucket": "b/models",
        "region": "eu-west-1",
        "profile": "dev",  # ":-" also replaces an empty value, as the shell does
        "endpoint_url": "http://127.0.0.1:9000",
    }
    assert config.repository.artifacts[0].file == "models/m.pkl"


def test_unset_variable_names_key_path_and_variable(tmp_path: Path) -> None:
    message = config_error(
        tmp_path, S3_REPO.replace("file: models/model.pkl", "file: ${MODEL_FILE}")
    )
    assert "repository.artifacts[0].file" in message
    assert "MODEL_FILE is not set" in message


def test_escaped_and_malformed_references(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", S3_REPO.replace("region: us-east-1", "region: $${X}"))
    config = load(tmp_path)
    assert config.repository.s3 is not None
    assert config.repository.s3.region == "${X}"
    message = config_error(tmp_path, S3_REPO.replace("region: us-east-1", "region: ${1-x}"))
    assert "repository.s3.region: malformed reference ${1-x}" in message


def test_verify_from_a_variable_is_a_boolean(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        repository:
          artifactory: {url: https://h/artifactory, repo: r, verify: "${VERIFY:-true}"}
          artifacts: [{name: m, file: m.pkl}]
        """,
    )
    settings = load(tmp_path, {"VERIFY": "false"}).repository.artifactory
    assert settings is not None
    assert settings.verify is False


@pytest.mark.parametrize(("text", "value"), [("off", False), ("On", True), ("0", False)])
def test_booleans_are_spelt_alike_in_verify_and_in_auth_aws(
    tmp_path: Path, text: str, value: bool
) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        repository:
          artifactory: {url: https://h/artifactory, repo: r, verify: "${B}"}
          artifacts: [{name: m, file: m.pkl}]
        """,
    )
    settings = load(tmp_path, {"B": text}).repository.artifactory
    assert settings is not None
    assert settings.verify is value
    assert AuthSettings.from_config({"aws": text}).aws is value


def test_an_artifactory_repo_is_a_key_without_a_folder(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        "repository: {artifactory: {url: h, repo: generic-local/team}, artifacts: []}",
    )
    assert "repository.artifactory.repo: 'generic-local/team' is a repository key" in message
    assert "repository.artifactory.path" in message


# --------------------------------------------------------------------------- strict validation


def test_skelebot_D1_both_backends_rejected_in_fsartifacts_yaml(tmp_path: Path) -> None:
    both = """
    repository:
      s3: {bucket: b, region: us-east-1}
      artifactory: {url: https://h/artifactory, repo: r}
      artifacts: [{name: m, file: m.pkl}]
    """
    message = config_error(tmp_path, both)
    assert "repository: s3 and artifactory are both set; keep exactly one" in message
    # ... while skelebot.yaml keeps skelebot's choice: S3, with a warning.
    (tmp_path / "fsartifacts.yaml").unlink()
    write(
        tmp_path,
        "skelebot.yaml",
        "name: p\ncomponents:\n" + textwrap.indent(textwrap.dedent(both), "  "),
    )
    config = load(tmp_path)
    assert config.repository.kind == "s3"
    assert config.repository.artifactory is None
    assert any("using s3 as skelebot does" in w for w in config.warnings)


BAD_CONFIGS = [
    # (id, yaml, expected key path, expected problem)
    (
        "s3 and url",
        "repository: {s3: {bucket: b}, url: memory://x, artifacts: [{name: m, file: m}]}",
        "repository: s3 and url are both set",
        "exactly one",
    ),
    (
        "no backend",
        "repository: {artifacts: [{name: m, file: m}]}",
        "repository: no store configured",
        "s3, artifactory or url",
    ),
    (
        "no repository",
        "version: 1.0.0",
        "repository: required field",
        "",
    ),
    (
        "unknown top key",
        S3_REPO + "colour: blue\n",
        "colour: unknown key",
        "known keys here: version, repository, transfer",
    ),
    (
        "unknown s3 key",
        S3_REPO.replace("region:", "regoin:"),
        "repository.s3.regoin: unknown key",
        "region",
    ),
    (
        "unknown artifact key",
        S3_REPO.replace("file: models/model.pkl", "file: m.pkl\n      singluar: true"),
        "repository.artifacts[0].singluar: unknown key",
        "singular",
    ),
    (
        "wrong type",
        S3_REPO.replace("bucket: my-bucket", "bucket: [a, b]"),
        "repository.s3.bucket: must be a string",
        "(got a list)",
    ),
    (
        "singular not bool",
        S3_REPO.replace("file: models/model.pkl", "file: m.pkl\n      singular: maybe"),
        "repository.artifacts[0].singular: must be true or false",
        "(got a string)",
    ),
    (
        "missing bucket",
        "repository: {s3: {region: r}, artifacts: [{name: m, file: m}]}",
        "repository.s3.bucket: required field",
        "",
    ),
    (
        "empty bucket",
        "repository: {s3: {bucket: 's3://'}, artifacts: [{name: m, file: m}]}",
        "repository.s3.bucket: 's3://' names no bucket",
        "",
    ),
    (
        "missing artifactory url",
        "repository: {artifactory: {repo: r}, artifacts: [{name: m, file: m}]}",
        "repository.artifactory.url: required field",
        "",
    ),
    (
        "missing artifactory repo",
        "repository: {artifactory: {url: h}, artifacts: [{name: m, file: m}]}",
        "repository.artifactory.repo: required field",
        "",
    ),
    (
        "artifactory url scheme",
        "repository: {artifactory: {url: 'ftp://h', repo: r}, artifacts: [{name: m, file: m}]}",
        "repository.artifactory.url: 'ftp://h' must be an http:// or https:// URL",
        "",
    ),
    (
        "missing artifact file",
        "repository: {s3: {bucket: b}, artifacts: [{name: a, file: a}, {name: m}]}",
        "repository.artifacts[1].file: required field",
        "",
    ),
    (
        "missing artifact name",
        "repository: {s3: {bucket: b}, artifacts: [{file: m.pkl}]}",
        "repository.artifacts[0].name: required field",
        "",
    ),
    (
        "missing artifacts",
        "repository: {s3: {bucket: b}}",
        "repository.artifacts: required field",
        "",
    ),
    (
        "null artifacts",
        "repository: {s3: {bucket: b}, artifacts: }",
        "repository.artifacts: no value given",
        "",
    ),
    (
        "auth type",
        "repository: {artifactory: {url: h, repo: r, auth: {authType: kerberos}},"
        " artifacts: [{name: m, file: m}]}",
        "repository.artifactory.auth.authType: 'kerberos' is not one of",
        "user_pass, token, api_key, none",
    ),
    (
        "auth aws not bool",
        "repository: {artifactory: {url: h, repo: r, auth: {aws: 'sure'}},"
        " artifacts: [{name: m, file: m}]}",
        "repository.artifactory.auth.aws: must be true or false",
        "",
    ),
    (
        "cert pair",
        "repository: {artifactory: {url: h, repo: r, cert: [a]}, artifacts: [{name: m, file: m}]}",
        "repository.artifactory.cert: must be a certificate path, or a list",
        "",
    ),
    (
        "duplicate names",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: a}, {name: m, file: b}]}",
        "repository.artifacts[1].name: duplicate artifact name 'm' (also artifacts[0])",
        "",
    ),
    (
        "name with space",
        "repository: {s3: {bucket: b}, artifacts: [{name: my model, file: a}]}",
        "repository.artifacts[0].name: 'my model' may hold only letters",
        "",
    ),
    (
        "name with slash",
        "repository: {s3: {bucket: b}, artifacts: [{name: a/b, file: a}]}",
        "repository.artifacts[0].name: 'a/b' may hold only",
        "",
    ),
    (
        "name dot",
        "repository: {s3: {bucket: b}, artifacts: [{name: '..', file: a}]}",
        "repository.artifacts[0].name: '..' is not a usable name",
        "",
    ),
    (
        "name number",
        "repository: {s3: {bucket: b}, artifacts: [{name: 12, file: a}]}",
        "repository.artifacts[0].name: must be a string",
        "(got an integer)",
    ),
    (
        "file absolute",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: /etc/passwd}]}",
        "repository.artifacts[0].file: '/etc/passwd' is absolute",
        "relative to the project root",
    ),
    (
        "file home",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: ~/m.pkl}]}",
        "repository.artifacts[0].file: '~/m.pkl' is absolute",
        "",
    ),
    (
        "file parent",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: ../m.pkl}]}",
        "repository.artifacts[0].file: '../m.pkl' leaves the project root",
        "",
    ),
    (
        "file sneaky parent",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: a/../../m.pkl}]}",
        "repository.artifacts[0].file: 'a/../../m.pkl' leaves the project root",
        "",
    ),
    (
        "file root itself",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: ./}]}",
        "repository.artifacts[0].file: './' is the project root itself",
        "",
    ),
    (
        "ext without dot",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: m.pkl, ext: pkl}]}",
        "repository.artifacts[0].ext: 'pkl' must start with '.'",
        "",
    ),
    (
        "ext with slash",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: m.pkl, ext: ./x}]}",
        "repository.artifacts[0].ext: './x' must start with '.' and hold only",
        "",
    ),
    (
        "artifact version",
        "repository: {s3: {bucket: b}, artifacts: [{name: m, file: m.pkl, version: '1.2.3.4'}]}",
        "repository.artifacts[0].version: '1.2.3.4' is not a version or a range",
        "^1.4",
    ),
    (
        "project version float",
        "version: 1.4\n" + S3_REPO,
        "version: '1.4' is not a semantic version",
        "",
    ),
    (
        "checksums",
        "repository: {s3: {bucket: b, checksums: never}, artifacts: [{name: m, file: m}]}",
        "repository.s3.checksums: 'never' is not one of when_supported, when_required",
        "",
    ),
    (
        "extra_args type",
        "repository: {s3: {bucket: b, extra_args: [ACL]}, artifacts: [{name: m, file: m}]}",
        "repository.s3.extra_args: must be a mapping (key: value)",
        "",
    ),
    (
        "options without url",
        "repository: {s3: {bucket: b}, options: {x: 1}, artifacts: [{name: m, file: m}]}",
        "repository.options: storage options are only used with url",
        "",
    ),
    (
        "transfer jobs zero",
        S3_REPO + "transfer: {jobs: 0}",
        "transfer.jobs: must be a whole number of at least 1 (got 0)",
        "",
    ),
    (
        "transfer jobs bool",
        S3_REPO + "transfer: {jobs: true}",
        "transfer.jobs: must be a whole number",
        "",
    ),
    (
        "transfer timeout",
        S3_REPO + "transfer: {timeout: -1}",
        "transfer.timeout: must be a number of seconds above 0",
        "",
    ),
    (
        "transfer part size",
        S3_REPO + "transfer: {part_size: 8 parsecs}",
        "transfer.part_size: must be a size such as 8MiB",
        "",
    ),
    (
        "transfer unknown",
        S3_REPO + "transfer: {threads: 3}",
        "transfer.threads: unknown key",
        "jobs, attempts, timeout, part_size",
    ),
    (
        "artifacts mapping error has no index",
        "repository: {s3: {bucket: b}, artifacts: {name: m}}",
        "repository.artifacts.file: required field",
        "",
    ),
]


@pytest.mark.parametrize(
    ("text", "path_and_problem", "detail"),
    [case[1:] for case in BAD_CONFIGS],
    ids=[case[0] for case in BAD_CONFIGS],
)
def test_bad_fsartifacts_yaml_is_one_line_naming_the_key_path(
    tmp_path: Path, text: str, path_and_problem: str, detail: str
) -> None:
    message = config_error(tmp_path, text)
    assert message.startswith(str((tmp_path / "fsartifacts.yaml").resolve()) + ": ")
    assert path_and_problem in message
    assert detail in message


# A value of the wrong YAML type: what the key wants, and what the file wrote there.
WRONG_TYPES = [
    ("s3: {bucket: [a, b]}", "repository.s3.bucket: must be a string (got a list)"),
    ("s3: {bucket: 12}", "repository.s3.bucket: must be a string (got an integer)"),
    ("s3: [b]", "repository.s3: must be a mapping (key: value) (got a list)"),
    ("s3: {bucket: b}, artifacts: abc", "repository.artifacts: must be a list (got a string)"),
    ("s3: {bucket: b}, artifacts: [abc]",
     "repository.artifacts[0]: must be a mapping (key: value) (got a string)"),
    ("s3: {bucket: b}, artifacts: [{name: 1.5, file: m}]",
     "repository.artifacts[0].name: must be a string (got a number)"),
    ("s3: {bucket: b}, artifacts: [{name: 2020-01-01, file: m}]",
     "repository.artifacts[0].name: must be a string (got a date)"),
    ("s3: {bucket: b}, artifacts: [{name: m, file: m, singular: 1}]",
     "repository.artifacts[0].singular: must be true or false (got an integer)"),
    ("s3: {bucket: b}, artifacts: [{name: m, file: m, version: [1]}]",
     "repository.artifacts[0].version: must be a string (got a list)"),
    ("artifactory: {url: http://h, repo: r, verify: 3}",
     "repository.artifactory.verify: must be true or false, or a string (got an integer)"),
    ("artifactory: {url: http://h, repo: r, cert: 3}",
     "repository.artifactory.cert: must be a string or a list (got an integer)"),
    ("artifactory: {url: http://h, repo: r, auth: {aws: yes please}}",
     "repository.artifactory.auth.aws: must be true or false (got a string)"),
    # a key of the wrong type is named as a key, not as a value at an index
    ("s3: {bucket: b, extra_args: {1: x}}",
     "repository.s3.extra_args: key 1 must be a string (got an integer)"),
    ("url: 'file:///tmp/store', options: {true: x}",
     "repository.options: key True must be a string (got a boolean)"),
]  # fmt: skip


@pytest.mark.parametrize("flavour", ["fsartifacts.yaml", "skelebot.yaml"])
@pytest.mark.parametrize(("repository", "problem"), WRONG_TYPES)
def test_a_value_of_the_wrong_type_names_the_type_the_file_wrote(
    tmp_path: Path, flavour: str, repository: str, problem: str
) -> None:
    if "artifacts:" not in repository:
        repository += ", artifacts: [{name: m, file: m}]"
    text = f"repository: {{{repository}}}\n"
    if flavour == "skelebot.yaml":
        text, problem = "components:\n  " + text, "components." + problem
    write(tmp_path, flavour, text)
    with pytest.raises(ConfigValidationError) as caught:
        load(tmp_path)
    assert caught.value.errors == (problem,)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: [1]\n" + S3_REPO, "version: must be a string (got a list)"),
        (S3_REPO + "transfer: [1]\n", "transfer: must be a mapping (key: value) (got a list)"),
        ("repository: [1]\n", "repository: must be a mapping (key: value) (got a list)"),
        ("42\n", "the top level must be a mapping of keys (key: value), not an integer"),
    ],
)
def test_the_wrong_type_at_the_top_of_fsartifacts_yaml_is_named(
    tmp_path: Path, text: str, problem: str
) -> None:
    write(tmp_path, "fsartifacts.yaml", text)
    with pytest.raises(ConfigValidationError) as caught:
        load(tmp_path)
    assert caught.value.errors == (problem,)


def test_a_skelebot_repository_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    write(tmp_path, "skelebot.yaml", "components:\n  repository: [s3]\n")
    with pytest.raises(ConfigValidationError) as caught:
        load(tmp_path)
    assert caught.value.errors == (
        "components.repository: must be a mapping (key: value) (got a list)",
    )


@pytest.mark.parametrize("name", ["ALL", "all", "LATEST", "Latest", "latest"])
def test_reserved_names_are_rejected_in_any_case(tmp_path: Path, name: str) -> None:
    message = config_error(
        tmp_path, f"repository: {{s3: {{bucket: b}}, artifacts: [{{name: {name}, file: m}}]}}"
    )
    assert f"repository.artifacts[0].name: {name!r} is reserved" in message


def test_every_problem_is_kept_and_the_shallowest_comes_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        colour: blue
        repository:
          artifacts:
            - {name: ALL, file: /abs}
            - {name: m}
        """,
    )
    with pytest.raises(ConfigValidationError) as caught:
        load(tmp_path)
    errors = caught.value.errors
    assert errors[0].startswith(("colour: unknown key", "repository: no store configured"))
    assert "repository: no store configured; add one of s3, artifactory or url" in errors
    assert "repository.artifacts[1].file: required field" in errors
    assert any(e.startswith("repository.artifacts[0].name: 'ALL' is reserved") for e in errors)
    assert any(e.startswith("repository.artifacts[0].file: '/abs' is absolute") for e in errors)
    assert all("\n" not in e for e in errors)
    assert f"(and {len(errors) - 1} more problems)" in str(caught.value)
    assert isinstance(caught.value, ConfigError)


def test_artifacts_may_be_one_mapping(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        "repository: {s3: {bucket: b}, artifacts: {name: model, file: m.pkl, singular: true}}",
    )
    (artifact,) = load(tmp_path).repository.artifacts
    assert (artifact.name, artifact.file, artifact.singular) == ("model", "m.pkl", True)


def test_artifact_fields_are_normalised(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        version: v1.4.0
        repository:
          s3: {bucket: 's3://bkt/some/prefix/'}
          artifacts:
            - {name: model, file: ./models/../models/m.pkl}
            - {name: data.v2, file: data/, ext: .tar.gz, version: v1.2.0-rc.1}
        """,
    )
    config = load(tmp_path)
    assert config.version == "v1.4.0"
    assert config.repository.s3 is not None
    assert config.repository.s3.as_dict() == {"bucket": "bkt/some/prefix"}
    model, data = config.repository.artifacts
    assert (model.file, model.singular, model.ext, model.version) == (
        "models/m.pkl",
        False,
        None,
        None,
    )
    assert (data.file, data.ext, data.version) == ("data", ".tar.gz", "1.2.0-rc.1")
    assert config.repository.artifact("data.v2") is data
    assert config.repository.artifact("nope") is None


def test_empty_artifact_list_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", "repository: {s3: {bucket: b}, artifacts: []}")
    config = load(tmp_path)
    assert config.repository.artifacts == ()
    assert any("no artifacts are declared" in w for w in config.warnings)


# --------------------------------------------------------------------------- stores


def test_artifactory_settings_and_defaults(tmp_path: Path) -> None:
    write(tmp_path, "certs/ca.pem", "ca")
    write(tmp_path, "certs/client.pem", "c")
    write(tmp_path, "certs/client.key", "k")
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        repository:
          artifactory:
            url: artifactory.me.com/artifactory/
            repo: /ml-models/
            path: /my/model/
            verify: certs/ca.pem
            cert: [certs/client.pem, certs/client.key]
            auth: {authType: apikey, aws: true, awsSecret: Team, awsRegion: eu-west-1}
          artifacts: [{name: m, file: m.pkl}]
        """,
    )
    settings = load(tmp_path).repository.artifactory
    root = tmp_path.resolve()
    assert settings is not None
    assert settings.as_dict() == {
        "url": "https://artifactory.me.com/artifactory",
        "repo": "ml-models",
        "path": "my/model",
        "verify": str(root / "certs/ca.pem"),
        "cert": (str(root / "certs/client.pem"), str(root / "certs/client.key")),
        "auth": {
            "authType": "api_key",
            "aws": True,
            "awsSecret": "Team",
            "awsProfile": None,
            "awsRegion": "eu-west-1",
        },
    }


def test_artifactory_minimal_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        "repository: {artifactory: {url: 'http://h:8081/a', repo: r}, artifacts: []}",
    )
    settings = load(tmp_path).repository.artifactory
    assert settings is not None
    assert settings.as_dict() == {
        "url": "http://h:8081/a",
        "repo": "r",
        "path": "",
        "verify": True,
        "auth": {
            "authType": "user_pass",
            "aws": False,
            "awsSecret": "Artifactory",
            "awsProfile": None,
            "awsRegion": "us-east-1",
        },
    }


@pytest.mark.parametrize("auth_type", ["user_pass", "token", "api_key", "none"])
def test_every_auth_type_is_accepted(tmp_path: Path, auth_type: str) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        f"repository: {{artifactory: {{url: h, repo: r, auth: {{authType: {auth_type}}}}},"
        " artifacts: []}",
    )
    settings = load(tmp_path).repository.artifactory
    assert settings is not None
    assert settings.auth.auth_type == auth_type


def test_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        "repository: {artifactory: {url: h, repo: r, verify: ca.pem}, artifacts: []}",
    )
    assert "repository.artifactory.verify: no such file" in message


def test_url_store_with_options(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        repository:
          url: file://./.artifacts
          options: {auto_mkdir: true}
          artifacts: [{name: m, file: m.pkl}]
        """,
    )
    repo = load(tmp_path).repository
    assert (repo.kind, repo.url, repo.options) == (
        "url",
        "file://./.artifacts",
        {"auto_mkdir": True},
    )


def test_s3_settings_are_passed_on(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        repository:
          s3:
            bucket: b
            region: us-east-1
            profile: dev
            endpoint_url: http://127.0.0.1:9000
            checksums: when_required
            extra_args: {ServerSideEncryption: aws:kms, SSEKMSKeyId: key-1}
          artifacts: []
        """,
    )
    s3 = load(tmp_path).repository.s3
    assert s3 is not None
    assert s3.as_dict() == {
        "bucket": "b",
        "region": "us-east-1",
        "profile": "dev",
        "endpoint_url": "http://127.0.0.1:9000",
        "checksums": "when_required",
        "extra_args": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key-1"},
    }


# --------------------------------------------------------------------------- transfer


def test_transfer_defaults(tmp_path: Path) -> None:
    write(tmp_path, "fsartifacts.yaml", S3_REPO)
    transfer = load(tmp_path).transfer
    assert (transfer.jobs, transfer.attempts, transfer.timeout, transfer.part_size) == (
        4,
        5,
        30.0,
        8 * MiB,
    )


def test_transfer_from_file_then_environment_then_flag(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        S3_REPO + "transfer: {jobs: 2, attempts: 3, timeout: 30, part_size: 16MB}\n",
    )
    from_file = load(tmp_path).transfer
    assert (from_file.jobs, from_file.attempts, from_file.timeout, from_file.part_size) == (
        2,
        3,
        30.0,
        16_000_000,
    )
    environ = {
        "FSARTIFACTS_JOBS": "6",
        "FSARTIFACTS_ATTEMPTS": "9",
        "FSARTIFACTS_TIMEOUT": "0.25",
        "FSARTIFACTS_PART_SIZE": "32MiB",
    }
    from_env = load(tmp_path, environ).transfer
    assert (from_env.jobs, from_env.attempts, from_env.timeout, from_env.part_size) == (
        6,
        9,
        0.25,
        32 * MiB,
    )
    assert load(tmp_path, environ, jobs=1).transfer.jobs == 1
    assert load(tmp_path, {"FSARTIFACTS_JOBS": ""}).transfer.jobs == 2  # empty means unset


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FSARTIFACTS_JOBS", "many"),
        ("FSARTIFACTS_JOBS", "0"),
        ("FSARTIFACTS_ATTEMPTS", "-2"),
        ("FSARTIFACTS_TIMEOUT", "0"),
        ("FSARTIFACTS_TIMEOUT", "nan"),
        ("FSARTIFACTS_PART_SIZE", "lots"),
    ],
)
def test_bad_transfer_variable_names_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    message = config_error(tmp_path, S3_REPO, environ={variable: value})
    assert message.startswith(f"${variable}: ")
    assert repr(value) in message


def test_bad_jobs_flag(tmp_path: Path) -> None:
    assert config_error(tmp_path, S3_REPO, jobs=0).startswith("-j/--jobs: ")


def test_s3_part_size_must_fit_s3_limits(tmp_path: Path) -> None:
    message = config_error(tmp_path, S3_REPO + "transfer: {part_size: 1MiB}\n")
    assert message.startswith("transfer.part_size: ")
    assert "5MiB" in message
    write(tmp_path, "fsartifacts.yaml", S3_REPO)
    assert config_error(tmp_path, S3_REPO, environ={"FSARTIFACTS_PART_SIZE": "1024"}).startswith(
        "$FSARTIFACTS_PART_SIZE: "
    )
    # other stores take small parts
    write(
        tmp_path,
        "fsartifacts.yaml",
        "repository: {url: 'memory://x', artifacts: []}\ntransfer: {part_size: 1KiB}\n",
    )
    assert load(tmp_path).transfer.part_size == 1024


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (8388608, 8 * MiB),
        ("8MiB", 8 * MiB),
        ("8 MiB", 8 * MiB),
        ("16MB", 16_000_000),
        ("8M", 8 * MiB),
        ("1.5GiB", 3 * 512 * MiB),
        ("64KiB", 64 * 1024),
        ("10kb", 10_000),
        ("512", 512),
        ("512B", 512),
    ],
)
def test_parse_size(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MiB", "8 XB", "8iB", "-1", 0, True, 1.5, "8 MiB extra"])
def test_parse_size_rejects(text: object) -> None:
    with pytest.raises(ValueError, match=r"size|at least 1 byte"):
        parse_size(text)


# --------------------------------------------------------------------------- skelebot.yaml

REAL_SKELEBOT = """
name: churn-model
env: python3.9
description: Churn model training and scoring
maintainer: Data Science Team
contact: ds@example.com
host: docker.example.com
pythonVersion: '3.9'
gpu: false
ephemeral: false
primaryJob: train
primaryExe: CMD
version: 9.9.9
ports:
  - 8888:8888
dependencies:
  - pandas
  - scikit-learn
  - proj:pyproject.toml
ignores:
  - '**/*.pkl'
  - data/
params:
  - name: log
    alt: l
    choices: [debug, info]
    default: info
jobs:
  - name: train
    source: jobs/train.sh
    mode: i
    help: Train the model
    mappings: [data/, models/]
    params:
      - {name: algorithm, alt: a, default: xgb, choices: [glm, xgb]}
commands:
  - rm -rf build/
components:
  jupyter:
    port: 1127
    folder: notebooks/
    lab: true
  kerberos:
    krbConfig: /etc/krb5.conf
    keytab: ~/.keytabs/user.keytab
    user: user@EXAMPLE.COM
  registry:
    host: registry.example.com
    port: 5000
    aws: {region: us-east-1, profile: dev}
  repository:
    artifactory:
      url: https://artifactory.example.com/artifactory
      repo: ml-models
      path: churn
      auth:
        authType: token
        aws: true
        awsSecret: Artifactory
        awsProfile: default
        awsRegion: us-east-1
      timeout: 30
    artifacts:
      - name: model
        file: models/model.pkl
        singular: false
        description: the trained model
      - name: features
        file: data/features.tar.gz
        ext: .tar.gz
      - name: metrics
        file: output/metrics.json
        singular: true
"""


def test_realistic_skelebot_yaml_with_foreign_keys_loads(tmp_path: Path) -> None:
    write(tmp_path, "skelebot.yaml", REAL_SKELEBOT)
    write(tmp_path, "VERSION", "1.3.0\n")
    config = load(tmp_path)
    assert config.flavour == "skelebot"
    assert config.version is None  # never read from skelebot.yaml
    repo = config.repository
    assert repo.kind == "artifactory"
    assert repo.artifactory is not None
    assert "timeout" not in repo.artifactory.as_dict()  # unknown keys are dropped, not passed on
    assert repo.artifactory.auth.auth_type == "token"
    assert [(a.name, a.file, a.singular, a.ext) for a in repo.artifacts] == [
        ("model", "models/model.pkl", False, None),
        ("features", "data/features.tar.gz", False, ".tar.gz"),
        ("metrics", "output/metrics.json", True, None),
    ]
    assert any(
        "version: 9.9.9 is ignored" in w and "VERSION file says 1.3.0" in w for w in config.warnings
    )


def test_skelebot_version_key_agreeing_with_VERSION_is_silent(tmp_path: Path) -> None:
    write(tmp_path, "skelebot.yaml", REAL_SKELEBOT.replace("version: 9.9.9", "version: 1.3.0"))
    write(tmp_path, "VERSION", "1.3.0")
    assert not any("version" in w for w in load(tmp_path).warnings)


def test_skelebot_version_key_without_VERSION_file_warns(tmp_path: Path) -> None:
    write(tmp_path, "skelebot.yaml", REAL_SKELEBOT)
    assert any("write the version in a VERSION file" in w for w in load(tmp_path).warnings)


def test_skelebot_D2_missing_artifacts_is_a_config_error(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        """
        name: proj
        components:
          repository:
            s3: {bucket: b, region: us-east-1}
        """,
        name="skelebot.yaml",
    )
    assert "components.repository.artifacts: required field" in message


def test_skelebot_artifact_without_file_or_name(tmp_path: Path) -> None:
    text = """
    name: proj
    components:
      repository:
        s3: {bucket: b, region: us-east-1}
        artifacts:
          - {name: a, file: a.pkl}
          - {name: b}
    """
    message = config_error(tmp_path, text, name="skelebot.yaml")
    assert "components.repository.artifacts[1].file: required field" in message
    message = config_error(tmp_path, text.replace("{name: b}", "{file: b}"), name="skelebot.yaml")
    assert "components.repository.artifacts[1].name: required field" in message


def test_skelebot_without_repository_component(tmp_path: Path) -> None:
    message = config_error(
        tmp_path, "name: p\ncomponents: {jupyter: {port: 1}}\n", name="skelebot.yaml"
    )
    assert "components.repository: required field" in message
    message = config_error(
        tmp_path, "name: p\ncomponents: {repository: {artifacts: []}}\n", name="skelebot.yaml"
    )
    assert "components.repository: no store configured" in message


def test_skelebot_is_lenient_where_skelebot_is(tmp_path: Path) -> None:
    write(tmp_path, "m.pkl", "x")
    write(
        tmp_path,
        "skelebot.yaml",
        """
        name: proj
        components:
          repository:
            url: ignored://because-s3-wins
            s3:
              bucket: b
              region: us-east-1
              kms: something-new
            artifacts:
              - {name: model, file: old.pkl, extra: 1}
              - {name: model, file: m.pkl}
              - {name: ALL, file: all.pkl}
              - {name: shared, file: shared/../data.csv}
              - {name: my model, file: x.bin}
        """,
    )
    config = load(tmp_path)
    repo = config.repository
    assert repo.kind == "s3"
    assert repo.url is None
    assert repo.s3 is not None
    assert repo.s3.as_dict() == {"bucket": "b", "region": "us-east-1"}
    model = repo.artifact("model")
    assert model is not None
    assert model.file == "m.pkl"  # skelebot keeps the last of two same-named artifacts
    assert [a.name for a in repo.artifacts] == ["model", "ALL", "shared", "my model"]
    warnings = " | ".join(config.warnings)
    assert "declared twice" in warnings
    assert "'ALL', which is also a command keyword" in warnings
    assert "using s3 as skelebot does, and ignoring url" in warnings


def test_skelebot_variables_only_matter_inside_the_repository(tmp_path: Path) -> None:
    write(
        tmp_path,
        "skelebot.yaml",
        """
        name: ${UNSET_ELSEWHERE}
        components:
          repository:
            s3: {bucket: "${BUCKET}"}
            artifacts: [{name: m, file: m.pkl}]
        """,
    )
    s3 = load(tmp_path, {"BUCKET": "bk"}).repository.s3
    assert s3 is not None and s3.as_dict() == {"bucket": "bk"}
    message = config_error(tmp_path, (tmp_path / "skelebot.yaml").read_text(), name="skelebot.yaml")
    assert "components.repository.s3.bucket: environment variable BUCKET is not set" in message


def test_skelebot_still_checks_types_it_uses(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        """
        components:
          repository:
            artifactory: {url: h, repo: r, auth: {authType: password}}
            artifacts: [{name: m, file: m.pkl, singular: 'no'}]
        """,
        name="skelebot.yaml",
    )
    assert "components.repository.artifactory.auth.authType: 'password' is not one of" in message
    assert "(and 1 more problem)" in message


# --------------------------------------------------------------------------- redaction


def test_secret_looking_keys() -> None:
    for key in (
        "token",
        "password",
        "aws_secret_access_key",
        "SSEKMSKeyId",
        "api_key",
        "key",
        "apikey",
        "client_secret",
        "credentials",
        "passwd",
        "AccessKey",
    ):
        assert is_secret_key(key), key
    for key in ("bucket", "region", "authType", "awsSecret", "awsProfile", "url", "keyword_list"):
        assert not is_secret_key(key), key


def test_redacted_is_a_deep_copy_hiding_secrets() -> None:
    data = {
        "url": "https://alice:s3cr3t@host/path",
        "options": {"key": "AKIA", "secret": "x", "client_kwargs": {"aws_session_token": "t"}},
        "list": [{"password": "p", "user": "u"}],
        "flag": True,
        "token": None,
    }
    shown = redacted(data)
    assert shown == {
        "url": "https://alice:***@host/path",
        "options": {"key": "***", "secret": "***", "client_kwargs": {"aws_session_token": "***"}},
        "list": [{"password": "***", "user": "u"}],
        "flag": True,
        "token": None,
    }
    assert data["options"]["key"] == "AKIA"  # type: ignore[index]


def test_config_as_dict_is_plain_redacted_data(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        version: 2.0.0
        repository:
          url: s3://bucket/x
          options: {key: AKIAEXAMPLE, secret: "${S3_SECRET}", endpoint_url: 'http://u:pw@h:9000'}
          artifacts:
            - {name: model, file: m.pkl, version: 1.0.0}
        """,
    )
    environ = {"S3_SECRET": "very-secret-value"}
    shown = config_as_dict(load(tmp_path, environ))
    text = json.dumps(shown)
    assert "very-secret-value" not in text
    assert "AKIAEXAMPLE" not in text
    assert "pw@" not in text
    assert shown["repository"] == {
        "kind": "url",
        "url": {
            "url": "s3://bucket/x",
            "options": {"key": "***", "secret": "***", "endpoint_url": "http://u:***@h:9000"},
        },
    }
    assert shown["artifacts"] == [
        {"name": "model", "file": "m.pkl", "singular": False, "ext": None, "version": "1.0.0"}
    ]
    assert shown["config"] == str((tmp_path / "fsartifacts.yaml").resolve())
    assert shown["root"] == str(tmp_path.resolve())
    assert shown["version"] == "2.0.0"
    assert shown["transfer"]["part_size"] == 8 * MiB


@pytest.mark.parametrize("field", ["name", "file"])
@pytest.mark.parametrize("flavour", ["fsartifacts", "skelebot"])
def test_an_empty_artifact_field_is_a_config_error(
    tmp_path: Path, field: str, flavour: str
) -> None:
    entry = {"name": "model", "file": "model.pkl"}
    entry[field] = None
    repository = {"url": "file://./store", "artifacts": [entry]}
    doc = (
        {"repository": repository}
        if flavour == "fsartifacts"
        else {"components": {"repository": repository}}
    )
    path = tmp_path / f"{flavour}.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={})
    assert f"artifacts[0].{field}" in str(raised.value)
    assert "\n" not in str(raised.value)


# --------------------------------------------------------------------------- outside the project


@pytest.mark.parametrize("flavour", ["fsartifacts.yaml", "skelebot.yaml"])
@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlinked folder", "symlinked file"])
def test_a_file_that_resolves_outside_the_project_is_refused(
    tmp_path: Path, flavour: str, how: str
) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    (project / "deep").mkdir(parents=True)
    outside.mkdir()
    (outside / "m.pkl").write_text("not the project's")
    if how == "symlinked folder":
        (project / "models").symlink_to(outside, target_is_directory=True)
    if how == "symlinked file":
        (project / "m.pkl").symlink_to(outside / "m.pkl")
    file = {
        "absolute": str(outside / "m.pkl"),
        "dotdot": "../outside/m.pkl",
        "symlinked folder": "models/m.pkl",
        "symlinked file": "m.pkl",
    }[how]
    repository = f"""
        url: file://./store
        artifacts:
          - {{name: model, file: "{file}"}}
    """
    text = (
        f"repository:{textwrap.indent(textwrap.dedent(repository), '  ')}"
        if flavour == "fsartifacts.yaml"
        else f"components:\n  repository:{textwrap.indent(textwrap.dedent(repository), '    ')}"
    )
    message = config_error(project, text, name=flavour)
    if flavour == "fsartifacts.yaml" and how in ("absolute", "dotdot"):
        # fsartifacts.yaml's schema already names an absolute or ../ path as such.
        assert "is absolute" in message or "leaves the project root" in message
    else:
        assert f"resolves to {outside.resolve() / 'm.pkl'}, outside the project root" in message


def test_a_symlink_that_stays_inside_the_project_is_fine(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "models").symlink_to(tmp_path / "real", target_is_directory=True)
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        repository:
          url: file://./store
          artifacts:
            - {name: model, file: models/m.pkl}
        """,
    )
    assert load(tmp_path).repository.artifacts[0].file == "models/m.pkl"


@pytest.mark.parametrize(
    ("store", "says"),
    [
        ("artifactory: {url: 'https:/arti.example.com/artifactory', repo: r}", "https://"),
        ("artifactory: {url: 'https:arti.example.com', repo: r}", "https://"),
        ("s3: {bucket: b, endpoint_url: 'http:/127.0.0.1:9000'}", "http://"),
        ("s3: {bucket: 's3:/my-bucket/models'}", "s3://"),
        ("url: 's3:/my-bucket'", "s3://"),
    ],
)
def test_a_scheme_with_one_slash_is_a_typo_everywhere_a_url_is_given(
    tmp_path: Path, store: str, says: str
) -> None:
    message = config_error(
        tmp_path, f"repository:\n  {store}\n  artifacts: [{{name: m, file: m.pkl}}]\n"
    )
    assert says in message and "two slashes" in message, message


def test_an_artifactory_host_with_a_port_and_no_scheme_is_still_https(tmp_path: Path) -> None:
    write(
        tmp_path,
        "fsartifacts.yaml",
        """
        repository:
          artifactory: {url: 'arti.example.com:8081/artifactory', repo: r}
          artifacts: [{name: m, file: m.pkl}]
        """,
    )
    settings = load(tmp_path).repository.artifactory
    assert settings is not None
    assert settings.url == "https://arti.example.com:8081/artifactory"


@pytest.mark.parametrize("text", ["\u0668MiB", "1\u0660MiB", "\uff18MiB"])
def test_sizes_are_written_with_ascii_digits(text: str) -> None:
    with pytest.raises(ValueError, match="must be a size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("store", "name", "where"),
    [
        ("url: file://./s", '"model\\n"', "name"),
        ('s3: {bucket: "b\\r"}', "m", "s3.bucket"),
        ('artifactory: {url: h, repo: "r\\x1b"}', "m", "repo"),
        ('artifactory: {url: h, repo: r, path: "a\\nb"}', "m", "artifactory.path"),
    ],
)
def test_control_characters_in_remote_names_are_refused_in_skelebot_yaml_too(
    tmp_path: Path, store: str, name: str, where: str
) -> None:
    text = (
        f"components:\n  repository:\n    {store}\n    artifacts: [{{name: {name}, file: m.pkl}}]\n"
    )
    message = config_error(tmp_path, text, name="skelebot.yaml")
    assert where in message and "control character" in message, message
