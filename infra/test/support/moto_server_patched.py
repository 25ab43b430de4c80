"""moto_server with the three patches sirslack's CloudFormation templates need (moto 5.2.5).

All three are about how moto's CloudFormation engine turns template resources into moto
resources; none changes how moto answers API calls. Documented in docs/infrastructure.md ("Deploying to moto"); re-check both when
the moto pin in scripts/requirements-local-world.txt changes (the test that deploys the stacks
fails without them).

1. `Ref` to an event bus or an archive. moto resolves `{"Ref": <logical id>}` to the resource's
   `physical_resource_id` and falls back to the Python object itself when the model has none.
   `AWS::Events::EventBus` has none, so every `Ref` to the custom bus (the rule's `EventBusName`,
   the functions' `EVENT_BUS_NAME`, the bus name exported to the Slack stack) became an
   `EventBus` object instead of the bus name, and the rule on the bus could not be created.
   CloudFormation's `Ref` of an event bus is its name; the patch gives moto's model exactly that.
   `AWS::Events::Archive` has the same gap (`Ref` of an archive is its name, used by the common
   stack's `EventArchiveName` output).

2. An archive's `EventPattern`. In a template it is a JSON object; moto's
   `AWS::Events::Archive` handler passes it on as-is to code that expects a JSON string
   (`json.loads` of a dict: TypeError, HTTP 500). moto's `AWS::Events::Rule` handler already
   serializes its pattern; the patch does the same for archives.

3. A table's `TimeToLiveSpecification` and `PointInTimeRecoverySpecification`. moto's
   `AWS::DynamoDB::Table` handler ignores both, so the table CloudFormation created had TTL and
   PITR off, unlike the template and unlike the table the local world creates
   (crates/aws-local: TTL on `expires_at`). The patch applies them through moto's own
   UpdateTimeToLive and UpdateContinuousBackups code right after the table is created.

Usage: python moto_server_patched.py [moto_server arguments], e.g. -H 127.0.0.1 -p 5000.
"""

import json
import sys

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.events.models import Archive, EventBus


def _name(self) -> str:
    return self.name


for _model in (EventBus, Archive):
    if not hasattr(_model, "physical_resource_id"):
        _model.physical_resource_id = property(_name)


_create_archive_from_template = Archive.create_from_cloudformation_json.__func__


def _create_archive_with_serialized_pattern(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.get("Properties", {})
    if isinstance(properties.get("EventPattern"), dict):
        properties["EventPattern"] = json.dumps(properties["EventPattern"])
    return _create_archive_from_template(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


Archive.create_from_cloudformation_json = classmethod(_create_archive_with_serialized_pattern)


_create_table_from_template = Table.create_from_cloudformation_json.__func__


def _create_table_with_ttl_and_pitr(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    table = _create_table_from_template(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json.get("Properties", {})
    backend = dynamodb_backends[account_id][region_name]
    if "TimeToLiveSpecification" in properties:
        backend.update_time_to_live(table.name, properties["TimeToLiveSpecification"])
    if "PointInTimeRecoverySpecification" in properties:
        backend.update_continuous_backups(table.name, properties["PointInTimeRecoverySpecification"])
    return table


Table.create_from_cloudformation_json = classmethod(_create_table_with_ttl_and_pitr)

from moto.server import main  # noqa: E402  (imported after the patches on purpose)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
