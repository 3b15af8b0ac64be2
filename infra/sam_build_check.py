"""Checks what `sam build` produced: the built template's function points at a `bootstrap`
that exists and is an arm64 (AArch64) ELF executable, as the template's Architectures says,
and that carries no CLI or test code.

Run by `make sam-build-check` (part of `make test`) after an offline `sam build`, with the
sam venv's Python (it has PyYAML). Exits non-zero with a message naming what is wrong.
"""

import struct
import sys
from pathlib import Path

import yaml

EM_AARCH64 = 183  # ELF e_machine of arm64 (System V ABI, AArch64 supplement)


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags (!Ref, !Sub, ...) as plain values; they are not needed."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def fail(message: str) -> None:
    print(f"sam-build-check: {message}", file=sys.stderr)
    sys.exit(1)


def main(build_dir: str) -> None:
    built = Path(build_dir) / "template.yaml"
    if not built.is_file():
        fail(f"{built} is missing: did sam build run?")
    doc = yaml.load(built.read_text(), Loader=CfnLoader)
    functions = {
        name: r
        for name, r in doc["Resources"].items()
        if r.get("Type") == "AWS::Serverless::Function"
    }
    if not functions:
        fail(f"no function in {built}")
    for name, function in sorted(functions.items()):
        check_function(Path(build_dir), name, function)
    print(f"sam-build-check: {', '.join(sorted(functions))} point at arm64 bootstraps")


def check_function(build_dir: Path, name: str, function: dict) -> None:
    props = function["Properties"]
    if props.get("Architectures") != ["arm64"]:
        fail(f"{name} Architectures is {props.get('Architectures')}, expected [arm64]")
    code = Path(build_dir) / props["CodeUri"]
    bootstrap = code / props.get("Handler", "bootstrap")
    if not bootstrap.is_file():
        fail(f"{name} CodeUri {props['CodeUri']} has no {bootstrap.name} ({bootstrap})")
    header = bootstrap.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        fail(f"{bootstrap} is not an ELF executable")
    little_endian = header[5] == 1
    (machine,) = struct.unpack("<H" if little_endian else ">H", header[18:20])
    if machine != EM_AARCH64:
        fail(f"{bootstrap} is built for ELF machine {machine}, not arm64 ({EM_AARCH64})")
    check_contents(bootstrap)
    size = bootstrap.stat().st_size
    print(f"sam-build-check: {name} -> {bootstrap} (arm64 ELF, {size:,} bytes, no CLI or test code)")


# What only the `apnwatch` CLI (feature `cli`) or the tests (feature `test-util`) bring: a
# Lambda built with either compiled in carries them to every cold start. Symbol names, so the
# check reads the debug build `make sam-build-check` makes (a release build is stripped).
FORBIDDEN = {
    b"clap_builder": "clap (the CLI's argument parser)",
    b"comfy_table": "comfy-table (the CLI's tables)",
    b"aws_sdk_sso": "the SSO credential crates (aws-config/sso, CLI only)",
    b"apnwatch3cli": "the apnwatch::cli module",
    b"apnwatch5fakes": "the in-memory fakes (feature test-util)",
}
# Present in every real build: proves the symbols are there to be searched.
EXPECTED = b"aws_sdk_dynamodb"


def check_contents(bootstrap: Path) -> None:
    data = bootstrap.read_bytes()
    if EXPECTED not in data:
        fail(f"{bootstrap} has no {EXPECTED.decode()} symbols: is it stripped? Build it with SAM_BUILD_MODE=debug")
    found = [what for needle, what in FORBIDDEN.items() if needle in data]
    if found:
        fail(
            f"{bootstrap} carries {', '.join(found)}: the Lambda was built with the `cli` or "
            "`test-util` feature (a workspace-wide build unifies the tests crate's features); "
            "build the apn-link-watch package alone"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/sam/build")
