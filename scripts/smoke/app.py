"""Python smoke test of the jsii-built wheel: synthesize a CustomerManagedKey and check the template.

Run by scripts/python-smoke.sh in a fresh venv with the wheel installed; CDK_OUTDIR sets the output dir.
"""
import sys

from aws_cdk import App, Environment, Stack, aws_iam as iam
from cdk_kms_secrets import CustomerManagedKey


def fail(message: str) -> None:
    print(f"python smoke: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


app = App()
stack = Stack(app, "SmokeStack", env=Environment(account="111111111111", region="eu-west-1"))
admin = iam.Role(stack, "Admin", assumed_by=iam.AccountRootPrincipal())
user = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
CustomerManagedKey(stack, "Key", alias="smoke", administrators=[admin], users=[user])
assembly = app.synth()

template = assembly.get_stack_by_name("SmokeStack").template
resources = template.get("Resources", {})
keys = [r for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
if len(keys) != 1:
    fail(f"expected one AWS::KMS::Key, found {len(keys)}")
props = keys[0]["Properties"]
if props.get("EnableKeyRotation") is not True:
    fail(f"EnableKeyRotation is {props.get('EnableKeyRotation')!r}, expected true")
statements = props["KeyPolicy"]["Statement"]
deny = [s for s in statements if s.get("Sid") == "AdministratorsNeverUseKey"]
if len(deny) != 1 or deny[0].get("Effect") != "Deny":
    fail(f"expected one Deny statement with Sid AdministratorsNeverUseKey, found {deny!r}")
for s in statements:
    actions = s.get("Action", [])
    if "kms:*" in ([actions] if isinstance(actions, str) else actions):
        fail(f"statement {s.get('Sid')!r} grants kms:*")
aliases = [r["Properties"].get("AliasName") for r in resources.values() if r["Type"] == "AWS::KMS::Alias"]
if aliases != ["alias/smoke"]:
    fail(f"expected one AWS::KMS::Alias named alias/smoke, found {aliases!r}")

print(f"python smoke: OK ({len(resources)} resources, {len(statements)} key-policy statements)")
