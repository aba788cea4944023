"""config.pbtxt text: the blocks every flavour shares (tensors, batching, instances, parameters)."""

from __future__ import annotations

import json

from .onnx_io import TensorSpec


def quote(text: str) -> str:
    return json.dumps(str(text))  # protobuf text format accepts JSON-style escaped strings


def tensors(kind: str, specs: list[TensorSpec], batched: bool) -> str:
    rows = [f"  {{ name: {quote(s.name)} data_type: {s.data_type} dims: [ {', '.join(map(str, s.config_dims(batched)))} ] }}"
            for s in specs]
    return f"{kind} [\n" + ",\n".join(rows) + "\n]\n"


def header(name: str, max_batch: int, *, backend: str | None = None, platform: str | None = None) -> str:
    lines = [f"name: {quote(name)}"]
    if backend:
        lines.append(f"backend: {quote(backend)}")
    if platform:
        lines.append(f"platform: {quote(platform)}")
    lines.append(f"max_batch_size: {max_batch}")
    return "\n".join(lines) + "\n"


def instance_group(count: int, kind: str) -> str:
    return f"instance_group [ {{ count: {count} kind: KIND_{kind.upper()} }} ]\n"


def dynamic_batching(max_batch: int, delay_us: int = 200) -> str:
    # Requests are only merged when their shapes agree (same padded length); the short delay lets that happen.
    if max_batch <= 0:
        return ""
    return f"dynamic_batching {{ max_queue_delay_microseconds: {delay_us} }}\n"


def parameters(values: dict[str, str]) -> str:
    return "".join(f"parameters {{ key: {quote(k)} value: {{ string_value: {quote(v)} }} }}\n"
                   for k, v in values.items())
