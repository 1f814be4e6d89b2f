"""Result-index setup against the real node: templates, ILM variant, aliases, mapping conflicts."""

import json
import re

import pytest
from elasticsearch import helpers

from opsradar.es import setup
from opsradar.schemas import schema_path

pytestmark = pytest.mark.integration


def test_every_schema_file_is_valid_json_with_the_expected_shape():
    for path in sorted(schema_path("elasticsearch").rglob("*.json")):
        body = json.loads(path.read_text())
        assert body, path
    policy = setup.load_policy("p", setup.PolicyOptions("50gb", "1d", "2d", 30))["policy"]
    assert policy["phases"]["hot"]["actions"]["rollover"] == {"max_primary_shard_size": "50gb", "max_age": "1d"}
    assert policy["phases"]["warm"]["min_age"] == "2d"
    assert policy["phases"]["delete"] == {"min_age": "30d", "actions": {"delete": {}}}
    allowed = {  # ILM actions per phase, as Elasticsearch 8.x accepts them
        "hot": {"set_priority", "unfollow", "rollover", "readonly", "downsample", "shrink", "forcemerge", "searchable_snapshot"},
        "warm": {"set_priority", "unfollow", "readonly", "downsample", "allocate", "migrate", "shrink", "forcemerge"},
        "delete": {"wait_for_snapshot", "delete"},
    }
    for phase, body in policy["phases"].items():
        assert set(body["actions"]) <= allowed[phase], phase
        assert re.fullmatch(r"\d+(ms|s|m|h|d)", body["min_age"]), phase
    assert not re.search(r"\{[a-z_]+\}", json.dumps(policy))  # every placeholder filled
    settings = setup.load_component("settings", "p")["template"]["settings"]["index"]
    assert settings["lifecycle"] == {"name": "p-results"}  # production variant names the policy
    assert "lifecycle" not in setup._without_lifecycle(setup.load_component("settings", "p"))["template"]["settings"]["index"]
    for name in setup.INDEX_TEMPLATES:
        tmpl = setup.load_index_template(name, "p")
        for comp in tmpl["composed_of"]:
            assert comp.removeprefix("p-") in setup.COMPONENTS, comp
        assert all(p.startswith("p-") and p.endswith("-*") for p in tmpl["index_patterns"])
    for family, (alias, tmpl) in setup.FAMILIES.items():
        patterns = setup.load_index_template(tmpl, "p")["index_patterns"]
        assert any(f"p-{alias}-000001".startswith(p[:-1]) for p in patterns), family


def test_node_modules_decide_the_variant(es_client):
    modules = setup.node_modules(es_client)
    assert "x-pack-core" in modules
    assert setup.has_ilm(es_client) is ("x-pack-ilm" in modules)


def test_setup_installs_twice_without_change(es_client, index_prefix):
    first = setup.install(es_client, index_prefix)
    assert first.changed and set(first.actions.values()) <= {"created", "skipped"}
    templates_before = es_client.indices.get_index_template(name=f"{index_prefix}-*")["index_templates"]
    components_before = es_client.cluster.get_component_template(name=f"{index_prefix}-*")["component_templates"]
    aliases_before = es_client.indices.get_alias(name=f"{index_prefix}-*")

    second = setup.install(es_client, index_prefix)
    assert not second.changed
    assert set(second.actions.values()) <= {"unchanged", "skipped"}
    assert es_client.indices.get_index_template(name=f"{index_prefix}-*")["index_templates"] == templates_before
    assert es_client.cluster.get_component_template(name=f"{index_prefix}-*")["component_templates"] == components_before
    assert es_client.indices.get_alias(name=f"{index_prefix}-*") == aliases_before
    for family in setup.FAMILIES:
        alias = setup.alias_name(index_prefix, family)
        assert aliases_before[f"{alias}-000001"]["aliases"][alias] == {"is_write_index": True}
    if not second.ilm:
        assert second.actions[f"ilm/{index_prefix}-results"] == "skipped"
        settings = es_client.indices.get_settings(index=f"{index_prefix}-forecasts-000001")
        assert "lifecycle" not in settings[f"{index_prefix}-forecasts-000001"]["settings"]["index"]


def test_changed_template_file_content_is_updated_not_duplicated(es_client, index_prefix):
    setup.install(es_client, index_prefix, families=())
    es_client.cluster.put_component_template(name=f"{index_prefix}-runs", template={"mappings": {"properties": {}}})
    report = setup.install(es_client, index_prefix, families=())
    assert report.actions[f"component/{index_prefix}-runs"] == "updated"
    assert [k for k, v in report.actions.items() if v != "unchanged" and not k.startswith("ilm/")] == [f"component/{index_prefix}-runs"]


def test_real_mappings_are_strict_and_ecs_shaped(es_client, index_prefix):
    setup.install(es_client, index_prefix, families=("anomaly.log",))
    alias = setup.alias_name(index_prefix, "anomaly.log")
    mapping = next(iter(es_client.indices.get_mapping(index=alias).values()))["mappings"]
    fields = setup.flatten_fields(mapping)
    assert mapping["dynamic"] == "strict"
    for name, kind in {"@timestamp": "date", "event.kind": "keyword", "host.name": "keyword", "service.name": "keyword",
                       "message": "text", "opsradar.score_normalized": "float", "opsradar.model.version": "keyword",
                       "opsradar.window.start": "date", "opsradar.top_templates.template_id": "keyword",
                       "opsradar.drivers.contribution": "float"}.items():
        assert fields[name] == kind, name
    assert fields == setup.flatten_fields(setup.composed_mappings(index_prefix, "anomalies"))


def test_mapping_conflict_names_the_field(es_client, index_prefix):
    setup.install(es_client, index_prefix, families=())
    alias = setup.alias_name(index_prefix, "anomaly.metric")
    # an index created by hand before setup, mapping a field differently
    es_client.indices.delete_index_template(name=f"{index_prefix}-anomalies")
    es_client.indices.create(index=f"{alias}-000001", aliases={alias: {"is_write_index": True}},
                             mappings={"properties": {"opsradar": {"properties": {"score_normalized": {"type": "keyword"}}}}})
    with pytest.raises(setup.MappingConflictError, match=r"opsradar\.score_normalized.*keyword.*float"):
        setup.install(es_client, index_prefix, families=("anomaly.metric",))


def test_concrete_index_in_place_of_alias_is_a_clear_error(es_client, index_prefix):
    helpers.bulk(es_client, [{"_index": f"{index_prefix}-capacity-plans", "_id": "1", "_source": {"x": 1}}], refresh=True)
    with pytest.raises(setup.SetupError, match="concrete index"):
        setup.install(es_client, index_prefix, families=("capacity_plan",))
