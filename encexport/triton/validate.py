"""Parse config.pbtxt files with Triton's own ModelConfig schema (tritonclient's model_config_pb2)."""

from __future__ import annotations

from pathlib import Path


def parse_config(path: Path):
    """The ModelConfig message of `path`; raises google.protobuf.text_format.ParseError when invalid."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    return text_format.Parse(Path(path).read_text(), model_config_pb2.ModelConfig())


def validate_repository(repo: Path) -> dict[str, object]:
    """{model name: ModelConfig} for every model folder in `repo`; each name must match its folder."""
    configs = {}
    for config in sorted(Path(repo).glob("*/config.pbtxt")):
        message = parse_config(config)
        if message.name and message.name != config.parent.name:
            raise ValueError(f"{config}: name {message.name!r} differs from its folder {config.parent.name!r}")
        configs[config.parent.name] = message
    return configs
