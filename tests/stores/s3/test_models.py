"""botocore's service models as the S3 store reads them: the same files from the same
search path into the same data, with the check that a service is known made in that
service's own folder instead of over all of them."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from fsartifacts.stores.s3.models import ServiceLoader, service_loader
from fsartifacts.stores.s3.session import new_session


@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1", "paginators-1"])
def test_s3s_models_are_the_data_botocore_reads(type_name: str) -> None:
    ours = ServiceLoader().load_service_model("s3", type_name)
    theirs = Loader().load_service_model("s3", type_name)
    assert ours == theirs
    # In the same order at every level too (== between a dict and an OrderedDict ignores it).
    assert json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize("name", ["endpoints", "partitions", "sdk-default-configuration"])
def test_the_data_files_the_client_reads_are_botocores(name: str) -> None:
    """The files beside the models (endpoints.json, read by every client), as well."""
    ours, theirs = ServiceLoader().load_data(name), Loader().load_data(name)
    assert ours == theirs
    assert json.dumps(ours) == json.dumps(theirs)


def test_loading_s3s_model_lists_no_other_services_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed: list[str] = []
    real = os.listdir
    this_thread = threading.get_ident()

    def recording(path: str) -> list[str]:
        # This thread's only: a server thread of the same xdist worker lists too.
        if threading.get_ident() == this_thread:
            listed.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", recording)
    ServiceLoader().load_service_model("s3", "service-2")
    assert listed and all(Path(path).name == "s3" for path in listed), listed


def test_an_unknown_service_is_botocores_error_and_the_list_is_botocores() -> None:
    loader = ServiceLoader()
    with pytest.raises(UnknownServiceError, match="nosuchservice"):
        loader.load_service_model("nosuchservice", "service-2")
    known = loader.list_available_services("service-2")
    expected = Loader().list_available_services("service-2")
    assert list(known) == expected and len(known) == len(expected) and known[0] == expected[0]
    assert "s3" in known and ".." not in known and "s3/2006-03-01" not in known


def test_aws_data_path_is_searched_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = tmp_path / "models" / "s3" / "2006-03-01"
    model.mkdir(parents=True)
    (model / "paginators-1.json").write_text(json.dumps({"pagination": {"Mine": {}}}))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    session = new_session()
    loader = session.get_component("data_loader")
    assert isinstance(loader, ServiceLoader)
    # Ours, with botocore's extras merged in, as botocore's own loader of that path reads it.
    paginators = loader.load_service_model("s3", "paginators-1")
    assert "Mine" in paginators["pagination"]
    assert paginators == Loader(extra_search_paths=[str(tmp_path / "models")]).load_service_model(
        "s3", "paginators-1"
    )
    assert service_loader(None).search_paths == Loader().search_paths
