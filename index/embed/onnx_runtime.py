"""ONNX Runtime helpers shared by every exported model (the query encoder, the reranker, the
answerability model): sessions, feeds from tokenizer output, graph optimisation, int8
quantisation, and the check that an export on disk is whole."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

EXPORTED_FILES = ("model.onnx", "tokenizer.json")


def file_sizes(directory: Path, names: tuple[str, ...] = EXPORTED_FILES) -> dict[str, int]:
    """What an export records about its files, to notice later that one was truncated or removed."""
    return {name: (directory / name).stat().st_size for name in names}


def export_problem(directory: Path, card: str, names: tuple[str, ...] = EXPORTED_FILES) -> str | None:
    """Why an exported model directory (an encoder, a reranker) cannot be used, or None when it looks whole:
    its card unreadable, a file missing, or a file whose size is not the one recorded at export."""
    try:
        info = json.loads((directory / card).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{directory / card} is missing"
    except (OSError, ValueError) as exc:
        return f"{directory / card} is unreadable ({(str(exc).splitlines() or ['?'])[0][:100]})"
    if not isinstance(info, dict):
        return f"{directory / card} is unreadable"
    recorded = info.get("files") or {}
    for name in dict.fromkeys([*names, *recorded]):
        path = directory / name
        if not path.is_file():
            return f"{path} is missing"
        if name in recorded and path.stat().st_size != recorded[name]:
            return f"{path} is damaged ({path.stat().st_size} bytes, {recorded[name]} when exported)"
    return None


def padded_feeds(encodings: list[Any]) -> dict[str, np.ndarray]:
    """ONNX inputs for a batch of `tokenizers` encodings, zero-padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    feeds = {name: np.zeros((len(encodings), width), np.int64) for name in ("input_ids", "attention_mask", "token_type_ids")}
    for row, e in enumerate(encodings):
        feeds["input_ids"][row, : len(e.ids)] = e.ids
        feeds["attention_mask"][row, : len(e.ids)] = e.attention_mask
        feeds["token_type_ids"][row, : len(e.ids)] = e.type_ids
    return feeds


def default_threads() -> int:
    """Threads an ONNX session (or the reranker's pairs side by side) uses unless told: the cores, at most 4."""
    return min(4, os.cpu_count() or 1)


def inference_session(path: Path, threads: int | None = None, *, spin: bool = False, optimized: str | None = None,
                      fold: bool = False) -> Any:
    """An ONNX Runtime CPU session for one exported model.

    ``spin``: whether the session's threads busy-wait for work after each run (ONNX Runtime's default).
    That suits one session fed batch after batch (building). Answering runs three sessions in turn (query
    encoder, reranker, answerability model); spinning threads of one then take the cores from the next,
    which cost 50 ms a question on 2 cores (bench/query_latency.py), so query-time sessions do not spin.
    ``optimized``: the onnxruntime version that saved the graph already optimised (see ``save_optimized``);
    the same version loads it without optimising it again (faster start), another one re-optimises it.
    ``fold``: the graph stores its weights in fp16 behind Cast nodes (``store_fp16_weights``); the same
    version then runs only the basic optimisations on loading, whose constant folding turns them into
    fp32 weights once.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if optimized == ort.__version__:
        level = ort.GraphOptimizationLevel
        options.graph_optimization_level = level.ORT_ENABLE_BASIC if fold else level.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def weights_file(graph: Path) -> Path:
    """Where a saved graph keeps its weights: beside it, as ``<graph name>.data`` (ONNX external data).
    ONNX Runtime maps that file into memory instead of parsing ~90 MB of protobuf, which makes a session
    load in about a quarter of the time (bench/cold_ask.py)."""
    return graph.with_name(graph.name + ".data")


def files_of(directory: Path, card: str) -> tuple[str, ...]:
    """Every file of an export directory but its card, to record their sizes (``file_sizes``)."""
    return tuple(sorted(p.name for p in directory.iterdir() if p.is_file() and p.name != card))


def save_optimized(source: Path, target: Path) -> str:
    """Write ``source``'s graph as ONNX Runtime optimises it on loading (fused attention, layer norms,
    int8 matrix products; the "extended" level, which runs on any CPU) to ``target``, its weights in
    ``weights_file(target)``, so that loading skips that work; returns the onnxruntime version, to
    record beside it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    target.parent.mkdir(parents=True, exist_ok=True)
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", weights_file(target).name)
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return str(ort.__version__)


def store_fp16_weights(source: Path, target: Path, min_elements: int = 1024) -> None:
    """Save ``source`` as ``target`` (weights in ``weights_file(target)``) with each float32 weight of at
    least ``min_elements`` values stored as float16: half the bytes on disk, every product still computed
    in fp32. A weight that is only looked up (an embedding table, read by Gather) stays fp16 in memory
    and its gathered rows are cast to fp32, which gives the same numbers; any other weight is read
    through a Cast that a session folds into an fp32 weight once, when it loads (see ``fold``). Rounding
    the weights to fp16 moves the built-in reranker's logits by under 0.001 (int8 moved them by ~0.2)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    halves = []
    weight_casts = []  # fp16 weight -> fp32 weight, folded once when a session loads
    row_casts = []  # (Gather, fp16 rows -> fp32 rows), run on the rows each question reads
    for weight in list(graph.initializer):
        if weight.data_type != TensorProto.FLOAT or int(np.prod(weight.dims)) < min_elements:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float16), f"{weight.name}.fp16")
        graph.initializer.remove(weight)
        halves.append(half)
        users = readers.get(weight.name, [])
        if users and all(u.op_type == "Gather" and u.input[0] == weight.name for u in users):
            for user in users:
                rows = user.output[0]
                user.input[0], user.output[0] = half.name, f"{rows}.fp16"
                row_casts.append((user, helper.make_node("Cast", [f"{rows}.fp16"], [rows], to=TensorProto.FLOAT, name=f"{rows}.cast")))
        else:
            weight_casts.append(helper.make_node("Cast", [half.name], [weight.name], to=TensorProto.FLOAT, name=f"{weight.name}.cast"))
    graph.initializer.extend(halves)
    for position, cast in enumerate(weight_casts):
        graph.node.insert(position, cast)
    for user, cast in row_casts:
        graph.node.insert(list(graph.node).index(user) + 1, cast)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=weights_file(target).name, size_threshold=1024)


def replace_dir(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target`` (which may exist: another process's copy is replaced whole)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.parent / f".old-{target.name}-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)


def quantize_int8(source: Path, target: Path, **options: object) -> None:
    """Dynamic int8 quantisation of an ONNX graph, one weight scale per output channel; ``options`` go to
    onnxruntime's quantize_dynamic (bench/rerank_precision.py: nodes_to_exclude, extra_options)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs advice to pre-process the graph on the root logger
    try:
        quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8, **options)
    finally:
        root.setLevel(level)
