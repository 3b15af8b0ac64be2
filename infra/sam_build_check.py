"""Checks what `sam build` produced: the built template's function points at a `bootstrap`
that exists and is an arm64 (AArch64) ELF executable, as the template's Architectures says.

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
    size = bootstrap.stat().st_size
    print(f"sam-build-check: {name} -> {bootstrap} (arm64 ELF, {size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/sam/build")
