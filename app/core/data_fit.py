"""Does the network's Input take what the data source gives? Problems with one-click fixes.

core imports nothing of app.data, so the caller passes the dataset's sample shape and
dtype (a DatasetBundle's ``input_shape`` and ``input_dtype``) and a name for the data.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.core.catalogue import Role
from app.core.graph import NetworkDocument
from app.core.shapes import Fix, Problem, format_shape


def input_problems(doc: NetworkDocument, sample_shape: Sequence[int], sample_dtype: str = "float32",
                   data_name: str = "the dataset") -> list[Problem]:
    """One error per Input setting that does not match a data sample, each with a fix.

    Only a network with exactly one Input is checked: the data gives one tensor per sample.
    """
    inputs = [n for n in doc.nodes if n.spec.role is Role.INPUT]
    if len(inputs) != 1:
        return []
    node = inputs[0]
    want = [int(d) for d in sample_shape]
    problems = []
    have = list(node.params.get("shape") or [])
    if have != want:
        label = format_shape(tuple(want))
        problems.append(Problem(
            f"{node.name}: the Input shape is {format_shape(tuple(have))} but {data_name} gives "
            f"samples of {label}; the first layer would get the wrong size",
            node.name, fixes=(Fix(f"Set Input to {label} from the dataset", "set_param",
                                  node.name, "shape", want),)))
    dtype = node.params.get("dtype", "float32")
    if dtype != sample_dtype:
        problems.append(Problem(
            f"{node.name}: the Input dtype is {dtype} but {data_name} gives {sample_dtype} "
            f"samples", node.name, fixes=(Fix(f"Set Input dtype to {sample_dtype} from the "
                                              f"dataset", "set_param", node.name, "dtype",
                                              sample_dtype),)))
    return problems
